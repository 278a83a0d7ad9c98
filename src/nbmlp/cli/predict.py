"""``nbmlp predict``: predict the rows of a CSV file with a model saved by ``nbmlp train --out``."""

import csv
import io
import sys
import warnings

import numpy as np

from ..tabular import TEXT, UserError, warn
from .arguments import add_command, add_csv_options
from .files import check_writable, is_stdout, write_atomically
from .reading import load_model, read_csv


def add_parser(sub, common):
    p = add_command(
        sub,
        common,
        "predict",
        run,
        help="predict with a saved model",
        description="Predict the rows of a CSV file (header row; the model's feature columns) with a "
        "model saved by 'nbmlp train --out'.",
        epilog="examples:\n  nbmlp predict model.npz new.csv\n"
        "  nbmlp predict model.npz new.csv --out predictions.csv --id customer --proba\n",
    )
    p.add_argument("model", help="model file (.npz) from 'nbmlp train --out'")
    p.add_argument("data", help="CSV file with a header row")
    p.add_argument("--out", help="write predictions to this CSV file (default: standard output)")
    add_csv_options(p)
    p.add_argument("--proba", action="store_true", help="add a probability column per class (proba_CLASS)")
    p.add_argument("--id", metavar="COL", help="copy column COL (an id) into the output, first")


def run(args):
    from ..estimators import MLPClassifier

    if args.out and is_stdout(args.out):
        args.out = None  # standard output, the default
    if args.out:
        check_writable(args.out)
    model, encoder = load_model(args.model)
    if args.proba and not isinstance(model, MLPClassifier):
        raise UserError(f"--proba: {args.model} is a regression model; probabilities need a classifier")
    text_columns = [args.id] if args.id else []
    if encoder is not None:  # as in training, whatever they look like here
        text_columns += [c for c, k in zip(encoder.columns, encoder.kinds) if k == TEXT]
    table, _ = read_csv(args.data, args.delimiter, text_columns, args.quiet, args.decimal)
    if args.id and args.id not in table.header:
        raise UserError(f"--id column {args.id!r} is not in {args.data} (columns: {', '.join(table.header)})")
    X, ok = _inputs(args, model, encoder, table)
    pred, proba = _predictions(model, X, ok, args.proba)
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

    _write(args, head, rows, ok)
    return 0


def _inputs(args, model, encoder, table):
    """The model's inputs from the rows of ``table``, and the mask of rows that have every value."""
    header = table.header
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
        return encoder.transform(table, warn=warn)
    # a model file from before the column encoding: numeric columns only
    if len(columns) != n_features:
        raise UserError(f"{args.data} has {len(columns)} columns but the model takes {n_features} features")
    X = np.column_stack([table.numbers(c) for c in columns])
    return X, np.ones(len(X), dtype=bool)


def _predictions(model, X, ok, with_proba):
    """The predictions of the rows ``ok`` (the others: empty) and, ``with_proba``, their class
    probabilities (None when no row can be predicted)."""
    pred = np.full(len(X), "", dtype=object)
    proba = None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # fitted with feature names, given a plain array
        if ok.any():
            pred[ok] = list(model.predict(X[ok]))
            if with_proba:
                p = model.predict_proba(X[ok])
                if p.shape[1] == 1:
                    p = np.column_stack([1 - p[:, 0], p[:, 0]])
                proba = np.full((len(X), p.shape[1]), "", dtype=object)
                proba[ok] = p
    return pred, proba


def _write(args, head, rows, ok):
    """The CSV of predictions: to --out (whole or not at all), else to standard output."""

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
            print(f"wrote {len(ok)} predictions to {args.out}")
            if not ok.all():
                print(
                    f"{int((~ok).sum())} row(s) with a missing value have an empty prediction (the model was "
                    "trained with --na drop)"
                )
    else:
        w = csv.writer(sys.stdout, lineterminator="\n")
        w.writerow(head)
        w.writerows(rows())
