"""Update rules over the one flat parameter buffer θ (all weights and biases).

Legend: p index into the flat buffer of all parameters; L weight layer (a row of ``layout``).
The optimizer state (velocity ``v``; Adam's and AdamW's moments ``m`` and ``s``) is a flat buffer
of the same layout as θ, allocated once per fit.

Each update rule is a serial loop over the entries p of the arrays it is given; training runs
them through ``optimizer_step``, one parallel loop over fixed blocks of ``UPDATE_BLOCK`` entries
(threads own blocks; a network of at most ``SERIAL_UPDATE`` entries is updated on the calling
thread), so the block boundaries, and the results, do not depend on the number of threads.
(One parallel loop for every rule: each ``prange`` is one more function to compile.) The rules and
``grad_sqnorm`` are inlined into their one caller (``update_block``, ``clip_gradient``) in
Numba's IR (``JIT_INLINE``): each compiled on its own would cost its own wrapper, module and
machine code in the first compile (docs/performance.md); called from Python they compile as
usual.
"""

from collections import namedtuple

import numpy as np
from numba import njit, prange

from .._config import JIT_INLINE, JIT_PARALLEL, JIT_SERIAL
from .passes import N_IN, N_OUT, W_OFF

# the update rules' codes (``step.Optimizer.code``, ``Rule.code``)
SGD, MOMENTUM, NESTEROV, ADAM, ADAMW = 0, 1, 2, 3, 4
# one step of an update rule: its code, the step size η (Adam's and AdamW's η_t), μ, β₁, β₂, ε
# (AdamW's ε_t) and AdamW's decay factor 1 − η λ, all but the code of the params' dtype
Rule = namedtuple("Rule", ["code", "eta", "mu", "beta1", "beta2", "eps", "decay"])
UPDATE_BLOCK = 1 << 14  # parameters per block of optimizer_step (64 KiB of float32)
SERIAL_UPDATE = 1 << 15  # parameters up to which a step runs on the calling thread (a launch costs more)


@njit(**JIT_INLINE)
def sgd_update(theta, dtheta, eta):
    """Plain gradient descent step.

    Parameters
    ----------
    theta : (P,) array, in/out
        Every weight and bias, ``w`` and ``b``.
    dtheta : (P,) array
        Their gradients ``∂E/∂w`` and ``∂E/∂b``.
    eta : float
        Learning rate ``η``, of the arrays' dtype.

    Notes
    -----
    ``w ← w − η ∂E/∂w`` and ``b ← b − η ∂E/∂b``.
    """
    # w ← w − η ∂w,  b ← b − η ∂b
    for p in range(theta.shape[0]):
        theta[p] -= eta * dtheta[p]


@njit(**JIT_INLINE)
def momentum_update(theta, v, dtheta, eta, mu):
    """Gradient descent with (heavy-ball) momentum, as scikit-learn's ``SGDOptimizer``.

    Parameters
    ----------
    theta : (P,) array, in/out
        Every weight and bias θ.
    v : (P,) array, in/out
        Velocity ``v`` (zero before the first step).
    dtheta : (P,) array
        Gradients ``∂E/∂θ``.
    eta, mu : float
        Learning rate ``η`` and momentum ``μ``, of the arrays' dtype.

    Notes
    -----
    ``v ← μ v − η ∂θ`` then ``θ ← θ + v``.
    """
    # v ← μ v − η ∂θ ;  θ ← θ + v
    for p in range(theta.shape[0]):
        v[p] = mu * v[p] - eta * dtheta[p]
        theta[p] += v[p]


