"""Update rules over the one flat parameter buffer θ (all weights and biases).

Legend: p index into the flat buffer of all parameters; L weight layer (a row of ``layout``).
The optimizer state (velocity ``v``; Adam's moments ``m`` and ``s``) is a flat buffer of the
same layout as θ, allocated once per fit. Every kernel here is one loop over p whose threads
own disjoint entries, so results do not depend on the number of threads.
"""
import numpy as np
from numba import njit, prange

from .._config import JIT_PARALLEL, JIT_SERIAL
from .passes import N_IN, N_OUT, W_OFF

# optimizer codes of ``epoch.train_epoch_opt``
SGD, MOMENTUM, NESTEROV, ADAM = 0, 1, 2, 3


@njit(**JIT_PARALLEL)
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
    for p in prange(theta.shape[0]):
        theta[p] -= eta * dtheta[p]


@njit(**JIT_PARALLEL)
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
    for p in prange(theta.shape[0]):
        v[p] = mu * v[p] - eta * dtheta[p]
        theta[p] += v[p]


@njit(**JIT_PARALLEL)
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
    for p in prange(theta.shape[0]):
        v[p] = mu * v[p] - eta * dtheta[p]
    # θ ← θ + μ v − η ∂θ, as θ ← θ − η ∂θ then θ ← θ + μ v: one multiply-add per loop. Written as
    # one expression (or in one loop body) the compiler contracts it into FMAs differently in the
    # vectorized part and in the remainder, and results would depend on the threads' chunks.
    for p in prange(theta.shape[0]):
        theta[p] -= eta * dtheta[p]
    for p in prange(theta.shape[0]):
        theta[p] += mu * v[p]


@njit(**JIT_PARALLEL)
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
    for p in prange(theta.shape[0]):
        m[p] = beta1 * m[p] + (one - beta1) * dtheta[p]
        s[p] = beta2 * s[p] + (one - beta2) * dtheta[p] * dtheta[p]
        theta[p] -= eta_t * m[p] / (np.sqrt(s[p]) + eps)


@njit(**JIT_SERIAL)
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
    With ``E + (α / 2) Σ w² / Σ_s c_s``: ``∂w ← ∂w + α w / Σ_s c_s``; biases unchanged.
    """
    for L in range(layout.shape[0]):
        start = layout[L, W_OFF]
        l2_gradient_block(dtheta[start:start + layout[L, N_IN] * layout[L, N_OUT]],
                          theta[start:start + layout[L, N_IN] * layout[L, N_OUT]], lam)


@njit(**JIT_PARALLEL)
def l2_gradient_block(dw, w, lam):
    """``∂w ← ∂w + λ w`` over one layer's weights (threads own entries)."""
    # ∂w_ij ← ∂w_ij + λ w_ij
    for p in prange(w.shape[0]):
        dw[p] += lam * w[p]


@njit(**JIT_SERIAL)
def weight_sqnorm(theta, layout):
    """``Σ w²`` over every weight (not the biases), summed in order in float64."""
    total = 0.0
    # Σ_L Σ_ij w_ij²
    for L in range(layout.shape[0]):
        start = layout[L, W_OFF]
        for p in range(start, start + layout[L, N_IN] * layout[L, N_OUT]):
            total += theta[p] * theta[p]
    return total
