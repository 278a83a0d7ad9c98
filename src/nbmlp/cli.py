"""The ``nbmlp`` command: demo, train, predict, evaluate (``cli_evaluate``), explain, bench.

Every failure a user can cause (a missing file, a bad CSV, a wrong model file, an output path
that cannot be written, a network too large for memory, training that diverges) prints one
line ``nbmlp: error: …`` to stderr and exits with status 2, without a traceback and without
leaving a partial output file. Ctrl-C prints ``nbmlp: interrupted …`` and exits with status
130 (``train --save-interrupted`` still saves the last finished epoch). Output files are
created with the usual permissions (0666 minus the umask; an existing file keeps its mode).
"""

import argparse
import contextlib
import csv
import io
import os
import signal
import stat
import sys
import tempfile
import threading
import time
import warnings

import numpy as np

from . import _compile_notice
from ._compile_notice import compile_seconds
from ._signals import Terminated, sigterm_as_interrupt
from .tabular import DECIMALS, NA_STRATEGIES, NUMBER, TEXT, UserError

EXIT_USAGE = 2
EXIT_INTERRUPTED = 130  # 128 + SIGINT
EXIT_TERMINATED = 143  # 128 + SIGTERM
_STOP_SIGNALS = tuple(getattr(signal, name) for name in ("SIGINT", "SIGTERM") if hasattr(signal, name))

DESCRIPTION = "Train multilayer perceptrons whose kernels are the loops of backpropagation."
EPILOG = """examples:
  nbmlp demo                        train on the digits, save digits_loss.png
  nbmlp demo spirals --epochs 300   two spirals, with a picture of the decision regions
  nbmlp train data.csv --target label --hidden 64,32 --out model.npz --plot loss.png
  nbmlp predict model.npz new.csv --out predictions.csv
  nbmlp evaluate model.npz test.csv  the scores of a saved model on labelled rows
  nbmlp explain output-gradients    the output layer's gradients: formulas and loops
  nbmlp bench                       time nbmlp against scikit-learn, PyTorch and NumPy
"""


# -- output files ---------------------------------------------------------------------------
STDOUT = "-"  # the output path that names standard output


def _special(path):
    """Whether ``path`` is standard output or an existing file that is not a regular file (a
    device such as /dev/null or /dev/stdout, a FIFO, a socket): written through, never replaced."""
    if path == STDOUT:
        return True
    try:
        return not stat.S_ISREG(os.stat(path).st_mode)  # follows symlinks
    except OSError:
        return False  # does not exist (or a dangling symlink): a new regular file


def _is_stdout(path):
    """Whether ``path`` is standard output: ``-``, or the file standard output is (/dev/stdout)."""
    if path == STDOUT:
        return True
    try:
        here, out = os.stat(path), os.fstat(1)
    except (OSError, ValueError):
        return False
    return (here.st_dev, here.st_ino) == (out.st_dev, out.st_ino) and not stat.S_ISREG(here.st_mode)


def check_writable(path, what="output file"):
    """UserError unless ``path`` can be created or replaced (checked before any long work)."""
    if _special(path) and not os.path.isdir(path):
        if path != STDOUT and not os.access(path, os.W_OK):
            raise UserError(f"cannot write {what} {path!r}: permission denied")
        return
    path = os.path.realpath(path)  # a symlink: its target is written
    directory = os.path.dirname(path)
    if os.path.isdir(path):
        raise UserError(f"cannot write {what} {path!r}: it is a directory")
    if not os.path.isdir(directory):
        raise UserError(f"cannot write {what} {path!r}: directory {directory!r} does not exist")
    if not os.access(directory, os.W_OK | os.X_OK):
        raise UserError(f"cannot write {what} {path!r}: directory {directory!r} is not writable")


def _new_file_mode(path):
    """The mode a plain ``open(path, "w")`` would give: the existing file's, else 0666 minus the umask."""
    try:
        return os.stat(path).st_mode & 0o7777
    except OSError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask


def write_atomically(path, write, what="output file"):
    """Call ``write(fh)`` with a temporary file opened for binary writing next to ``path``, then move
    it into place, so that no partial file is left (and no temporary, whatever fails).

    A symlink's target is the file replaced. Standard output (``-``) and anything else that is not
    a regular file (a device, a FIFO) cannot be replaced: ``write`` writes to it directly.
    """
    check_writable(path, what)
    if _special(path):
        _write_through(path, write, what)
        return
    path = os.path.realpath(path)
    directory = os.path.dirname(path)
    try:
        fd, tmp = tempfile.mkstemp(prefix=".nbmlp-", dir=directory)
    except OSError as err:
        raise UserError(f"cannot write {what} {path!r}: {err.strerror}") from None
    try:
        with os.fdopen(fd, "wb") as fh:
            write(fh)
        os.chmod(tmp, _new_file_mode(path))
        os.replace(tmp, path)
    except OSError as err:
        raise UserError(f"cannot write {what} {path!r}: {err.strerror or err}") from None
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def _write_through(path, write, what):
    """``write(fh)`` to standard output (its file descriptor: what a redirection of
    ``sys.stdout`` prints does not mix in) or to the special file ``path``."""
    try:
        if path == STDOUT:
            sys.stdout.flush()
            with os.fdopen(os.dup(1), "wb") as fh:
                write(fh)
        else:
            with open(path, "wb") as fh:
                write(fh)
    except BrokenPipeError:
        raise
    except OSError as err:
        raise UserError(f"cannot write {what} {path!r}: {err.strerror or err}") from None


