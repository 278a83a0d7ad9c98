"""The estimators' prediction: the checks of X, and the network kept for ``predict`` while the
fitted weights stay the same (the prediction cache)."""

import weakref

import numpy as np
from scipy import sparse
from sklearn.utils.validation import check_is_fitted, validate_data

from .._threads import use_chosen
from ..network import PREDICT_CHUNK
from ..training import upper_work
from ._fit_plan import as_dtype, csr_arrays

# estimator → (coefs_ and intercepts_ arrays, activations, output, MLP, flat parameters or None):
# the network that predict reuses while the fitted weights are the same (_predicting_network)
_PREDICTING = weakref.WeakKeyDictionary()


class PredictingMixin:
    """``predict``'s part of the estimators: X checked as scikit-learn checks it, then the
    network of the fitted weights, built once per set of fitted arrays."""

    def _forward(self, X):
        """The network's outputs for X, after scikit-learn's checks of X (``_validate_X``)."""
        check_is_fitted(self, "coefs_")
        X = self._validate_X(X, self.coefs_[0].dtype.type)
        net, params = self._predicting_network()
        if X.shape[1] != net.layers[0]:  # n_features_in_ set apart from coefs_: refused as MLP.forward does
            raise ValueError(f"X has {X.shape[1]} features but the network takes {net.layers[0]}")
        return net_forward(net, X, params)

    def _validate_X(self, X, dtype):
        """X checked as scikit-learn checks it (``validate_data``), then as a C-contiguous array
        of ``dtype`` (``as_dtype``).

        A NumPy float64 or float32 array of ``n_features_in_`` columns and at least one row,
        with no feature names fitted and every value finite, passes every one of those checks
        and comes out converted: it takes that shortcut (``validate_data`` costs most of a
        one-row prediction). Anything else, including a non-finite value, goes through
        ``validate_data``, which gives scikit-learn's warnings and errors.
        """
        if (
            type(X) is np.ndarray
            and X.ndim == 2
            and (X.dtype == np.float64 or X.dtype == np.float32)
            and X.shape[0] > 0
            and X.shape[1] == getattr(self, "n_features_in_", None)
            and not hasattr(self, "feature_names_in_")
        ):
            with np.errstate(over="ignore"):
                Xc = np.ascontiguousarray(X, dtype=dtype)
            if np.isfinite(Xc).all():
                return Xc
        X = validate_data(self, X, reset=False, dtype=(np.float64, np.float32), accept_sparse=["csr", "csc"])
        return as_dtype(X, dtype, "X")

    def _predicting_network(self):
        """The network of the fitted weights and the flat parameters to run it with, for ``predict``.

        The network (layout, activations) is built once and kept beside the estimator (in
        ``_PREDICTING``, so the estimator itself does not change) while ``coefs_`` and
        ``intercepts_`` hold the same arrays and the fitted activations are the same: ``fit``,
        ``partial_fit`` and ``load`` set new arrays, which builds it again. The parameters are
        the buffer that ``coefs_`` and ``intercepts_`` are views into (as ``fit`` and ``load``
        leave them), so that writes into them are seen; arrays set another way (by hand,
        unpickled) are copied into a new buffer on every call, for the same reason.
        """
        arrays = (*self.coefs_, *self.intercepts_)
        entry = _PREDICTING.get(self)
        if (
            entry is None
            or len(entry[0]) != len(arrays)
            or any(a is not b for a, b in zip(entry[0], arrays))
            or entry[1] != self._activations_
            or entry[2] != self.out_activation_
        ):
            net = self._network(self.coefs_[0].dtype.type)
            shared = flat_base(arrays, net)
            # the cache holds no copy of the weights: the shared buffer, or nothing
            net.params = shared if shared is not None else net.params[:0]
            entry = (arrays, list(self._activations_), self.out_activation_, net, shared)
            _PREDICTING[self] = entry
        net, params = entry[3], entry[4]
        if params is None:
            params = np.empty(net.n_params, net.dtype)
            weights, biases = net.views(params)
            for w, b, coef, intercept in zip(weights, biases, self.coefs_, self.intercepts_):
                w[...] = coef
                b[...] = intercept
        return net, params


def net_forward(net, X, params=None):
    """``net.forward(X)``, for a sparse X through ``kernels.sparse`` (chunks of rows, never densified).

    With ``params`` (a flat buffer of the network's layout: ``_predicting_network``) X is taken
    as checked (``as_dtype``, the network's feature count) and the kernels read ``params``.
    """
    if not sparse.issparse(X):
        return net.forward(X) if params is None else net.forward_checked(X, params)
    if len(net.layers) == 2:
        return net.forward(X.toarray()) if params is None else net.forward_checked(X.toarray(), params)
    params = net.params if params is None else params
    from ..kernels.passes import Batch, Network, Work
    from ..kernels.sparse import Csr, sparse_forward_pass, upper_layout

    indptr, indices, values = csr_arrays(X, net.dtype)
    N, n_out = X.shape[0], net.layers[-1]
    cap = max(1, min(N, PREDICT_CHUNK))
    up, (Y, U) = upper_layout(net.layout), upper_work(net, cap, with_backward=False)
    csr, bundle = Csr(indptr, indices, values, up), Network(params, None, net.layout, None)
    work = Work(Y, U, None, None, None, None)  # a forward pass: no backward buffers
    out = np.empty((N, n_out), dtype=net.dtype)
    start_out = cap * (sum(net.layers[1:]) - n_out)
    with use_chosen():
        for start in range(0, N, cap):
            nb = min(cap, N - start)
            rows = np.arange(start, start + nb, dtype=np.int64)
            sparse_forward_pass(bundle, work, Batch(cap, nb, rows, None, None, None), csr)
            out[start : start + nb] = Y[start_out : start_out + nb * n_out].reshape(nb, n_out)
    return out


def flat_base(arrays, net):
    """The flat buffer that ``arrays`` (``coefs_`` then ``intercepts_``) are views into, exactly
    where ``net.views`` puts each layer's weights and biases, or None."""
    base = arrays[0].base
    if not (
        isinstance(base, np.ndarray)
        and base.ndim == 1
        and base.dtype == net.dtype
        and base.size == net.n_params
        and base.flags.c_contiguous
    ):
        return None
    weights, biases = net.views(base)
    for a, v in zip(arrays, (*weights, *biases)):
        if not (
            a.base is base
            and a.dtype == v.dtype
            and a.shape == v.shape
            and a.strides == v.strides
            and a.__array_interface__["data"][0] == v.__array_interface__["data"][0]
        ):
            return None
    return base
