"""Compile cost: ``import nbmlp`` plus the first ``fit`` and ``predict``, in a fresh process.

``Compile``: a tiny network (every step serial), with a warm cache (the compiled kernels are
loaded from Numba's on-disk cache, as on every run after the first) and a cold cache (an empty
``NUMBA_CACHE_DIR``: everything is compiled, as on the very first run). ``FirstCalls``: the
first calls a new user makes (the cases of ``benchmarks/first_compile.py``, which also prints
where the compile time goes), cold cache only, one sample each (each is tens of seconds).
NumPy, scikit-learn and the data are loaded in the untimed setup of the child process, so the
time is nbmlp's (and Numba's) own.
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


# the untimed setup of FirstCalls' child processes: an empty cache, then the data
FIRST_DATA = """
import os, tempfile
os.environ["NUMBA_CACHE_DIR"] = tempfile.mkdtemp(dir={root!r})
import warnings
import numpy as np
import scipy.sparse
from sklearn.datasets import load_digits
warnings.simplefilter("ignore")
X, y = load_digits(return_X_y=True)
X = X / 16
X32 = X.astype(np.float32)
XS = scipy.sparse.csr_matrix(X)
rng = np.random.default_rng(0)
XM = rng.random((1024, 784), dtype=np.float32)
yM = rng.integers(0, 10, 1024)
"""
# the timed statements (as in benchmarks/first_compile.py)
FIRST_CALLS = {
    "digits64": """
import nbmlp
nbmlp.MLPClassifier(max_iter=20, random_state=0).fit(X, y).predict_proba(X)
""",
    "digits32": """
import nbmlp
nbmlp.MLPClassifier(max_iter=20, random_state=0).fit(X32, y).predict(X32)
""",
    "mid": """
import nbmlp
net = nbmlp.MLP([784, 256, 128, 10], activation="relu", output="softmax", dtype="float32", seed=0)
net.fit(XM, yM, epochs=1, batch_size=128, lr=0.01)
net.predict(XM)
""",
    "trace": """
import nbmlp
nbmlp.MLP([64, 32, 10], activation="tanh", output="softmax", seed=0).trace(X[:8], y[:8])
""",
    "sparse": """
import nbmlp
nbmlp.MLPClassifier(max_iter=5, random_state=0).fit(XS, y).predict(XS)
""",
    "lbfgs": """
import nbmlp
nbmlp.MLPClassifier(solver="lbfgs", max_iter=20, random_state=0).fit(X, y).predict(X)
""",
}


class FirstCalls:
    """A new user's first calls with an empty cache (minutes in all; CI skips this module)."""

    params = [list(FIRST_CALLS)]
    param_names = ["case"]
    number = 1
    repeat = (1, 1, 0.0)  # one cold compile per case
    warmup_time = 0
    timeout = 600

    def setup(self, case):
        self.cold_root = tempfile.mkdtemp(prefix="nbmlp-asv-first-calls-")

    def teardown(self, case):
        shutil.rmtree(self.cold_root, ignore_errors=True)

    def timeraw_first_call_cold_cache(self, case):
        return FIRST_CALLS[case], FIRST_DATA.format(root=self.cold_root)
