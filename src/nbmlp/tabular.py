"""CSV files for the ``nbmlp`` command: reading them, and the column encoding a model file keeps.

Reading: ``pandas.read_csv`` when pandas is installed (``pip install "nbmlp[csv]"``), else
Python's ``csv`` module (the same results, about 10-20 times slower on large files). The delimiter
is detected from the first lines unless given. A regular file is read from its path (pandas
reads it in its own pass); anything else (``-`` for standard input, a pipe, a FIFO, a device such
as ``/dev/stdin``, a process substitution) can be read once only, so it is read whole into memory
first. Lines may end in LF, CR LF or CR alone (old Mac files). A cell is *missing* when it is empty or one of
``MISSING``. Errors name the file, the line and the column (found again with the ``csv`` module
only when there is an error, so the fast path pays nothing for them).

Encoding (``ColumnEncoder``): numeric columns pass through, with missing values filled by
scikit-learn's ``SimpleImputer`` (mean, median or most frequent value of the training rows);
text columns are one-hot encoded with scikit-learn's ``OneHotEncoder`` (categories of the
training rows; a category unseen in training is encoded as all zeros, with a warning). What the
two learned is stored as plain arrays (``input_*`` members, see ``docs/model_format.md``) and
checked like every other member when a model file is loaded.
"""

import csv
import io
import itertools
import os
import re
import stat
import sys
import warnings

import numpy as np

MISSING = ("", "NA", "N/A", "n/a", "NaN", "nan", "null", "NULL", "None", "?")
_MISSING_SET = frozenset(MISSING)
DELIMITERS = (",", ";", "\t", "|")
DECIMALS = (".", ",")  # decimal marks: 0.5, or 0,5 as written in much of Europe
NA_STRATEGIES = ("error", "drop", "mean", "median", "most_frequent")
NUMBER, TEXT = 0, 1


class UserError(Exception):
    """A problem with the command's input: reported in one line, no traceback."""


def _pandas():
    try:
        import pandas
    except ImportError:
        return None
    return pandas


def have_pandas():
    return _pandas() is not None


# -- reading ----------------------------------------------------------------------------------
HEAD = 65536  # bytes read first: the header, the delimiter
BOM = b"\xef\xbb\xbf"


STDIN = "-"  # the path that names standard input


def display_name(path):
    return "standard input" if path == STDIN else path


def _regular_file(path):
    """Whether ``path`` is a regular file (following symlinks), which can be read more than once."""
    try:
        return stat.S_ISREG(os.stat(path).st_mode)
    except OSError:
        return False


def _read_bytes(path, what, size=-1):
    if path == STDIN:
        return sys.stdin.buffer.read(size)
    if not os.path.exists(path):
        raise UserError(f"{what} {path!r} does not exist")
    if os.path.isdir(path):
        raise UserError(f"{what} {path!r} is a directory, not a file")
    try:
        with open(path, "rb") as fh:
            return fh.read(size)
    except OSError as err:
        raise UserError(f"cannot read {what} {path!r}: {err.strerror}") from None


def detect_delimiter(sample, complete=True, exclude=None):
    """The delimiter among ``DELIMITERS`` that splits the first lines of ``sample`` (the start of
    the file; ``complete``: all of it) into the header's number (> 1) of fields, on half of them
    at least; the most fields win (ties in the order of ``DELIMITERS``); ',' if none does.
    ``exclude`` (the decimal mark) is never the delimiter (``;`` is then the fallback)."""
    best, best_fields = None, 1
    for delim in DELIMITERS:
        if delim == exclude:
            continue
        try:
            rows = [r for r in itertools.islice(csv.reader(io.StringIO(sample), delimiter=delim), 40) if r][:21]
        except csv.Error:
            continue
        if len(rows) < 21 and not complete and len(rows) > 2:
            rows = rows[:-1]  # the last line may be cut by the end of the sample
        if not rows or len(rows[0]) <= best_fields:
            continue
        # most lines (a bad line must not hide the delimiter: it is reported with its number)
        if sum(len(r) == len(rows[0]) for r in rows[1:]) >= 0.5 * len(rows[1:]):
            best, best_fields = delim, len(rows[0])
    return best or ("," if exclude != "," else ";")