@njit(**JIT_INLINE)
def nesterov_update(theta, v, dtheta, eta, mu):
    """Gradient descent with Nesterov's momentum, as scikit-learn's ``SGDOptimizer``.

    Parameters
    ----------
    theta : (P,) array, in/out
        Every weight and bias θ.
    v : (P,) array, in/out
        Velocity ``v`` (zero before the first step).
    dtheta : (P,) array
        Gradients ``∂E/∂θ``.
    eta, mu : float
        Learning rate ``η`` and momentum ``μ``, of the arrays' dtype.

    Notes
    -----
    ``v ← μ v − η ∂θ`` then ``θ ← θ + μ v − η ∂θ`` (the look-ahead form of Sutskever et al.,
    2013, with the gradient taken at θ).
    """
    # v ← μ v − η ∂θ
    for p in range(theta.shape[0]):
        v[p] = mu * v[p] - eta * dtheta[p]
    # θ ← θ + μ v − η ∂θ is taken in two loops of one multiply-add each: written as one
    # expression (or in one loop body) the compiler contracts it into FMAs differently in the
    # vectorized part and in the remainder, and results would depend on where a block starts.
    # θ ← θ − η ∂θ
    for p in range(theta.shape[0]):
        theta[p] -= eta * dtheta[p]
    # θ ← θ + μ v
    for p in range(theta.shape[0]):
        theta[p] += mu * v[p]


@njit(**JIT_INLINE)
def adam_update(theta, m, s, dtheta, eta_t, beta1, beta2, eps):
    """Adam step (Kingma & Ba, 2014), as scikit-learn's ``AdamOptimizer``.

    Parameters
    ----------
    theta : (P,) array, in/out
        Every weight and bias θ.
    m, s : (P,) arrays, in/out
        First and second moment estimates (zero before the first step).
    dtheta : (P,) array
        Gradients ``∂E/∂θ``.
    eta_t : float
        Bias-corrected step ``η_t = η √(1 − β₂ᵗ) / (1 − β₁ᵗ)`` of step t (1, 2, …).
    beta1, beta2, eps : float
        ``β₁``, ``β₂`` and ``ε``, of the arrays' dtype.

    Notes
    -----
    ``m ← β₁ m + (1 − β₁) ∂θ``, ``s ← β₂ s + (1 − β₂) ∂θ²``, ``θ ← θ − η_t m / (√s + ε)``.
    """
    one = theta.dtype.type(1)
    # m ← β₁ m + (1 − β₁) ∂θ ;  s ← β₂ s + (1 − β₂) ∂θ² ;  θ ← θ − η_t m / (√s + ε)
    for p in range(theta.shape[0]):
        m[p] = beta1 * m[p] + (one - beta1) * dtheta[p]
        s[p] = beta2 * s[p] + (one - beta2) * dtheta[p] * dtheta[p]
        theta[p] -= eta_t * m[p] / (np.sqrt(s[p]) + eps)


@njit(**JIT_INLINE)
def adamw_update(theta, m, s, dtheta, rule):
    """AdamW step (Loshchilov & Hutter, 2019): Adam with decoupled weight decay, as PyTorch's
    ``torch.optim.AdamW``.

    Parameters
    ----------
    theta, m, s, dtheta
        As in ``adam_update``.
    rule : Rule
        The step's scalars: ``eta`` is ``η_t = η √(1 − β₂ᵗ) / (1 − β₁ᵗ)`` of step t (1, 2, …);
        ``beta1``, ``beta2`` as in ``adam_update``; ``eps`` is ``ε_t = ε √(1 − β₂ᵗ)`` (PyTorch adds
        ε to the bias-corrected ``√(s / (1 − β₂ᵗ))``, so its ``η/(1 − β₁ᵗ) · m / (√s / √(1 − β₂ᵗ) + ε)``
        is ``η_t m / (√s + ε_t)``); ``decay`` is ``1 − η λ`` with λ the weight decay (every weight
        and bias, as PyTorch's default).

    Notes
    -----
    ``θ ← (1 − η λ) θ``, then ``m ← β₁ m + (1 − β₁) ∂θ``, ``s ← β₂ s + (1 − β₂) ∂θ²``,
    ``θ ← θ − η_t m / (√s + ε_t)``.
    """
    one = theta.dtype.type(1)
    eta_t, beta1, beta2, eps_t, decay = rule.eta, rule.beta1, rule.beta2, rule.eps, rule.decay
    # θ ← (1 − η λ) θ   (a loop of its own: one rounding, the same in every block; see nesterov_update)
    for p in range(theta.shape[0]):
        theta[p] *= decay
    # m ← β₁ m + (1 − β₁) ∂θ ;  s ← β₂ s + (1 − β₂) ∂θ² ;  θ ← θ − η_t m / (√s + ε_t)
    for p in range(theta.shape[0]):
        m[p] = beta1 * m[p] + (one - beta1) * dtheta[p]
        s[p] = beta2 * s[p] + (one - beta2) * dtheta[p] * dtheta[p]
        theta[p] -= eta_t * m[p] / (np.sqrt(s[p]) + eps_t)


