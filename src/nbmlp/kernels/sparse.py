"""A first layer that reads sparse (CSR) inputs: its sums over the non-zeros only, and back.

Legend: s sample of the batch (nb), r its row of the CSR matrix (``rows[s]``), p a stored
non-zero of row r (``indptr[r] ≤ p < indptr[r+1]``), i its input neuron (``indices[p]``),
j neuron of the first hidden layer (m).

The CSR matrix is never densified: a batch's rows are read where they are, through ``rows``.
The layers above the first run the dense drivers of ``passes`` on an *upper* layout, the
network's layout without its first row, with the work blocks shifted down by the input width
(``upper_layout``): block 0 of the upper buffers holds the first hidden layer (``y`` in ``Y``,
``u`` in ``U``, its ``δ`` in ``D``), which the dense passes read but never write.
"""

from collections import namedtuple

import numpy as np
from numba import njit, prange

from .._config import JIT_DRIVER, JIT_DRIVER_INLINE, JIT_PARALLEL
from .activations import SOFTMAX, activation_block, softmax_rows
from .dense import dense_backward_dy_parallel, dense_backward_dy_serial, dy_packing
from .passes import (
    A_IN,
    ACT,
    N_IN,
    N_OUT,
    flat_block,
    forward_pass,
    input_block,
    layer_block,
    layer_params,
    pack_region,
)

ROW_CHUNKS = 32  # ranges of input rows i in sparse_backward_dw (fixed: results do not depend on threads)
# the part of the batch step for CSR inputs (``step``): X's row pointers, column indices and values,
# and the layout of the layers above the first (``upper_layout``)
Csr = namedtuple("Csr", ["indptr", "indices", "values", "up"])
# ``csr_forward`` and ``csr_backward`` are compiled on their own, not inlined: inlined, the dense
# epochs would run Numba's untyped pipeline over them at every first compile before pruning them
# (``csr is None``); as calls, the dense epochs drop them unseen and only the sparse epoch compiles them.


def upper_layout(layout):
    """The layout of the layers above the first, its work blocks starting at the first hidden layer.

    Weight offsets stay those of the whole network (the same flat ``params``); block offsets
    ``A_IN`` lose the input width l, so block 0 is the first hidden layer.
    """
    up = np.ascontiguousarray(layout[1:]).copy()
    up[:, A_IN] -= layout[0, N_IN]
    return up


@njit(**JIT_PARALLEL)
def sparse_forward(y, u, csr, rows, w, b, code):
    """Forward step of the first layer from CSR inputs.

    Parameters
    ----------
    y, u : (nb, m) arrays, out
        Outputs ``y_j`` and sums ``u_j`` of the first layer.
    csr : Csr
        The inputs ``y_si``: int64 ``indptr`` and ``indices``, ``values`` (``up`` unused).
    rows : (nb,) int64 array
        The CSR row of each sample of the batch.
    w, b : (l, m), (m,) arrays
        Weights ``w_ij`` and biases ``b_j``.
    code : int
        Activation code.

    Notes
    -----
    ``u_j = Σ_{i: y_si ≠ 0} y_si w_ij + b_j``, ``y_j = f(u_j)`` (threads own samples).
    """
    nb, m = u.shape
    indptr, indices, data = csr.indptr, csr.indices, csr.values
    # u_j = b_j + Σ_p y_si w_ij over the row's non-zeros (i = indices[p]); y_j = f(u_j)
    for s in prange(nb):
        r = rows[s]
        for j in range(m):
            u[s, j] = b[j]
        for p in range(indptr[r], indptr[r + 1]):
            i, y_si = indices[p], data[p]
            for j in range(m):
                u[s, j] += y_si * w[i, j]
        if code == SOFTMAX:
            softmax_rows(y, u, s, s + 1)
        else:
            activation_block(y, u, code, s, s + 1, 0, m)


@njit(**JIT_PARALLEL)
def sparse_backward_dw(dw, db, csr, rows, delta, scale):
    """Gradients of the first layer's weights and biases from CSR inputs.

    Parameters
    ----------
    dw, db : (l, m), (m,) arrays, out
        ``∂w_ij`` and ``∂b_j``.
    csr, rows
        As in ``sparse_forward``.
    delta : (nb, m) array
        ``δ_j`` of each sample (times ``c_s`` when weighted).
    scale : float
        1/N, or 1/Σ_s c_s when weighted.

    Notes
    -----
    ``∂w_ij = scale · Σ_s y_si δ_sj``: zero, then each non-zero y_si scattered into row i;
    ``∂b_j = scale · Σ_s δ_sj``. The rows i are cut into ``ROW_CHUNKS`` ranges, each zeroed and
    filled by one thread that reads every non-zero of the batch and keeps those of its range:
    every ∂w_ij is summed by one thread in the order s, p, whatever the thread count, and each
    non-zero updates a whole contiguous row of ∂w.
    """
    l, m = dw.shape
    nb = delta.shape[0]
    indptr, indices, data = csr.indptr, csr.indices, csr.values
    zero = dw.dtype.type(0)
    # threads own chunks of rows i; for the non-zeros y_si of the chunk's rows i:
    # ∂w_ij = 0, then ∂w_ij += (scale · y_si) δ_sj
    for k in prange(ROW_CHUNKS):
        i0, i1 = (k * l) // ROW_CHUNKS, ((k + 1) * l) // ROW_CHUNKS
        for i in range(i0, i1):
            for j in range(m):
                dw[i, j] = zero
        for s in range(nb):
            r = rows[s]
            for p in range(indptr[r], indptr[r + 1]):
                i = indices[p]
                if i0 <= i < i1:
                    v = scale * data[p]
                    for j in range(m):
                        dw[i, j] += v * delta[s, j]
    # ∂b_j = scale · Σ_s δ_sj   (threads own neurons j)
    for j in prange(m):
        acc = zero
        for s in range(nb):
            acc += delta[s, j]
        db[j] = scale * acc


