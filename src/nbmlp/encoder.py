"""``TableEncoder``: the ``nbmlp`` command's column encoding as a scikit-learn transformer.

Raw rows (a pandas DataFrame, or a 2-D array of objects with the columns in the fitted order) →
the network's inputs: numeric columns as they are (missing values filled with the training
rows' mean, median or most frequent value when ``na`` says so), text columns one-hot (a category
unseen in training is all zeros, with a warning). The learning and the encoding are those of
``tabular.ColumnEncoder``, which the model file stores (its ``input_*`` members): a model trained
by ``nbmlp train`` loads as a ``Pipeline`` of this encoder and the estimator (``nbmlp.load``).
"""

import numbers
import warnings

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted

from . import tabular
from .tabular import MISSING, NUMBER, TEXT, ColumnEncoder

_MISSING_SET = frozenset(MISSING)
NA = ("error", "mean", "median", "most_frequent", "drop")


class TableEncoder(TransformerMixin, BaseEstimator):
    """Impute and one-hot encode the columns of a table, as ``nbmlp train`` does.

    Parameters
    ----------
    text_columns : list of str or int, optional
        Columns encoded as text (one-hot) whatever they hold (ids, codes). Other columns are
        numeric when every value present is a number (a numeric DataFrame column, or numbers
        and number strings), text otherwise.
    na : {"error", "mean", "median", "most_frequent", "drop"}
        Missing values (None, NaN, or one of ``nbmlp.tabular.MISSING`` such as ``""`` and
        ``"NA"``): ``error`` refuses them; ``mean``, ``median`` and ``most_frequent`` fill
        numeric columns with that statistic of the training rows and text columns with their
        most frequent category; ``drop`` (the command's ``--na drop``, which leaves such rows
        out of training) refuses them in ``transform``, which cannot leave rows out.

    Attributes
    ----------
    columns_ : list of str
        The columns, in the order of the input (``feature_names_in_`` for a DataFrame, ``x0``,
        ``x1``… for an array).
    kinds_ : list of str
        ``"number"`` or ``"text"`` per column.
    fill_ : ndarray of float64
        The fill value of each numeric column (NaN where none).
    text_fill_ : list of str
        The fill category of each text column ('' where none).
    categories_ : list of ndarray of str
        The sorted categories of each text column (empty for numeric columns).
    n_features_in_ : int
    feature_names_in_ : ndarray of str
        Only when fitted on a DataFrame (or loaded from a command's model file).
    """

    def __init__(self, text_columns=None, na="error"):
        self.text_columns = text_columns
        self.na = na

    # -- fitting ------------------------------------------------------------------------------
    def fit(self, X, y=None):
        """Learn the columns' kinds, fill values and categories from the rows of X."""
        if self.na not in NA:
            raise ValueError(f"na must be one of {', '.join(map(repr, NA))}, got {self.na!r}")
        names, cells, frame = _columns_of(X)
        forced = set() if self.text_columns is None else set(_as_list(self.text_columns, "text_columns"))
        position = lambda c: isinstance(c, numbers.Integral) and 0 <= c < len(names)  # noqa: E731
        unknown = [c for c in forced if c not in names and not position(c)]
        if unknown:
            raise ValueError(f"text_columns: {unknown} are not columns of X (columns: {names})")
        forced = {names[c] if isinstance(c, numbers.Integral) else c for c in forced}
        kinds = [TEXT if name in forced or not _all_numbers(col) else NUMBER for name, col in zip(names, cells)]
        table = _Cells(names, kinds, cells)
        if self.na == "drop":
            rows = np.flatnonzero(~np.any([table.missing(n) for n in names], axis=0))
            if len(rows) == 0:
                raise ValueError("X: every row has a missing value (na='drop')")
        else:
            rows = np.arange(table.n_rows)
            if self.na == "error":
                for name in names:
                    table.check_complete(name)
        try:
            encoder = ColumnEncoder.fit(table, names, kinds, self.na, rows)
        except tabular.UserError as err:  # pragma: no cover - keep_empty_features fills 0
            raise ValueError(str(err)) from None
        self._set_fitted(encoder, frame)
        return self

    @classmethod
    def from_column_encoder(cls, encoder):
        """The fitted ``TableEncoder`` of a model file's ``tabular.ColumnEncoder``."""
        self = cls(na=encoder.na)
        self._set_fitted(encoder, frame=True)
        return self

    def _set_fitted(self, encoder, frame):
        self.columns_ = list(encoder.columns)
        self.kinds_ = ["number" if k == NUMBER else "text" for k in encoder.kinds]
        self.fill_ = np.asarray(encoder.fill, dtype=np.float64)
        self.text_fill_ = list(encoder.text_fill)
        self.categories_ = [np.asarray(c, dtype=str) for c in encoder.categories]
        self.n_features_in_ = len(self.columns_)
        if frame:
            self.feature_names_in_ = np.asarray(self.columns_, dtype=object)
        else:
            vars(self).pop("feature_names_in_", None)

    def column_encoder(self):
        """The fitted encoding as a ``tabular.ColumnEncoder`` (what the model file stores)."""
        check_is_fitted(self, "columns_")
        kinds = [NUMBER if k == "number" else TEXT for k in self.kinds_]
        return ColumnEncoder(self.columns_, kinds, self.na, self.fill_, self.text_fill_, self.categories_)

    # -- encoding ------------------------------------------------------------------------------
    def transform(self, X):
        """The input matrix (float64) of the rows of X: a DataFrame holding the fitted columns
        (by name; other columns are ignored), or an array with the fitted columns in order."""
        encoder = self.column_encoder()
        names, cells = _select(X, self.columns_, hasattr(self, "feature_names_in_"))
        table = _Cells(names, encoder.kinds, cells)

        def warn(message):
            warnings.warn(message, UserWarning, stacklevel=3)

        out, ok = encoder.transform(table, np.float64, warn)
        if not ok.all():
            i = int(np.flatnonzero(~ok)[0])
            name = next(n for n in names if table.missing(n)[i])
            raise ValueError(
                f"X: row {i}, column {name!r}: a missing value; this encoder was fitted with na='drop' "
                "(rows with missing values were left out of training) and cannot fill it"
            )
        return out

    def get_feature_names_out(self, input_features=None):
        """The network's input names: a numeric column's name, ``column=category`` per category."""
        return np.asarray(self.column_encoder().input_names(), dtype=object)

    @property
    def n_outputs_(self):
        return self.column_encoder().n_inputs

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.string = True
        tags.input_tags.allow_nan = self.na in ("mean", "median", "most_frequent")  # the others refuse NaN
        tags.input_tags.categorical = True
        return tags