class Table:
    """The columns of a CSV file: float64 arrays (NaN: missing) or object arrays of str (None: missing).

    ``line(i)`` is the line number of data row ``i`` (rows with every cell missing are left out,
    as are empty lines); ``cell(i, name)`` is its text as written in the file.
    """

    def __init__(self, path, text, delimiter, header, columns, n_rows):
        self.path, self._text, self.delimiter = path, text, delimiter  # text(): the file's text
        self.header, self.columns, self.n_rows = header, columns, n_rows
        self._lines = None

    def _scan(self):
        """Line number and cells of every data row, with the csv module (only on the error path)."""
        if self._lines is None:
            reader = csv.reader(io.StringIO(self._text()), delimiter=self.delimiter)
            next(reader, None)
            self._lines = [(reader.line_num, row) for row in reader if row and not all(_missing(v) for v in row)]
        return self._lines

    def line(self, i):
        return self._scan()[i][0]

    def cell(self, i, name):
        row = self._scan()[i][1]
        k = self.header.index(name)
        return row[k].strip() if k < len(row) else ""

    def where(self, i, name):
        return f"{self.path}, line {self.line(i)}, column {name!r}"

    def take(self, rows):
        """A table of the given rows (the line numbers follow them)."""
        rows = np.asarray(rows)
        t = Table(
            self.path, self._text, self.delimiter, self.header, {k: v[rows] for k, v in self.columns.items()}, len(rows)
        )
        scan = self._scan()
        t._lines = [scan[i] for i in rows]
        return t

    def missing(self, name):
        col = self.columns[name]
        if col.dtype.kind == "f":
            return np.isnan(col)
        return np.array([v is None for v in col], dtype=bool)

    def numbers(self, name, allow_missing=False):
        """The column as float64 (NaN where missing); a non-number or an infinity names its cell."""
        col = self.columns[name]
        if col.dtype.kind != "f":
            values = np.full(len(col), np.nan)
            for i, v in enumerate(col):
                if v is not None:
                    try:
                        values[i] = float(v)
                    except ValueError:
                        hint = " (a decimal comma? --decimal , reads it)" if DECIMAL_COMMA.fullmatch(v) else ""
                        raise UserError(f"{self.where(i, name)}: {v!r} is not a number{hint}") from None
            col = values
        bad = np.flatnonzero(np.isinf(col))
        if len(bad):
            raise UserError(f"{self.where(bad[0], name)}: {self.cell(bad[0], name)!r} is not a finite number")
        if not allow_missing:
            self.check_complete(name, col)
        return col

    def check_complete(self, name, col=None):
        missing = self.missing(name) if col is None else np.isnan(col)
        if missing.any():
            i = int(np.flatnonzero(missing)[0])
            raise UserError(
                f"{self.where(i, name)}: {self.cell(i, name)!r} is a missing value (--na drop, mean, "
                "median or most_frequent handle them)"
            )

    def strings(self, name):
        """The column as an object array of str (None where missing)."""
        col = self.columns[name]
        if col.dtype.kind == "f":
            out = np.empty(len(col), dtype=object)
            for i, v in enumerate(col):
                out[i] = None if np.isnan(v) else _number_text(v)
            return out
        return col

    def looks_numeric(self, name):
        """True if the column is numbers, or most of its distinct non-missing values are."""
        col = self.columns[name]
        if col.dtype.kind == "f":
            return True
        distinct = {v for v in col if v is not None}
        numbers = 0
        for v in distinct:
            try:
                float(v)
                numbers += 1
            except ValueError:
                pass
        return numbers > len(distinct) / 2


def _is_number(text):
    try:
        float(text)
    except ValueError:
        return False
    return True


DECIMAL_COMMA = re.compile(r"\s*[+-]?\d*,\d+\s*")


def _number_text(v):
    return str(int(v)) if v == int(v) and abs(v) < 2**53 else repr(float(v))