# -- progress and plots ---------------------------------------------------------------------
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


def _pyplot():
    try:
        import matplotlib
    except ImportError:
        return None
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def plot_loss(path, history, title):
    plt = _pyplot()
    if plt is None:
        return False
    fig, ax = plt.subplots(figsize=(6, 4), dpi=100)
    epochs = np.arange(1, len(history["loss"]) + 1)
    ax.plot(epochs, history["loss"], label="training")
    if history["val_loss"]:
        ax.plot(epochs, history["val_loss"], label="validation")
    ax.set_xlabel("epoch")
    ax.set_ylabel("loss")
    ax.set_yscale("log")
    ax.set_title(title)
    ax.legend()
    fig.tight_layout()
    write_atomically(path, lambda fh: fig.savefig(fh, format="png"), "plot")
    plt.close(fig)
    return True


def plot_regions(path, model, X, y, title):
    plt = _pyplot()
    if plt is None:
        return False
    pad = 0.1 * (X.max(axis=0) - X.min(axis=0))
    lo, hi = X.min(axis=0) - pad, X.max(axis=0) + pad
    gx, gy = np.meshgrid(np.linspace(lo[0], hi[0], 200), np.linspace(lo[1], hi[1], 200))
    grid = np.column_stack([gx.ravel(), gy.ravel()]).astype(np.float32)
    proba = model.predict_proba(grid)
    p = proba[:, 1] if proba.shape[1] == 2 else proba.argmax(axis=1)
    fig, ax = plt.subplots(figsize=(5, 5), dpi=100)
    ax.contourf(gx, gy, p.reshape(gx.shape), levels=20, cmap="RdBu_r", alpha=0.6)
    ax.scatter(X[:, 0], X[:, 1], c=y, cmap="RdBu_r", edgecolors="k", s=14)
    ax.set_title(title)
    fig.tight_layout()
    write_atomically(path, lambda fh: fig.savefig(fh, format="png"), "plot")
    plt.close(fig)
    return True


# -- training shared by demo and train --------------------------------------------------------
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
    score_name = "accuracy" if classify else "R²"
    best = {}

    def record(estimator, info):
        history["times"].append(time.perf_counter())
        if len(yval):
            history["val_loss"].append(validation_loss(estimator, Xval, yval, classify))
            history["val_score"].append(float(estimator.score(Xval, yval)))
        history["loss"].append(float(estimator.loss_curve_[-1]))
        progress.update(
            len(history["loss"]),
            history["loss"][-1],
            history["val_loss"][-1] if len(yval) else None,
            history["val_score"][-1] if len(yval) else None,
            score_name,
        )
        if patience is None:
            return False
        epoch = len(history["loss"])
        if not best or history["val_loss"][-1] < best["loss"]:
            best.update(
                loss=history["val_loss"][-1],
                epoch=epoch,
                weights=[a.copy() for a in estimator.coefs_ + estimator.intercepts_],
            )
        return epoch - best["epoch"] >= patience

    def on_signal(signum, frame):  # SIGINT (Ctrl-C) or SIGTERM: stop after the current epoch
        history["interrupted"], history["signal"] = True, signum
        raise Terminated if signum == signal.SIGTERM else KeyboardInterrupt

    from .network import DivergenceError

    model.set_params(max_iter=epochs, callbacks=[record], verbose=False)
    main_thread = threading.current_thread() is threading.main_thread()
    started = time.perf_counter()
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
        progress.close_line()
    model.set_params(callbacks=None)
    if best:
        for target, kept in zip(model.coefs_ + model.intercepts_, best["weights"]):
            target[...] = kept
        history["best_epoch"] = best["epoch"]
    # time per epoch: the median gap between epoch ends, so the first epoch's compilation and the
    # validation done in ``record`` are left out
    gaps = np.diff(history["times"])
    history["epoch_seconds"] = float(np.median(gaps)) if len(gaps) else float("nan")
    history["compile_seconds"] = compile_seconds() - compiled_before
    if len(history["times"]) == 1:  # one epoch: its own time, less what compiling took
        history["epoch_seconds"] = history["times"][0] - started - history["compile_seconds"]
    return history


def _per_epoch(history):
    """The time per epoch, as the report says it: compiling left out, and said when there was any."""
    how = "median" if len(history["times"]) > 1 else "one epoch"
    text = f"{1e3 * history['epoch_seconds']:.2f} ms per epoch ({how}, with the validation pass, compiling left out)"
    seconds = history.get("compile_seconds", 0.0)
    if seconds >= 0.05:
        text += f"; {seconds:.1f} s went to compiling the kernels (first use: cached for later runs)"
    return text


