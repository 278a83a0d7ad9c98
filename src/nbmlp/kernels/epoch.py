"""One compiled training epoch: shuffle, mini-batches, forward, backward, update.

Legend: s sample, p parameter index, N samples, B batch size.
Nothing is allocated here: the caller passes every buffer, sized once before the first epoch.
The shuffle uses its own small generator (splitmix64, state in ``rng``) so that the order
depends only on the seed, never on threads or on NumPy's global state.
"""
import numpy as np
from numba import njit, prange

from .._config import JIT_DRIVER, JIT_INLINE, JIT_PARALLEL, JIT_SERIAL
from .optim import sgd_update
from .passes import backward_pass, forward_pass, input_block, loss_sum, rows


@njit(**JIT_INLINE)
def splitmix64(rng):
    """Next 64-bit value of the generator whose state is ``rng[0]`` (Steele et al., 2014).

    Notes
    -----
    ``x ← x + 0x9E3779B97F4A7C15``; then ``z = x``, ``z ← (z ⊕ z≫30)·0xBF58476D1CE4E5B9``,
    ``z ← (z ⊕ z≫27)·0x94D049BB133111EB``, ``z ← z ⊕ z≫31`` (arithmetic modulo 2⁶⁴).
    """
    rng[0] += np.uint64(0x9E3779B97F4A7C15)
    z = rng[0]
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))


@njit(**JIT_SERIAL)
def shuffle(perm, rng):
    """Fisher–Yates shuffle of ``perm`` in place.

    Notes
    -----
    For s = N−1 … 1: ``perm_s, perm_r = perm_r, perm_s`` with r uniform in 0 … s.
    """
    # perm_s, perm_r = perm_r, perm_s   (r uniform in 0 … s)
    for s in range(perm.shape[0] - 1, 0, -1):
        r = np.int64(splitmix64(rng) % np.uint64(s + 1))
        perm[s], perm[r] = perm[r], perm[s]


@njit(**JIT_PARALLEL)
def gather_rows(out, src, perm, start):
    """Copy the rows of one mini-batch, in the shuffled order.

    Notes
    -----
    ``out[s] = src[perm[start + s]]`` for every row s of ``out`` (threads own rows).
    """
    # out_s = src_perm(start + s)
    for s in prange(out.shape[0]):
        row = perm[start + s]
        for c in range(src.shape[1]):
            out[s, c] = src[row, c]


@njit(**JIT_DRIVER)
def train_epoch(params, grads, work, X, T, perm, rng, layout, loss, batch, eta, do_shuffle):
    """Train for one epoch of mini-batch gradient descent; return the summed per-sample loss.

    Parameters
    ----------
    params, grads : (P,) arrays
        Flat parameters θ (updated in place) and a gradient buffer of the same layout.
    work : tuple of arrays
        ``(Y, U, D, DY, Tb, e)``: flat work buffers of ``batch`` rows per layer, the batch's
        targets (batch, n) and per-sample errors (batch,).
    X, T : (N, l), (N, n) arrays
        Inputs and targets.
    perm : (N,) int64 array
        Sample order, shuffled in place when ``do_shuffle``.
    rng : (1,) uint64 array
        Shuffle generator state, advanced in place.
    layout : (L, 5) int64 array
        The network (see ``passes``).
    loss : int
        Loss code.
    batch : int
        Mini-batch size B (the last batch may be smaller).
    eta : float
        Learning rate ``η`` of the params' dtype.

    Notes
    -----
    For each mini-batch: forward ``u_j = Σ_i y_i w_ij + b_j``, ``y_j = f(u_j)``; backward
    ``δ``, ``∂w_ij = y_i δ_j``, ``∂b_j = δ_j`` (means over the batch); update
    ``w ← w − η ∂w``, ``b ← b − η ∂b``. The loss of each batch is taken before its update.
    """
    Y, U, D, DY, Tb, e = work
    N = X.shape[0]
    if do_shuffle:
        shuffle(perm, rng)
    total = 0.0
    # per mini-batch: u, y; E; δ, ∂w, ∂b; w ← w − η ∂w
    for start in range(0, N, batch):
        nb = min(batch, N - start)
        gather_rows(input_block(Y, layout, 0, batch, nb), X, perm, start)
        t = rows(Tb, 0, nb, T.shape[1])
        gather_rows(t, T, perm, start)
        forward_pass(Y, U, params, layout, batch, nb)
        total += loss_sum(e, Y, U, t, layout, loss, batch, nb)
        backward_pass(grads, D, DY, params, Y, U, t, layout, loss, batch, nb)
        sgd_update(params, grads, eta)
    return total
