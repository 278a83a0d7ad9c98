"""Thread counts and Python threads: ``set_num_threads`` is process-wide, and with Numba's
workqueue threading layer (not thread-safe) fits in several Python threads are serialized
instead of aborting the process."""
import os
import subprocess
import sys
import threading

import numba
import numpy as np
import pytest

import nbmlp
from nbmlp import _threads


@pytest.mark.skipif(numba.config.NUMBA_NUM_THREADS < 2, reason="needs Numba with 2 threads or more")
def test_set_num_threads_applies_in_other_python_threads(monkeypatch):
    monkeypatch.setattr(_threads, "_count", None)
    monkeypatch.setattr(_threads, "chosen", False)
    before = numba.get_num_threads()
    seen = {}

    def other_thread():
        seen["default"] = numba.get_num_threads()  # Numba's own count in a new thread: the maximum
        seen["reported"] = nbmlp.get_num_threads()
        with _threads.use_chosen():
            seen["forward"] = numba.get_num_threads()
        with _threads.serial_if_small([1000, 1000, 10], 1000):  # a large step: not made serial
            seen["training"] = numba.get_num_threads()
        seen["after"] = numba.get_num_threads()

    try:
        nbmlp.set_num_threads(1)
        t = threading.Thread(target=other_thread)
        t.start()
        t.join()
    finally:
        numba.set_num_threads(before)
    assert seen["default"] == numba.config.NUMBA_NUM_THREADS > 1
    assert seen["reported"] == seen["forward"] == seen["training"] == 1
    assert seen["after"] == seen["default"]  # the thread's own setting is restored


CONCURRENT = """
import threading, numpy as np, nbmlp, numba
rng = np.random.default_rng(0)
X = rng.random((1000, 100)); T = np.eye(3)[np.arange(1000) % 3]

def work(out, i):
    net = nbmlp.MLP([100, 256, 3], activation="relu", output="softmax", seed=i)
    out[i] = (net.fit(X, T, epochs=3, batch_size=256, lr=0.05)[-1], float(net.forward(X).sum()))

alone, together = {}, {}
for i in range(3):
    work(alone, i)
threads = [threading.Thread(target=work, args=(together, i)) for i in range(3)]
for t in threads: t.start()
for t in threads: t.join()
print(numba.threading_layer(), alone == together)
"""


def test_workqueue_layer_serializes_fits_in_python_threads():
    env = dict(os.environ, NUMBA_THREADING_LAYER="workqueue")
    res = subprocess.run([sys.executable, "-c", CONCURRENT], capture_output=True, text=True, env=env, timeout=600)
    assert res.returncode == 0, res.stderr[-3000:]  # the layer aborts (SIGABRT) on concurrent access
    assert res.stdout.split() == ["workqueue", "True"]
