"""One compiled training epoch: shuffle, mini-batches, forward, backward, update.

Legend: s sample, p parameter index, N samples, B batch size; Adam's step count is ``step``.
Nothing is allocated here: the caller passes every buffer, sized once before the first epoch.
The shuffle uses its own small generator (splitmix64, state in ``rng``) so that the order
depends only on the seed, never on threads or on NumPy's global state. ``draw_mask`` and
``draw_masks`` have one compiled caller each and are inlined into it in Numba's IR (``JIT_INLINE``).
"""

from collections import namedtuple

import numpy as np
from numba import njit

from .._config import JIT_DRIVER, JIT_DRIVER_INLINE, JIT_INLINE, JIT_SERIAL
from .dense import PARALLEL_MIN_MACS
from .optim import ADAM, ADAMW, clip_gradient, l2_block, l2_gradient, optimizer_step, update_block, weight_sqnorm
from .passes import backward_layers, batch_scale, forward_layers, input_block, layer_block, loss_sum, rows


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
def batch_weights(cb, c, order, e):
    """A weighted batch's sample weights, gathered into ``cb``, and its two sums.

    Notes
    -----
    ``cb_s = c_order(s)``; returns ``(Σ_s c_s E_s, Σ_s c_s)`` (float64, in sample order).
    """
    error, c_sum = 0.0, 0.0
    # c_s = c_order(s);  Σ_s c_s E_s;  Σ_s c_s
    for s in range(order.shape[0]):
        cb[s] = c[order[s]]
        error += cb[s] * e[s]
        c_sum += cb[s]
    return error, c_sum


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
        for c in range(src.shape[1]):
            out[s, c] = src[row, c]


# The tuples the epochs take (``train_epoch_opt``, ``sparse.train_epoch_sparse``, the sharded
# step), by name: Numba compiles a named tuple as a tuple whose fields it reads by name.
Work = namedtuple("Work", ["Y", "U", "D", "DY", "Tb", "e"])  # flat work buffers (``passes``)
Data = namedtuple("Data", ["X", "T", "c", "cb"])  # inputs, targets, sample weights c_s, one batch's
OptimizerState = namedtuple("OptimizerState", ["m", "s", "step"])  # velocity or Adam's moments, t
Dropout = namedtuple("Dropout", ["rates", "M", "Yk"])  # p_L per layer, multipliers, outputs before
# the optimizer's constants, all of the params' dtype: η, α, μ, β₁, β₂, ε, the loss scale κ,
# AdamW's weight decay λ and the gradient norm limit (0: no clipping)
Hyper = namedtuple("Hyper", ["eta", "alpha", "mu", "beta1", "beta2", "eps", "kappa", "weight_decay", "max_norm"])


