"""``nbmlp train``: train on a CSV file with a header row; one column is the target.

Features are standardized and the scaling is folded into the saved weights (a regression target
too), text columns are one-hot encoded, and the report gives the scores on the training and
validation rows (and ``--test`` rows), the time per epoch and where the model went.
"""

import contextlib
import os
import sys
import time
import warnings

import numpy as np

from ..tabular import NA_STRATEGIES, NUMBER, TEXT, UserError, warn
from .arguments import add_command, add_csv_options, column_names, fraction, hidden_sizes, non_negative, positive
from .files import check_writable, is_stdout, write_atomically
from .fitting import (
    fold_input_scaling,
    fold_output_scaling,
    interrupted,
    make_estimator,
    per_epoch,
    split,
    standardize,
    train,
)
from .plots import plot_loss
from .reading import read_csv, read_test
from .scores import class_report, regression_scores, report


def add_parser(sub, common):
    p = add_command(
        sub,
        common,
        "train",
        run,
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
    _data_options(p)
    _network_options(p)
    _run_options(p)


def _data_options(p):
    """The training file, its target and how its columns are read."""
    p.add_argument("data", help="CSV file with a header row")
    p.add_argument("--target", required=True, help="name of the target column")
    p.add_argument(
        "--ignore",
        type=column_names,
        default=(),
        metavar="COLS",
        help="comma-separated columns that are not features (ids, free text, …)",
    )
    add_csv_options(p)
    p.add_argument(
        "--na",
        choices=NA_STRATEGIES,
        default="error",
        help="missing values (empty, NA, NaN, null, ?, …): error (default), drop the rows, or fill "
        "numeric columns with the mean, median or most_frequent value of the training rows (text "
        "columns: always the most frequent)",
    )


def _network_options(p):
    """The network and how it is trained."""
    p.add_argument("--hidden", type=hidden_sizes, default=(64,), help="hidden layer sizes, e.g. 64,32 (default 64)")
    p.add_argument("--activation", default="relu", choices=["identity", "logistic", "tanh", "relu", "leaky_relu"])
    p.add_argument("--epochs", type=positive(int), default=50, help="epochs (default 50)")
    p.add_argument("--batch-size", type=positive(int), default=32, help="mini-batch size (default 32)")
    p.add_argument("--lr", type=positive(float), default=1e-3, help="learning rate η (default 0.001)")
    p.add_argument("--solver", default="adam", choices=["sgd", "adam"], help="optimizer (default adam)")
    p.add_argument("--alpha", type=non_negative, default=1e-4, help="L2 penalty α (default 0.0001)")
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
        type=positive(int),
        metavar="PATIENCE",
        help="stop when the validation loss has not improved for PATIENCE epochs (default 10) and keep "
        "the weights of the best epoch",
    )


def _run_options(p):
    """The task, the validation rows, and what is written."""
    p.add_argument(
        "--task",
        choices=["classify", "regress"],
        help="default: classify for non-numeric or few integer target values, else regress",
    )
    p.add_argument("--validation", type=fraction, default=0.2, help="fraction held out for validation (default 0.2)")
    p.add_argument("--out", help="save the trained model to this .npz file")
    p.add_argument("--test", metavar="FILE", help="a CSV file of test rows: report the trained model's scores on it")
    p.add_argument("--plot", help="save the loss curve to this PNG file")
    p.add_argument(
        "--save-interrupted",
        action="store_true",
        help="on Ctrl-C, still save the last finished epoch to --out (then exit 130)",
    )


def run(args):
    if args.out and is_stdout(args.out):  # the model file on standard output: the report on stderr
        with contextlib.redirect_stdout(sys.stderr):
            return _train(args)
    return _train(args)


def _train(args):
    from ..tabular import ColumnEncoder

    _check_arguments(args)
    table, read_seconds, features, dropped = _read_rows(args)
    kinds = _column_kinds(table, features, args)
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
    (Xs, mu, sigma), (ys, y_mu, y_sigma) = _standardized(X, y, task, train_idx)
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
        _say_what(args, read_seconds, train_idx, val_idx, features, kinds, encoder, task, dropped)
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
        return interrupted(
            history, "; no model saved (--save-interrupted saves the last finished epoch)" if args.out else ""
        )
    fold_input_scaling(model, mu, sigma)
    if task == "regress":
        fold_output_scaling(model, y_mu, y_sigma)
    names = encoder.input_names()
    if len(set(names)) == len(names):
        model.feature_names_in_ = np.array(names, dtype=object)  # saved, so predict finds its columns
    _print_scores(model, X, y, task, train_idx, val_idx)
    if test is not None:
        print(report(model, encoder, test, "test"))
    _print_times(history, train_seconds, read_seconds)
    return _save(args, model, encoder, history)


