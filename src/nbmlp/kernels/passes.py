"""One forward and one backward pass through a network of any depth.

Legend: L weight layer (a row of ``layout``, from layer L to layer L+1), l and m its input and
output widths, i, j, q neurons of layers L, L+1, L+2, k output neuron, s sample of the batch
(``nb`` of them, in blocks of ``cap`` rows), θ the flat parameters, c_s sample weights.

The network is described by ``layout``, an int64 array with one row per weight layer L
(from layer L to layer L+1), whose columns are named below. All parameters live in one flat
buffer ``params``: layer L's weights ``w`` (l, m) start at ``layout[L, W_OFF]`` and its biases
``b`` (m,) follow them. Gradients ``grads`` have the same layout.

Per-sample quantities (y, u, δ, ∂y) live in flat work buffers of ``cap`` rows per layer:
layer L's block starts at ``cap · layout[L, A_IN]`` (the sum of the widths below it) and holds
``nb ≤ cap`` rows of its width. Block 0 of ``Y`` is the network's input. After the last block,
``Y`` has room for the packed copies the fast dense kernels read (``pack_size``): a layer's
weights in panels in the forward pass, then the transposed weights for ∂y, then the inputs and
the deltas for ∂w (the forward and ∂y steps read their inputs and deltas in place).

The dense steps run the vector-register kernels of ``dense`` (``*_tiles``, each beside the plain
loop of its step); a step with fewer than ``PARALLEL_MIN_MACS`` multiply-adds runs serially,
since a parallel launch would cost more than it saves. ``forward_layers`` and ``backward_layers``
take that threshold as ``parallel_macs``; given ``None`` every step runs serially and Numba drops
the parallel branches before typing (a ``x is None`` test on an argument is pruned), so a caller
compiled for ``None`` (the small networks' epoch, ``epoch.train_epoch_opt``) links no parallel
kernel, which shortens its first compile (docs/performance.md).

These drivers only call the parallel kernels one after another (never inside a parallel loop).
They are inlined into their compiled callers (``JIT_DRIVER_INLINE``: the epoch, the sharded
steps), so that the kernels' code is not optimized and emitted once more per driver level.
The small helpers (``flat_block``, ``layer_params``, ``layer_block``, ``input_block``, ``pack_region``)
are ordinary compiled functions that LLVM inlines: inlining them in Numba's IR at every call
site would re-run Numba's pipeline there, lengthening the first compile for no run-time gain.
A serial kernel's first row (or a helper's layer 0) is passed as ``np.int64(0)``, not as the
constant ``0``: Numba would type a constant as ``Literal[int](0)`` and compile a second copy.
"""

from collections import namedtuple

from numba import njit

from .._config import JIT_DRIVER_INLINE, JIT_SERIAL
from .dense import (
    PARALLEL_MIN_MACS,
    dense_backward_dw_parallel,
    dense_backward_dw_serial,
    dense_backward_dy_parallel,
    dense_backward_dy_serial,
    dense_forward_parallel,
    dense_forward_serial,
    dw_packing,
    dy_packing,
    forward_packing,
    pack_elements,
)
from .dropout import dropout_backward, dropout_forward
from .lanes import lane_count, lanes_for
from .losses import loss_forward, output_delta, weight_delta

# The columns of ``layout``; row L is weight layer L (from layer L to layer L+1), e.g. for
# layers [4, 8, 3]: [[0, 4, 8, 0, relu], [40, 8, 3, 4, softmax]].
#   W_OFF  where layer L's weights w (l, m) start in θ; its biases b (m,) follow them
#   N_IN   l, the width of layer L (the layer's input)
#   N_OUT  m, the width of layer L+1 (the layer's output)
#   A_IN   the widths of layers 0 … L−1: layer L's block of a work buffer starts at cap · A_IN
#   ACT    the activation code of layer L+1 (``activations.CODES``)
W_OFF, N_IN, N_OUT, A_IN, ACT = 0, 1, 2, 3, 4
ALIGN_ELEMENTS = 16  # the packed copies start at a multiple of 16 elements of an aligned Y (``nbmlp._aligned``)
LAYOUT_COLUMNS = 5