@njit(**JIT_PARALLEL)
def optimizer_step(theta, m, s, dtheta, rule):
    """One optimizer step over every parameter, threads owning blocks of ``UPDATE_BLOCK`` entries.

    Parameters
    ----------
    theta : (P,) array, in/out
        Every weight and bias θ.
    m, s : (P,) arrays, in/out
        Optimizer state: ``m`` holds the velocity ``v`` (momentum, Nesterov) or Adam's (AdamW's)
        first moment ``m``, ``s`` Adam's (AdamW's) second moment. Unused ones may be empty. (The
        model file stores them as ``optimizer_a`` and ``optimizer_b``.)
    dtheta : (P,) array
        Gradients ``∂E/∂θ``.
    rule : Rule
        The rule and its scalars for this step (those the rule does not use are ignored).

    Notes
    -----
    On each block ``p0 ≤ p < p1``: SGD ``θ ← θ − η ∂θ``; momentum ``v ← μ v − η ∂θ, θ ← θ + v``;
    Nesterov ``v ← μ v − η ∂θ, θ ← θ + μ v − η ∂θ``; Adam ``m ← β₁ m + (1 − β₁) ∂θ,
    s ← β₂ s + (1 − β₂) ∂θ², θ ← θ − η_t m / (√s + ε)``; AdamW ``θ ← (1 − η λ) θ`` then Adam's
    rule with ``ε_t`` (the kernels above).
    """
    P = theta.shape[0]
    if P <= SERIAL_UPDATE:
        # a small network: no parallel launch (the same results: each entry is updated on its own)
        update_block(theta, m, s, dtheta, rule, np.int64(0), P)
        return
    # θ ← θ − η ∂θ (or the rule of the optimizer) on block k: p0 = k·UPDATE_BLOCK ≤ p < p1
    for k in prange((P + UPDATE_BLOCK - 1) // UPDATE_BLOCK):
        update_block(theta, m, s, dtheta, rule, k * UPDATE_BLOCK, min(P, (k + 1) * UPDATE_BLOCK))


@njit(**JIT_SERIAL)
def update_block(theta, m, s, dtheta, rule, p0, p1):
    """The optimizer's rule on the parameters ``p0 ≤ p < p1`` (one block of ``optimizer_step``).

    Notes
    -----
    SGD ``θ ← θ − η ∂θ``; momentum ``v ← μ v − η ∂θ, θ ← θ + v``; Nesterov
    ``v ← μ v − η ∂θ, θ ← θ + μ v − η ∂θ``; Adam ``m ← β₁ m + (1 − β₁) ∂θ,
    s ← β₂ s + (1 − β₂) ∂θ², θ ← θ − η_t m / (√s + ε)``; AdamW ``θ ← (1 − η λ) θ`` then Adam's.
    The buffer ``m`` is the velocity ``v`` of momentum and Nesterov.
    """
    code, eta, mu = rule.code, rule.eta, rule.mu
    if code == MOMENTUM:
        momentum_update(theta[p0:p1], m[p0:p1], dtheta[p0:p1], eta, mu)
    elif code == NESTEROV:
        nesterov_update(theta[p0:p1], m[p0:p1], dtheta[p0:p1], eta, mu)
    elif code == ADAM:
        adam_update(theta[p0:p1], m[p0:p1], s[p0:p1], dtheta[p0:p1], eta, rule.beta1, rule.beta2, rule.eps)
    elif code == ADAMW:
        adamw_update(theta[p0:p1], m[p0:p1], s[p0:p1], dtheta[p0:p1], rule)
    else:
        sgd_update(theta[p0:p1], dtheta[p0:p1], eta)


@njit(**JIT_PARALLEL)
def l2_gradient(dtheta, theta, layout, lam):
    """Add the gradient of the L2 penalty to the weights' gradients (not the biases').

    Parameters
    ----------
    dtheta : (P,) array, in/out
        Gradients ``∂E/∂θ``.
    theta : (P,) array
        Parameters θ (the layout of ``passes``).
    layout : (L, 5) int64 array
        The network (see ``passes``).
    lam : float
        ``α / Σ_s c_s``: the penalty ``α`` over the batch's weight sum (its size when unweighted).

    Notes
    -----
    With ``E + (α / 2) Σ w² / Σ_s c_s``: ``∂w ← ∂w + α w / Σ_s c_s``; biases unchanged. Threads
    own the blocks of ``UPDATE_BLOCK`` entries of ``optimizer_step``; a network of at most
    ``SERIAL_UPDATE`` entries runs on the calling thread (a parallel launch per step would cost more
    than the pass).
    """
    P = theta.shape[0]
    if P <= SERIAL_UPDATE:
        l2_block(dtheta, theta, layout, lam, np.int64(0), P)
        return
    # ∂w_ij ← ∂w_ij + λ w_ij on block k: p0 = k·UPDATE_BLOCK ≤ p < p1 (threads own blocks)
    for k in prange((P + UPDATE_BLOCK - 1) // UPDATE_BLOCK):
        l2_block(dtheta, theta, layout, lam, k * UPDATE_BLOCK, min(P, (k + 1) * UPDATE_BLOCK))


@njit(**JIT_SERIAL)
def l2_block(dtheta, theta, layout, lam, p0, p1):
    """The L2 penalty's gradient on the entries ``p0 ≤ p < p1`` that are weights (one block of
    ``l2_gradient``).

    Notes
    -----
    ``∂w_ij ← ∂w_ij + λ w_ij`` for the weights of every layer inside the block; biases unchanged.
    """
    # ∂w_ij ← ∂w_ij + λ w_ij, layer by layer (each layer's weights ∩ the block; biases skipped)
    for L in range(layout.shape[0]):
        start = layout[L, W_OFF]
        for p in range(max(p0, start), min(p1, start + layout[L, N_IN] * layout[L, N_OUT])):
            dtheta[p] += lam * theta[p]


@njit(**JIT_SERIAL)
def weight_sqnorm(theta, layout):
    """``Σ w²`` over every weight (not the biases), summed in order in float64.

    Notes
    -----
    ``total = Σ_L Σ_ij w_ij²``, the sum in the L2 penalty ``(α / 2) Σ w² / Σ_s c_s``.
    """
    total = 0.0
    # total = Σ_L Σ_ij w_ij²
    for L in range(layout.shape[0]):
        start = layout[L, W_OFF]
        for p in range(start, start + layout[L, N_IN] * layout[L, N_OUT]):
            total += theta[p] * theta[p]
    return total


@njit(**JIT_INLINE)
def grad_sqnorm(dtheta):
    """``‖∂θ‖² = Σ_p ∂θ_p²`` over every weight and bias, summed on one thread in float64 (the same
    order whatever the number of threads).

    Notes
    -----
    ``total = Σ_p ∂θ_p²``, the square of the global norm that ``clip_gradient`` limits.
    """
    total = 0.0
    # total = Σ_p ∂θ_p²
    for p in range(dtheta.shape[0]):
        total += float(dtheta[p]) * float(dtheta[p])
    return total


@njit(**JIT_SERIAL)
def clip_gradient(dtheta, max_norm):
    """Scale the batch gradient down to the global norm ``c`` when its norm is above it.

    Parameters
    ----------
    dtheta : (P,) array, in/out
        Gradients ``∂E/∂θ`` of every weight and bias (the penalty's included).
    max_norm : float
        The limit ``c`` > 0.

    Notes
    -----
    ``‖∂θ‖ = √(Σ_p ∂θ_p²)``; if ``‖∂θ‖ > c``: ``∂θ ← ∂θ · c / ‖∂θ‖`` (PyTorch's
    ``clip_grad_norm_`` divides by ``‖∂θ‖ + 10⁻⁶`` instead). One thread: a memory-bound pass of
    microseconds, bitwise the same for any number of threads.
    """
    norm = np.sqrt(grad_sqnorm(dtheta))
    if norm > float(max_norm):
        factor = dtheta.dtype.type(float(max_norm) / norm)
        # ∂θ_p ← ∂θ_p · c / ‖∂θ‖
        for p in range(dtheta.shape[0]):
            dtheta[p] *= factor
