"""``nbmlp evaluate MODEL.npz test.csv`` and ``nbmlp train --test FILE``: a model scored on rows it
never saw, with the report ``train`` prints for its validation rows (accuracy, confusion matrix
and ``classification_report``; R², RMSE and MAE)."""

import argparse
import os
import warnings

import numpy as np

from .tabular import DECIMALS, TEXT, UserError, warn


def add_parser(sub, common):
    """The ``evaluate`` subcommand of ``nbmlp``."""
    from .cli import DECIMAL_HELP, DELIMITER_HELP, _delimiter

    p = sub.add_parser(
        "evaluate",
        parents=[common],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        help="score a saved model on a labelled CSV file",
        description="Score a model saved by 'nbmlp train --out' on a CSV file that holds the model's "
        "feature columns and the target column: the report 'train' prints for its validation rows.",
        epilog="examples:\n  nbmlp evaluate model.npz test.csv --target species\n"
        "  nbmlp evaluate model.npz test.csv   (the target column: the one column the model does not read)\n",
    )
    p.add_argument("model", help="model file (.npz) from 'nbmlp train --out'")
    p.add_argument("data", help="CSV file with a header row, the model's feature columns and the target")
    p.add_argument("--target", help="name of the target column (default: the one column the model does not read)")
    p.add_argument("--delimiter", type=_delimiter, help=DELIMITER_HELP)
    p.add_argument("--decimal", choices=DECIMALS, default=".", help=DECIMAL_HELP)
    p.set_defaults(func=cmd_evaluate)
    return p


def cmd_evaluate(args):
    from .estimators import load_with_inputs

    if not os.path.exists(args.model):
        raise UserError(f"model file {args.model!r} does not exist")
    try:
        model, encoder = load_with_inputs(args.model)
    except (ValueError, TypeError, OSError) as err:
        raise UserError(f"{args.model} is not a usable nbmlp model: {err}") from None
    text = [c for c, k in zip(encoder.columns, encoder.kinds) if k == TEXT] if encoder is not None else []
    classify = hasattr(model, "classes_")
    columns = feature_columns(model, encoder)
    test = read_test(args.data, columns, text, classify, args.target, args.delimiter, args.quiet, args.decimal)
    print(report(model, encoder, test, "test"))
    return 0


def feature_columns(model, encoder):
    if encoder is not None:
        return list(encoder.columns)
    names = getattr(model, "feature_names_in_", None)
    if names is None:
        raise UserError("the model file names no feature columns (it was not written by 'nbmlp train')")
    return [str(n) for n in names]


def read_test(path, columns, text_columns, classify, target, delimiter, quiet, decimal="."):
    """The test file's table and target column name, checked against the model's feature
    ``columns`` (``text_columns`` among them read as text): ``UserError`` when they do not fit."""
    from .cli import _read

    text_columns = list(text_columns)
    if target is not None and not classify and target in text_columns:
        text_columns.remove(target)
    if target is not None and classify and target not in text_columns:
        text_columns.append(target)  # labels as written, compared with the classes as text
    table, _ = _read(path, delimiter, text_columns, quiet, decimal)
    header = table.header
    absent = [c for c in columns if c not in header]
    if absent:
        raise UserError(
            f"{path} lacks the model's feature column(s) {', '.join(map(repr, absent[:10]))}"
            f"{' …' if len(absent) > 10 else ''} (the model takes {', '.join(columns)})"
        )
    if target is None:
        rest = [c for c in header if c not in columns]
        if len(rest) != 1:
            raise UserError(
                f"--target: name the target column of {path} (columns the model does not read: "
                f"{', '.join(rest) if rest else 'none'})"
            )
        target = rest[0]
        if classify:  # read again with the labels as text
            table, _ = _read(path, delimiter, text_columns + [target], quiet=True, decimal=decimal)
    elif target not in header:
        raise UserError(f"target column {target!r} is not in {path} (columns: {', '.join(header)})")
    return table, target


def _labels(table, target, model):
    """The test rows' true values, and the mask of rows that have one."""
    missing = table.missing(target)
    if hasattr(model, "classes_"):
        y = table.strings(target)
        classes = [str(c) for c in model.classes_]
        known = np.array([v in classes for v in y])
        unknown = sorted({v for v in y[~known & ~missing]})
        if unknown:
            raise UserError(
                f"target column {target!r}: label(s) {', '.join(map(repr, unknown[:5]))} are not classes of the "
                f"model ({', '.join(classes)})"
            )
        # back to the classes' own type (int labels, …) through their text
        lookup = dict(zip(classes, model.classes_))
        return np.array([lookup[v] if v is not None else None for v in y], dtype=object), ~missing
    return table.numbers(target, allow_missing=True), ~missing


def report(model, encoder, test, which):
    """The report of ``model`` on the rows of ``test`` (a table and its target column's name)."""
    from .cli import _regression_scores, _report_classes

    table, target = test
    y, has = _labels(table, target, model)
    if encoder is not None:
        X, ok = encoder.transform(table, warn=warn)
    else:
        X = np.column_stack([table.numbers(c) for c in feature_columns(model, None)])
        ok = np.ones(table.n_rows, dtype=bool)
    rows = has & ok
    if not rows.any():
        raise UserError(f"{table.path}: no row has both a target and every feature value")
    lines = []
    left_out = table.n_rows - int(rows.sum())
    if left_out:
        lines.append(f"left out {left_out} {which} row(s) with a missing target or (--na drop) feature value")
    X, y = X[rows], y[rows]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # fitted with feature names, given the encoded array
        if hasattr(model, "classes_"):
            y = np.array(y.tolist())
            lines.append(f"{which} accuracy {np.mean(model.predict(X) == y):.4f} ({len(y)} rows)")
            lines.append(_report_classes(model, X, y, which))
        else:
            lines.append(f"{which} {_regression_scores(model, X, y.astype(np.float64))} ({len(y)} rows)")
    return "\n".join(lines)
