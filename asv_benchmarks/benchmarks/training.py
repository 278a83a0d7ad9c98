"""Whole training epochs, prediction and the memory of ``fit``, through ``nbmlp.MLP``.

Each network has ReLU hidden layers and a softmax output trained with cross-entropy and plain
SGD. GFLOP/s of an epoch: ``6 · Σ_L l_L m_L · N / time`` (2 forward and 4 backward flops per
weight and sample; see ``common.flops_per_epoch``).
"""

from . import common

LR = {"small": 0.1, "mid": 0.03, "large": 0.02}  # as in nbmlp.bench.SIZES


def _network(size, dtype):
    import nbmlp

    return nbmlp.MLP(common.SIZES[size][0], activation="relu", output="softmax", dtype=dtype, seed=0)


def _problem(bench, size, dtype):
    """Compile, then give ``bench`` the size's data, a fresh network, its batch size and rate."""
    _compile(size, dtype)
    bench.X, bench.y = common.data(size, dtype)
    bench.net = _network(size, dtype)
    bench.batch, bench.lr = common.SIZES[size][1], LR[size]


def _compile(size, dtype):
    """Compile (or load from Numba's cache) ``fit`` and ``predict`` for this dtype."""
    X, y = common.data(size, dtype)
    net = _network(size, dtype)
    net.fit(X[:2], y[:2], epochs=1, batch_size=1, lr=0.01)
    net.predict(X[:1])


class Epoch:
    """One epoch of ``MLP.fit`` (shuffle, mini-batches, forward, backward, update)."""

    params = [common.SIZE_NAMES, common.DTYPES, common.THREADS]
    param_names = ["size", "dtype", "threads"]
    timeout = common.TIMEOUT

    def setup(self, size, dtype, threads):
        self.threads = common.Threads(threads)
        _problem(self, size, dtype)
        self.flops = common.flops_per_epoch(self.net.layers, self.X.shape[0])

    def teardown(self, *args):
        self.threads.restore()

    def _epoch(self):
        self.net.fit(self.X, self.y, epochs=1, batch_size=self.batch, lr=self.lr)

    def time_epoch(self, *args):
        self._epoch()

    def track_epoch_gflops(self, *args):
        return self.flops / common.seconds_per_call(self._epoch) / 1e9

    track_epoch_gflops.unit = "GFLOP/s"


class ThreadScaling:
    """Speed-up of an epoch of ``MLP.fit`` from 1 thread to ``MAX_THREADS`` threads.

    ``time(1 thread) / time(MAX_THREADS)``, the median of back-to-back pairs of epochs (the
    target on a 2-core machine: ≥ 1.8 for mid and large; the small size trains on one thread
    whatever the setting, so its speed-up is about 1 by design).
    """

    params = [common.SIZE_NAMES, common.DTYPES]
    param_names = ["size", "dtype"]
    timeout = common.TIMEOUT

    def setup(self, size, dtype):
        import nbmlp

        if common.MAX_THREADS < 2:
            raise NotImplementedError("one thread only: no speed-up to measure")
        self.nbmlp = nbmlp
        self.before = nbmlp.get_num_threads()
        _problem(self, size, dtype)

    def teardown(self, *args):
        self.nbmlp.set_num_threads(self.before)

    def _epoch_on(self, n):
        self.nbmlp.set_num_threads(n, adaptive=False)  # exactly n threads: the speed-up of n
        self.net.fit(self.X, self.y, epochs=1, batch_size=self.batch, lr=self.lr)

    def track_speedup(self, *args):
        return common.ratio_of_times(lambda: self._epoch_on(1), lambda: self._epoch_on(common.MAX_THREADS))

    track_speedup.unit = "time on 1 thread / time on all threads"


class Predict:
    """``MLP.predict`` on the training inputs of the size."""

    params = [common.SIZE_NAMES, common.DTYPES, common.THREADS]
    param_names = ["size", "dtype", "threads"]
    timeout = common.TIMEOUT

    def setup(self, size, dtype, threads):
        self.threads = common.Threads(threads)
        _compile(size, dtype)
        self.X, _ = common.data(size, dtype)
        self.net = _network(size, dtype)

    def teardown(self, *args):
        self.threads.restore()

    def time_predict(self, *args):
        self.net.predict(self.X)


class FitMemory:
    """Peak resident memory of a process that builds a network and trains it for one epoch."""

    params = [common.SIZE_NAMES, common.DTYPES]
    param_names = ["size", "dtype"]
    timeout = common.TIMEOUT

    def setup(self, size, dtype):
        _compile(size, dtype)
        self.X, self.y = common.data(size, dtype)

    def peakmem_fit(self, size, dtype):
        net = _network(size, dtype)
        net.fit(self.X, self.y, epochs=1, batch_size=common.SIZES[size][1], lr=LR[size])
