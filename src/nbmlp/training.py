"""The training loop, written once: ``MLP.fit``, the estimators and ``distributed`` all run it.

A fit is a ``Trainer`` with four parts:

- the **step**, a callable ``step(hyper) -> float`` that trains one epoch in place (parameters,
  optimizer state, shuffle generator) and returns the epoch's summed loss. It owns its buffers,
  allocated once when it is built: ``DenseStep`` (``kernels.epoch.train_epoch_opt``, with or
  without dropout), ``SparseStep`` (the same epoch over CSR inputs) here, and
  ``distributed.ShardedStep`` (one all-reduce per mini-batch). ``hyper`` is the kernels'
  ``Constants`` tuple, built by ``Hyper.at`` for the rate of that epoch;
- the **schedule** of the learning rate (``Constant``, ``InvScaling``, ``Adaptive``, ``Cosine``),
  as scikit-learn's ``SGDOptimizer``: ``begin_epoch``, ``end_epoch`` and ``trigger_stopping``
  (on a plateau, lower the rate or stop);
- the **stopping rule** ``NoImprovement`` (scikit-learn's ``tol`` and ``n_iter_no_change``), on
  the training loss or on a validation score;
- the **validation**, a callable ``validate() -> (score, loss)`` (None: no early stopping); the
  trainer then keeps the weights of the best score and restores them at the end.

The trainer owns the epoch loop and the rollback: after every finished epoch it copies the
live arrays (parameters first, then the optimizer state and the shuffle generator); an epoch
whose loss or weights are not finite, or a Ctrl-C, puts them back.

The interface ``distributed`` uses: it builds a ``ShardedStep`` and a validation from
all-reduced sums, and hands them to the estimator's ``EstimatorEngine.run_epochs(plan, net,
step, validate, catch_interrupt=False)``, the same run a local fit makes with a ``DenseStep``.
"""

from dataclasses import dataclass

import numpy as np

from . import _aligned as aligned
from ._runs import train_epoch_in_runs
from .kernels.dense import PARALLEL_MIN_MACS
from .kernels.epoch import Data, Order, train_epoch_opt
from .kernels.optim import SERIAL_UPDATE
from .kernels.passes import Dropout, Network, Work, pack_size
from .kernels.step import Constants, Optimizer, OptimizerState

# scikit-learn's sentence for the same failure (its tests and users match on it)
NON_FINITE = (
    "Solver produced non-finite parameter weights. The input data may contain large values and need to be preprocessed."
)


class DivergenceError(ValueError, FloatingPointError):
    """Training produced a non-finite loss or weight; the network keeps its last good weights.

    A ``ValueError`` as scikit-learn's error for the same failure (``except ValueError`` catches
    both), and a ``FloatingPointError`` as before. ``epoch`` (the epoch that diverged, counted in
    this run) and ``loss`` (its loss) are set when an epoch of stochastic training diverged.
    """

    epoch = None
    loss = None


# -- the optimizer's constants ------------------------------------------------------------------
@dataclass(slots=True)
class Hyper:
    """The optimizer's constants by name; ``at(rate, dtype)`` is the kernels' ``Constants`` tuple.

    ``eta`` is replaced by the schedule's rate of each epoch; ``kappa`` scales the reported loss
    (scikit-learn averages the squared error over the outputs); ``max_norm`` 0: no clipping.
    """

    alpha: float = 0.0
    mu: float = 0.0
    beta1: float = 0.0
    beta2: float = 0.0
    eps: float = 0.0
    kappa: float = 1.0
    weight_decay: float = 0.0
    max_norm: float = 0.0

    def at(self, eta, dtype):
        """``kernels.step.Constants`` ``(η, α, μ, β₁, β₂, ε, κ, λ, c)`` of ``dtype``."""
        # one array, then its scalars: the same roundings as dtype(v) each, in a third of the time
        return Constants(
            *np.array(
                [
                    eta,
                    self.alpha,
                    self.mu,
                    self.beta1,
                    self.beta2,
                    self.eps,
                    self.kappa,
                    self.weight_decay,
                    self.max_norm,
                ],
                dtype=dtype,
            )
        )


