"""What the commands report: a model's scores on rows (accuracy, confusion matrix and
``classification_report``; R², RMSE and MAE), for train's validation rows, ``train --test``
and ``evaluate``."""

import warnings

import numpy as np

from ..tabular import UserError, warn
from .reading import feature_columns


def class_report(model, X, y, which):
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


def regression_scores(model, X, y):
    """R², RMSE and MAE of ``model`` on (X, y), as one line."""
    pred = np.asarray(model.predict(X), dtype=np.float64).reshape(len(y))
    err = pred - y
    ss = ((y - y.mean()) ** 2).sum()
    # a constant target (ss = 0): 1 if predicted exactly, else 0, as scikit-learn's r2_score
    r2 = 1 - (err**2).sum() / ss if ss > 0 else float(not err.any())
    return f"R² {r2:.4f} (RMSE {np.sqrt((err**2).mean()):.6g}, MAE {np.abs(err).mean():.6g})"


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
            lines.append(class_report(model, X, y, which))
        else:
            lines.append(f"{which} {regression_scores(model, X, y.astype(np.float64))} ({len(y)} rows)")
    return "\n".join(lines)