def _check_arguments(args):
    """UserError for options that cannot work together or outputs that cannot be written, before any long work."""
    for path, what in ((args.out, "model file"), (args.plot, "plot")):
        if path:
            check_writable(path, what)  # before training, not after
    if args.early_stopping is not None and args.validation == 0:
        raise UserError("--early-stopping needs validation rows (--validation above 0)")


def _read_rows(args):
    """The training rows (the table, less rows left out for missing values), the seconds reading
    took, the feature columns and how many rows were left out."""
    table, read_seconds = read_csv(args.data, args.delimiter, quiet=args.quiet, decimal=args.decimal)
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
    return table, read_seconds, features, dropped


def _standardized(X, y, task, train_idx):
    """(X − μ)/σ with the training rows' μ and σ, and the target likewise for a regression:
    ``(Xs, μ, σ), (ys, μ_t, σ_t)`` (μ_t, σ_t None for a classification)."""
    from sklearn.preprocessing import StandardScaler

    scaler = StandardScaler().fit(X[train_idx])
    mu, sigma = scaler.mean_, scaler.scale_
    Xs = (X - mu) / sigma
    ys, y_mu, y_sigma = y, None, None
    if task == "regress":
        y_mu, y_sigma = standardize(y[train_idx, None])
        ys = (y - y_mu[0]) / y_sigma[0]
    return (Xs, mu, sigma), (ys, y_mu, y_sigma)


def _column_kinds(table, features, args):
    """NUMBER or TEXT for each feature column, with a warning for text that looks like numbers
    with a decimal comma and for text columns that look like ids or free text."""
    from ..column_advice import text_column_warnings
    from ..tabular import decimal_comma_example

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
    return kinds


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


def _say_what(args, read_seconds, train_idx, val_idx, features, kinds, encoder, task, dropped):
    """The line that says what is about to be trained, on what."""
    n_text = kinds.count(TEXT)
    print(
        f"nbmlp train: {args.data} (read in {read_seconds:.2f} s), {len(train_idx)} training / "
        f"{len(val_idx)} validation rows, {len(features)} feature columns"
        f"{f' ({n_text} text, one-hot)' if n_text else ''} → {encoder.n_inputs} inputs, task {task}, "
        f"hidden {','.join(map(str, args.hidden))}, {args.activation}, {args.solver}, {args.dtype}"
    )
    if dropped:
        print(f"left out {dropped} row(s) with a missing {'value' if args.na == 'drop' else 'target'}")


def _print_scores(model, X, y, task, train_idx, val_idx):
    """The trained model's scores on its training and validation rows (and, for a classifier,
    the confusion matrix and report of the validation rows, else of the training rows)."""
    name = "accuracy" if task == "classify" else "R²"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if task == "classify":
            line = f"training {name} {model.score(X[train_idx], y[train_idx]):.4f}"
            if len(val_idx):
                line += f"; validation {name} {model.score(X[val_idx], y[val_idx]):.4f}"
        else:
            line = f"training {regression_scores(model, X[train_idx], y[train_idx])}"
            if len(val_idx):
                line += f"; validation {regression_scores(model, X[val_idx], y[val_idx])}"
        print(line)
        if task == "classify":
            rows = val_idx if len(val_idx) else train_idx
            print(class_report(model, X[rows], y[rows], "validation" if len(val_idx) else "training"))


def _print_times(history, train_seconds, read_seconds):
    epochs = len(history["loss"])
    print(
        f"{epochs} epoch(s) in {train_seconds:.2f} s, {per_epoch(history)}; reading the CSV took {read_seconds:.2f} s"
    )
    if history["best_epoch"] is not None:
        print(
            f"early stopping: the lowest validation loss was at epoch {history['best_epoch']} of {epochs}; "
            "the model keeps that epoch's weights"
        )


def _save(args, model, encoder, history):
    """Write the model file (--out) and the loss curve (--plot); the command's exit status."""
    if args.out:
        write_atomically(args.out, lambda fh: model.save(fh, inputs=encoder.arrays()), "model file")
        print(f"saved model to {args.out}")
    if history["interrupted"]:
        return interrupted(history, f"; {args.out} holds the last finished epoch" if args.out else "")
    if args.plot:
        if plot_loss(args.plot, history, f"nbmlp: {os.path.basename(args.data)}"):
            print(f"saved loss curve to {args.plot}")
        else:
            print("plot skipped: matplotlib is not installed (pip install 'nbmlp[plot]')")
    return 0