# The bundles the passes and the batch step take, by name (llm.c's ``ParameterTensors`` and
# ``ActivationTensors``): Numba compiles a named tuple as a tuple whose fields it reads by name.
# θ, ∂θ (the same layout; empty in a forward pass), the layer table, the loss code
Network = namedtuple("Network", ["params", "grads", "layout", "loss"])
# the flat work buffers of ``cap`` rows per layer: y, u, δ, ∂y, a batch's targets, its errors E_s
Work = namedtuple("Work", ["Y", "U", "D", "DY", "Tb", "e"])
# one batch: rows per block of the work buffers (cap), rows used (nb), the batch's samples as rows
# of the data (nb,), its targets (nb, n), the data's sample weights c_s (N,) and the batch's (nb,)
# (both empty when unweighted; ``step.step_loss`` gathers the batch's); None where a pass reads none
Batch = namedtuple("Batch", ["cap", "nb", "rows", "t", "c", "cb"])
# dropout rate p_L per weight layer (empty: none), multipliers M_sj, outputs before dropout (as U)
Dropout = namedtuple("Dropout", ["rates", "M", "Yk"])


@njit(**JIT_SERIAL)
def flat_block(buf, start, nb, width):
    """The (nb, width) block of a flat work buffer that starts at ``start``.

    Notes
    -----
    ``block[s, c] = buf[start + s·width + c]`` (a view, nothing is copied).
    """
    return buf[start : start + nb * width].reshape((nb, width))


@njit(**JIT_SERIAL)
def layer_params(params, layout, L):
    """Views ``w`` (l, m) and ``b`` (m,) of layer L in the flat parameter buffer.

    Notes
    -----
    With ``off = layout[L, W_OFF]``: ``w_ij = params[off + i·m + j]``, ``b_j = params[off + l·m + j]``.
    """
    off, l, m = layout[L, W_OFF], layout[L, N_IN], layout[L, N_OUT]
    return params[off : off + l * m].reshape((l, m)), params[off + l * m : off + l * m + m]


@njit(**JIT_SERIAL)
def layer_block(buf, layout, L, cap, nb):
    """Rows of layer L's *output* (layer L+1) in a work buffer.

    Notes
    -----
    ``block[s, j] = buf[cap · (layout[L, A_IN] + l) + s·m + j]``: after the widths of layers 0 … L.
    """
    return flat_block(buf, cap * (layout[L, A_IN] + layout[L, N_IN]), nb, layout[L, N_OUT])


@njit(**JIT_SERIAL)
def input_block(buf, layout, L, cap, nb):
    """Rows of layer L's *input* (layer L) in a work buffer.

    Notes
    -----
    ``block[s, i] = buf[cap · layout[L, A_IN] + s·l + i]``: after the widths of layers 0 … L−1.
    """
    return flat_block(buf, cap * layout[L, A_IN], nb, layout[L, N_IN])


def pack_size(layers, cap, dtype):
    """Elements ``Y`` needs after its layer blocks for the packed copies (see the module docstring)."""
    nr = 2 * lanes_for(dtype)
    return max(pack_elements(l, m, cap, nr) for l, m in zip(layers[:-1], layers[1:])) + ALIGN_ELEMENTS


@njit(**JIT_SERIAL)
def pack_region(Y, layout, cap):
    """The part of ``Y`` after its layer blocks, where the fast kernels' packed copies go.

    Notes
    -----
    ``needed = max_L pack_elements(l, m, cap, 2W)`` elements (``dense.pack_elements``).
    """
    Lo = layout.shape[0] - 1
    start = cap * (layout[Lo, A_IN] + layout[Lo, N_IN] + layout[Lo, N_OUT])
    start = (start + ALIGN_ELEMENTS - 1) // ALIGN_ELEMENTS * ALIGN_ELEMENTS  # a cache line from an aligned Y
    nr = 2 * lane_count(Y)
    needed = 0
    # needed = max_L pack_elements(l, m, cap, 2W)
    for L in range(layout.shape[0]):
        needed = max(needed, pack_elements(layout[L, N_IN], layout[L, N_OUT], cap, nr))
    if Y.shape[0] < start + needed:
        raise ValueError("Y has no room for the packed copies (size it with pack_size)")
    return Y[start:]


