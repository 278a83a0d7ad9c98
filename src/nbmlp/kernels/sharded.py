"""One training step whose mini-batch is spread over the shards of several processes.

Legend: s sample of the batch held here, p parameter index, g global sample index (0 … N−1),
P parameters, B batch size, c_s sample weight (1 when unweighted).
The batch step of ``step.train_step`` is cut in two around the all-reduce of ``distributed``:
``shard_gradient_sums`` runs its forward, loss and backward passes on this shard's rows with the
gradient scale 1 and writes the sums into one flat buffer ``[∂θ (P) …, Σ c_s E_s, Σ c_s]``; after the
buffer is summed over the processes, ``shard_update`` divides by the global ``Σ c_s`` and takes the
optimizer step of ``step.apply_update``. With one process and the same sample order the result is
bitwise that of ``epoch.train_epoch_opt``.
"""

from collections import namedtuple

import numpy as np
from numba import njit, prange

from .._config import JIT_DRIVER, JIT_PARALLEL
from .dense import PARALLEL_MIN_MACS
from .epoch import gather_rows
from .passes import Batch, Dropout, backward_layers, flat_block, forward_layers, input_block, loss_sum
from .step import add_batch_loss, apply_update, batch_weights

# this shard's part of a global batch: the local row of each global sample g (−1 when another shard
# holds it) and a (B,) work buffer for the batch's local rows
Shard = namedtuple("Shard", ["pos", "idx"])


@njit(**JIT_DRIVER)
def shard_gradient_sums(buf, net, work, data, shard, perm, start, nb):
    """Gradient, loss and weight sums of the rows of one global mini-batch that this shard holds.

    Parameters
    ----------
    buf : (P + 2,) array, out
        ``Σ_s c_s ∂θ_s`` (P entries), ``Σ_s c_s E_s`` and ``Σ_s c_s``, all zero when the shard
        holds no row of the batch. (An argument of its own: written inside a bundle, its last
        two entries were lost in the compiled function.)
    net : passes.Network
        θ, a gradient work buffer (the sums before they are copied into ``shard.buf``: a
        C-contiguous array of its own, so that the kernels are the very ones of the epoch), the
        layout and the loss code.
    work, data
        As in ``epoch.train_epoch_opt``, for this shard's rows (``work`` of B rows per layer,
        ``data.cb`` of B entries).
    shard : Shard ``(pos, idx)``
        ``pos`` (N,): local row of global sample g, or −1; ``idx`` (B,) out: the local rows of the
        batch.
    perm : (N,) int64 array
        The global sample order; the batch is ``perm[start:start + nb]``.
    start, nb : int
        First position and size of the global batch.

    Notes
    -----
    Forward ``u_j = Σ_i y_i w_ij + b_j``, ``y_j = f(u_j)``; backward with ``δ_k ← c_s δ_k`` and
    the sums ``∂w_ij = Σ_s y_i δ_j``, ``∂b_j = Σ_s δ_j`` (scale 1, no division).
    """
    X, T, c, cb = data
    pos, idx = shard
    B = idx.shape[0]
    P = net.params.shape[0]
    n = 0
    # idx[n] = pos[perm_k] for the batch's k whose row is held here (pos ≥ 0), in the global order
    for k in range(start, start + nb):
        row = pos[perm[k]]
        if row >= 0:
            idx[n] = row
            n += 1
    if n == 0:
        fill_zero(buf)
        return
    rows = idx[:n]
    # start np.int64(0), not the literal 0: a literal argument compiles gather_rows once more
    gather_rows(input_block(work.Y, net.layout, np.int64(0), B, n), X, idx, np.int64(0))
    t = flat_block(work.Tb, np.int64(0), n, T.shape[1])
    gather_rows(t, T, idx, np.int64(0))
    none = net.params[:0]
    batch, dropout = Batch(B, n, rows, t, c, cb[:n]), Dropout(none, none, none)
    # the batch step's forward, loss and backward (``step.train_step``), with the scale 1 of the sums
    forward_layers(net, work, batch, dropout, PARALLEL_MIN_MACS)
    error = loss_sum(work.e, work.Y, work.U, t, net.layout, net.loss, B, n)
    c_sum = float(n)
    if c.shape[0] > 0:
        error, c_sum = batch_weights(cb, c, rows, work.e)
    backward_layers(net, work, batch, dropout, net.params.dtype.type(1), PARALLEL_MIN_MACS)
    copy_scaled(buf[:P], net.grads, net.params.dtype.type(1))
    buf[P] = error
    buf[P + 1] = c_sum


@njit(**JIT_DRIVER)
def shard_update(net, opt, buf, nb, weighted, total):
    """Optimizer step from the all-reduced sums of ``shard_gradient_sums``; returns the loss total.

    Parameters
    ----------
    net : passes.Network
        θ (updated in place), the gradient buffer (the batch's mean gradient, then with the
        penalty's gradient added), the layout.
    opt : step.Optimizer
        As in ``epoch.train_epoch_opt``.
    buf : (P + 2,) array
        The sums over every process.
    nb : int
        Size of the global batch.
    weighted : bool
        Whether samples carry weights (then ``Σ c_s E_s`` is rescaled to ``nb`` samples).
    total : float
        The epoch's loss total so far.

    Returns
    -------
    float
        ``total`` plus the batch's ``B (κ Σ_s c_s E_s / Σ_s c_s + (α/2) Σ w² / Σ_s c_s)`` as
        in ``train_epoch_opt`` (unchanged for a batch of zero weight, which takes no step).

    Notes
    -----
    ``∂θ = Σ_s c_s ∂θ_s / Σ_s c_s``; the loss total as ``step.add_batch_loss``; then
    ``step.apply_update``.
    """
    params = net.params
    P = params.shape[0]
    c_sum = float(buf[P + 1])
    if c_sum == 0.0:
        return total  # a batch of zero weight has no error and no gradient: no step
    copy_scaled(net.grads, buf[:P], params.dtype.type(1) / params.dtype.type(c_sum))
    total = add_batch_loss(total, float(buf[P]), c_sum, nb, weighted, net, opt.constants)
    apply_update(net, opt, c_sum, PARALLEL_MIN_MACS)
    return total


@njit(**JIT_PARALLEL)
def copy_scaled(out, sums, lam):
    """``∂θ = λ Σ ∂θ`` (threads own entries); λ = 1 copies.

    Notes
    -----
    ``∂θ_p = λ Σ_s c_s ∂θ_sp`` with ``λ = 1 / Σ_s c_s`` for the mean (or 1 for a copy).
    """
    # ∂θ_p = λ Σ_s c_s ∂θ_sp   (λ = 1 / Σ_s c_s)
    for p in prange(out.shape[0]):
        out[p] = lam * sums[p]


@njit(**JIT_PARALLEL)
def fill_zero(buf):
    """``buf ← 0`` (threads own entries).

    Notes
    -----
    ``∂θ_p ← 0``: a shard with no row in the batch adds nothing to the all-reduced sums.
    """
    zero = buf.dtype.type(0)
    # ∂θ_p ← 0
    for p in prange(buf.shape[0]):
        buf[p] = zero
