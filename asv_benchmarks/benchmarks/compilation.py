"""Compile cost: ``import nbmlp`` plus the first ``fit`` and ``predict``, in a fresh process.

Two cases: a warm cache (the compiled kernels are loaded from Numba's on-disk cache, as on
every run after the first) and a cold cache (an empty ``NUMBA_CACHE_DIR``: everything is
compiled, as on the very first run). NumPy is imported in the untimed setup of the child
process, so the time is nbmlp's (and Numba's) own.
"""

import shutil
import tempfile

from . import common

# the timed statement: import, build a tiny network, train one epoch, predict
STATEMENT = """
import nbmlp
net = nbmlp.MLP([8, 5, 3], activation="relu", output="softmax", dtype="{dtype}", seed=0)
net.fit(X, y, epochs=1, batch_size=4, lr=0.1)
net.predict(X)
"""
DATA = """
import numpy as np
X = np.random.default_rng(0).random((16, 8))
y = np.arange(16) % 3
"""


class Compile:
    params = [common.DTYPES]
    param_names = ["dtype"]
    number = 1
    repeat = (1, 3, 60.0)  # a cold compile takes about half a minute per dtype
    warmup_time = 0
    timeout = 600

    def setup(self, dtype):
        # warm the default cache in this process (the child processes then load from it)
        exec(DATA + STATEMENT.format(dtype=dtype), {})
        self.cold_root = tempfile.mkdtemp(prefix="nbmlp-asv-cold-cache-")

    def teardown(self, dtype):
        shutil.rmtree(self.cold_root, ignore_errors=True)

    def timeraw_import_fit_predict_warm_cache(self, dtype):
        return STATEMENT.format(dtype=dtype), DATA

    def timeraw_import_fit_predict_cold_cache(self, dtype):
        # a new, empty cache directory for every sample, set before Numba is imported
        cold = f"import os, tempfile\nos.environ['NUMBA_CACHE_DIR'] = tempfile.mkdtemp(dir={self.cold_root!r})\n"
        return STATEMENT.format(dtype=dtype), cold + DATA
