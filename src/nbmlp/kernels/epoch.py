"""One compiled training epoch: shuffle, then the batch step (``step.train_step``) batch by batch.

Legend: s sample, N samples, B batch size (``cap``: the rows of the work buffers), L weight
layer, p_L its dropout rate, c_s sample weights. Nothing is allocated here: the caller passes
every buffer, sized once before the first epoch. The shuffle uses its own small generator
(splitmix64, state in ``rng``) so that the order depends only on the seed, never on threads or on
NumPy's global state. ``draw_mask`` and ``draw_masks`` have one compiled caller each and are
inlined into it in Numba's IR (``JIT_INLINE``).
"""

from collections import namedtuple

import numpy as np
from numba import njit

from .._config import JIT_DRIVER, JIT_INLINE, JIT_SERIAL
from .passes import Batch, Dropout, Network, Work, flat_block, input_block, layer_block
from .step import Constants, Optimizer, OptimizerState, train_step

__all__ = ["Batch", "Constants", "Data", "Dropout", "Network", "Optimizer", "OptimizerState", "Order", "Work"]


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


TWO_POW_53 = float(1 << 53)


@njit(**JIT_INLINE)
def draw_mask(M, p, rng):
    """Draw the dropout multipliers of one layer's block, sample by sample, neuron by neuron.

    Parameters
    ----------
    M : (nb, m) array, out
        ``M_sj = m_sj / (1 − p)``: 0 for a dropped neuron, ``1 / (1 − p)`` for a kept one.
    p : float
        The dropout rate, 0 < p < 1.
    rng : (1,) uint64 array
        Generator state (the shuffle's), advanced once per entry.

    Notes
    -----
    ``v = (x ≫ 11) / 2⁵³`` uniform in [0, 1) from each 64-bit draw x; ``m_sj = 1 if v ≥ p else 0``;
    ``M_sj = m_sj / (1 − p)``.
    """
    zero, keep = M.dtype.type(0), M.dtype.type(1.0 / (1.0 - float(p)))
    # M_sj = (1 if v_sj ≥ p else 0) / (1 − p),  v_sj = (x ≫ 11) / 2⁵³
    for s in range(M.shape[0]):
        for j in range(M.shape[1]):
            v = float(splitmix64(rng) >> np.uint64(11)) / TWO_POW_53
            M[s, j] = keep if v >= float(p) else zero


@njit(**JIT_INLINE)
def draw_masks(M, rates, layout, cap, nb, rng):
    """The dropout multipliers of a batch, for every layer with a rate ``p_L > 0``, in layer order.

    Notes
    -----
    For L = 0, 1, … with ``p_L > 0``: ``M_sj = m_sj / (1 − p_L)`` (``draw_mask``) in layer L's
    output block of ``M``.
    """
    # M_L = the mask of layer L, for each layer with dropout
    for L in range(layout.shape[0]):
        if rates[L] > 0:
            draw_mask(layer_block(M, layout, L, cap, nb), rates[L], rng)


@njit(**JIT_SERIAL)
def gather_rows(out, src, perm, start):
    """Copy the rows of one mini-batch, in the shuffled order (one thread: a copy of a batch is
    memory-bound and takes microseconds, less than waking a second thread would cost).

    Notes
    -----
    ``out[s] = src[perm[start + s]]`` for every row s of ``out``.
    """
    # out_s = src_perm(start + s)
    for s in range(out.shape[0]):
        row = perm[start + s]
        for col in range(src.shape[1]):
            out[s, col] = src[row, col]


# The bundles the epoch takes besides those of ``passes`` and ``step``, by name.
# dense inputs (N, l) (empty with CSR inputs), targets (N, n), sample weights c_s (N,) and one batch's
# (B,) (both empty when unweighted)
Data = namedtuple("Data", ["X", "T", "c", "cb"])
# the samples of this call in training order (shuffled in place when ``shuffle``), the shuffle and
# dropout generator's state (1,) uint64, the batch size B
Order = namedtuple("Order", ["perm", "rng", "batch", "shuffle"])


