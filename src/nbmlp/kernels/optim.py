"""Update rules over the one flat parameter buffer θ (all weights and biases).

Legend: p index into the flat buffer of all parameters.
"""
from numba import njit, prange

from .._config import JIT_PARALLEL


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
