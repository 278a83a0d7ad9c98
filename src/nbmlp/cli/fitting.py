"""Training as the command does it (demo and train): epoch by epoch with a progress line,
validation rows, early stopping, Ctrl-C, the scaling folded into the weights."""

import signal
import sys
import threading
import time
import warnings

import numpy as np

from .._compile_notice import compile_seconds
from .._signals import Terminated
from ..tabular import UserError

_STOP_SIGNALS = tuple(getattr(signal, name) for name in ("SIGINT", "SIGTERM") if hasattr(signal, name))


class Progress:
    """One line per epoch: rewritten in place on a terminal, one line after another otherwise."""

    def __init__(self, epochs, quiet, stream=sys.stderr):
        self.epochs, self.quiet, self.stream = epochs, quiet, stream
        self.tty = stream.isatty()
        self.open = False
        self.start = time.perf_counter()

    def update(self, epoch, loss, val_loss, val_score, score_name):
        if self.quiet:
            return
        text = f"epoch {epoch:>4}/{self.epochs}  loss {loss:.4f}"
        if val_loss is not None:
            text += f"  val loss {val_loss:.4f}  val {score_name} {val_score:.3f}"
        if self.tty:
            self.stream.write("\r" + text)
            self.open = epoch != self.epochs
            if epoch == self.epochs:
                self.stream.write("\n")
        else:  # a log (a file, a pipe): every epoch, as the estimators' verbose lines
            self.stream.write(text + "\n")
        self.stream.flush()

    def close_line(self):
        """End a line rewritten in place (after an interruption or an error)."""
        if not self.quiet and self.tty and self.open:
            self.stream.write("\n")
            self.stream.flush()
            self.open = False

    def close(self):
        if not self.quiet and self.tty:
            self.stream.write("\n")
            self.stream.flush()


def split(n, fraction, seed, labels=None):
    """Indices (train, held out); stratified by ``labels`` when given, every class in both."""
    rng = np.random.default_rng(seed)
    if labels is None:
        order = rng.permutation(n)
        k = max(1, int(round(fraction * n)))
        return np.sort(order[k:]), np.sort(order[:k])
    held = []
    for c in np.unique(labels):
        idx = rng.permutation(np.flatnonzero(labels == c))
        held.extend(idx[: max(1, int(round(fraction * len(idx))))] if len(idx) > 1 else [])
    held = np.sort(np.array(held, dtype=np.int64))
    return np.setdiff1d(np.arange(n), held), held


def standardize(X):
    """Column means and scales (scale 1 for a constant column)."""
    mu = X.mean(axis=0)
    sigma = X.std(axis=0)
    sigma[sigma == 0] = 1.0
    return mu, sigma


def fold_input_scaling(model, mu, sigma):
    """Make a model trained on (X − μ)/σ take raw X: w_ij ← w_ij/σ_i, b_j ← b_j − Σ_i μ_i w_ij/σ_i."""
    w, b = model.coefs_[0], model.intercepts_[0]
    scaled = w / sigma[:, None].astype(w.dtype)
    b[...] = b - (mu[:, None].astype(w.dtype) * scaled).sum(axis=0)
    w[...] = scaled


def fold_output_scaling(model, mu, sigma):
    """Make a regressor trained on (t − μ)/σ predict t: w_jk ← σ_k w_jk, b_k ← σ_k b_k + μ_k."""
    w, b = model.coefs_[-1], model.intercepts_[-1]
    w[...] = w * sigma[None, :].astype(w.dtype)
    b[...] = b * sigma.astype(b.dtype) + mu.astype(b.dtype)


def validation_loss(model, X, y, classify):
    if classify:
        proba = np.clip(model.predict_proba(X), 1e-12, 1)
        cols = np.searchsorted(model.classes_, y)
        if proba.shape[1] == 1:
            proba = np.column_stack([1 - proba[:, 0], proba[:, 0]])
        return float(-np.log(proba[np.arange(len(y)), cols]).mean())
    pred = model.predict(X).reshape(len(y), -1)
    return float(0.5 * ((pred - y.reshape(len(y), -1)) ** 2).mean())


def train(model, X, y, Xval, yval, epochs, classify, quiet, patience=None):
    """Fit ``model`` epoch by epoch, tracking training and validation loss; return the history.

    ``history["interrupted"]`` is True when Ctrl-C stopped training (the model then holds the
    last finished epoch). Divergence and a network too large for memory are ``UserError``.
    ``patience``: early stopping; training stops after that many epochs without a lower
    validation loss and the model keeps the weights of the best epoch (``history["best_epoch"]``).
    """
    history = {"loss": [], "val_loss": [], "val_score": [], "times": [], "interrupted": False, "best_epoch": None}
    compiled_before = compile_seconds()
    progress = Progress(epochs, quiet)
    record = _EpochRecord(history, progress, Xval, yval, classify, patience)
    model.set_params(max_iter=epochs, callbacks=[record], verbose=False)
    started = time.perf_counter()
    try:
        _fit_until_stopped(model, X, y, history)
    finally:
        progress.close_line()
    model.set_params(callbacks=None)
    if record.best:
        for target, kept in zip(model.coefs_ + model.intercepts_, record.best["weights"]):
            target[...] = kept
        history["best_epoch"] = record.best["epoch"]
    _epoch_seconds(history, started, compile_seconds() - compiled_before)
    return history