def serial_passes(layers, N):
    """Whether every step of a pass over ``N`` samples runs on the calling thread (each layer's
    ``N · l · m`` below ``dense.PARALLEL_MIN_MACS``).

    Then ``trace`` and ``MLP.forward`` run the passes with ``parallel_macs=None``: the kernels are
    the serial ones they would choose anyway (the same bits), and Numba compiles the passes without
    the parallel kernels, whose compilation is most of a first call.
    """
    widest = 0
    for l, m in zip(layers[:-1], layers[1:]):
        widest = max(widest, l * m)
    return N * widest < PARALLEL_MIN_MACS


@njit(**JIT_DRIVER_INLINE)
def forward_pass(Y, U, params, layout, cap, nb):
    """Forward propagation through every layer.

    Notes
    -----
    For L = 0, 1, …: ``u_j = Σ_i y_i w_ij + b_j`` then ``y_j = f(u_j)``; block 0 of ``Y``
    holds the inputs ``y_i``. A parallel step packs its weights first (``dense.pack_w``).
    """
    # the bundles of a forward pass: no gradients, loss, backward buffers, targets or weights (None)
    net, work, batch = (
        Network(params, None, layout, None),
        Work(Y, U, None, None, None, None),
        Batch(cap, nb, None, None, None, None),
    )
    forward_layers(net, work, batch, Dropout(params[:0], params[:0], params[:0]), PARALLEL_MIN_MACS)


@njit(**JIT_DRIVER_INLINE)
def forward_pass_serial(Y, U, params, layout, cap, nb):
    """``forward_pass`` compiled without the parallel kernels, for passes whose steps all run
    serially (``serial_passes``); the same arguments, so a call from Python costs the same.

    Notes
    -----
    For L = 0, 1, …: ``u_j = Σ_i y_i w_ij + b_j``, ``y_j = f(u_j)``, as ``forward_pass``, every
    step on the calling thread.
    """
    net, work, batch = (
        Network(params, None, layout, None),
        Work(Y, U, None, None, None, None),
        Batch(cap, nb, None, None, None, None),
    )
    forward_layers(net, work, batch, Dropout(params[:0], params[:0], params[:0]), None)


@njit(**JIT_DRIVER_INLINE)
def forward_layers(net, work, batch, dropout, parallel_macs):
    """The body of ``forward_pass``, with inverted dropout on the hidden layers whose rate is > 0.

    Parameters
    ----------
    net : Network
        θ and the layout (``grads`` and ``loss`` unused).
    work : Work
        ``Y`` (block 0: the inputs) and ``U`` are written (the other buffers unused).
    batch : Batch
        ``cap`` rows per block, ``nb`` of them used (the other fields unused).
    dropout : Dropout
        ``rates`` (one per weight layer, 0 for none) and the work buffers ``M`` (the drawn
        multipliers, ``epoch.draw_masks``) and ``Yk`` (the outputs before dropout); all empty
        without dropout.
    parallel_macs : int or None
        A step of at least this many multiply-adds runs on the threads; ``None``: every step runs
        serially, and no parallel kernel is compiled into the caller.

    Notes
    -----
    For L = 0, 1, …: ``u_j = Σ_i y_i w_ij + b_j``, ``y_j = f(u_j)``; where ``p_L > 0``:
    ``y_j ← m_j y_j / (1 − p_L)`` (``dropout.dropout_forward``).
    """
    params, layout = net.params, net.layout
    Y, U = work.Y, work.U
    cap, nb = batch.cap, batch.nb
    rates, M, Yk = dropout
    pack = pack_region(Y, layout, cap)
    # for L = 0, 1, …: u_j = Σ_i y_i w_ij + b_j, y_j = f(u_j)  (then y_j ← M_j y_j with dropout)
    for L in range(layout.shape[0]):
        w, b = layer_params(params, layout, L)
        l, m = layout[L, N_IN], layout[L, N_OUT]
        y_in, u = input_block(Y, layout, L, cap, nb), layer_block(U, layout, L, cap, nb)
        y_out = layer_block(Y, layout, L, cap, nb)
        if parallel_macs is not None and nb * l * m >= parallel_macs:
            dense_forward_parallel(y_out, u, y_in, w, b, forward_packing(pack, l, m), layout[L, ACT])
        else:
            dense_forward_serial(y_out, u, y_in, w, b, layout[L, ACT])
        if rates.shape[0] > 0 and rates[L] > 0:
            dropout_forward(y_out, layer_block(Yk, layout, L, cap, nb), layer_block(M, layout, L, cap, nb))