def make_estimator(task, hidden, activation, solver, lr, batch_size, seed, alpha=1e-4, dtype="float32"):
    from .estimators import MLPClassifier, MLPRegressor

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


# -- commands -------------------------------------------------------------------------------
DEMOS = {  # dataset: hidden layers, activation, solver, learning rate, batch size, epochs
    "digits": ((64,), "relu", "sgd", 0.1, 32, 30),
    "iris": ((16,), "tanh", "adam", 0.01, 16, 150),
    "xor": ((8,), "tanh", "adam", 0.05, 16, 150),
    "spirals": ((64, 64), "relu", "adam", 0.01, 32, 300),
    "moons": ((32,), "relu", "adam", 0.01, 32, 150),
}


def cmd_demo(args):
    from . import datasets

    if os.path.exists(args.out_dir) and not os.path.isdir(args.out_dir):
        raise UserError(f"--out-dir {args.out_dir!r} is a file, not a directory")
    X, y = datasets.load(args.dataset, seed=args.seed)
    hidden, activation, solver, lr, batch, epochs = DEMOS[args.dataset]
    epochs = args.epochs or epochs
    if args.dataset == "xor":
        batch = min(batch, len(y))
    rest, test = split(len(y), 0.2, args.seed, y)
    train_idx, val_idx = split(len(rest), 0.25, args.seed + 1, y[rest])
    train_idx, val_idx = rest[train_idx], rest[val_idx]
    mu, sigma = standardize(X[train_idx])
    Xs = ((X - mu) / sigma).astype(np.float32)
    model = make_estimator("classify", hidden, activation, solver, lr, batch, args.seed)
    say = (lambda *a: None) if args.quiet else print
    say(
        f"nbmlp demo: {args.dataset}, {len(train_idx)} training / {len(val_idx)} validation / {len(test)} test "
        f"samples, layers {X.shape[1]}-{'-'.join(map(str, hidden))}-{len(np.unique(y))}, {activation}, {solver}, "
        f"{epochs} epochs"
    )
    history = train(model, Xs[train_idx], y[train_idx], Xs[val_idx], y[val_idx], epochs, True, args.quiet)
    if history["interrupted"]:
        return _interrupted(history)
    test_acc = model.score(Xs[test], y[test])
    print(f"test accuracy {test_acc:.3f}; {_per_epoch(history)}")
    try:
        os.makedirs(args.out_dir, exist_ok=True)
    except OSError as err:
        raise UserError(f"cannot create --out-dir {args.out_dir!r}: {err.strerror}") from None
    loss_png = os.path.join(args.out_dir, f"{args.dataset}_loss.png")
    pictures = []
    if plot_loss(loss_png, history, f"nbmlp {args.dataset}: loss per epoch"):
        pictures.append(loss_png)
        if X.shape[1] == 2:
            regions_png = os.path.join(args.out_dir, f"{args.dataset}_regions.png")
            plot_regions(regions_png, model, Xs, y, f"nbmlp {args.dataset}: decision regions")
            pictures.append(regions_png)
        print("saved " + ", ".join(pictures))
    else:
        print("plots skipped: matplotlib is not installed (pip install 'nbmlp[plot]')")
    return 0


def _interrupted(history, note=""):
    print(f"nbmlp: interrupted after {len(history['loss'])} finished epoch(s){note}", file=sys.stderr)
    return 128 + history.get("signal", signal.SIGINT)  # 130 for Ctrl-C, 143 for SIGTERM


def _read(path, delimiter, text_columns=(), quiet=False, decimal="."):
    """``read_table`` and the seconds it took."""
    from .tabular import have_pandas, read_table

    if not have_pandas() and not quiet:
        print(
            "nbmlp: note: pandas is not installed, so the CSV is read with Python's csv module (about 20 times "
            "slower on large files); pip install 'nbmlp[csv]' to read it with pandas",
            file=sys.stderr,
        )
    start = time.perf_counter()
    table = read_table(path, delimiter, text_columns, decimal=decimal)
    return table, time.perf_counter() - start


def _target(table, name, task):
    """The task and the target values (int64 or str class labels, or float64 numbers)."""
    col = table.columns[name]
    numeric = col.dtype.kind == "f"
    if task is None:
        task = "regress"
        if not numeric or (np.all(col == np.round(col)) and len(np.unique(col)) <= 20):
            task = "classify"
    if task == "regress":
        return task, table.numbers(name)
    if numeric:
        odd = np.flatnonzero(~np.isfinite(col) | (col != np.round(col)))
        if len(odd):
            raise UserError(
                f"target column {name!r} holds numbers that are not whole ({table.cell(odd[0], name)!r}, "
                "…): class labels must be integers or names (or use --task regress)"
            )
        if np.abs(col).max() >= 2**53:
            raise UserError(f"target column {name!r}: class numbers must be below 2**53 in size")
        y = col.astype(np.int64)
    else:
        y = table.strings(name).astype(str)
    if len(np.unique(y)) < 2:
        raise UserError(f"target column {name!r} has a single class; classification needs two or more")
    return task, y


