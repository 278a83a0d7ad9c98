"""A dense layer: the forward sum ``u_j = Σ_i y_i w_ij + b_j`` and its backward steps.

Legend: s sample (N), i neuron of the layer below (l), j neuron of this layer (m),
r neuron of this layer inside a sum. ``w`` is (l, m): ``w[i, j] = w_ij``.
Each parallel loop owns disjoint outputs, so every sum runs in one fixed order whatever the
number of threads: forward and ∂y are parallel over samples, ∂w over the neurons i, ∂b over j.
"""
from numba import njit, prange

from .._config import JIT_PARALLEL


@njit(**JIT_PARALLEL)
def dense_forward(u, y, w, b):
    """Weighted input sums of a layer.

    Parameters
    ----------
    u : (N, m) array, out
        Weighted sums ``u_j``.
    y : (N, l) array
        Outputs ``y_i`` of the layer below (the inputs, for the first layer).
    w : (l, m) array
        Weights ``w_ij``.
    b : (m,) array
        Biases ``b_j``.

    Notes
    -----
    ``u_j = Σ_{i=1..l} y_i w_ij + b_j``, for every sample s (threads own samples).
    """
    N, l = y.shape
    m = w.shape[1]
    # u_j = Σ_i y_i w_ij + b_j   (j innermost: w's rows are contiguous)
    for s in prange(N):
        for j in range(m):
            u[s, j] = b[j]
        for i in range(l):
            y_i = y[s, i]
            for j in range(m):
                u[s, j] += y_i * w[i, j]


@njit(**JIT_PARALLEL)
def dense_backward_dy(dy, delta, w):
    """Gradient of the layer's inputs (the outputs of the layer below).

    Parameters
    ----------
    dy : (N, l) array, out
        ``∂y_i = ∂E/∂y_i`` of the layer below.
    delta : (N, m) array
        Deltas ``δ_r`` of this layer.
    w : (l, m) array
        Weights ``w_ir``.

    Notes
    -----
    Inverts ``u_r = Σ_i y_i w_ir + b_r``: ``∂u_r/∂y_i = w_ir``, so
    ``∂y_i = Σ_{r=1..m} δ_r w_ir`` (the notes' ``∂y_j = Σ_r δ_r w_jr``), per sample.
    """
    N, m = delta.shape
    l = w.shape[0]
    zero = delta.dtype.type(0)
    # ∂y_i = Σ_r δ_r w_ir   (threads own samples)
    for s in prange(N):
        for i in range(l):
            acc = zero
            for r in range(m):
                acc += delta[s, r] * w[i, r]
            dy[s, i] = acc


@njit(**JIT_PARALLEL)
def dense_backward_dw(dw, y, delta, scale):
    """Weight gradients of a layer, the mean over the batch.

    Parameters
    ----------
    dw : (l, m) array, out
        ``∂w_ij = ∂E/∂w_ij``.
    y : (N, l) array
        Outputs ``y_i`` of the layer below.
    delta : (N, m) array
        Deltas ``δ_j`` of this layer.
    scale : float
        ``1/N`` (the mean over the batch), of the arrays' dtype.

    Notes
    -----
    Inverts ``u_j = Σ_i y_i w_ij + b_j``: ``∂u_j/∂w_ij = y_i``, so ``∂w_ij = y_i δ_j``,
    here ``(1/N) Σ_s y_si δ_sj``.
    """
    N, l = y.shape
    m = delta.shape[1]
    # ∂w_ij = (1/N) Σ_s y_i δ_j   (threads own rows i of ∂w)
    for i in prange(l):
        for j in range(m):
            dw[i, j] = 0
        for s in range(N):
            y_i = y[s, i]
            for j in range(m):
                dw[i, j] += y_i * delta[s, j]
        for j in range(m):
            dw[i, j] *= scale


@njit(**JIT_PARALLEL)
def dense_backward_db(db, delta, scale):
    """Bias gradients of a layer, the mean over the batch.

    Parameters
    ----------
    db : (m,) array, out
        ``∂b_j = ∂E/∂b_j``.
    delta : (N, m) array
        Deltas ``δ_j`` of this layer.
    scale : float
        ``1/N``, of the arrays' dtype.

    Notes
    -----
    ``∂u_j/∂b_j = 1``, so ``∂b_j = δ_j``, here ``(1/N) Σ_s δ_sj``.
    """
    N, m = delta.shape
    zero = delta.dtype.type(0)
    # ∂b_j = (1/N) Σ_s δ_j   (threads own neurons j)
    for j in prange(m):
        acc = zero
        for s in range(N):
            acc += delta[s, j]
        db[j] = acc * scale
