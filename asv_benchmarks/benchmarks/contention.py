"""Training while another process holds a core (``benchmarks/contention.py`` has the full table).

A whole ``MLPClassifier.fit`` on scikit-learn's breast-cancer data with its defaults (100 hidden,
adam, batch 200, 200 epochs; ``mid`` adds 784-256-128-10, batch 128, 3 epochs, in the full
profile), on an idle machine and with one core made busy by a child process that spins (for at
most ``SPIN_SECONDS``, ended in ``teardown``).

- ``track_ratio_to_one_thread``: time on all threads (nbmlp's default, adaptive) / time on one
  thread; the policy's target is at most 1.3 with one core busy, and at most 1 idle.
- ``track_ratio_to_fixed_threads``: adaptive / always all threads (``adaptive=False``, the
  behaviour before the governor); idle it must not exceed 1.
"""

import subprocess
import sys
import time
import warnings

import numpy as np

from . import common

CASES = ["breast-cancer"] if common.QUICK else ["breast-cancer", "mid"]
SPIN_SECONDS = 600
SPIN = "import time, sys\nend = time.monotonic() + float(sys.argv[1])\nwhile time.monotonic() < end:\n    pass\n"


def _case(name):
    """Standardized inputs, labels and estimator parameters of a case."""
    from sklearn.preprocessing import StandardScaler

    if name == "breast-cancer":
        from sklearn.datasets import load_breast_cancer

        X, y = load_breast_cancer(return_X_y=True)
        params = dict(hidden_layer_sizes=(100,), batch_size=200, max_iter=200)
    else:
        rng = np.random.default_rng(0)
        prototypes = rng.random((10, 784))
        y = rng.integers(0, 10, 4096)
        X = 0.2 * prototypes[y] + 0.8 * rng.random((4096, 784))
        params = dict(hidden_layer_sizes=(256, 128), batch_size=128, max_iter=3)
    params.update(tol=0.0, n_iter_no_change=params["max_iter"] + 1, random_state=0, dtype="float32")
    return StandardScaler().fit_transform(X).astype(np.float32), y, params


class Contention:
    params = [CASES, ["idle", "busy"]]
    param_names = ["case", "machine"]
    timeout = common.TIMEOUT

    def setup(self, case, machine):
        import nbmlp

        if common.MAX_THREADS < 2:
            raise NotImplementedError("one thread only: nothing to contend for")
        warnings.filterwarnings("ignore")  # ConvergenceWarning at a fixed number of epochs
        self.nbmlp, self.before = nbmlp, nbmlp.get_num_threads()
        self.X, self.y, self.params = _case(case)
        nbmlp.MLPClassifier(**dict(self.params, max_iter=1)).fit(self.X[:50], self.y[:50])  # compile
        self.spinner = None
        if machine == "busy":
            self.spinner = subprocess.Popen([sys.executable, "-c", SPIN, str(SPIN_SECONDS)])
            time.sleep(0.3)

    def teardown(self, *args):
        if self.spinner is not None:
            self.spinner.kill()
            self.spinner.wait()
        self.nbmlp.set_num_threads(self.before)

    def _fit_on(self, n, adaptive=True):
        def fit():
            self.nbmlp.set_num_threads(n, adaptive=adaptive)
            self.nbmlp.MLPClassifier(**self.params).fit(self.X, self.y)

        return fit

    def time_fit(self, *args):
        self._fit_on(common.MAX_THREADS)()

    def track_ratio_to_one_thread(self, *args):
        return common.ratio_of_times(self._fit_on(common.MAX_THREADS), self._fit_on(1, adaptive=False))

    track_ratio_to_one_thread.unit = "time on all threads (adaptive) / time on 1 thread"

    def track_ratio_to_fixed_threads(self, *args):
        return common.ratio_of_times(self._fit_on(common.MAX_THREADS), self._fit_on(common.MAX_THREADS, adaptive=False))

    track_ratio_to_fixed_threads.unit = "time adaptive / time always on all threads"
