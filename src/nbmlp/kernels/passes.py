"""One forward and one backward pass through a network of any depth.

The network is described by ``layout``, an int64 array with one row per weight layer L
(from layer L to layer L+1), whose columns are named below. All parameters live in one flat
buffer ``params``: layer L's weights ``w`` (l, m) start at ``layout[L, W_OFF]`` and its biases
``b`` (m,) follow them. Gradients ``grads`` have the same layout.

Per-sample quantities (y, u, δ, ∂y) live in flat work buffers of ``cap`` rows per layer:
layer L's block starts at ``cap · layout[L, A_IN]`` (the sum of the widths below it) and holds
``nb ≤ cap`` rows of its width. Block 0 of ``Y`` is the network's input.

These drivers only call the parallel kernels one after another (never inside a parallel loop).
"""
from numba import njit

from .._config import JIT_INLINE, JIT_SERIAL
from .activations import activation_backward, activation_forward
from .dense import dense_backward_db, dense_backward_dw, dense_backward_dy, dense_forward
from .losses import loss_forward, output_delta, weight_delta

# columns of ``layout``
W_OFF, N_IN, N_OUT, A_IN, ACT = 0, 1, 2, 3, 4
LAYOUT_COLUMNS = 5


@njit(**JIT_INLINE)
def rows(buf, start, nb, width):
    """The (nb, width) block of a flat work buffer that starts at ``start``."""
    return buf[start:start + nb * width].reshape((nb, width))


@njit(**JIT_INLINE)
def layer_params(params, layout, L):
    """Views ``w`` (l, m) and ``b`` (m,) of layer L in the flat parameter buffer."""
    off, l, m = layout[L, W_OFF], layout[L, N_IN], layout[L, N_OUT]
    return params[off:off + l * m].reshape((l, m)), params[off + l * m:off + l * m + m]


@njit(**JIT_INLINE)
def layer_block(buf, layout, L, cap, nb):
    """Rows of layer L's *output* (layer L+1) in a work buffer."""
    return rows(buf, cap * (layout[L, A_IN] + layout[L, N_IN]), nb, layout[L, N_OUT])


@njit(**JIT_INLINE)
def input_block(buf, layout, L, cap, nb):
    """Rows of layer L's *input* (layer L) in a work buffer."""
    return rows(buf, cap * layout[L, A_IN], nb, layout[L, N_IN])


@njit(**JIT_SERIAL)
def forward_pass(Y, U, params, layout, cap, nb):
    """Forward propagation through every layer.

    Notes
    -----
    For L = 0, 1, …: ``u_j = Σ_i y_i w_ij + b_j`` then ``y_j = f(u_j)``; block 0 of ``Y``
    holds the inputs ``y_i``.
    """
    for L in range(layout.shape[0]):
        w, b = layer_params(params, layout, L)
        u = layer_block(U, layout, L, cap, nb)
        dense_forward(u, input_block(Y, layout, L, cap, nb), w, b)
        activation_forward(layer_block(Y, layout, L, cap, nb), u, layout[L, ACT])


@njit(**JIT_SERIAL)
def loss_sum(e, Y, U, t, layout, loss, cap, nb):
    """Sum of the per-sample errors E of ``nb`` samples, added in sample order (float64).

    Notes
    -----
    ``Σ_s E_s`` with E from ``losses.loss_forward``; the caller divides by N for the mean.
    """
    Lo = layout.shape[0] - 1
    loss_forward(e[:nb], layer_block(Y, layout, Lo, cap, nb), layer_block(U, layout, Lo, cap, nb), t, loss)
    total = 0.0
    for s in range(nb):
        total += e[s]
    return total


@njit(**JIT_SERIAL)
def backward_pass(grads, D, DY, params, Y, U, t, layout, loss, cap, nb, c):
    """Backward propagation: every ``δ`` and the gradients of every weight and bias.

    ``c`` holds the ``nb`` samples' weights ``c_s``, or is empty for unweighted samples.

    Notes
    -----
    Output layer: ``δ_k = (∂E/∂y_k)(∂y_k/∂u_k)``, times ``c_s`` when weighted. Then for
    L = last … 0 (walked backwards): ``∂w_ij = y_i δ_j`` and ``∂b_j = δ_j`` (means over the
    batch: divided by N, or by ``Σ_s c_s`` when weighted), and below a hidden layer
    ``∂y_i = Σ_q δ_q w_iq`` and ``δ_i = ∂y_i f'(u_i)``. The input gradient (block 0 of DY) is
    not computed.
    """
    scale = params.dtype.type(1) / params.dtype.type(nb)
    if c.shape[0] > 0:
        c_sum = params.dtype.type(0)
        for s in range(nb):
            c_sum += c[s]
        scale = params.dtype.type(1) / c_sum
    backward_pass_scaled(grads, D, DY, params, Y, U, t, layout, loss, cap, nb, c, scale)


@njit(**JIT_SERIAL)
def backward_pass_scaled(grads, D, DY, params, Y, U, t, layout, loss, cap, nb, c, scale):
    """``backward_pass`` with the gradients multiplied by a given ``scale`` instead of the mean's.

    With ``scale`` 1 the gradients are the sums over the batch, ``∂w_ij = Σ_s c_s y_i δ_j``
    (``distributed`` adds them up across processes before dividing by the global count).

    Notes
    -----
    As ``backward_pass``, with ``∂w_ij = scale · Σ_s y_i δ_j`` and ``∂b_j = scale · Σ_s δ_j``.
    """
    Lo = layout.shape[0] - 1
    output_delta(layer_block(D, layout, Lo, cap, nb), layer_block(Y, layout, Lo, cap, nb),
                 layer_block(U, layout, Lo, cap, nb), t, loss, layout[Lo, ACT])
    if c.shape[0] > 0:
        weight_delta(layer_block(D, layout, Lo, cap, nb), c)
    for L in range(Lo, -1, -1):
        delta = layer_block(D, layout, L, cap, nb)
        y_in = input_block(Y, layout, L, cap, nb)
        dw, db = layer_params(grads, layout, L)
        dense_backward_dw(dw, y_in, delta, scale)
        dense_backward_db(db, delta, scale)
        if L > 0:
            w, _ = layer_params(params, layout, L)
            dy = input_block(DY, layout, L, cap, nb)
            dense_backward_dy(dy, delta, w)
            activation_backward(input_block(D, layout, L, cap, nb), dy,
                                input_block(U, layout, L, cap, nb), y_in, layout[L - 1, ACT])
