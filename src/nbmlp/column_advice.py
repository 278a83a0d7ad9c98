"""Warnings for text columns that one-hot encoding serves badly: identifiers and dates.

An identifier (a name, a code: nearly one value per row) becomes one input per row, which no
other row shares, so the network learns the training rows by heart through it; a date as text
is one category per day, its order lost. ``nbmlp train`` warns about both and names the
``--ignore`` option that leaves them out (``docs/models_and_serving.md`` shows the effect).
"""

import re

import numpy as np

MIN_DISTINCT = 20  # fewer distinct values are categories, whatever the number of rows
MAX_CATEGORIES = 1000  # more one-hot inputs than this from one column: a warning at any size
_DAY = r"(\d{4}[-/.]\d{1,2}[-/.]\d{1,2}|\d{1,2}[-/.]\d{1,2}[-/.]\d{2,4})"  # 2024-03-01, 1/3/2024, 01.03.24
_TIME = r"([ T]\d{1,2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?"  # 12:30, 12:30:05.5+01:00
_DATE = re.compile(f"^{_DAY}{_TIME}$")


def looks_like_date(values):
    """True when at least 90% of the distinct values look like dates (2024-03-01, 1/3/2024, …)."""
    values = [v for v in values if v]
    return bool(values) and sum(bool(_DATE.match(v)) for v in values) >= 0.9 * len(values)


def advice(name, values, n_rows):
    """A warning (str) for the text column ``name`` of ``n_rows`` rows, or None; ``values`` are
    its distinct non-missing values."""
    distinct = len(values)
    if looks_like_date(values):
        return (
            f"column {name!r} looks like a date ({distinct} distinct values such as {sorted(values)[0]!r}): as text "
            f"it becomes one one-hot input per value, its order lost; leave it out with --ignore {name} "
            "(or turn it into numbers, e.g. days since a start, before training)"
        )
    if distinct > MAX_CATEGORIES or (distinct >= MIN_DISTINCT and distinct > n_rows / 2):
        return (
            f"column {name!r} has {distinct} distinct values in {n_rows} rows and looks like an identifier: "
            f"one-hot encoded, it gives {distinct} inputs that new rows rarely share; leave it out with "
            f"--ignore {name}"
        )
    return None


def text_column_warnings(table, columns):
    """The warnings for the text ``columns`` of a ``tabular.Table``."""
    out = []
    for name in columns:
        col = table.strings(name)
        values = {v for v in col if v is not None}
        message = advice(name, values, int(np.sum([v is not None for v in col])))
        if message:
            out.append(message)
    return out
