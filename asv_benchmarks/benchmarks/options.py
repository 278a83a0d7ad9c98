"""The cost per epoch of the options beyond scikit-learn: tanh, sigmoid, GELU and SiLU
(e^u and tanh on vector registers, ``lanes.vexp``/``vtanh``) against ReLU,
dropout on and off, gradient clipping on and off, AdamW against Adam and plain SGD, the cosine
schedule.

``ActivationEpoch``: one epoch of ``MLP.fit`` with each hidden activation (the activation runs in
the epilogues of the dense kernels, so its cost is its share of the epoch).
``DropoutEpoch``: one epoch of ``MLP.fit`` with dropout off and at 0.2.
``SolverEpoch``: one epoch of ``MLPClassifier.partial_fit`` with SGD (no momentum), SGD with
``max_grad_norm`` (a limit that every batch reaches, so each one is scaled), Adam, AdamW, and
Adam with ``learning_rate="cosine"`` (set once per epoch, in Python).
With clipping and dropout off an epoch runs the same kernels as before they existed, plus one
test per batch (``c > 0``) and per layer (``p_L > 0``): ``benchmarks/options_overhead.py``
compares such an epoch with the code before.
"""

import warnings

from . import common
from .training import LR

ACTIVATIONS = ["relu", "tanh", "sigmoid", "gelu", "gelu_tanh", "silu"]
SOLVERS = ["sgd", "sgd+clip", "adam", "adamw", "adam+cosine"]


class ActivationEpoch:
    params = [common.SIZE_NAMES, common.DTYPES, ACTIVATIONS]
    param_names = ["size", "dtype", "activation"]
    timeout = common.TIMEOUT

    def setup(self, size, dtype, activation):
        import nbmlp

        layers, self.batch, _ = common.SIZES[size]
        self.X, self.y = common.data(size, dtype)
        self.net = nbmlp.MLP(layers, activation=activation, output="softmax", dtype=dtype, seed=0)
        self.net.fit(self.X[:2], self.y[:2], epochs=1, batch_size=1, lr=0.01)  # compile (or load the cache)
        self.lr = LR[size]

    def time_epoch(self, *args):
        self.net.fit(self.X, self.y, epochs=1, batch_size=self.batch, lr=self.lr)


class SolverEpoch:
    params = [common.SIZE_NAMES, common.DTYPES, SOLVERS]
    param_names = ["size", "dtype", "solver"]
    timeout = common.TIMEOUT

    def setup(self, size, dtype, solver):
        import nbmlp

        layers, batch, _ = common.SIZES[size]
        self.X, self.y = common.data(size, dtype)
        name, _, option = solver.partition("+")
        kw = dict(
            solver=name,
            momentum=0.0,
            batch_size=batch,
            learning_rate_init=1e-3,
            random_state=0,
            dtype=dtype,
            max_iter=100,
        )
        if option == "clip":
            kw["max_grad_norm"] = 1e-6
        if option == "cosine":
            kw["learning_rate"] = "cosine"
        self.est = nbmlp.MLPClassifier(layers[1:-1], **kw)
        self.classes = sorted(set(self.y.tolist()))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            self.est.partial_fit(self.X[:batch], self.y[:batch], classes=self.classes)  # compile, set up

    def time_epoch(self, *args):
        self.est.partial_fit(self.X, self.y)


class DropoutEpoch:
    """One epoch of ``MLP.fit`` with dropout off, and with rate 0.2 on every hidden layer (the
    masks drawn on one thread, applied in the forward and backward passes)."""

    params = [common.SIZE_NAMES, common.DTYPES, [0.0, 0.2]]
    param_names = ["size", "dtype", "dropout"]
    timeout = common.TIMEOUT

    def setup(self, size, dtype, dropout):
        import nbmlp

        layers, self.batch, _ = common.SIZES[size]
        self.X, self.y = common.data(size, dtype)
        self.net = nbmlp.MLP(layers, activation="relu", output="softmax", dtype=dtype, seed=0, dropout=dropout)
        self.net.fit(self.X[:2], self.y[:2], epochs=1, batch_size=1, lr=0.01)  # compile (or load the cache)
        self.lr = LR[size]

    def time_epoch(self, *args):
        self.net.fit(self.X, self.y, epochs=1, batch_size=self.batch, lr=self.lr)