def decimal_comma_example(table, name):
    """A value of a text column whose values look like numbers with a decimal comma (``0,5488``),
    all but a few, with at least one comma; else None (a column to warn about, ``--decimal ,``)."""
    col = table.columns[name]
    if col.dtype.kind == "f":
        return None
    distinct = list({v for v in col if v is not None})
    commas = [v for v in distinct if DECIMAL_COMMA.fullmatch(v)]
    numbers = len(commas) + sum(1 for v in distinct if _is_number(v))
    return commas[0] if commas and numbers >= 0.9 * len(distinct) else None


def _missing(v):
    return v.strip() in _MISSING_SET


def read_table(path, delimiter=None, text_columns=(), what="data file", decimal="."):
    """Read a CSV file with a header row into a ``Table``; ``UserError`` for anything wrong.

    ``text_columns`` are kept as text even when they hold numbers (ids); it may also be a test of a
    column's name, for a caller that knows which columns are text only once the header is read
    (a stream is read once). ``decimal`` is the decimal mark of the numbers (``","``: ``0,5``, as pandas' ``decimal``).
    """
    if decimal not in DECIMALS:
        raise UserError(f"--decimal must be one of {' '.join(DECIMALS)}, got {decimal!r}")
    full = {}
    if path != STDIN and _regular_file(path):
        head_bytes = _read_bytes(path, what, HEAD)
        whole = len(head_bytes) < HEAD
        if b"\r" in head_bytes and b"\n" not in head_bytes:  # CR line ends: read whole, as LF
            full["bytes"] = (head_bytes if whole else _read_bytes(path, what)).replace(b"\r", b"\n")
    else:  # a stream (standard input, a pipe, a FIFO, a device): it can be read once only
        full["bytes"] = _read_bytes(path, what)
        if b"\r" in full["bytes"][:HEAD] and b"\n" not in full["bytes"][:HEAD]:
            full["bytes"] = full["bytes"].replace(b"\r", b"\n")
    if "bytes" in full:
        head_bytes = full["bytes"][:HEAD]
        whole = len(full["bytes"]) <= HEAD
    path = display_name(path)

    def data():
        """The whole file's bytes (read again only when needed: the csv module, an error)."""
        if "bytes" not in full:
            full["bytes"] = head_bytes if whole else _read_bytes(path, what)
        return full["bytes"]

    def text():
        """The whole file as text (decoded only when needed)."""
        if "text" not in full:
            try:
                full["text"] = data().decode("utf-8-sig")
            except UnicodeDecodeError:
                raise UserError(f"{path} is not a UTF-8 text CSV file") from None
        return full["text"]

    try:
        head = head_bytes.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        if whole or err.start < len(head_bytes) - 4:  # not a character cut by the end of the sample
            raise UserError(f"{path} is not a UTF-8 text CSV file") from None
        head = head_bytes[: err.start].decode("utf-8-sig")
    if delimiter is None:
        delimiter = detect_delimiter(head, complete=whole, exclude=decimal)
    elif len(delimiter) != 1:
        raise UserError(f"--delimiter must be one character, got {delimiter!r}")
    elif delimiter == decimal:
        raise UserError(f"--delimiter and --decimal are both {delimiter!r}")
    try:
        reader = csv.reader(io.StringIO(head if head.count("\n") > 1 or whole else text()), delimiter=delimiter)
        header = next(reader, None)
        header_lines = reader.line_num
    except csv.Error as err:
        raise UserError(f"{path}: not a valid CSV file ({err})") from None
    if header is None or not any(h.strip() for h in header):
        raise UserError(f"{path} is empty (it needs a header row and data rows)")
    header = [h.strip() for h in header]
    repeated = sorted({h for h in header if header.count(h) > 1})
    if repeated:
        raise UserError(
            f"{path}: the header names column(s) {', '.join(map(repr, repeated))} more than "
            "once; every column needs its own name"
        )
    if callable(text_columns):
        text_columns = [name for name in header if text_columns(name)]
    pd = _pandas()
    if pd is not None:
        # in memory (read once): pandas reads the bytes; a regular file: pandas reads it itself
        source = (lambda: io.BytesIO(full["bytes"])) if "bytes" in full else (lambda: path)
        columns, n = _read_pandas(
            pd,
            path,
            source,
            head_bytes.startswith(BOM),
            data,
            text,
            delimiter,
            header,
            header_lines,
            text_columns,
            decimal,
        )
    else:
        columns, n = _read_python(path, text(), delimiter, header, text_columns, decimal)
    if n == 0:
        raise UserError(f"{path} has a header but no data rows")
    return Table(path, text, delimiter, header, columns, n)


