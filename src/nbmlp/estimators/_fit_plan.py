"""What a checked fit of an estimator trains on (``FitPlan``), and the conversions of its data."""

from dataclasses import dataclass, field, replace

import numpy as np
from scipy import sparse


@dataclass
class FitPlan:
    """What a checked fit trains on, and how: ``_check_fit`` fills the data and the network's
    shape, ``_check_fit_input`` the split and the conversions (``distributed``: its own split).
    """

    X: object  # inputs (N, l): an array, or a sparse matrix; of ``dtype`` once split
    y: object  # the validated targets, as given (labels for a classifier)
    T: object  # encoded targets (N, n): one-hot, label indicators, or values
    c: object  # sample weights c_s (N,), float64, or None
    lb: object  # the classifier's LabelBinarizer, or None
    units: list  # neurons per layer, input first
    acts: list  # hidden activations (``MLP``'s names)
    dtype: type  # np.float32 or np.float64
    callbacks: list = field(default_factory=list)
    first_pass: bool = True  # a new network (not a warm start, not partial_fit continuing)
    incremental: bool = False  # partial_fit: one epoch
    rs: object = None  # the RandomState of random_state (initial weights, split, shuffle seed)
    early_stopping: bool = False
    X_val: object = None  # the validation set (early stopping)
    y_val: object = None
    T_val: object = None
    initial: list = None  # a new network's weights and biases [w0, b0, w1, …], drawn before the split

    def training_set(self, X, T, c, rs, initial, validation=None):
        """This plan for the rows a fit trains on: ``X, T, c`` (converted to ``dtype``), the
        generator ``rs``, a new network's ``initial`` weights (None: continue from the fitted
        ones) and ``validation``, the ``(X_val, y_val, T_val)`` of early stopping (None: without).
        The estimators' own fit and ``distributed`` both make their plan here."""
        X_val, y_val, T_val = (None, None, None) if validation is None else validation
        return replace(
            self,
            X=X,
            T=T,
            c=c,
            rs=rs,
            early_stopping=validation is not None,
            X_val=X_val,
            y_val=y_val,
            T_val=T_val,
            initial=initial,
        )


def csr_arrays(X, dtype):
    """``(indptr, indices, data)`` of a sparse matrix as CSR, int64 indices, data of ``dtype``."""
    X = X.tocsr()
    return (
        np.ascontiguousarray(X.indptr, dtype=np.int64),
        np.ascontiguousarray(X.indices, dtype=np.int64),
        np.ascontiguousarray(X.data, dtype=dtype),
    )


def input_dtype(X):
    """The dtype of ``dtype=None``: float32 for float32 input, float64 for anything else."""
    return np.float32 if X.dtype == np.float32 else np.float64


def as_dtype(a, dtype, name):
    """``a`` as a C-contiguous array of the model's dtype (a sparse ``a`` as CSR); ValueError if that overflows."""
    if sparse.issparse(a):
        with np.errstate(over="ignore"):
            out = a.tocsr().astype(dtype)
        if not np.isfinite(out.data).all():
            raise ValueError(f"{name} has values too large for {np.dtype(dtype).name} (use dtype='float64')")
        return out
    with np.errstate(over="ignore"):
        out = np.ascontiguousarray(a, dtype=dtype)
    if not np.isfinite(out).all():
        raise ValueError(f"{name} has values too large for {np.dtype(dtype).name} (use dtype='float64')")
    return out
