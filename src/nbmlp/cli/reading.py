"""What the commands read: CSV files (timed, with a note when pandas is missing), model files,
and labelled test rows checked against a model's columns."""

import os
import sys
import time

from ..tabular import UserError


def read_csv(path, delimiter, text_columns=(), quiet=False, decimal="."):
    """``read_table`` and the seconds it took."""
    from ..tabular import have_pandas, read_table

    if not have_pandas() and not quiet:
        print(
            "nbmlp: note: pandas is not installed, so the CSV is read with Python's csv module (about 20 times "
            "slower on large files); pip install 'nbmlp[csv]' to read it with pandas",
            file=sys.stderr,
        )
    start = time.perf_counter()
    table = read_table(path, delimiter, text_columns, decimal=decimal)
    return table, time.perf_counter() - start


def load_model(path):
    """The model of a model file and its column encoder (None for a file without one); a
    ``UserError`` when the file is missing or is not a usable model."""
    from ..persistence import load_with_inputs

    if not os.path.exists(path):
        raise UserError(f"model file {path!r} does not exist")
    try:
        return load_with_inputs(path)
    except (ValueError, TypeError, OSError) as err:
        raise UserError(f"{path} is not a usable nbmlp model: {err}") from None


def feature_columns(model, encoder):
    """The names of the columns ``model`` reads (its encoder's, else the names it was fitted with)."""
    if encoder is not None:
        return list(encoder.columns)
    names = getattr(model, "feature_names_in_", None)
    if names is None:
        raise UserError("the model file names no feature columns (it was not written by 'nbmlp train')")
    return [str(n) for n in names]


def read_test(path, columns, text_columns, classify, target, delimiter, quiet, decimal="."):
    """The test file's table and target column name, checked against the model's feature
    ``columns`` (``text_columns`` among them read as text): ``UserError`` when they do not fit."""
    text_columns = list(text_columns)
    if target is not None and not classify and target in text_columns:
        text_columns.remove(target)
    if target is not None and classify and target not in text_columns:
        text_columns.append(target)  # labels as written, compared with the classes as text
    as_text = text_columns
    if target is None and classify:
        # the target is the one column the model does not read, known once the header is read:
        # its labels as written (the file is read once, so a pipe works too)
        features, named = set(columns), set(text_columns)
        as_text = lambda name: name in named or name not in features  # noqa: E731
    table, _ = read_csv(path, delimiter, as_text, quiet, decimal)
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
    elif target not in header:
        raise UserError(f"target column {target!r} is not in {path} (columns: {', '.join(header)})")
    return table, target
