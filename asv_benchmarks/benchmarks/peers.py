"""nbmlp against the libraries a user would otherwise train with, measured in one process.

Each ``track_`` returns nbmlp's time per training epoch divided by the other library's: the
median over pairs of back-to-back epochs (so a slow moment of a noisy machine hits both);
below 1, nbmlp is faster. Every library trains the same network from the same initial weights
with the same batch size, plain SGD and thread count (the trainers of ``nbmlp.bench``). A
library that is not installed is skipped.
"""

import importlib

import numpy as np

from . import common

EPOCH_PAIRS = 3 if common.QUICK else 7


class _PeerRatio:
    params = [common.SIZE_NAMES, common.DTYPES, common.THREADS]
    param_names = ["size", "dtype", "threads"]
    peer = None  # a key of nbmlp.bench.TRAINERS
    module = None  # what must be importable
    timeout = 1200

    def setup(self, size, dtype, threads):
        try:
            bench = importlib.import_module("nbmlp.bench")
            importlib.import_module(self.module)
        except ImportError:
            raise NotImplementedError(f"{self.module} or nbmlp.bench is not installed") from None
        self.bench = bench
        self.n_threads = threads
        layers, batch, n = common.SIZES[size]
        problem = bench.make_problem(size, n_samples=n, dtype=np.dtype(dtype).type)
        with bench.threads(threads):
            self.nbmlp_run = bench.NbmlpTrainer(problem, dtype)  # compiles here
            self.peer_run = bench.TRAINERS[self.peer](problem, dtype, 0, self.nbmlp_run.initial_weights())
            self.peer_run.epoch()  # the peer's own first-call costs

    def track_epoch_time_ratio(self, *args):
        ratios = []
        with self.bench.threads(self.n_threads):
            for _ in range(EPOCH_PAIRS):
                ratios.append(self.bench.epoch_seconds(self.nbmlp_run) / self.bench.epoch_seconds(self.peer_run))
        return float(np.median(ratios))

    track_epoch_time_ratio.unit = "nbmlp time / peer time"


class VsNumPy(_PeerRatio):
    peer, module = "numpy", "numpy"


class VsScikitLearn(_PeerRatio):
    peer, module = "scikit-learn", "sklearn"


class VsPyTorch(_PeerRatio):
    peer, module = "pytorch", "torch"