def _count_message(path, line, n, header):
    message = f"{path}, line {line}: {n} values but the header has {len(header)} columns"
    if header[0].startswith("#"):
        message += f" (the first line, {header[0]!r}, is read as the header: remove comment lines)"
    return message


def _field_count_error(path, text, delimiter, header):
    """The first data line whose number of fields is not the header's (csv module), else None."""
    reader = csv.reader(io.StringIO(text), delimiter=delimiter)
    next(reader, None)
    try:
        for row in reader:
            if row and not all(not v.strip() for v in row) and len(row) != len(header):
                return UserError(_count_message(path, reader.line_num, len(row), header))
    except csv.Error as err:
        return UserError(f"{path}: not a valid CSV file ({err})")
    return None


def _check_field_counts(path, data, text, delimiter, header, header_lines):
    """Every data line has as many fields as the header (pandas fills short lines silently).

    Without quotes in the file a field count is a delimiter count per line, done with NumPy on
    the bytes; with quotes the csv module counts them.
    """
    d = delimiter.encode()
    if b'"' in data or len(d) != 1:
        err = _field_count_error(path, text(), delimiter, header)
        if err:
            raise err
        return
    body = np.frombuffer(data, dtype=np.uint8)
    newlines = np.flatnonzero(body == 10)
    ends = np.append(newlines, len(body))  # end of each physical line
    starts = np.concatenate([[0], newlines + 1])
    is_delim = np.concatenate([[0], np.cumsum(body == d[0], dtype=np.int64)])
    per_line = is_delim[ends] - is_delim[starts]
    data_lines = np.arange(len(ends)) >= header_lines
    suspicious = data_lines & (per_line != len(header) - 1) & (ends > starts)
    for k in np.flatnonzero(suspicious):
        line = data[starts[k] : ends[k]].decode("utf-8", "replace")
        cells = line.split(delimiter)
        if all(not c.strip() for c in cells):
            continue  # a blank line
        raise UserError(_count_message(path, k + 1, len(cells), header))


def _read_pandas(pd, path, source, bom, data, text, delimiter, header, header_lines, text_columns, decimal="."):
    """The columns by ``pandas.read_csv`` of ``source()`` (a path, or a new stream of the bytes)."""
    dtypes = {name: str for name in text_columns if name in header}
    try:
        with warnings.catch_warnings():
            # pandas warns (with lines of its source) where nbmlp reports the line: an error
            warnings.simplefilter("error", pd.errors.ParserWarning)
            df = _pandas_read(pd, source(), delimiter, header, bom, dtypes or None, decimal)
    except pd.errors.EmptyDataError:
        return {}, 0
    except (pd.errors.ParserError, pd.errors.ParserWarning, ValueError, csv.Error) as err:  # UnicodeDecodeError too
        found = _field_count_error(path, text(), delimiter, header)
        raise (found or UserError(f"{path}: not a valid CSV file ({' '.join(str(err).split())})")) from None
    if len(df) and df[header[-1]].isna().any():
        # a line with too few fields ends in missing values: look for one (pandas refuses too many)
        _check_field_counts(path, data(), text, delimiter, header, header_lines)
    booleans = [
        name
        for name in header
        if df[name].dtype.kind == "b"
        or (df[name].dtype == object and isinstance(next(iter(df[name].dropna()), None), (bool, np.bool_)))
    ]
    if booleans:  # true/TRUE/True…: keep the text as written (predict reads text columns as text)
        as_text = _pandas_read(pd, source(), delimiter, header, bom, str, decimal, usecols=booleans)
        for name in booleans:
            df[name] = as_text[name]
    columns = {}
    for name in header:
        s = df[name]
        if s.dtype.kind in "iuf" and name not in dtypes:
            columns[name] = s.to_numpy(dtype=np.float64)
        else:
            values = np.array(s.to_numpy(dtype=object), dtype=object)  # a writable copy
            isna = np.array(s.isna().to_numpy(), dtype=bool)
            values[~isna] = [str(v).strip() for v in values[~isna]]
            isna |= np.fromiter((v in _MISSING_SET for v in values), bool, len(values))  # ' NA ', as the csv module
            values[isna] = None
            columns[name] = values
    return _without_empty_rows(columns, header, len(df))


