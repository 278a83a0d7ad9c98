"""Inverted dropout on hidden outputs during training: ``y_j ← m_j y_j / (1 − p)``.

Legend: s sample, j neuron of a hidden layer, p the layer's dropout rate, m_j ∈ {0, 1} the mask.
The multipliers ``M_sj = m_j / (1 − p)`` of a batch live in a flat work buffer laid out as the
layer blocks of ``passes`` (``cap`` rows per layer), and so do the outputs before dropout,
``Yk`` (the dense ∂y step takes f' with them: sigmoid's and tanh's are written with y). The
masks are drawn by ``epoch.draw_masks`` on one thread from nbmlp's own generator (the shuffle's state), so they
depend on the seed only, never on the number of threads; applying them is a memory-bound pass
of microseconds per batch, also on one thread.
"""

from numba import njit

from .._config import JIT_SERIAL


@njit(**JIT_SERIAL)
def dropout_forward(y, yk, M):
    """Apply a drawn mask to a hidden layer's outputs, keeping the outputs before it.

    Parameters
    ----------
    y : (nb, m) array, in/out
        Outputs ``y_j = f(u_j)``; on return ``y_j M_j``, what the layer above reads.
    yk : (nb, m) array, out
        The outputs before dropout, ``f(u_j)`` (for the derivative in ``dropout_backward``).
    M : (nb, m) array
        ``M_sj = m_sj / (1 − p)`` (``draw_mask``).

    Notes
    -----
    ``yk_j = y_j``, then ``y_j ← m_j y_j / (1 − p) = M_j y_j``.
    """
    # yk_j = y_j ;  y_j ← M_j y_j
    for s in range(y.shape[0]):
        for j in range(y.shape[1]):
            yk[s, j] = y[s, j]
            y[s, j] = M[s, j] * y[s, j]


@njit(**JIT_SERIAL)
def dropout_backward(delta, dy, M):
    """Turn the ∂y and δ of a hidden layer's dropped outputs into those of its outputs ``f(u_j)``.

    Parameters
    ----------
    delta : (nb, m) array, in/out
        On entry ``∂E/∂y'_j · f'(u_j)`` (the dense ∂y step, with f' taken at the outputs before
        dropout); on return ``δ_j = ∂E/∂u_j``.
    dy : (nb, m) array, in/out
        On entry ``∂E/∂y'_j`` of the dropped outputs ``y'_j = M_j y_j``; on return
        ``∂y_j = M_j ∂E/∂y'_j``.
    M : (nb, m) array
        ``M_sj = m_sj / (1 − p)``.

    Notes
    -----
    ``y'_j = M_j y_j``, so ``∂y_j = M_j ∂y'_j`` and ``δ_j = ∂y_j f'(u_j) = M_j (∂y'_j f'(u_j))``:
    0 for a dropped neuron.
    """
    # ∂y_j ← M_j ∂y'_j ;  δ_j ← M_j δ_j
    for s in range(dy.shape[0]):
        for j in range(dy.shape[1]):
            dy[s, j] = M[s, j] * dy[s, j]
            delta[s, j] = M[s, j] * delta[s, j]