# -- steps: one epoch each, their buffers allocated once ---------------------------------------------
def optimizer_arrays(state):
    """The kernels' ``OptimizerState(m, s, step)`` of an optimizer state dict."""
    return OptimizerState(state["m"], state["s"], state["step"])


class DenseStep:
    """One epoch of ``kernels.epoch.train_epoch_opt`` over dense ``X``, in runs of batches
    (``_runs.train_epoch_in_runs``), with ``net.dropout``'s rates.

    Parameters
    ----------
    net : MLP
        The network; its ``params`` are trained in place.
    X, T : (N, l), (N, n) arrays of the network's dtype
        Inputs and targets.
    c : (N,) array of the network's dtype, or None
        Sample weights ``c_s`` (None: unweighted).
    batch : int
        Mini-batch size B.
    code : int
        The optimizer (``kernels.optim``: ``SGD``, ``MOMENTUM``, ``NESTEROV``, ``ADAM``, ``ADAMW``).
    state : kernels.step.OptimizerState ``(m, s, step)``
        The optimizer's arrays (``optimizer_arrays``), updated in place.
    rng : (1,) uint64 array
        The shuffle (and dropout) generator, advanced in place.
    shuffle : bool
        Reshuffle before every epoch.

    The buffers (``grads``, ``perm``, ``work``, the batch's weights ``cb`` in ``data``, the dropout
    masks) are allocated here, once per fit.
    """

    def __init__(self, net, X, T, c, batch, code, state, rng, shuffle):
        self._parts(net, X.shape[0], c, batch, code, state, rng, shuffle)
        self.work = net.work_buffers(batch, with_backward=True)
        self.data = Data(X, T, *self.weights)
        self.dropout = net.dropout_buffers(batch)
        self.csr = None  # dense inputs, gathered into block 0 of the work buffers
        # None: the epoch compiled without parallel kernels (the same steps, the same bits)
        self.parallel_macs = None if serial_steps(net.layers, batch) else PARALLEL_MIN_MACS

    def _parts(self, net, N, c, batch, code, state, rng, shuffle):
        self.net, self.n_samples, self.batch = net, N, batch
        self.code, self.state, self.rng, self.shuffle = code, state, rng, shuffle
        self.grads = aligned.empty(net.n_params, net.dtype)
        self.perm = np.arange(N, dtype=np.int64)
        # (c, cb): the sample weights and one batch's, both empty when unweighted
        self.weights = (c, np.empty(batch, net.dtype)) if c is not None else (net.params[:0], np.empty(0, net.dtype))

    def __call__(self, hyper):
        """One epoch in runs of batches (``_runs.train_epoch_in_runs``); its summed loss."""

        def train(order, do_shuffle):
            return self._train(order, do_shuffle, hyper)

        rng = self.rng if self.shuffle else None
        return train_epoch_in_runs(self.net.layers, self.batch, self.perm, rng, train)

    def _train(self, order, do_shuffle, hyper):
        """The samples ``order`` through the compiled epoch; their summed loss."""
        net = self.net
        return train_epoch_opt(
            Network(net.params, self.grads, net.layout, net.loss_code),
            Optimizer(self.code, self.state, hyper),
            self.work,
            self.data,
            Order(order, self.rng, self.batch, do_shuffle),
            self.dropout,
            self.csr,
            self.parallel_macs,
        )


class SparseStep(DenseStep):
    """One epoch of ``kernels.epoch.train_epoch_opt`` over CSR ``X = (indptr, indices, data)``.

    As ``DenseStep``, without dropout; the network has a hidden layer. The work buffers are
    those of the layers above the input (``upper_work``), and the epoch's first layer sums over
    the non-zeros (``kernels.sparse.Csr``).
    """

    def __init__(self, net, X, T, c, batch, code, state, rng, shuffle):
        from .kernels.sparse import Csr, upper_layout

        self._parts(net, X[0].shape[0] - 1, c, batch, code, state, rng, shuffle)
        self.work = upper_work(net, batch, with_backward=True)
        self.data = Data(np.empty((0, 0), net.dtype), T, *self.weights)
        self.csr = Csr(*X, upper_layout(net.layout))
        none = net.params[:0]
        self.dropout = Dropout(none, none, none)
        self.parallel_macs = PARALLEL_MIN_MACS