@njit(**JIT_DRIVER)
def train_epoch_opt(
    params,
    grads,
    state,
    work,
    data,
    perm,
    rng,
    layout,
    loss,
    batch,
    optimizer,
    hyper,
    do_shuffle,
    dropout,
    parallel_macs,
):
    """One epoch of mini-batch training with an optimizer, an L2 penalty and sample weights.

    Parameters
    ----------
    params, grads : (P,) arrays
        Flat parameters θ (updated in place) and a gradient buffer of the same layout.
    state : OptimizerState ``(m, s, step)``
        Optimizer state, updated in place: velocity ``v`` in ``m`` (momentum, Nesterov), or
        Adam's moments ``m`` and ``s``, each (P,) (empty when unused), and ``step`` (1,) int64,
        Adam's step count t.
    work : Work
        ``(Y, U, D, DY, Tb, e)``: flat work buffers of ``batch`` rows per layer, the batch's
        targets (batch, n) and per-sample errors (batch,).
    data : Data ``(X, T, c, cb)``
        Inputs (N, l), targets (N, n), sample weights ``c_s`` (N,) and a (batch,) buffer for one
        batch's weights; ``c`` and ``cb`` are empty for unweighted samples.
    perm : (N,) int64 array
        Sample order, shuffled in place when ``do_shuffle``; the call trains the samples
        ``perm[0], perm[1], …`` in batches, so a slice of the epoch's order trains a run of its
        batches (``_runs.epoch_runs``).
    rng : (1,) uint64 array
        Shuffle (and dropout) generator state, advanced in place.
    layout : (L, 5) int64 array
        The network (see ``passes``).
    loss : int
        Loss code.
    batch : int
        Mini-batch size B (the last batch may be smaller).
    optimizer : int
        ``optim.SGD``, ``MOMENTUM``, ``NESTEROV``, ``ADAM`` or ``ADAMW``.
    hyper : Hyper
        ``η, α, μ, β₁, β₂, ε``, the loss scale ``κ``, AdamW's weight decay ``λ`` and the gradient
        norm limit ``c`` (0: no clipping), of the params' dtype.
    do_shuffle : bool
        Shuffle ``perm`` first.
    dropout : Dropout ``(rates, M, Yk)``
        Dropout rate ``p_L`` of each weight layer's outputs (0: none; empty: no dropout at all),
        and two flat work buffers laid out as ``U`` for the multipliers ``M_sj = m_sj / (1 − p)``
        and the outputs before dropout (``passes.forward_layers``); all empty without dropout.
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
    For each mini-batch: with dropout, the masks ``M_sj = m_sj / (1 − p)`` from ``rng``
    (``draw_masks``); forward ``u_j = Σ_i y_i w_ij + b_j``, ``y_j = f(u_j)`` (``y_j ← M_j y_j``
    with dropout); backward with ``δ_k ← c_s δ_k`` (``∂y_j ← M_j ∂y_j`` below dropout) and
    ``∂w_ij = Σ_s y_i δ_j / Σ_s c_s + α w_ij / Σ_s c_s``,
    ``∂b_j = Σ_s δ_j / Σ_s c_s``; with ``c > 0``, ``∂θ ← ∂θ · c / ‖∂θ‖`` when ``‖∂θ‖ > c``
    (``optim.clip_gradient``); then the update of ``optim``:
    SGD ``θ ← θ − η ∂θ``; momentum ``v ← μ v − η ∂θ, θ ← θ + v``; Nesterov
    ``v ← μ v − η ∂θ, θ ← θ + μ v − η ∂θ``; Adam ``t ← t + 1``, ``η_t = η √(1 − β₂ᵗ)/(1 − β₁ᵗ)``,
    ``m ← β₁ m + (1 − β₁) ∂θ, s ← β₂ s + (1 − β₂) ∂θ², θ ← θ − η_t m / (√s + ε)``; AdamW
    ``θ ← (1 − η λ) θ`` then Adam's rule with ``ε_t = ε √(1 − β₂ᵗ)`` (PyTorch's ``AdamW``).
    """
    Y, U, D, DY, Tb, e = work
    X, T, c, cb = data
    rates, M, Yk = dropout
    dropping = rates.shape[0] > 0
    weighted = c.shape[0] > 0
    N = perm.shape[0]  # the samples of this call: all of X's, or a run of them (``_runs.epoch_runs``)
    if do_shuffle:
        shuffle(perm, rng)
    total = 0.0
    # per mini-batch: u, y; E; δ, ∂w, ∂b; w ← w − η ∂w
    for start in range(0, N, batch):
        nb = min(batch, N - start)
        gather_rows(input_block(Y, layout, np.int64(0), batch, nb), X, perm, start)
        t = rows(Tb, np.int64(0), nb, T.shape[1])
        gather_rows(t, T, perm, start)
        if dropping:
            draw_masks(M, rates, layout, batch, nb, rng)
        forward_layers(Y, U, params, layout, batch, nb, rates, M, Yk, parallel_macs)
        batch_sum = loss_sum(e, Y, U, t, layout, loss, batch, nb)
        c_sum = float(nb)
        if weighted:
            batch_sum, c_sum = batch_weights(cb, c, perm[start : start + nb], e)
            if c_sum == 0.0:
                continue  # a batch of zero weight has no error and no gradient: no step
        total = add_batch_loss(total, batch_sum, c_sum, nb, weighted, params, layout, hyper)
        backward_layers(
            grads,
            D,
            DY,
            params,
            Y,
            U,
            t,
            layout,
            loss,
            batch,
            nb,
            cb[:nb],
            batch_scale(params, cb[:nb], nb),
            rates,
            M,
            Yk,
            parallel_macs,
        )
        apply_update(params, grads, state, layout, optimizer, hyper, c_sum, parallel_macs)
    return total


