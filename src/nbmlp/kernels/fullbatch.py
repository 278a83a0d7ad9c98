"""The loss and its gradient over the whole data set, in one compiled call (for L-BFGS).

Legend: s sample, N samples, θ the flat parameters (weights w and biases b), c_s sample weights.
The caller sizes the work buffers for N rows (``MLP.work_buffers(N, …)``) and copies the inputs into
block 0 of ``Y`` once: every evaluation then runs the forward pass, the loss, the backward pass
and the penalty's gradient over all N samples, with nothing allocated and no Python in between.
"""

from numba import njit

from .._config import JIT_DRIVER
from .optim import l2_gradient, weight_sqnorm
from .passes import Batch, backward_pass, forward_pass, loss_sum


@njit(**JIT_DRIVER)
def full_loss_gradient(net, work, T, c, alpha, kappa):
    """The penalized loss of all N samples; its gradient goes to ``net.grads``.

    Parameters
    ----------
    net : passes.Network
        The flat parameters θ, their gradient ``∂E/∂θ`` (written), the layout and the loss code.
    work : passes.Work
        ``(Y, U, D, DY, Tb, e)`` sized for N rows, the inputs in block 0 of ``Y`` (``Tb`` unused).
    T : (N, n) array
        Targets.
    c : (N,) array
        Sample weights ``c_s``, or empty for unweighted samples.
    alpha : float
        L2 penalty α, of the params' dtype.
    kappa : float
        Loss scale κ (scikit-learn averages the squared error over the outputs).

    Returns
    -------
    float
        ``κ Σ_s c_s E_s / Σ_s c_s + (α/2) Σ w² / Σ_s c_s`` (``c_s = 1`` when unweighted): the
        ``loss_`` of scikit-learn's L-BFGS.

    Notes
    -----
    Forward ``u_j = Σ_i y_i w_ij + b_j``, ``y_j = f(u_j)`` over all samples; backward
    ``∂w_ij = (Σ_s c_s y_i δ_j + α w_ij) / Σ_s c_s``, ``∂b_j = Σ_s c_s δ_j / Σ_s c_s``.
    As in scikit-learn, the gradient is that of the unscaled data term (κ multiplies the
    reported loss only; κ ≠ 1 only for the squared error with several outputs).
    """
    params, grads, layout, loss = net
    Y, U, e = work.Y, work.U, work.e
    N = T.shape[0]
    forward_pass(Y, U, params, layout, N, N)
    total = loss_sum(e, Y, U, T, layout, loss, N, N)
    c_sum = float(N)
    if c.shape[0] > 0:
        total = 0.0
        c_sum = 0.0
        # total = Σ_s c_s E_s, c_sum = Σ_s c_s
        for s in range(N):
            total += c[s] * e[s]
            c_sum += c[s]
    backward_pass(net, work, Batch(N, N, None, T, None, c))
    if alpha > 0:
        l2_gradient(grads, params, layout, alpha / params.dtype.type(c_sum))
    return kappa * total / c_sum + 0.5 * alpha * weight_sqnorm(params, layout) / c_sum