@njit(**JIT_DRIVER_INLINE)
def sparse_forward_pass(net, work, batch, csr):
    """Forward propagation of a batch of CSR rows: the sparse first layer, then the dense ones.

    Parameters
    ----------
    net : passes.Network
        θ and the whole network's layout (``grads`` and ``loss`` unused).
    work : passes.Work
        The upper work buffers (``upper_layout``): ``Y`` and ``U`` are written (the others unused).
    batch : passes.Batch
        ``cap`` rows per block, ``nb`` of them used, their rows of the CSR matrix ``rows`` (the
        other fields unused).
    csr : Csr
        The CSR matrix and the upper layout ``up``.

    Notes
    -----
    ``u_j = Σ_{i: y_si ≠ 0} y_si w_ij + b_j``, ``y_j = f(u_j)`` into block 0 of the upper buffers,
    then ``passes.forward_pass`` on the upper layout.
    """
    # the body of csr_forward, written out: calling it would add a compiled level to prediction
    layout, nb = net.layout, batch.nb
    w, b = layer_params(net.params, layout, np.int64(0))
    m = layout[0, N_OUT]
    y, u = flat_block(work.Y, np.int64(0), nb, m), flat_block(work.U, np.int64(0), nb, m)
    sparse_forward(y, u, csr, batch.rows, w, b, layout[0, ACT])
    if csr.up.shape[0] > 0:
        forward_pass(work.Y, work.U, net.params, csr.up, batch.cap, nb)


@njit(**JIT_DRIVER)
def csr_forward(net, work, batch, csr):
    """The batch step's first layer from CSR rows (``step.train_step``), into block 0 of the
    upper work buffers.

    Notes
    -----
    ``u_j = Σ_{i: y_si ≠ 0} y_si w_ij + b_j``, ``y_j = f(u_j)`` for the samples ``batch.rows``.
    """
    layout, nb = net.layout, batch.nb
    w, b = layer_params(net.params, layout, np.int64(0))
    m = layout[0, N_OUT]
    y, u = flat_block(work.Y, np.int64(0), nb, m), flat_block(work.U, np.int64(0), nb, m)
    sparse_forward(y, u, csr, batch.rows, w, b, layout[0, ACT])


@njit(**JIT_DRIVER)
def csr_backward(net, work, batch, csr, c_sum, parallel_macs):
    """The batch step's first layer from CSR rows (``step.train_step``), after the layers above.

    Notes
    -----
    The first hidden layer's ``∂y_j = Σ_q δ_q w_jq``, ``δ_j = ∂y_j f'(u_j)`` (block 0 of the upper
    buffers), then ``∂w_ij = Σ_s y_si δ_sj / Σ_s c_s`` over the non-zeros and
    ``∂b_j = Σ_s δ_sj / Σ_s c_s`` (``sparse_backward_dw``), ``Σ_s c_s`` (``c_sum``) summed in float64.
    """
    layout, up, cap, nb = net.layout, csr.up, batch.cap, batch.nb
    Y, U, D, DY = work.Y, work.U, work.D, work.DY
    first = np.int64(0)
    # δ of the first hidden layer: ∂y_j = Σ_q δ_q w_jq, δ_j = ∂y_j f'(u_j)
    l1, m1 = up[0, N_IN], up[0, N_OUT]
    w1, _ = layer_params(net.params, up, first)
    wtp = dy_packing(pack_region(Y, up, cap), l1, m1)
    delta1 = layer_block(D, up, first, cap, nb)
    delta0, dy0 = input_block(D, up, first, cap, nb), input_block(DY, up, first, cap, nb)
    u0, y0 = input_block(U, up, first, cap, nb), input_block(Y, up, first, cap, nb)
    if parallel_macs is not None and nb * l1 * m1 >= parallel_macs:
        dense_backward_dy_parallel(delta0, dy0, delta1, w1, wtp, u0, y0, layout[0, ACT])
    else:
        dense_backward_dy_serial(delta0, dy0, delta1, w1, wtp, u0, y0, layout[0, ACT])
    scale = net.params.dtype.type(1) / net.params.dtype.type(c_sum)
    dw, db = layer_params(net.grads, layout, first)
    delta = flat_block(D, first, nb, layout[0, N_OUT])
    sparse_backward_dw(dw, db, csr, batch.rows, delta, scale)