class _EpochRecord:
    """The fit's callback after every epoch: the losses and scores in ``history``, the progress
    line, and (with ``patience``) the best epoch's weights; returns whether to stop."""

    def __init__(self, history, progress, Xval, yval, classify, patience):
        self.history, self.progress, self.Xval, self.yval = history, progress, Xval, yval
        self.classify, self.patience = classify, patience
        self.score_name = "accuracy" if classify else "R²"
        self.best = {}

    def __call__(self, estimator, info):
        history, Xval, yval = self.history, self.Xval, self.yval
        history["times"].append(time.perf_counter())
        if len(yval):
            history["val_loss"].append(validation_loss(estimator, Xval, yval, self.classify))
            history["val_score"].append(float(estimator.score(Xval, yval)))
        history["loss"].append(float(estimator.loss_curve_[-1]))
        self.progress.update(
            len(history["loss"]),
            history["loss"][-1],
            history["val_loss"][-1] if len(yval) else None,
            history["val_score"][-1] if len(yval) else None,
            self.score_name,
        )
        if self.patience is None:
            return False
        epoch = len(history["loss"])
        if not self.best or history["val_loss"][-1] < self.best["loss"]:
            self.best.update(
                loss=history["val_loss"][-1],
                epoch=epoch,
                weights=[a.copy() for a in estimator.coefs_ + estimator.intercepts_],
            )
        return epoch - self.best["epoch"] >= self.patience


def _fit_until_stopped(model, X, y, history):
    """``model.fit(X, y)``, stopped after the current epoch by Ctrl-C or SIGTERM (noted in ``history``)."""

    def on_signal(signum, frame):  # SIGINT (Ctrl-C) or SIGTERM: stop after the current epoch
        history["interrupted"], history["signal"] = True, signum
        raise Terminated if signum == signal.SIGTERM else KeyboardInterrupt

    from ..network import DivergenceError

    main_thread = threading.current_thread() is threading.main_thread()
    previous = {sig: signal.signal(sig, on_signal) for sig in _STOP_SIGNALS} if main_thread else {}
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the ConvergenceWarning at max_iter: the user chose the epochs
            model.fit(X, y)  # Ctrl-C: the estimator keeps the last finished epoch and returns
    except DivergenceError:
        raise UserError(
            f"training diverged in epoch {len(history['loss']) + 1} (the loss or a weight became "
            f"infinite or NaN); try a smaller --lr (now {model.learning_rate_init:g})"
        ) from None
    except MemoryError:
        raise UserError(
            f"not enough memory for a network of {X.shape[1]} inputs and hidden layers "
            f"{','.join(map(str, model.hidden_layer_sizes))}; use smaller --hidden sizes"
        ) from None
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _epoch_seconds(history, started, compiled):
    """The time per epoch in ``history``: the median gap between epoch ends, so the first epoch's
    compilation and the validation done after each epoch are left out."""
    gaps = np.diff(history["times"])
    history["epoch_seconds"] = float(np.median(gaps)) if len(gaps) else float("nan")
    history["compile_seconds"] = compiled
    if len(history["times"]) == 1:  # one epoch: its own time, less what compiling took
        history["epoch_seconds"] = history["times"][0] - started - history["compile_seconds"]


def per_epoch(history):
    """The time per epoch, as the report says it: compiling left out, and said when there was any."""
    how = "median" if len(history["times"]) > 1 else "one epoch"
    text = f"{1e3 * history['epoch_seconds']:.2f} ms per epoch ({how}, with the validation pass, compiling left out)"
    seconds = history.get("compile_seconds", 0.0)
    if seconds >= 0.05:
        text += f"; {seconds:.1f} s went to compiling the kernels (first use: cached for later runs)"
    return text


def make_estimator(task, hidden, activation, solver, lr, batch_size, seed, alpha=1e-4, dtype="float32"):
    from ..estimators import MLPClassifier, MLPRegressor

    cls = MLPClassifier if task == "classify" else MLPRegressor
    return cls(
        hidden_layer_sizes=hidden,
        activation=activation,
        solver=solver,
        learning_rate_init=lr,
        batch_size=batch_size,
        random_state=seed,
        tol=0.0,
        n_iter_no_change=10**9,
        alpha=alpha,
        dtype=dtype,
    )


def interrupted(history, note=""):
    print(f"nbmlp: interrupted after {len(history['loss'])} finished epoch(s){note}", file=sys.stderr)
    return 128 + history.get("signal", signal.SIGINT)  # 130 for Ctrl-C, 143 for SIGTERM