@njit(**JIT_DRIVER_INLINE)
def loss_sum(e, Y, U, t, layout, loss, cap, nb):
    """Sum of the per-sample errors E of ``nb`` samples, added in sample order (float64).

    Notes
    -----
    ``total = Σ_s E_s`` with E from ``losses.loss_forward``; the caller divides by N for the mean.
    """
    Lo = layout.shape[0] - 1
    loss_forward(e[:nb], layer_block(Y, layout, Lo, cap, nb), layer_block(U, layout, Lo, cap, nb), t, loss)
    total = 0.0
    # total = Σ_s E_s   (in sample order)
    for s in range(nb):
        total += e[s]
    return total


@njit(**JIT_DRIVER_INLINE)
def backward_pass(net, work, batch):
    """Backward propagation: every ``δ`` and the gradients of every weight and bias.

    Parameters
    ----------
    net : Network
        θ, the gradients ``grads`` (written), the layout and the loss code.
    work : Work
        ``Y``, ``U`` of the forward pass; ``D`` (δ) and ``DY`` (∂y) are written (``Tb`` and ``e``
        unused).
    batch : Batch
        ``cap`` rows per block, ``nb`` of them used, the targets ``t`` (nb, n) and the samples'
        weights ``cb`` (nb,), empty for unweighted samples (``rows`` and ``c`` unused).

    Notes
    -----
    Output layer: ``δ_k = (∂E/∂y_k)(∂y_k/∂u_k)``, times ``c_s`` when weighted. Then for
    L = last … 0 (walked backwards): ``∂w_ij = y_i δ_j`` and ``∂b_j = δ_j`` (means over the
    batch: divided by N, or by ``Σ_s c_s`` when weighted), and below a hidden layer
    ``∂y_i = Σ_q δ_q w_iq`` and ``δ_i = ∂y_i f'(u_i)``. The input gradient (block 0 of DY) is
    not computed. Each step packs what its tiles read (``dense``).
    """
    backward_pass_scaled(net, work, batch, batch_scale(net.params, batch.cb, batch.nb))


@njit(**JIT_SERIAL)
def batch_scale(params, c, nb):
    """The factor of ``backward_pass``'s means: ``1/N``, or ``1/Σ_s c_s`` for weighted samples.

    Notes
    -----
    ``scale = 1 / N``, or ``scale = 1 / Σ_s c_s`` (summed in the params' dtype) when ``c`` is given.
    """
    scale = params.dtype.type(1) / params.dtype.type(nb)
    if c.shape[0] > 0:
        c_sum = params.dtype.type(0)
        # c_sum = Σ_s c_s
        for s in range(nb):
            c_sum += c[s]
        scale = params.dtype.type(1) / c_sum
    return scale


@njit(**JIT_DRIVER_INLINE)
def backward_pass_scaled(net, work, batch, scale):
    """``backward_pass`` with the gradients multiplied by a given ``scale`` instead of the mean's.

    With ``scale`` 1 the gradients are the sums over the batch, ``∂w_ij = Σ_s c_s y_i δ_j``
    (``distributed`` adds them up across processes before dividing by the global count).

    Notes
    -----
    As ``backward_pass``, with ``∂w_ij = scale · Σ_s y_i δ_j`` and ``∂b_j = scale · Σ_s δ_j``.
    """
    none = net.params[:0]
    backward_layers(net, work, batch, Dropout(none, none, none), scale, PARALLEL_MIN_MACS)