def serial_steps(layers, batch):
    """Whether every step of training ``layers`` in batches of ``batch`` runs on the calling thread.

    True when each layer's ``batch · l · m`` is below ``dense.PARALLEL_MIN_MACS`` and the
    parameters number at most ``optim.SERIAL_UPDATE``: the kernels would choose their serial
    loops at every step, so ``DenseStep`` runs the epoch compiled without the parallel ones
    (``kernels.epoch.train_epoch_opt`` with ``parallel_macs=None``).
    """
    pairs = list(zip(layers[:-1], layers[1:]))
    macs = max(batch * l * m for l, m in pairs)
    return macs < PARALLEL_MIN_MACS and sum(l * m + m for l, m in pairs) <= SERIAL_UPDATE


def work_buffers(layers, cap, dtype, with_backward):
    """Flat work buffers of ``cap`` rows per layer of ``layers``: ``(Y, U)``, or ``Work`` with the
    backward pass's ``D, DY``, a batch of targets ``Tb`` and the errors ``e``; ``Y`` has room for
    the packed copies after its blocks (``passes.pack_size``)."""
    size = cap * sum(layers)
    sizes = [size + pack_size(layers, cap, dtype), size, size, size, cap * layers[-1], cap]  # Y, U, D, DY, Tb, e
    if not with_backward:
        return tuple(aligned.empty_many(sizes[:2], dtype))
    return Work(*aligned.empty_many(sizes, dtype))


def upper_work(net, cap, with_backward):
    """Work buffers of the layers above the input (``kernels.sparse``): as ``MLP.work_buffers`` without the
    input block, which CSR inputs do not need."""
    return work_buffers(net.layers[1:], cap, net.dtype, with_backward)


# -- learning-rate schedules ------------------------------------------------------------------------
class Constant:
    """``η`` stays as it is (it lives in the trainer's ``state["learning_rate"]``)."""

    def begin_epoch(self, rate, e):
        """The rate of epoch e (0, 1, …, counted over every call of a ``partial_fit``)."""
        return rate

    def end_epoch(self, rate, t):
        """The rate after an epoch, t samples seen in all."""
        return rate

    def trigger_stopping(self, rate):
        """On a plateau: ``(rate, stop)``. A constant rate stops."""
        return rate, True


@dataclass
class InvScaling(Constant):
    """``η = η₀ / (t + 1)^power_t`` after each epoch, t the samples seen (scikit-learn's ``invscaling``)."""

    eta0: float
    power_t: float

    def end_epoch(self, rate, t):
        return self.eta0 / (t + 1) ** self.power_t


class Adaptive(Constant):
    """On a plateau ``η ← η / 5`` while ``η > 10⁻⁶``, then stop (scikit-learn's ``adaptive``)."""

    def trigger_stopping(self, rate):
        if rate > 1e-6:
            return rate / 5.0, False
        return rate, True


@dataclass
class Cosine(Constant):
    """``η_e = η₀ (e + 1) / W`` for the W first epochs, then ``½ η₀ (1 + cos(π (e − W) / (E − W)))``.

    E is ``max_iter``; past E (``partial_fit``) the rate stays that of epoch E − 1.
    """

    eta0: float
    warmup: int
    epochs: int

    def begin_epoch(self, rate, e):
        eta0, W, T = float(self.eta0), int(self.warmup), int(self.epochs)
        if e < W:
            return eta0 * (e + 1) / W
        if T <= W:
            return eta0
        e = min(e, T - 1)
        return 0.5 * eta0 * (1.0 + np.cos(np.pi * (e - W) / (T - W)))


