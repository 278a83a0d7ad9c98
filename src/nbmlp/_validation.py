"""Input checks shared by the public API: clear errors that name the argument."""

import numbers

import numpy as np

DTYPES = {"float32": np.float32, "float64": np.float64}


def check_dtype(dtype):
    """Return np.float32 or np.float64 for a dtype name or object; TypeError otherwise."""
    try:
        dt = np.dtype(dtype)
    except TypeError:
        raise TypeError(f"dtype must be 'float32' or 'float64', got {dtype!r}") from None
    if dt not in (np.float32, np.float64):
        raise TypeError(f"dtype must be 'float32' or 'float64', got {dtype!r}")
    return dt.type


def as_float_array(a, name, dtype, ndim):
    """``a`` as a C-contiguous array of ``dtype`` with ``ndim`` dimensions, all finite."""
    if hasattr(a, "to_numpy") and not isinstance(a, np.ndarray):
        # pandas: nullable columns (Int64, Float64, boolean) become floats, their NA values NaN
        try:
            a = a.to_numpy(dtype=np.float64, na_value=np.nan)
        except (TypeError, ValueError):
            a = np.asarray(a)
    if not hasattr(a, "dtype"):
        a = np.asarray(a)
    if not isinstance(a, np.ndarray):
        a = np.asarray(a)
    if a.dtype == object or not (np.issubdtype(a.dtype, np.number) or a.dtype == np.bool_):
        raise TypeError(f"{name} must hold numbers, got dtype {a.dtype}")
    if np.issubdtype(a.dtype, np.complexfloating):
        raise TypeError(f"{name} must hold real numbers, got dtype {a.dtype}")
    if a.ndim != ndim:
        raise ValueError(f"{name} must be {ndim}-D, got an array of shape {a.shape}")
    if a.dtype.kind in "fc" and not np.isfinite(a).all():
        raise ValueError(f"{name} contains NaN or infinity")
    # only a float wider than dtype (float64 into float32) can overflow on the way
    narrowing = a.dtype.kind == "f" and a.dtype.itemsize > np.dtype(dtype).itemsize
    with np.errstate(over="ignore"):
        a = np.ascontiguousarray(a, dtype=dtype)
    if narrowing and not np.isfinite(a).all():
        raise ValueError(f"{name} has values too large for {np.dtype(dtype).name} (use dtype='float64')")
    return a


def check_number(value, name, *, low=None, low_open=False, integer=False):
    """A real (or integral) scalar with an optional lower bound, else TypeError/ValueError."""
    kind = numbers.Integral if integer else numbers.Real
    if isinstance(value, bool) or not isinstance(value, kind):
        raise TypeError(f"{name} must be {'an integer' if integer else 'a number'}, got {value!r}")
    if not isinstance(value, numbers.Integral) and not np.isfinite(value):
        raise ValueError(f"{name} must be finite, got {value!r}")
    if low is not None and (value <= low if low_open else value < low):
        raise ValueError(f"{name} must be {'>' if low_open else '>='} {low}, got {value!r}")
    return value


def check_dropout(dropout, n_hidden, name="dropout"):
    """The dropout rates as a tuple with one float per hidden layer, each in [0, 1)."""
    if isinstance(dropout, (str, bytes)):
        raise TypeError(f"{name} must be a number or a sequence of numbers, got {dropout!r}")
    try:
        rates = list(dropout)
    except TypeError:
        rates = [dropout] * n_hidden
        check_number(dropout, name, low=0)
    else:
        if len(rates) != n_hidden:
            raise ValueError(f"{name}: {len(rates)} rates for {n_hidden} hidden layers")
    for p in rates:
        check_number(p, name, low=0)
        if p >= 1:
            raise ValueError(f"{name} must be in [0, 1), got {dropout!r}")
    return tuple(float(p) for p in rates)
