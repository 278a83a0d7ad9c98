"""The estimators' stochastic fit: the optimizer's state and constants, the learning-rate schedule,
the step of one epoch, and the ``training.Trainer`` run with its record, warnings and progress."""

import sys
import warnings

import numpy as np
from scipy import sparse
from sklearn.exceptions import ConvergenceWarning

from .. import _aligned as aligned
from .._compile_notice import watch as watch_compiles
from .._signals import sigterm_as_interrupt
from .._validation import check_dropout
from ..kernels.optim import ADAM, ADAMW, MOMENTUM, NESTEROV, SGD
from ..training import (
    Adaptive,
    Constant,
    Cosine,
    DenseStep,
    DivergenceError,
    Hyper,
    InvScaling,
    NoImprovement,
    SparseStep,
    Trainer,
    optimizer_arrays,
    validation_loss_sum,
)
from ._fit_plan import as_dtype, csr_arrays
from ._prediction import net_forward

try:  # optional: the progress bar of ``verbose`` (pip install "nbmlp[progress]")
    from tqdm.auto import tqdm
except ImportError:  # pragma: no cover - exercised only without tqdm
    tqdm = None


class DivergenceWarning(ConvergenceWarning):
    """Training with ``early_stopping`` diverged and stopped; the best validation weights are kept.

    Without early stopping a divergence raises ``nbmlp.DivergenceError`` instead: there is no
    validation score to choose other weights by.
    """


def _terminal(stream):
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):  # no isatty, or a closed stream
        return False