def _report_classes(model, X, y, which):
    """The confusion matrix and scikit-learn's classification_report of ``model`` on (X, y)."""
    from sklearn.metrics import classification_report, confusion_matrix

    pred = model.predict(X)
    labels = list(model.classes_)
    m = confusion_matrix(y, pred, labels=labels)
    names = [str(c) for c in labels]
    width = max(max(map(len, names)), len(str(m.max())), 4)
    lines = [
        f"confusion matrix ({which} rows; a row per true class, a column per predicted class):",
        " " * (width + 2) + " ".join(f"{n:>{width}}" for n in names),
    ]
    for n, row in zip(names, m):
        lines.append(f"{n:>{width}}  " + " ".join(f"{v:>{width}}" for v in row))
    lines.append(classification_report(y, pred, labels=labels, target_names=names, zero_division=0).rstrip())
    return "\n".join(lines)


def _regression_scores(model, X, y):
    pred = np.asarray(model.predict(X), dtype=np.float64).reshape(len(y))
    err = pred - y
    ss = ((y - y.mean()) ** 2).sum()
    # a constant target (ss = 0): 1 if predicted exactly, else 0, as scikit-learn's r2_score
    r2 = 1 - (err**2).sum() / ss if ss > 0 else float(not err.any())
    return f"R² {r2:.4f} (RMSE {np.sqrt((err**2).mean()):.6g}, MAE {np.abs(err).mean():.6g})"


def cmd_train(args):
    if args.out and _is_stdout(args.out):  # the model file on standard output: the report on stderr
        with contextlib.redirect_stdout(sys.stderr):
            return _train_command(args)
    return _train_command(args)