# -- the columns of X -------------------------------------------------------------------------------
class _Cells:
    """Columns of raw values, read as ``tabular.Table`` is read by ``ColumnEncoder``: numeric
    columns as float64 (NaN: missing), text columns as str (None: missing). Errors name the row."""

    def __init__(self, names, kinds, cells):
        self.n_rows = len(cells[0]) if cells else 0
        self.columns = {}
        for name, kind, col in zip(names, kinds, cells):
            self.columns[name] = _to_numbers(name, col) if kind == NUMBER else _to_strings(col)

    def numbers(self, name, allow_missing=False):
        col = self.columns[name]
        if not allow_missing:
            self.check_complete(name, col)
        return col

    def strings(self, name):
        return self.columns[name]

    def missing(self, name):
        col = self.columns[name]
        return np.isnan(col) if col.dtype.kind == "f" else np.equal(col, None)

    def check_complete(self, name, col=None):
        gone = self.missing(name) if col is None else np.isnan(col)
        if gone.any():
            i = int(np.flatnonzero(gone)[0])
            raise ValueError(
                f"X: row {i}, column {name!r}: a missing value (None, NaN or a text such as ''); na='mean', "
                "'median' or 'most_frequent' fill them"
            )


def _as_list(value, what):
    if isinstance(value, (str, numbers.Integral)):
        return [value]
    try:
        return list(value)
    except TypeError:
        raise TypeError(f"{what} must be a list of column names or indices, got {value!r}") from None


