"""The compile cache works across processes (``cache=True``), including the sequence that crashes
a cached serial function calling a parallel one (numba issue #8578)."""

import json
import os
import subprocess
import sys

import background

KERNELS_ONLY = """
import numpy as np
from nbmlp.kernels.dense import dense_forward, dense_backward_dy, dense_backward_dw, dense_backward_db
from nbmlp.kernels.activations import activation_forward, activation_backward
from nbmlp.kernels.losses import loss_forward, output_delta
dt = np.float64
y, w, b, d = np.ones((5, 3)), np.ones((3, 4)), np.ones(4), np.ones((5, 4))
u = np.empty((5, 4))
dense_forward(u, y, w, b); dense_backward_dy(np.empty((5, 3)), d, w)
dense_backward_dw(np.empty((3, 4)), y, d, 1.0); dense_backward_db(np.empty(4), d, 1.0)
activation_forward(u.copy(), u, 1); activation_backward(u.copy(), u, u, u, 1)
loss_forward(np.empty(5), u, u, u, 0); output_delta(u.copy(), u, u, u, 0, 1)
"""

NETWORK = """
import numpy as np, nbmlp
net = nbmlp.MLP([3, 4, 2], activation="sigmoid", output="sigmoid", loss="squared_error", dtype="float64", seed=0)
E = net.gradients(np.ones((5, 3)), np.ones((5, 2)))[0]
hist = net.fit(np.ones((5, 3)), np.ones((5, 2)), epochs=1, batch_size=2, lr=0.1)
print(repr(E), repr(hist[0]))
"""


def run(code, cache_dir):
    env = dict(os.environ, NUMBA_CACHE_DIR=str(cache_dir))
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=600)


# the four processes of test_cached_drivers_load_in_later_processes, one after the other, in a
# child started at collection (``background``): kernels alone, then the network three times
SEQUENCE = """
import json, os, subprocess, sys
codes, cache = json.loads(sys.argv[1]), sys.argv[2]
env = dict(os.environ, NUMBA_CACHE_DIR=cache)
runs = [subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=600)
        for code in codes]
print(json.dumps([[r.returncode, r.stdout, r.stderr[-2000:]] for r in runs]))
"""


def _start_sequence():
    cache = background.scratch("cache-sequence")
    background.launch(
        "cache-sequence", [sys.executable, "-c", SEQUENCE, json.dumps([KERNELS_ONLY] + [NETWORK] * 3), cache]
    )
    _CACHES.append(cache)


_CACHES = []


@background.child(_start_sequence)
def test_cached_drivers_load_in_later_processes():
    returncode, out, err = background.result("cache-sequence", _start_sequence, timeout=2400)
    assert returncode == 0, err[-2000:]
    runs = json.loads(out.strip().splitlines()[-1])
    assert runs[0][0] == 0, runs[0][2]
    outputs = []
    for code, stdout, stderr in runs[1:]:  # compile and cache the drivers, then load them from the cache twice
        assert code == 0, f"exit {code}: {stderr}"
        assert "Warning" not in stderr, stderr
        outputs.append(stdout)
    assert outputs[0] == outputs[1] == outputs[2]
    assert any(f.endswith(".nbc") for _, _, files in os.walk(_CACHES[-1]) for f in files)


def _kernel_dispatchers():
    import importlib
    import pkgutil

    from numba.core.registry import CPUDispatcher

    import nbmlp.kernels

    for info in pkgutil.iter_modules(nbmlp.kernels.__path__):
        module = importlib.import_module(f"nbmlp.kernels.{info.name}")
        for name, obj in vars(module).items():
            if isinstance(obj, CPUDispatcher) and obj.py_func.__module__ == module.__name__:
                yield f"{module.__name__}.{name}", obj


def _calls_parallel(dispatcher, seen=()):
    """Whether a compiled function reaches a parallel kernel through the functions it calls."""
    from numba.core.registry import CPUDispatcher

    for name in dispatcher.py_func.__code__.co_names:
        callee = dispatcher.py_func.__globals__.get(name)
        if isinstance(callee, CPUDispatcher) and callee not in seen:
            if callee.targetoptions.get("parallel") or _calls_parallel(callee, seen + (dispatcher,)):
                return True
    return False


def test_serial_functions_do_not_call_parallel_kernels():
    """A cached serial caller of a parallel kernel crashes on reload: such callers use JIT_DRIVER."""
    offenders = [
        name for name, d in _kernel_dispatchers() if not d.targetoptions.get("parallel") and _calls_parallel(d)
    ]
    assert offenders == []


STAMP = """
from nbmlp import _config
print(_config._CACHE_PATH)
"""


def test_cache_written_by_other_kernel_sources_is_dropped(tmp_path):
    # Numba keys a cached function by its own file only: after any kernel module changes (an
    # upgrade in place), code compiled with another module's old constants must not load
    res = run(STAMP, tmp_path)
    assert res.returncode == 0, res.stderr[-2000:]
    path = res.stdout.strip().splitlines()[-1]
    stamp = os.path.join(path, "nbmlp-kernels.sha256")
    current = open(stamp).read()
    stale = os.path.join(path, "dense.dense_forward_tiles-1.py311.nbi")
    open(stale, "w").write("from older kernels")
    assert run(STAMP, tmp_path).returncode == 0
    assert os.path.exists(stale)  # same sources: the cache is kept
    open(stamp, "w").write("0" * 64 + "\n")
    assert run(STAMP, tmp_path).returncode == 0
    assert not os.path.exists(stale) and open(stamp).read() == current