class StochasticMixin:
    """The stochastic solvers' part of the estimators (sgd, adam, adamw): one ``Trainer`` run per
    ``fit`` or ``partial_fit``, and the estimator's record of it."""

    def _batch_size(self, n):
        if isinstance(self.batch_size, str):
            return min(200, n)
        if self.batch_size > n:
            warnings.warn("Got `batch_size` larger than sample size. It is going to be clipped", stacklevel=2)
        return int(min(self.batch_size, n))

    def _new_optimizer(self, n_params, dtype):
        code = {"adam": ADAM, "adamw": ADAMW}.get(self.solver, SGD)
        if self.solver == "sgd" and self.momentum > 0:
            code = NESTEROV if self.nesterovs_momentum else MOMENTUM
        # m: the velocity v (momentum, Nesterov) or Adam's first moment; s: Adam's second moment
        m = aligned.zeros(n_params if code != SGD else 0, dtype)
        s = aligned.zeros(n_params if code in (ADAM, ADAMW) else 0, dtype)
        self._optimizer_state = {
            "code": code,
            "m": m,
            "s": s,
            "step": np.zeros(1, np.int64),
            "learning_rate": float(self.learning_rate_init),
        }

    def _train(self, net, plan):
        """A stochastic solver's fit on this process: a ``DenseStep`` (or ``SparseStep``) and ``_run_epochs``."""
        N, dtype, state = plan.X.shape[0], net.dtype, self._optimizer_state
        batch = self._batch_size(N)
        weighted = plan.c is not None and not np.all(plan.c == 1)
        c = np.ascontiguousarray(plan.c, dtype=dtype) if weighted else None
        net.dropout = check_dropout(self.dropout, len(net.layers) - 2)
        parts = (batch, state["code"], optimizer_arrays(state), self._shuffle_rng, self.shuffle)
        if sparse.issparse(plan.X):  # CSR rows read in place; the first layer over the non-zeros only
            if any(net.dropout):
                raise ValueError(f"dropout={self.dropout!r} is not available with sparse input (use dropout=0.0)")
            step = SparseStep(net, csr_arrays(plan.X, dtype), plan.T, c, *parts)
        else:
            step = DenseStep(net, plan.X, plan.T, c, *parts)

        def validate():
            return self._validate(net, plan.X_val, plan.y_val, plan.T_val)

        self._run_epochs(plan, net, step, validate if plan.early_stopping else None)

    def _hyper_constants(self):
        """The optimizer's constants (``training.Hyper``); the rate comes from the schedule."""
        kappa = 1.0 / self.n_outputs_ if self._loss_core == "squared_error" else 1.0
        clip = 0.0 if self.max_grad_norm is None else self.max_grad_norm
        return Hyper(
            alpha=self.alpha,
            mu=self.momentum,
            beta1=self.beta_1,
            beta2=self.beta_2,
            eps=self.epsilon,
            kappa=kappa,
            weight_decay=self.weight_decay,
            max_norm=clip,
        )

    def _hyper(self, dtype):
        """The ``hyper`` tuple of ``train_epoch_opt`` for the current learning rate."""
        return self._hyper_constants().at(self._optimizer_state["learning_rate"], dtype)

    def _schedule(self):
        """The learning-rate schedule (``training``): ``invscaling`` and ``adaptive`` act on SGD only."""
        if self.learning_rate == "cosine":
            return Cosine(self.learning_rate_init, self.warmup_epochs, self.max_iter)
        if self.solver == "sgd" and self.learning_rate == "invscaling":
            return InvScaling(float(self.learning_rate_init), self.power_t)
        if self.solver == "sgd" and self.learning_rate == "adaptive":
            return Adaptive()
        return Constant()

    def _run_epochs(self, plan, net, step, validate, catch_interrupt=True):
        """Run a ``training.Trainer`` over ``step`` and keep the estimator's record of it.

        The interface of ``distributed`` too: ``step(hyper)`` trains one epoch over its
        ``n_samples`` and returns the summed loss; ``validate()`` (None without early stopping)
        returns the validation score and loss; ``plan.callbacks`` run after every epoch.
        ``KeyboardInterrupt`` (and SIGTERM in the main thread, ``_signals``) keeps the last
        finished epoch and then ends training with a warning, or is re-raised when
        ``catch_interrupt`` is False (``distributed``: one rank must not return alone).
        """
        state, N, incremental = self._optimizer_state, step.n_samples, plan.incremental
        if validate is not None:
            stopping = NoImprovement(
                self.tol, self.n_iter_no_change, True, self.best_validation_score_, self._no_improvement_count
            )
        else:  # best_loss_ is None after a fit with early stopping (partial_fit or warm start without it)
            stopping = NoImprovement(
                self.tol,
                self.n_iter_no_change,
                False,
                np.inf if self.best_loss_ is None else self.best_loss_,
                self._no_improvement_count,
            )
        bar = None
        compiling = []  # the kernel sets that began compiling during this fit (the bar says so)
        if self._progress_bar():
            bar = tqdm(total=1 if incremental else self.max_iter, desc=type(self).__name__, leave=False)
        # the parameters, optimizer state and shuffle state: put back after a divergence or Ctrl-C
        live = (net.params, state["m"], state["s"], state["step"], self._shuffle_rng)
        trainer = Trainer(
            step,
            N,
            live,
            state,
            self._hyper_constants,
            net.dtype,
            schedule=self._schedule(),
            stopping=stopping,
            validate=validate,
            say=lambda msg: self._say(bar, msg),
            hint=f"Try a smaller learning_rate_init (now {self.learning_rate_init}).",
        )

        def keep_record():
            self._no_improvement_count = stopping.count
            if validate is not None:
                self.best_validation_score_ = stopping.best
            else:
                self.best_loss_ = stopping.best

        def on_epoch(record):
            self.n_iter_ = record["epoch"]
            self.loss_ = record["loss"]
            self.t_ += N
            self.loss_curve_.append(self.loss_)
            keep_record()
            if validate is not None:
                self.validation_scores_.append(record["validation_score"])
                self.validation_loss_curve_.append(record["validation_loss"])
            if bar is not None and compiling:
                # the first epoch's time was mostly compiling: no rate or estimate from it
                compiling.clear()
                bar.set_description(type(self).__name__)
                bar.unpause()
            self._report(bar, record)
            if plan.callbacks:
                self._set_weights(net)  # callbacks see this epoch's coefs_ and intercepts_
            return any([bool(cb(self, record)) for cb in plan.callbacks])

        def on_compile(label):
            if bar is not None:
                compiling.append(label)
                bar.set_description(f"{type(self).__name__}: compiling the {label}")
                bar.refresh()

        self.n_iter_ = 0  # epochs of this call, as in scikit-learn (t_ and loss_curve_ accumulate)
        try:
            # SIGTERM ends training as Ctrl-C does; a first compile is shown on the progress bar
            with sigterm_as_interrupt() as signalled, watch_compiles(on_compile):
                try:
                    ended = trainer.run(
                        1 if incremental else self.max_iter,
                        first=len(self.loss_curve_) if incremental else 0,
                        t=self.t_,
                        on_epoch=on_epoch,
                        catch_interrupt=catch_interrupt,
                    )
                except DivergenceError as err:
                    if validate is None or err.epoch is None:
                        raise
                    ended = "diverged"
                    self._record_divergence(err, N)
            if ended == "interrupted":
                warnings.warn(
                    f"Training {'stopped by SIGTERM' if signalled.terminated else 'interrupted by user'}; "
                    f"{trainer.kept() or 'the weights of the last finished epoch are kept'}.",
                    stacklevel=2,
                )
            elif ended == "max_epochs" and not incremental:
                warnings.warn(
                    f"Stochastic Optimizer: Maximum iterations ({self.max_iter}) reached and "
                    "the optimization hasn't converged yet.",
                    ConvergenceWarning,
                    stacklevel=2,
                )
        finally:
            if bar is not None:
                bar.close()
            if trainer.epochs > 0:
                keep_record()
            self._set_weights(net)

    def _record_divergence(self, err, N):
        """Early stopping and a diverged epoch: scikit-learn's record of it (a NaN validation
        score), then the end of training with a ``DivergenceWarning``. The epoch's weights are
        not kept (the trainer put back the best ones); ``loss_`` stays the last finite loss."""
        self.n_iter_ = err.epoch
        self.t_ += N
        self.loss_curve_.append(err.loss)
        self.validation_scores_.append(float("nan"))
        self.validation_loss_curve_.append(float("nan"))
        self._say(None, f"{err} Stopping.")
        warnings.warn(str(err), DivergenceWarning, stacklevel=4)

    def _progress_bar(self):
        """``verbose``: tqdm's bar when stdout and stderr are terminals and ``verbose`` is True
        (or 1); else scikit-learn's printed lines (``Iteration 1, loss = …``), so that a log
        file gets one line per epoch."""
        return (
            tqdm is not None
            and (self.verbose is True or (isinstance(self.verbose, int) and self.verbose == 1))
            and _terminal(sys.stdout)
            and _terminal(sys.stderr)
        )

    def _validate(self, net, X_val, y_val, T_val):
        """Score (accuracy or R²) and data loss (no penalty) of the live network on the validation set."""
        Y = net_forward(net, as_dtype(X_val, net.dtype, "X")).astype(np.float64)
        if not np.isfinite(Y).all():  # outputs overflowed: scikit-learn's NaN score (no improvement)
            return float("nan"), float("nan")
        loss_sum, count = validation_loss_sum(self._loss_core, Y, T_val, net.dtype)
        return float(self._score_outputs(Y, y_val)), float(loss_sum / count)

    def _report(self, bar, record):
        if not self.verbose:
            return
        if bar is not None:
            post = {"loss": f"{record['loss']:.6g}"}
            if record["validation_score"] is not None:
                post["val_score"] = f"{record['validation_score']:.4f}"
            bar.set_postfix(post)
            bar.update(1)
        else:  # scikit-learn's lines, word for word
            print(f"Iteration {record['epoch']}, loss = {record['loss']:.8f}")
            if record["validation_score"] is not None:
                print(f"Validation score: {record['validation_score']:f}")

    def _say(self, bar, msg):
        if self.verbose:
            (bar.write if bar is not None else print)(msg)