# -- stopping rule ----------------------------------------------------------------------------------
@dataclass
class NoImprovement:
    """Counts the epochs without an improvement of more than ``tol`` over the best value so far.

    ``maximize``: a validation score (improves when ``v ≥ best + tol``); else a training loss
    (improves when ``v ≤ best − tol``). ``triggered`` once the count exceeds ``patience``
    (scikit-learn's ``n_iter_no_change``). ``best`` and ``count`` carry over between fits.
    """

    tol: float
    patience: float
    maximize: bool
    best: float
    count: int = 0

    def update(self, value):
        if self.maximize:
            self.count = self.count + 1 if value < self.best + self.tol else 0
            self.best = max(self.best, value)
        else:
            self.count = self.count + 1 if value > self.best - self.tol else 0
            self.best = min(self.best, value)

    @property
    def triggered(self):
        return self.count > self.patience

    def message(self):
        what = "Validation score" if self.maximize else "Training loss"
        return f"{what} did not improve more than tol={self.tol:f} for {self.patience} consecutive epochs."


# -- the trainer ------------------------------------------------------------------------------------
class Trainer:
    """The epoch loop, with its rollback, schedule, stopping rule and best-weights keeping.

    Parameters
    ----------
    step : callable ``step(hyper) -> float``
        Trains one epoch in place; returns its summed loss.
    n_samples : int
        N: the epoch's mean loss is the summed loss over N.
    live : sequence of arrays
        What the step changes, parameters first; restored to the end of the last finished
        epoch after a divergence or a Ctrl-C.
    state : dict
        Holds ``learning_rate``, read before every epoch (a callback may change it).
    hyper : Hyper, or a callable returning one
        The optimizer's other constants (a callable is asked before every epoch: the estimators
        read their parameters then, as a callback may have changed them).
    schedule : Constant, InvScaling, Adaptive or Cosine
    stopping : NoImprovement, optional
    validate : callable ``() -> (score, loss)``, optional
        Early stopping: the weights of the best score are restored when the run ends.
    hint : str
        Ends the divergence message (``"Try a smaller lr (now 0.1)."``).
    say : callable(str), optional
        Where the stopping messages go.
    """

    def __init__(
        self,
        step,
        n_samples,
        live,
        state,
        hyper,
        dtype,
        *,
        schedule=None,
        stopping=None,
        validate=None,
        hint="",
        say=None,
    ):
        self.step, self.n_samples, self.live, self.state = step, n_samples, tuple(live), state
        self.hyper, self.dtype = hyper, dtype
        self.schedule = Constant() if schedule is None else schedule
        self.stopping, self.validate, self.hint = stopping, validate, hint
        self.say = say if say is not None else (lambda msg: None)
        self.last_good = [a.copy() for a in self.live]
        self.params = self.live[0]
        self.best = self.params.copy() if validate is not None else None
        self.best_epoch = 0  # the epoch (of this run) whose weights ``best`` holds; 0: the starting weights
        self.epochs = 0  # epochs finished in this run
        self.hyper_key = self.hyper_tuple = None

    def epoch(self, e):
        """Train epoch e (over every call); return its mean loss, or raise ``DivergenceError``."""
        self.state["learning_rate"] = self.schedule.begin_epoch(self.state["learning_rate"], e)
        hyper = self.hyper() if callable(self.hyper) else self.hyper
        key = (hyper, self.state["learning_rate"])
        if key != self.hyper_key:  # the same tuple object while nothing changes: Numba types a new one
            self.hyper_key, self.hyper_tuple = key, hyper.at(key[1], self.dtype)  # only when a constant or η changed
        loss = self.step(self.hyper_tuple) / self.n_samples
        if not (np.isfinite(loss) and np.isfinite(self.params).all()):
            self.rollback()
            err = DivergenceError(
                f"training diverged in epoch {self.epochs + 1} (loss {loss}); "
                f"{self.kept() or 'the weights from before that epoch were kept'}. {NON_FINITE} {self.hint}"
            )
            err.epoch, err.loss = self.epochs + 1, float(loss)
            raise err
        for good, a in zip(self.last_good, self.live):
            good[...] = a
        self.epochs += 1
        return loss

    def rollback(self):
        """Put back the live arrays of the last finished epoch."""
        for a, good in zip(self.live, self.last_good):
            a[...] = good

    def kept(self):
        """Which weights early stopping keeps, or None without it (or before a first score)."""
        if self.keeps_best():
            if self.best_epoch == 0:
                return "the starting weights of this fit (no epoch beat the best validation score) are kept"
            return f"the weights of epoch {self.best_epoch}, the best validation score, are kept"
        return None

    def keeps_best(self):
        return self.validate is not None and self.epochs > 0 and np.isfinite(self.stopping.best)

    def run(self, max_epochs, first=0, t=0, on_epoch=None, catch_interrupt=False):
        """Train up to ``max_epochs`` epochs; return why it ended: ``"max_epochs"``, ``"plateau"``,
        ``"callback"`` or ``"interrupted"``.

        ``first`` numbers the first epoch for the schedule, ``t`` counts the samples seen before;
        ``on_epoch(record)`` sees each epoch's record (``epoch``, ``loss``, ``validation_score``,
        ``validation_loss``, ``learning_rate``) and returns True to stop. ``KeyboardInterrupt``
        rolls back to the last finished epoch and is re-raised, or, with ``catch_interrupt``,
        ends the run. With a validation, the best weights are put back at the end, whatever ends it.
        """
        reason = "max_epochs"
        try:
            for e in range(first, first + max_epochs):
                loss = self.epoch(e)
                t += self.n_samples
                record = {
                    "epoch": self.epochs,
                    "loss": float(loss),
                    "validation_score": None,
                    "validation_loss": None,
                    "learning_rate": self.state["learning_rate"],
                }
                value = record["loss"]
                if self.validate is not None:
                    record["validation_score"], record["validation_loss"] = self.validate()
                    value = record["validation_score"]
                    if value > self.stopping.best:
                        self.best[...] = self.params
                        self.best_epoch = self.epochs
                if self.stopping is not None:
                    self.stopping.update(value)
                self.state["learning_rate"] = self.schedule.end_epoch(self.state["learning_rate"], t)
                stop = bool(on_epoch(record)) if on_epoch is not None else False
                if self.stopping is not None and self.stopping.triggered:
                    rate, plateau = self.schedule.trigger_stopping(self.state["learning_rate"])
                    if plateau:
                        self.say(f"{self.stopping.message()} Stopping.")
                        reason = "plateau"
                        break
                    self.state["learning_rate"] = rate
                    self.stopping.count = 0
                    self.say(f"{self.stopping.message()} Setting learning rate to {rate:f}")
                if stop:
                    self.say("A callback asked to stop. Stopping.")
                    reason = "callback"
                    break
        except KeyboardInterrupt:
            self.rollback()
            if not catch_interrupt:
                raise
            reason = "interrupted"
        finally:
            if self.keeps_best():
                self.params[...] = self.best
        return reason


