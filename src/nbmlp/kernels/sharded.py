"""One training step whose mini-batch is spread over the shards of several processes.

Legend: s sample of the batch held here, p parameter index, g global sample index (0 … N−1),
P parameters, B batch size, c_s sample weight (1 when unweighted).
The step of ``epoch.train_epoch_opt`` is cut in two around the all-reduce of ``distributed``:
``shard_gradient_sums`` writes this shard's sums into one flat buffer ``[∂θ (P) …, Σ c_s E_s,
Σ c_s]``; after the buffer is summed over the processes, ``shard_update`` divides by the global
``Σ c_s`` and takes the optimizer step of ``epoch.apply_update``. With one process and the same
sample order the result is bitwise that of ``train_epoch_opt``.
"""

import numpy as np
from numba import njit, prange

from .._config import JIT_DRIVER, JIT_PARALLEL
from .epoch import add_batch_loss, apply_update, batch_weights, gather_rows
from .passes import backward_pass_scaled, forward_pass, input_block, loss_sum, rows


@njit(**JIT_DRIVER)
def shard_gradient_sums(buf, grads, idx, params, work, data, pos, perm, start, nb, layout, loss, batch):
    """Gradient, loss and weight sums of the rows of one global mini-batch that this shard holds.

    Parameters
    ----------
    buf : (P + 2,) array, out
        ``Σ_s c_s ∂θ_s`` (P entries), then ``Σ_s c_s E_s`` and ``Σ_s c_s``; all zero when the
        shard holds no row of the batch.
    grads : (P,) array, out
        Work buffer: the gradient sums before they are copied into ``buf`` (a C-contiguous array
        of its own, so that the kernels are the very ones ``train_epoch_opt`` runs).
    idx : (B,) int64 array, out
        Work buffer: the local rows of the batch.
    params : (P,) array
        Flat parameters θ.
    work, data
        As in ``epoch.train_epoch_opt``, for this shard's rows.
    pos : (N,) int64 array
        Local row of global sample g, or −1 when another shard holds it.
    perm : (N,) int64 array
        The global sample order; the batch is ``perm[start:start + nb]``.
    start, nb : int
        First position and size of the global batch.
    layout, loss, batch
        As in ``epoch.train_epoch_opt`` (``batch`` is the capacity of ``work``).

    Notes
    -----
    Forward ``u_j = Σ_i y_i w_ij + b_j``, ``y_j = f(u_j)``; backward with ``δ_k ← c_s δ_k`` and
    the sums ``∂w_ij = Σ_s y_i δ_j``, ``∂b_j = Σ_s δ_j`` (scale 1, no division).
    """
    Y, U, D, DY, Tb, e = work
    X, T, c, cb = data
    P = params.shape[0]
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
    # start np.int64(0), not the literal 0: a literal argument compiles gather_rows once more
    gather_rows(input_block(Y, layout, np.int64(0), batch, n), X, idx, np.int64(0))
    t = rows(Tb, np.int64(0), n, T.shape[1])
    gather_rows(t, T, idx, np.int64(0))
    forward_pass(Y, U, params, layout, batch, n)
    batch_sum = loss_sum(e, Y, U, t, layout, loss, batch, n)
    c_sum = float(n)
    if c.shape[0] > 0:
        batch_sum, c_sum = batch_weights(cb, c, idx[:n], e)
    backward_pass_scaled(grads, D, DY, params, Y, U, t, layout, loss, batch, n, cb[:n], params.dtype.type(1))
    copy_scaled(buf[:P], grads, params.dtype.type(1))
    buf[P] = batch_sum
    buf[P + 1] = c_sum


@njit(**JIT_DRIVER)
def shard_update(params, grads, buf, state, layout, optimizer, hyper, nb, weighted, total):
    """Optimizer step from the all-reduced sums of ``shard_gradient_sums``; returns the loss total.

    Parameters
    ----------
    params : (P,) array, in/out
        Flat parameters θ.
    grads : (P,) array, out
        The batch's mean gradient (then with the penalty's gradient added).
    buf : (P + 2,) array
        The sums over every process.
    state, layout, optimizer, hyper
        As in ``epoch.train_epoch_opt``.
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
    ``∂θ = Σ_s c_s ∂θ_s / Σ_s c_s``; the loss total as ``epoch.add_batch_loss``; then
    ``epoch.apply_update``.
    """
    P = params.shape[0]
    c_sum = float(buf[P + 1])
    if c_sum == 0.0:
        return total  # a batch of zero weight has no error and no gradient: no step
    copy_scaled(grads, buf[:P], params.dtype.type(1) / params.dtype.type(c_sum))
    total = add_batch_loss(total, float(buf[P]), c_sum, nb, weighted, params, layout, hyper)
    apply_update(params, grads, state, layout, optimizer, hyper, c_sum)
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