@njit(**JIT_DRIVER)
def train_epoch_opt(net, opt, work, data, order, dropout, csr, parallel_macs):
    """One epoch of mini-batch training: shuffle, then ``step.train_step`` on each batch.

    Parameters
    ----------
    net : passes.Network ``(params, grads, layout, loss)``
        Flat parameters θ (updated in place), a gradient buffer of the same layout, the network's
        layout (``passes``) and its loss code.
    opt : step.Optimizer ``(code, state, constants)``
        ``optim.SGD``, ``MOMENTUM``, ``NESTEROV``, ``ADAM`` or ``ADAMW``; its state
        ``OptimizerState(m, s, step)`` (updated in place: velocity ``v`` in ``m``, or Adam's
        moments ``m`` and ``s``, each (P,), empty when unused, and Adam's step count t (1,));
        its ``Constants`` ``η, α, μ, β₁, β₂, ε, κ, λ`` and the gradient norm limit (0: no
        clipping), of the params' dtype.
    work : passes.Work ``(Y, U, D, DY, Tb, e)``
        Flat work buffers of B rows per layer (of the layers above the first with CSR inputs), a
        batch's targets and per-sample errors.
    data : Data ``(X, T, c, cb)``
        Dense inputs (N, l) (unused with CSR inputs), targets (N, n), sample weights ``c_s`` (N,)
        and a (B,) buffer for one batch's; ``c`` and ``cb`` are empty for unweighted samples.
    order : Order ``(perm, rng, batch, shuffle)``
        The samples of this call (all of X's, or a run of them: ``_runs.epoch_runs``),
        trained in the order ``perm[0], perm[1], …`` in batches of B, shuffled in place first when
        ``shuffle``; the (1,) uint64 shuffle and dropout generator, advanced in place.
    dropout : passes.Dropout ``(rates, M, Yk)``
        Dropout rate ``p_L`` of each weight layer's outputs (0: none; empty: no dropout at all),
        and two flat work buffers laid out as ``U`` for the multipliers ``M_sj = m_sj / (1 − p)``
        and the outputs before dropout; all empty without dropout.
    csr : sparse.Csr or None
        CSR inputs ``(indptr, indices, values, up)`` (``X`` unused), or None for dense ones.
    parallel_macs : int or None
        A dense step of at least this many multiply-adds runs on the threads
        (``dense.PARALLEL_MIN_MACS``). ``None`` when every step of the network is below it and
        its parameters fit one update block (``training.serial_steps``): every step then runs on
        the calling thread, and the epoch compiled for ``None`` contains no parallel kernel (a
        shorter first compile for the small networks).

    Returns
    -------
    float
        ``Σ_batches B_b (κ Σ_s c_s E_s / Σ_s c_s + (α/2) Σ w² / Σ_s c_s)``, with the batch's
        weights before its update (``c_s = 1`` when unweighted); divided by N it is
        scikit-learn's ``loss_``.

    Notes
    -----
    For each mini-batch: its rows of X (dense inputs) and T; with dropout, the masks
    ``M_sj = m_sj / (1 − p)`` from ``rng`` (``draw_masks``); then ``step.train_step``: forward
    ``u_j = Σ_i y_i w_ij + b_j``, ``y_j = f(u_j)``; backward with ``δ_k ← c_s δ_k`` and
    ``∂w_ij = Σ_s y_i δ_j / Σ_s c_s + α w_ij / Σ_s c_s``, ``∂b_j = Σ_s δ_j / Σ_s c_s``; with
    ``c > 0``, ``∂θ ← ∂θ · c / ‖∂θ‖`` when ``‖∂θ‖ > c``; then the update of the rule:
    SGD ``θ ← θ − η ∂θ``; momentum ``v ← μ v − η ∂θ, θ ← θ + v``; Nesterov
    ``v ← μ v − η ∂θ, θ ← θ + μ v − η ∂θ``; Adam ``t ← t + 1``, ``η_t = η √(1 − β₂ᵗ)/(1 − β₁ᵗ)``,
    ``m ← β₁ m + (1 − β₁) ∂θ, s ← β₂ s + (1 − β₂) ∂θ², θ ← θ − η_t m / (√s + ε)``; AdamW
    ``θ ← (1 − η λ) θ`` then Adam's rule with ``ε_t = ε √(1 − β₂ᵗ)`` (PyTorch's ``AdamW``).
    """
    X, T, c, cb = data
    perm, rng, B = order.perm, order.rng, order.batch
    rates, M = dropout.rates, dropout.M
    N = perm.shape[0]
    if order.shuffle:
        shuffle(perm, rng)
    total = 0.0
    # per mini-batch: its rows; u, y; E; δ, ∂w, ∂b; θ ← update(θ, ∂θ)
    for start in range(0, N, B):
        nb = min(B, N - start)
        rows = perm[start : start + nb]
        t = flat_block(work.Tb, np.int64(0), nb, T.shape[1])
        gather_rows(t, T, perm, start)
        if csr is None:
            gather_rows(input_block(work.Y, net.layout, np.int64(0), B, nb), X, perm, start)
        if rates.shape[0] > 0:
            draw_masks(M, rates, net.layout, B, nb, rng)
        batch = Batch(B, nb, rows, t, c, cb[:nb])
        total = train_step(total, net, opt, work, batch, dropout, csr, parallel_macs)
    return total