def validation_loss_sum(loss, Y, T_val, dtype):
    """Sum of the validation losses (no penalty) of the float64 outputs Y of a ``dtype`` network,
    and their count: the estimators' ``validation_loss_curve_`` is the one over the other.

    ``loss``: ``squared_error`` (½ (y − t)², averaged over every entry), ``poisson``
    (``t log(t/y) − t + y`` summed over outputs), ``cross_entropy`` or ``binary_cross_entropy``
    (summed over outputs), each averaged over rows; probabilities clipped at ``dtype``'s tiny.
    """
    T = T_val.astype(np.float64)
    if loss == "squared_error":
        return 0.5 * np.sum((Y - T) ** 2), Y.size
    tiny = np.finfo(dtype).tiny
    if loss == "poisson":  # t log(t/y) − t + y, summed over outputs
        tlog = np.where(T > 0, T * np.log(np.where(T > 0, T, 1) / np.maximum(Y, tiny)), 0.0)
        return np.sum(tlog - T + Y), Y.shape[0]
    P = np.clip(Y, tiny, 1)
    if loss == "cross_entropy":
        return -np.sum(np.sum(T * np.log(P), axis=1)), Y.shape[0]
    Q = np.clip(1 - Y, tiny, 1)
    return -np.sum(np.sum(T * np.log(P) + (1 - T) * np.log(Q), axis=1)), Y.shape[0]