def _train_command(args):
    from sklearn.preprocessing import StandardScaler

    from .cli_evaluate import read_test
    from .cli_evaluate import report as evaluation_report
    from .column_advice import text_column_warnings
    from .tabular import ColumnEncoder, decimal_comma_example, warn

    for path, what in ((args.out, "model file"), (args.plot, "plot")):
        if path:
            check_writable(path, what)  # before training, not after
    if args.early_stopping is not None and args.validation == 0:
        raise UserError("--early-stopping needs validation rows (--validation above 0)")
    table, read_seconds = _read(args.data, args.delimiter, quiet=args.quiet, decimal=args.decimal)
    header = table.header
    if args.target not in header:
        raise UserError(f"target column {args.target!r} is not in {args.data} (columns: {', '.join(header)})")
    unknown = [c for c in args.ignore if c not in header]
    if unknown:
        raise UserError(
            f"--ignore: column(s) {', '.join(map(repr, unknown))} not in {args.data} (columns: {', '.join(header)})"
        )
    features = [c for c in header if c != args.target and c not in args.ignore]
    if not features:
        raise UserError(f"{args.data} has no feature columns besides the target {args.target!r}")
    dropped = 0
    gone = table.missing(args.target)
    if args.na == "drop":
        for c in features:
            gone = gone | table.missing(c)
    if gone.any():
        if args.na == "error":
            table.check_complete(args.target)
        dropped = int(gone.sum())
        if dropped == table.n_rows:
            raise UserError(f"{args.data}: every row has a missing value (--na {args.na})")
        table = table.take(np.flatnonzero(~gone))
    if args.na == "error":
        for c in features:  # before any fitting: the error names the first missing cell
            table.check_complete(c)
    kinds = [NUMBER if table.looks_numeric(c) else TEXT for c in features]
    for c, kind in zip(features, kinds):
        example = decimal_comma_example(table, c) if kind == TEXT and args.decimal == "." else None
        if example is not None:
            warn(
                f"column {c!r} looks like numbers with a decimal comma ({example!r}) but is encoded as text "
                "(one-hot); if they are numbers, use --decimal ,"
            )
    for message in text_column_warnings(table, [c for c, k in zip(features, kinds) if k == TEXT]):
        warn(message)
    task, y = _target(table, args.target, args.task)
    train_idx, val_idx = split(len(y), args.validation, args.seed, y if task == "classify" else None)
    if args.validation == 0 or len(train_idx) == 0:
        train_idx, val_idx = np.arange(len(y)), np.arange(0)
    encoder = ColumnEncoder.fit(table, features, kinds, args.na, train_idx)
    test = None
    if args.test:  # read and checked before training
        text = [c for c, k in zip(features, kinds) if k == TEXT]
        test = read_test(
            args.test, features, text, task == "classify", args.target, args.delimiter, args.quiet, args.decimal
        )
    X, _ = encoder.transform(table)
    scaler = StandardScaler().fit(X[train_idx])
    mu, sigma = scaler.mean_, scaler.scale_
    Xs = (X - mu) / sigma
    ys, y_mu, y_sigma = y, None, None
    if task == "regress":
        y_mu, y_sigma = standardize(y[train_idx, None])
        ys = (y - y_mu[0]) / y_sigma[0]
    model = make_estimator(
        task,
        args.hidden,
        args.activation,
        args.solver,
        args.lr,
        args.batch_size,
        args.seed,
        alpha=args.alpha,
        dtype=args.dtype,
    )
    if not args.quiet:
        n_text = kinds.count(TEXT)
        print(
            f"nbmlp train: {args.data} (read in {read_seconds:.2f} s), {len(train_idx)} training / "
            f"{len(val_idx)} validation rows, {len(features)} feature columns"
            f"{f' ({n_text} text, one-hot)' if n_text else ''} → {encoder.n_inputs} inputs, task {task}, "
            f"hidden {','.join(map(str, args.hidden))}, {args.activation}, {args.solver}, {args.dtype}"
        )
        if dropped:
            print(f"left out {dropped} row(s) with a missing {'value' if args.na == 'drop' else 'target'}")
    start = time.perf_counter()
    history = train(
        model,
        Xs[train_idx],
        ys[train_idx],
        Xs[val_idx],
        ys[val_idx],
        args.epochs,
        task == "classify",
        args.quiet,
        patience=args.early_stopping,
    )
    train_seconds = time.perf_counter() - start
    if history["interrupted"] and not (args.save_interrupted and len(history["loss"])):
        return _interrupted(
            history, "; no model saved (--save-interrupted saves the last finished epoch)" if args.out else ""
        )
    fold_input_scaling(model, mu, sigma)
    if task == "regress":
        fold_output_scaling(model, y_mu, y_sigma)
    names = encoder.input_names()
    if len(set(names)) == len(names):
        model.feature_names_in_ = np.array(names, dtype=object)  # saved, so predict finds its columns
    name = "accuracy" if task == "classify" else "R²"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if task == "classify":
            line = f"training {name} {model.score(X[train_idx], y[train_idx]):.4f}"
            if len(val_idx):
                line += f"; validation {name} {model.score(X[val_idx], y[val_idx]):.4f}"
        else:
            line = f"training {_regression_scores(model, X[train_idx], y[train_idx])}"
            if len(val_idx):
                line += f"; validation {_regression_scores(model, X[val_idx], y[val_idx])}"
        print(line)
        if task == "classify":
            rows = val_idx if len(val_idx) else train_idx
            print(_report_classes(model, X[rows], y[rows], "validation" if len(val_idx) else "training"))
    if test is not None:
        print(evaluation_report(model, encoder, test, "test"))
    epochs = len(history["loss"])
    print(
        f"{epochs} epoch(s) in {train_seconds:.2f} s, {_per_epoch(history)}; reading the CSV took {read_seconds:.2f} s"
    )
    if history["best_epoch"] is not None:
        print(
            f"early stopping: the lowest validation loss was at epoch {history['best_epoch']} of {epochs}; "
            "the model keeps that epoch's weights"
        )
    if args.out:
        write_atomically(args.out, lambda fh: model.save(fh, inputs=encoder.arrays()), "model file")
        print(f"saved model to {args.out}")
    if history["interrupted"]:
        return _interrupted(history, f"; {args.out} holds the last finished epoch" if args.out else "")
    if args.plot:
        if plot_loss(args.plot, history, f"nbmlp: {os.path.basename(args.data)}"):
            print(f"saved loss curve to {args.plot}")
        else:
            print("plot skipped: matplotlib is not installed (pip install 'nbmlp[plot]')")
    return 0