@njit(**JIT_DRIVER_INLINE)
def add_batch_loss(total, batch_sum, c_sum, nb, weighted, params, layout, hyper):
    """The epoch's loss total plus one batch's share, weights before the batch's update.

    Parameters
    ----------
    total : float
        The loss total so far.
    batch_sum, c_sum : float
        ``Σ_s c_s E_s`` and ``Σ_s c_s`` of the batch (``Σ_s E_s`` and nb when unweighted).
    nb : int
        The batch's size B_b.
    weighted : bool
        Whether samples carry weights (then ``Σ_s c_s E_s`` is rescaled to nb samples).
    params, layout, hyper
        As in ``train_epoch_opt`` (κ is ``hyper.kappa``, α is ``hyper.alpha``).

    Notes
    -----
    ``total ← total + B_b (κ Σ_s c_s E_s / Σ_s c_s + (α/2) Σ w² / Σ_s c_s)``, added term by
    term in that order (the same bits in the epoch, the sparse epoch and the sharded step).
    """
    if weighted:
        batch_sum *= nb / c_sum
    total += float(hyper.kappa) * batch_sum
    alpha = hyper.alpha
    if alpha > 0:
        total += nb * 0.5 * alpha * weight_sqnorm(params, layout) / c_sum
    return total


@njit(**JIT_DRIVER_INLINE)
def apply_update(params, grads, state, layout, optimizer, hyper, c_sum, parallel_macs=PARALLEL_MIN_MACS):
    """Add the L2 penalty's gradient to a batch's mean gradient, clip it, then take one optimizer step.

    Parameters
    ----------
    params : (P,) array, in/out
        Flat parameters θ.
    grads : (P,) array, in/out
        The batch's data gradient ``Σ_s c_s ∂E_s / Σ_s c_s``; the penalty's gradient is added.
    state, layout, optimizer, hyper
        As in ``train_epoch_opt``.
    c_sum : float
        ``Σ_s c_s`` of the batch (its size when unweighted).
    parallel_macs : int or None
        As in ``train_epoch_opt``: ``None`` updates every parameter on the calling thread
        (``optim.l2_block``, ``optim.update_block``; the same bits, each entry is updated on its own).

    Notes
    -----
    ``∂w_ij ← ∂w_ij + α w_ij / Σ_s c_s``; ``∂θ ← ∂θ · c / ‖∂θ‖`` when ``c > 0`` and ``‖∂θ‖ > c``;
    then the update of ``train_epoch_opt``'s optimizer (Adam, AdamW: ``t ← t + 1``,
    ``η_t = η √(1 − β₂ᵗ) / (1 − β₁ᵗ)``; AdamW: ``ε_t = ε √(1 − β₂ᵗ)``, decay ``1 − η λ``).
    """
    m, s, step = state
    eta, alpha, mu = hyper.eta, hyper.alpha, hyper.mu
    beta1, beta2, eps = hyper.beta1, hyper.beta2, hyper.eps
    if alpha > 0:
        lam = alpha / params.dtype.type(c_sum)
        if parallel_macs is None:
            l2_block(grads, params, layout, lam, np.int64(0), params.shape[0])
        else:
            l2_gradient(grads, params, layout, lam)
    if hyper.max_norm > 0:
        clip_gradient(grads, hyper.max_norm)
    if optimizer == ADAM or optimizer == ADAMW:
        step[0] += 1
        root2 = np.sqrt(1.0 - float(beta2) ** step[0])
        if optimizer == ADAMW:
            mu = params.dtype.type(1.0 - float(eta) * float(hyper.weight_decay))
            eps = params.dtype.type(float(eps) * root2)
        eta = params.dtype.type(eta * root2 / (1.0 - float(beta1) ** step[0]))
    if parallel_macs is None:
        update_block(params, m, s, grads, optimizer, eta, mu, beta1, beta2, eps, np.int64(0), params.shape[0])
    else:
        optimizer_step(params, m, s, grads, optimizer, eta, mu, beta1, beta2, eps)