def _columns_of(X):
    """(names, cells per column, whether X is a DataFrame) of a DataFrame or a 2-D array."""
    if hasattr(X, "columns") and hasattr(X, "iloc"):
        names = [str(c) for c in X.columns]
        if len(set(names)) != len(names):
            raise ValueError("X: repeated column names")
        if X.shape[0] == 0 or X.shape[1] == 0:
            raise ValueError(f"X: shape {X.shape}; at least one row and one column are needed")
        return names, [np.asarray(X.iloc[:, k].to_numpy(dtype=object)) for k in range(X.shape[1])], True
    A = _as_2d(X)
    return [f"x{k}" for k in range(A.shape[1])], [A[:, k] for k in range(A.shape[1])], False


def _as_2d(X):
    from scipy import sparse

    if sparse.issparse(X):
        raise TypeError("X: sparse input is not supported (a table of raw columns: a DataFrame or a dense array)")
    try:
        A = np.asarray(X, dtype=object)
    except ValueError as err:
        raise ValueError(f"X: not a table of rows and columns ({err})") from None
    if A.ndim != 2:
        raise ValueError(
            f"X: expected a DataFrame or a 2-D array of rows, got {A.ndim} dimension(s). Reshape your data "
            "with X.reshape(-1, 1) for one column or X.reshape(1, -1) for one row."
        )
    if A.shape[0] == 0:
        raise ValueError(f"X: 0 sample(s) (shape={A.shape}) while a minimum of 1 is required.")
    if A.shape[1] == 0:
        raise ValueError(f"X: 0 feature(s) (shape={A.shape}) while a minimum of 1 is required.")
    return A


def _select(X, columns, by_name):
    """The cells of ``columns`` in X: by name from a DataFrame, by position from an array."""
    if hasattr(X, "columns") and hasattr(X, "iloc"):
        have = [str(c) for c in X.columns]
        absent = [c for c in columns if c not in have]
        if absent:
            raise ValueError(f"X: column(s) {', '.join(map(repr, absent))} missing (this encoder takes {columns})")
        if len(X) == 0:
            raise ValueError("X: no rows")
        return columns, [np.asarray(X.iloc[:, have.index(c)].to_numpy(dtype=object)) for c in columns]
    A = _as_2d(X)
    if A.shape[1] != len(columns):
        raise ValueError(
            f"X has {A.shape[1]} features, but TableEncoder is expecting {len(columns)} features as input"
            f"{f' ({columns}, in that order)' if by_name else ''}"
        )
    return columns, [A[:, k] for k in range(A.shape[1])]


def _is_missing(v):
    if v is None:
        return True
    if isinstance(v, str):
        return v.strip() in _MISSING_SET
    if isinstance(v, (float, np.floating)):
        return bool(np.isnan(v))
    return v is getattr(_pandas_na(), "NA", object())


def _pandas_na():
    try:
        import pandas
    except ImportError:  # pragma: no cover - pandas is optional
        return None
    return pandas


def _number(v):
    """v as a float, or None when it is not a number (bools are not); complex numbers are refused."""
    if isinstance(v, (complex, np.complexfloating)):
        raise ValueError("X: Complex data not supported")
    if isinstance(v, (bool, np.bool_)):
        return None
    if isinstance(v, (numbers.Real, np.number)):
        return float(v)
    if isinstance(v, str):
        try:
            return float(v)
        except ValueError:
            return None
    return None


def _all_numbers(col):
    present = [v for v in col if not _is_missing(v)]
    return bool(present) and all(_number(v) is not None for v in present)


def _to_numbers(name, col):
    out = np.empty(len(col), dtype=np.float64)
    for i, v in enumerate(col):
        if _is_missing(v):
            out[i] = np.nan
            continue
        x = _number(v)
        if x is None or not np.isfinite(x):
            raise ValueError(f"X: row {i}, column {name!r}: {v!r} is not a finite number")
        out[i] = x
    return out


def _to_strings(col):
    out = np.empty(len(col), dtype=object)
    for i, v in enumerate(col):
        if _is_missing(v):
            out[i] = None
        elif isinstance(v, (float, np.floating)):
            out[i] = tabular._number_text(float(v))  # 2.0 → '2', as the command reads a CSV cell
        else:
            out[i] = str(v).strip()
    return out