def cmd_predict(args):
    from .estimators import MLPClassifier, load_with_inputs
    from .tabular import warn

    if args.out and _is_stdout(args.out):
        args.out = None  # standard output, the default
    if args.out:
        check_writable(args.out)
    if not os.path.exists(args.model):
        raise UserError(f"model file {args.model!r} does not exist")
    try:
        model, encoder = load_with_inputs(args.model)
    except (ValueError, TypeError, OSError) as err:
        raise UserError(f"{args.model} is not a usable nbmlp model: {err}") from None
    if args.proba and not isinstance(model, MLPClassifier):
        raise UserError(f"--proba: {args.model} is a regression model; probabilities need a classifier")
    text_columns = [args.id] if args.id else []
    if encoder is not None:  # as in training, whatever they look like here
        text_columns += [c for c, k in zip(encoder.columns, encoder.kinds) if k == TEXT]
    table, _ = _read(args.data, args.delimiter, text_columns, args.quiet, args.decimal)
    header = table.header
    if args.id and args.id not in header:
        raise UserError(f"--id column {args.id!r} is not in {args.data} (columns: {', '.join(header)})")
    n_features = model.n_features_in_
    names = getattr(model, "feature_names_in_", None)
    columns = encoder.columns if encoder is not None else (list(names) if names is not None else header)
    if encoder is not None or names is not None:
        missing = [n for n in columns if n not in header]
        if missing:
            raise UserError(
                f"{args.data} lacks the model's feature column(s) {', '.join(map(repr, missing[:10]))}"
                f"{' …' if len(missing) > 10 else ''} (the model takes {', '.join(map(str, columns))})"
            )
    if encoder is not None:
        X, ok = encoder.transform(table, warn=warn)
    else:  # a model file from before the column encoding: numeric columns only
        if len(columns) != n_features:
            raise UserError(f"{args.data} has {len(columns)} columns but the model takes {n_features} features")
        X = np.column_stack([table.numbers(c) for c in columns])
        ok = np.ones(len(X), dtype=bool)
    pred = np.full(len(X), "", dtype=object)
    proba = None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # fitted with feature names, given a plain array
        if ok.any():
            pred[ok] = list(model.predict(X[ok]))
            if args.proba:
                p = model.predict_proba(X[ok])
                if p.shape[1] == 1:
                    p = np.column_stack([1 - p[:, 0], p[:, 0]])
                proba = np.full((len(X), p.shape[1]), "", dtype=object)
                proba[ok] = p
    head = ([args.id] if args.id else []) + ["prediction"]
    if args.proba:
        head += [f"proba_{c}" for c in model.classes_]
        if proba is None:
            proba = np.full((len(X), len(model.classes_)), "", dtype=object)
    ids = table.strings(args.id) if args.id else None

    def rows():
        for i in range(len(pred)):
            row = [pred[i]]
            if ids is not None:
                row.insert(0, "" if ids[i] is None else ids[i])
            if proba is not None:
                row.extend(proba[i])
            yield row

    def write(fh):
        text = io.TextIOWrapper(fh, newline="", encoding="utf-8")
        w = csv.writer(text)
        w.writerow(head)
        w.writerows(rows())
        text.flush()
        text.detach()

    if args.out:
        write_atomically(args.out, write)
        if not args.quiet:
            print(f"wrote {len(pred)} predictions to {args.out}")
            if not ok.all():
                print(
                    f"{int((~ok).sum())} row(s) with a missing value have an empty prediction (the model was "
                    "trained with --na drop)"
                )
    else:
        w = csv.writer(sys.stdout, lineterminator="\n")
        w.writerow(head)
        w.writerows(rows())
    return 0


def cmd_explain(args):
    from .derivation import explain

    explain(args.step)
    return 0


def cmd_bench(args):
    from .bench import main as bench_main

    if args.help:  # the benchmark's own options
        return bench_main(["--help"], prog="nbmlp bench")
    rest = args.rest
    if args.threads and "--threads" not in rest:
        rest = ["--threads", str(args.threads)] + rest
    return bench_main(rest)


# -- argument parsing -----------------------------------------------------------------------
def _hidden(text):
    try:
        sizes = tuple(int(v) for v in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"--hidden takes sizes like 64,32, got {text!r}") from None
    if not sizes or min(sizes) < 1:
        raise argparse.ArgumentTypeError(f"--hidden sizes must be positive, got {text!r}")
    return sizes


def _positive(kind):
    def parse(text):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a positive {kind.__name__}, got {text!r}") from None
        if not value > 0:
            raise argparse.ArgumentTypeError(f"expected a positive {kind.__name__}, got {text!r}")
        return value

    return parse


def _non_negative(text):
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number >= 0, got {text!r}") from None
    if not value >= 0 or not np.isfinite(value):
        raise argparse.ArgumentTypeError(f"expected a finite number >= 0, got {text!r}")
    return value


def _names(text):
    names = tuple(n.strip() for n in text.split(",") if n.strip())
    if not names:
        raise argparse.ArgumentTypeError(f"expected comma-separated column names, got {text!r}")
    return names


DECIMAL_HELP = "decimal mark of the numbers: . (default) or , (0,5; the delimiter is then not ,)"
DELIMITER_HELP = "field delimiter: one character, or 'tab' (default: detected among , ; tab |)"


def _delimiter(text):
    text = {"tab": "\t", "\\t": "\t", "comma": ",", "semicolon": ";"}.get(text, text)
    if len(text) != 1 or text in '"\r\n':
        raise argparse.ArgumentTypeError(f"expected one character (or 'tab'), got {text!r}")
    return text


def _version():
    # the version of the code that runs (nbmlp._version), not of whatever installation the package
    # metadata describes: the two differ when a source tree is put on the path
    from ._version import __version__

    return __version__


def _fraction(text):
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a fraction in [0, 1), got {text!r}") from None
    if not 0 <= value < 1:
        raise argparse.ArgumentTypeError(f"expected a fraction in [0, 1), got {text!r}")
    return value