def _pandas_read(pd, source, delimiter, header, bom, dtype, decimal, **more):
    return pd.read_csv(
        source,
        sep=delimiter,
        header=0,
        names=header,
        index_col=False,
        na_values=list(MISSING),
        keep_default_na=False,
        encoding="utf-8-sig" if bom else "utf-8",
        dtype=dtype,
        decimal=decimal,
        low_memory=False,
        **more,
    )


def _read_python(path, text, delimiter, header, text_columns, decimal="."):
    reader = csv.reader(io.StringIO(text), delimiter=delimiter)
    next(reader, None)
    rows = []
    try:
        n = len(header)
        for row in reader:
            if len(row) != n:
                if all(not v.strip() for v in row):
                    continue  # a blank line (a line of missing values only is left out below)
                raise UserError(_count_message(path, reader.line_num, len(row), header))
            rows.append(row)
    except csv.Error as err:
        raise UserError(f"{path}: not a valid CSV file ({err})") from None
    columns = {}
    cells = list(zip(*rows)) if rows else [()] * len(header)
    if decimal != ".":  # a column of numbers written 0,5 is read as numbers; any other stays as written
        for k, name in enumerate(header):
            if name not in text_columns:
                swapped = tuple(v.replace(decimal, ".") for v in cells[k])
                if all(_missing(v) or _is_number(v) for v in swapped):
                    cells[k] = swapped
    for k, name in enumerate(header):
        if name not in text_columns:
            try:  # the usual case: numbers only, parsed in one call
                columns[name] = np.array(cells[k], dtype=np.float64)
                if not np.isnan(columns[name]).any():
                    continue
            except ValueError:
                pass
        values = np.empty(len(rows), dtype=object)
        values[:] = [None if _missing(r[k]) else r[k].strip() for r in rows]
        if name not in text_columns:
            present = [v for v in values if v is not None]
            try:
                numbers = np.array(present, dtype=np.float64)
            except ValueError:
                pass
            else:
                col = np.full(len(rows), np.nan)
                col[values != None] = numbers  # noqa: E711 - elementwise test of an object array
                values = col
        columns[name] = values
    return _without_empty_rows(columns, header, len(rows))


def _without_empty_rows(columns, header, n):
    """The columns without the rows whose every value is missing, and the number of rows left."""
    empty = np.ones(n, dtype=bool)
    for name in header:
        col = columns[name]
        empty &= np.isnan(col) if col.dtype.kind == "f" else np.equal(col, None)
    if empty.any():
        columns = {k: v[~empty] for k, v in columns.items()}
    return columns, int((~empty).sum())