@njit(**JIT_DRIVER_INLINE)
def backward_layers(net, work, batch, dropout, scale, parallel_macs):
    """The body of ``backward_pass`` and ``backward_pass_scaled``, inlined into both (and into the
    batch step with dropout: ``dropout`` and ``parallel_macs`` as in ``forward_layers``).

    Parameters
    ----------
    net : Network
        θ, the gradients ``grads`` (written), the layout and the loss code.
    work : Work
        ``Y``, ``U`` of the forward pass; ``D`` (δ) and ``DY`` (∂y) are written.
    batch : Batch
        ``cap``, ``nb``, the targets ``t`` (nb, n) and the batch's weights ``cb`` (nb,) (empty:
        unweighted); ``rows`` and ``c`` unused.
    dropout, parallel_macs
        As in ``forward_layers``.
    scale : float
        The factor of the sums: ``1/N``, ``1/Σ_s c_s`` (``batch_scale``) or 1 for the sums.

    Notes
    -----
    ``δ_k = (∂E/∂y_k)(∂y_k/∂u_k)`` (times ``c_s`` when weighted); for L = last … 0:
    ``∂w_ij = scale · Σ_s y_i δ_j``, ``∂b_j = scale · Σ_s δ_j``; below a hidden layer
    ``∂y_i = Σ_q δ_q w_iq`` and ``δ_i = ∂y_i f'(u_i)``; below a layer with dropout, f' with the
    outputs before dropout, then ``∂y_i ← M_i ∂y_i``, ``δ_i ← M_i δ_i`` (``dropout.dropout_backward``).
    """
    layout, D = net.layout, work.D
    cap, nb = batch.cap, batch.nb
    Lo = layout.shape[0] - 1
    delta_out = layer_block(D, layout, Lo, cap, nb)
    output_delta(
        delta_out,
        layer_block(work.Y, layout, Lo, cap, nb),
        layer_block(work.U, layout, Lo, cap, nb),
        batch.t,
        net.loss,
        layout[Lo, ACT],
    )
    if batch.cb.shape[0] > 0:
        weight_delta(delta_out, batch.cb)
    params, Y, U, DY = net.params, work.Y, work.U, work.DY
    rates, M, Yk = dropout
    pack = pack_region(Y, layout, cap)
    # for L = last … 0: ∂y_i = Σ_q δ_q w_iq, δ_i = ∂y_i f'(u_i) below; ∂w_ij = y_i δ_j, ∂b_j = δ_j
    for L in range(Lo, -1, -1):
        l, m = layout[L, N_IN], layout[L, N_OUT]
        delta = layer_block(D, layout, L, cap, nb)
        y_in = input_block(Y, layout, L, cap, nb)
        macs = nb * l * m
        if L > 0:
            w, _ = layer_params(params, layout, L)
            wtp = dy_packing(pack, l, m)
            dy, delta_in = input_block(DY, layout, L, cap, nb), input_block(D, layout, L, cap, nb)
            u_in, code = input_block(U, layout, L, cap, nb), layout[L - 1, ACT]
            # f'(u_i) is taken with the outputs before dropout (sigmoid's and tanh's use y)
            drop, y_f = rates.shape[0] > 0 and rates[L - 1] > 0, y_in
            if drop:
                y_f = input_block(Yk, layout, L, cap, nb)
            if parallel_macs is not None and macs >= parallel_macs:
                dense_backward_dy_parallel(delta_in, dy, delta, w, wtp, u_in, y_f, code)
            else:
                dense_backward_dy_serial(delta_in, dy, delta, w, wtp, u_in, y_f, code)
            if drop:
                dropout_backward(delta_in, dy, input_block(M, layout, L, cap, nb))
        dw, db = layer_params(net.grads, layout, L)
        yp, dp = dw_packing(pack, nb, l, m)
        if parallel_macs is not None and macs >= parallel_macs:
            dense_backward_dw_parallel(dw, db, y_in, delta, yp, dp, scale)
        else:
            dense_backward_dw_serial(dw, db, y_in, delta, yp, dp, scale)