def build_parser():
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--quiet", "-q", action="store_true", help="print only results and errors")
    common.add_argument("--threads", type=_positive(int), help="threads used by the kernels")
    common.add_argument("--seed", type=int, default=0, help="random seed (default 0)")

    parser = argparse.ArgumentParser(
        prog="nbmlp", description=DESCRIPTION, epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--version", action="version", version=f"nbmlp {_version()}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    fmt = argparse.RawDescriptionHelpFormatter

    from .datasets import DATASETS

    p = sub.add_parser(
        "demo",
        parents=[common],
        formatter_class=fmt,
        help="train on a small or generated data set",
        description="Train a sensible network on a small (digits, iris: scikit-learn's) or generated (xor, spirals, "
        "moons) data set, print the test accuracy and save plots.",
        epilog="examples:\n  nbmlp demo\n  nbmlp demo spirals --epochs 300 --out-dir pictures\n",
    )
    p.add_argument("dataset", nargs="?", default="digits", choices=DATASETS, help="data set (default digits)")
    p.add_argument("--epochs", type=_positive(int), help="epochs (default: a sensible number per data set)")
    p.add_argument("--out-dir", default=".", help="where to save the pictures (default: current directory)")
    p.set_defaults(func=cmd_demo)

    p = sub.add_parser(
        "train",
        parents=[common],
        formatter_class=fmt,
        help="train on a CSV file",
        description="Train on a CSV file with a header row; one column is the target. Features are "
        "standardized (the scaling is folded into the saved weights).",
        epilog="examples:\n  nbmlp train data.csv --target label --out model.npz\n"
        "  nbmlp train houses.csv --target price --task regress --hidden 64,64 --plot loss.png\n"
        "  nbmlp train export.csv --target churn --ignore customer --na median --early-stopping\n"
        "\nText feature columns are one-hot encoded (categories of the training rows). Reading "
        "uses pandas\nwhen installed (pip install 'nbmlp[csv]'), else Python's slower csv "
        "module.\n",
    )
    p.add_argument("data", help="CSV file with a header row")
    p.add_argument("--target", required=True, help="name of the target column")
    p.add_argument(
        "--ignore",
        type=_names,
        default=(),
        metavar="COLS",
        help="comma-separated columns that are not features (ids, free text, …)",
    )
    p.add_argument("--delimiter", type=_delimiter, help=DELIMITER_HELP)
    p.add_argument("--decimal", choices=DECIMALS, default=".", help=DECIMAL_HELP)
    p.add_argument(
        "--na",
        choices=NA_STRATEGIES,
        default="error",
        help="missing values (empty, NA, NaN, null, ?, …): error (default), drop the rows, or fill "
        "numeric columns with the mean, median or most_frequent value of the training rows (text "
        "columns: always the most frequent)",
    )
    p.add_argument("--hidden", type=_hidden, default=(64,), help="hidden layer sizes, e.g. 64,32 (default 64)")
    p.add_argument("--activation", default="relu", choices=["identity", "logistic", "tanh", "relu", "leaky_relu"])
    p.add_argument("--epochs", type=_positive(int), default=50, help="epochs (default 50)")
    p.add_argument("--batch-size", type=_positive(int), default=32, help="mini-batch size (default 32)")
    p.add_argument("--lr", type=_positive(float), default=1e-3, help="learning rate η (default 0.001)")
    p.add_argument("--solver", default="adam", choices=["sgd", "adam"], help="optimizer (default adam)")
    p.add_argument("--alpha", type=_non_negative, default=1e-4, help="L2 penalty α (default 0.0001)")
    p.add_argument(
        "--dtype",
        default="float32",
        choices=["float32", "float64"],
        help="the network's floating-point type (default float32)",
    )
    p.add_argument(
        "--early-stopping",
        nargs="?",
        const=10,
        type=_positive(int),
        metavar="PATIENCE",
        help="stop when the validation loss has not improved for PATIENCE epochs (default 10) and keep "
        "the weights of the best epoch",
    )
    p.add_argument(
        "--task",
        choices=["classify", "regress"],
        help="default: classify for non-numeric or few integer target values, else regress",
    )
    p.add_argument("--validation", type=_fraction, default=0.2, help="fraction held out for validation (default 0.2)")
    p.add_argument("--out", help="save the trained model to this .npz file")
    p.add_argument("--test", metavar="FILE", help="a CSV file of test rows: report the trained model's scores on it")
    p.add_argument("--plot", help="save the loss curve to this PNG file")
    p.add_argument(
        "--save-interrupted",
        action="store_true",
        help="on Ctrl-C, still save the last finished epoch to --out (then exit 130)",
    )
    p.set_defaults(func=cmd_train)

    p = sub.add_parser(
        "predict",
        parents=[common],
        formatter_class=fmt,
        help="predict with a saved model",
        description="Predict the rows of a CSV file (header row; the model's feature columns) with a "
        "model saved by 'nbmlp train --out'.",
        epilog="examples:\n  nbmlp predict model.npz new.csv\n"
        "  nbmlp predict model.npz new.csv --out predictions.csv --id customer --proba\n",
    )
    p.add_argument("model", help="model file (.npz) from 'nbmlp train --out'")
    p.add_argument("data", help="CSV file with a header row")
    p.add_argument("--out", help="write predictions to this CSV file (default: standard output)")
    p.add_argument("--delimiter", type=_delimiter, help=DELIMITER_HELP)
    p.add_argument("--decimal", choices=DECIMALS, default=".", help=DECIMAL_HELP)
    p.add_argument("--proba", action="store_true", help="add a probability column per class (proba_CLASS)")
    p.add_argument("--id", metavar="COL", help="copy column COL (an id) into the output, first")
    p.set_defaults(func=cmd_predict)

    from .cli_evaluate import add_parser as add_evaluate_parser

    add_evaluate_parser(sub, common)

    p = sub.add_parser(
        "explain",
        parents=[common],
        formatter_class=fmt,
        help="show a formula and its loop",
        description="Print each step of the backpropagation derivation with the loop that computes it.",
        epilog="examples:\n  nbmlp explain\n  nbmlp explain forward\n",
    )
    p.add_argument("step", nargs="?", help="one step (default: all)")
    p.set_defaults(func=cmd_explain)

    p = sub.add_parser(
        "bench",
        parents=[common],
        formatter_class=fmt,
        help="compare speed with other libraries",
        add_help=False,
        description="Train the same networks with nbmlp, scikit-learn, PyTorch (if installed) and "
        "NumPy; print a table. Options after 'bench' go to python -m nbmlp.bench.",
        epilog="examples:\n  nbmlp bench\n  nbmlp bench --sizes small,mid --epochs 3 --threads 2\n",
    )
    p.add_argument("-h", "--help", action="store_true", help="show the benchmark's options and exit")
    p.set_defaults(func=cmd_bench)

    from .warmup import DEFAULT_JOBS, JOBS

    p = sub.add_parser(
        "warmup",
        parents=[common],
        formatter_class=fmt,
        help="compile the kernels into the cache ahead of first use",
        description="Compile the kernels that common use needs into Numba's on-disk cache (NUMBA_CACHE_DIR, "
        "or __pycache__ beside the package), spread over processes, so that the first fit of a new process "
        "loads them instead of compiling. Run it once in a Dockerfile or a CI image.",
        epilog="examples:\n  nbmlp warmup\n  NUMBA_CACHE_DIR=/opt/nbmlp-cache nbmlp warmup --dtype float32\n"
        "  nbmlp warmup --kernels train,small,trace,sparse,lbfgs\n\nkernel sets:\n"
        + "".join(f"  {name:7} {text}\n" for name, text in JOBS.items()),
    )
    p.add_argument("--dtype", choices=["float32", "float64"], help="compile for this dtype only (default: both)")
    p.add_argument(
        "--kernels",
        type=_kernel_sets,
        default=DEFAULT_JOBS,
        metavar="SETS",
        help=f"comma-separated kernel sets (default {','.join(DEFAULT_JOBS)}; all: {','.join(JOBS)})",
    )
    p.add_argument("--jobs", type=_positive(int), help="processes at a time (default: the CPU count)")
    p.set_defaults(func=cmd_warmup)
    return parser


def _kernel_sets(text):
    from .warmup import JOBS

    names = tuple(name.strip() for name in text.split(",") if name.strip())
    unknown = [name for name in names if name not in JOBS]
    if not names or unknown:
        raise argparse.ArgumentTypeError(f"expected kernel sets from {', '.join(JOBS)}, got {text!r}")
    return names


def cmd_warmup(args):
    from .warmup import DTYPES, warmup

    try:
        warmup(
            args.kernels,
            (args.dtype,) if args.dtype else DTYPES,
            jobs=args.jobs,
            say=(lambda text: None) if args.quiet else (lambda text: print(text, flush=True)),
        )
    except RuntimeError as err:
        raise UserError(str(err)) from None


def main(argv=None):
    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    if extra and args.command != "bench":
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    if args.command == "bench":
        args.rest = extra  # the options of python -m nbmlp.bench
    if args.command is None:
        parser.print_help()
        return EXIT_USAGE
    try:
        if args.threads:
            from . import set_num_threads

            set_num_threads(min(args.threads, _max_threads()))
        # SIGTERM as Ctrl-C (temporary files removed, exit 143); the command always says when it
        # compiles (unless --quiet), whatever NBMLP_COMPILE_NOTICE says
        with sigterm_as_interrupt(), _compile_notice.forced(not getattr(args, "quiet", False)):
            return args.func(args) or 0
    except UserError as err:
        return _error(err)
    except (ValueError, TypeError) as err:
        if os.environ.get("NBMLP_DEBUG"):
            raise
        return _error(err)
    except MemoryError:
        return _error("not enough memory (try smaller --hidden sizes or --batch-size)")
    except KeyboardInterrupt as stop:
        print("nbmlp: interrupted", file=sys.stderr)
        return EXIT_TERMINATED if isinstance(stop, Terminated) else EXIT_INTERRUPTED
    except BrokenPipeError:
        # the reader of our output went away (``nbmlp predict … | head``): stop quietly; point
        # stdout at /dev/null so that the interpreter's final flush does not fail again
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
        return 128 + signal.SIGPIPE if hasattr(signal, "SIGPIPE") else 1


def _error(err):
    print(f"nbmlp: error: {' '.join(str(err).split())}", file=sys.stderr)
    return EXIT_USAGE


def _max_threads():
    import numba

    return numba.config.NUMBA_NUM_THREADS