# -- encoding ---------------------------------------------------------------------------------
class ColumnEncoder:
    """Feature columns of a CSV file → the network's inputs: numbers as they are, text one-hot.

    ``columns``, ``kinds`` (NUMBER or TEXT), ``na`` (strategy), ``fill`` (float64 per column:
    the numeric fill value, NaN when not imputed or a text column), ``text_fill`` (str per column:
    the text fill value, '' when none), ``categories`` (per column: sorted str array, empty for
    numeric columns).
    """

    def __init__(self, columns, kinds, na, fill, text_fill, categories):
        self.columns, self.kinds, self.na = list(columns), list(kinds), na
        self.fill, self.text_fill, self.categories = fill, list(text_fill), categories

    @property
    def n_inputs(self):
        return sum(1 if k == NUMBER else len(c) for k, c in zip(self.kinds, self.categories))

    def input_names(self):
        names = []
        for name, kind, cats in zip(self.columns, self.kinds, self.categories):
            names.extend([name] if kind == NUMBER else [f"{name}={c}" for c in cats])
        return names

    @property
    def imputes(self):
        return self.na in ("mean", "median", "most_frequent")

    @classmethod
    def fit(cls, table, columns, kinds, na, rows):
        """Learn fill values and categories on ``rows`` of ``table`` (SimpleImputer, OneHotEncoder)."""
        fill = np.full(len(columns), np.nan)
        text_fill = [""] * len(columns)
        categories = [np.array([], dtype=str)] * len(columns)
        num = [k for k, kind in enumerate(kinds) if kind == NUMBER]
        txt = [k for k, kind in enumerate(kinds) if kind == TEXT]
        if num and na in ("mean", "median", "most_frequent"):
            from sklearn.impute import SimpleImputer

            Xn = np.column_stack([table.numbers(columns[k], allow_missing=True)[rows] for k in num])
            imp = SimpleImputer(strategy=na, keep_empty_features=True).fit(Xn)
            fill[num] = imp.statistics_
            empty = [columns[k] for k, v in zip(num, imp.statistics_) if np.isnan(v)]
            if empty:  # pragma: no cover - keep_empty_features fills 0
                raise UserError(f"column(s) {', '.join(map(repr, empty))} have no values in the training rows")
        if txt:
            from sklearn.impute import SimpleImputer
            from sklearn.preprocessing import OneHotEncoder

            Xt = np.column_stack([table.strings(columns[k])[rows] for k in txt]).astype(object)
            if na in ("mean", "median", "most_frequent"):
                # text columns: always the most frequent category (a mean of words has no meaning)
                imp = SimpleImputer(strategy="most_frequent", missing_values=None).fit(Xt)
                for k, v in zip(txt, imp.statistics_):
                    text_fill[k] = str(v)
                Xt = imp.transform(Xt)
            else:
                Xt = Xt[~np.any(Xt == None, axis=1)]  # noqa: E711 - fitted on complete rows only
            enc = OneHotEncoder(handle_unknown="ignore").fit(Xt.astype(str))
            for k, cats in zip(txt, enc.categories_):
                categories[k] = np.asarray(cats, dtype=str)
        return cls(columns, kinds, na, fill, text_fill, categories)

    def transform(self, table, dtype=np.float64, warn=None):
        """The input matrix of every row of ``table`` and a bool mask of the rows it could fill
        (``na='drop'``: rows with a missing value are left out of the mask; ``error``: an error)."""
        X = np.zeros((table.n_rows, self.n_inputs), dtype=dtype)
        ok = np.ones(table.n_rows, dtype=bool)
        j = 0
        for name, kind, fill, tfill, cats in zip(self.columns, self.kinds, self.fill, self.text_fill, self.categories):
            if kind == NUMBER:
                col = table.numbers(name, allow_missing=True)
                gone = np.isnan(col)
                if gone.any():
                    if self.imputes:
                        col = np.where(gone, fill, col)
                    elif self.na == "drop":
                        ok &= ~gone
                        col = np.where(gone, 0.0, col)
                    else:
                        table.check_complete(name, col)
                X[:, j] = col
                j += 1
                continue
            values = table.strings(name)
            gone = np.array([v is None for v in values], dtype=bool)
            if gone.any():
                if self.imputes:
                    values = values.copy()
                    values[gone] = tfill
                elif self.na == "drop":
                    ok &= ~gone
                else:
                    table.check_complete(name)
            text = np.where(gone & (self.na == "drop"), "", values).astype(str)
            idx = np.searchsorted(cats, text)
            idx = np.minimum(idx, len(cats) - 1)
            known = cats[idx] == text
            unknown = ~known & ~(gone & (self.na == "drop"))
            if unknown.any() and warn is not None:
                seen = [str(v) for v in dict.fromkeys(text[unknown])]
                warn(
                    f"column {name!r}: {int(unknown.sum())} row(s) hold categories not seen in training "
                    f"({', '.join(map(repr, seen[:3]))}{', …' if len(seen) > 3 else ''}); they are encoded "
                    "as all zeros"
                )
            rows = np.flatnonzero(known)
            X[rows, j + idx[rows]] = 1
            j += len(cats)
        return X, ok

    # -- the model file ------------------------------------------------------------------------
    def arrays(self):
        """The ``input_*`` members of a model file."""
        cats = [c for c in self.categories if len(c)]
        return {
            "input_columns": np.array(self.columns, dtype=str),
            "input_kinds": np.array(self.kinds, dtype=np.int8),
            "input_na": np.array(self.na),
            "input_fill": np.asarray(self.fill, dtype=np.float64),
            "input_text_fill": np.array(self.text_fill, dtype=str),
            "input_category_counts": np.array([len(c) for c in self.categories], dtype=np.int64),
            "input_categories": np.concatenate(cats) if cats else np.array([], dtype="<U1"),
        }


MEMBERS = (
    "input_columns",
    "input_kinds",
    "input_na",
    "input_fill",
    "input_text_fill",
    "input_category_counts",
    "input_categories",
)
_MAX_TEXT = 4 * 1024  # item size of a column name or category (1024 characters)


def read_encoder(reader, n_inputs):
    """The ``ColumnEncoder`` of an open ``NpzReader`` (a ValueError naming the member if any
    check fails); None when the file has no ``input_*`` members."""
    present = [m for m in MEMBERS if m in reader]
    if not present:
        return None
    for m in MEMBERS:
        if m not in reader:
            raise ValueError(f"member {m!r}: missing (the input_* members come together)")
    n_cols = reader.header("input_columns")[1]
    if len(n_cols) != 1 or not 1 <= n_cols[0] <= n_inputs:
        raise ValueError(f"member 'input_columns': shape {n_cols}, expected (C,) with 1 <= C <= {n_inputs}")
    C = n_cols[0]
    columns = reader.read("input_columns", "U", (C,), _MAX_TEXT).tolist()
    if len(set(columns)) != C:
        raise ValueError("member 'input_columns': repeated column names")
    kinds = reader.read("input_kinds", "iu", (C,))
    if not np.isin(kinds, (NUMBER, TEXT)).all():
        raise ValueError(f"member 'input_kinds': values must be {NUMBER} (number) or {TEXT} (text)")
    na = str(reader.read("input_na", "U", (), 64)[()])
    if na not in NA_STRATEGIES:
        raise ValueError(f"member 'input_na': unknown strategy {na!r}")
    imputes = na in ("mean", "median", "most_frequent")
    fill = reader.read("input_fill", np.dtype(np.float64), (C,))
    numeric = kinds == NUMBER
    if imputes and not np.isfinite(fill[numeric]).all():
        raise ValueError("member 'input_fill': the fill values of numeric columns must be finite")
    if not imputes or (~numeric).any():
        fill = np.where(numeric & imputes, fill, np.nan)
    counts = reader.read("input_category_counts", "iu", (C,))
    if np.any(counts[numeric] != 0) or np.any(counts[~numeric] < 1) or np.any(counts > n_inputs):
        raise ValueError("member 'input_category_counts': numeric columns have 0 categories, text columns 1 or more")
    total = int(numeric.sum()) + int(counts.sum())
    if total != n_inputs:
        raise ValueError(
            f"member 'input_category_counts': the columns give {total} inputs, the network takes {n_inputs}"
        )
    flat = reader.read("input_categories", "U", (int(counts.sum()),), _MAX_TEXT)
    text_fill = reader.read("input_text_fill", "U", (C,), _MAX_TEXT).tolist()
    categories, at = [], 0
    for k in range(C):
        cats = flat[at : at + counts[k]]
        at += counts[k]
        if len(cats) > 1 and not np.all(cats[1:] > cats[:-1]):
            raise ValueError(
                f"member 'input_categories': the categories of column {columns[k]!r} are not sorted and unique"
            )
        if kinds[k] == TEXT and imputes and text_fill[k] not in set(cats.tolist()):
            raise ValueError(
                f"member 'input_text_fill': the fill value of column {columns[k]!r} is not one of its categories"
            )
        if kinds[k] == NUMBER or not imputes:
            text_fill[k] = ""
        categories.append(np.array(cats, dtype=str) if kinds[k] == TEXT else np.array([], dtype=str))
    return ColumnEncoder(columns, [int(k) for k in kinds], na, fill, text_fill, categories)


def warn(message):
    print(f"nbmlp: warning: {message}", file=sys.stderr)
