"""One training step on one mini-batch: forward, loss, backward, update, over named bundles.

Legend: s sample of the batch (nb of them, in work buffers of ``cap`` rows per layer),
p parameter index, L weight layer, θ every weight and bias, ∂θ their gradients, c_s the
weight of sample s (1 when unweighted), E_s its error, η, α, μ, β₁, β₂, ε, κ, λ the optimizer's
constants (``Constants``).

The bundles (named tuples; Numba reads their fields by name, as llm.c's ``ParameterTensors``):
``passes.Network`` (θ, ∂θ, the layout, the loss), ``passes.Work`` (the work buffers),
``passes.Batch`` (the batch: its rows, targets and weights), ``passes.Dropout`` and, here,
``Optimizer`` (the rule, its state and its constants).

The dense and the sparse epoch run ``train_step``, the sharded step of ``distributed`` its two
halves (the passes, then ``add_batch_loss`` and ``apply_update`` after the all-reduce); what
differs is passed in, not copied:

- ``csr``: None when the first layer's inputs are dense (gathered into block 0 of ``Y``), or a
  ``sparse.Csr`` when they are rows of a CSR matrix: then the first layer sums over the
  non-zeros (``sparse.csr_forward``, ``sparse.csr_backward``) and the dense passes run on the
  layers above it. ``None`` is pruned by Numba before typing, so each epoch compiles one branch.
- the gradient ``scale``: ``1/Σ_s c_s`` for a batch's mean (``train_step``), 1 for the sums the
  sharded step adds up across processes before its update (``sharded``).

The functions here are inlined into their compiled caller (``JIT_DRIVER_INLINE``), so that the
kernels' code is not optimized and emitted once more per level. The passes the step calls are
inlined into the epoch after the step, not into the step (``_config.inline_outermost``); and the
step calls the passes itself rather than through helpers of its own, since Numba runs its whole
untyped pipeline again for every inlined function (docs/first_compile.md).
"""

from collections import namedtuple

import numpy as np
from numba import njit

from .._config import JIT_DRIVER_INLINE, JIT_SERIAL
from .optim import ADAM, ADAMW, Rule, clip_gradient, l2_block, l2_gradient, optimizer_step, update_block, weight_sqnorm
from .passes import Network, backward_layers, batch_scale, forward_layers, loss_sum
from .sparse import csr_backward, csr_forward

# the optimizer's constants, all of the params' dtype: η, α, μ, β₁, β₂, ε, the loss scale κ,
# AdamW's weight decay λ and the gradient norm limit (0: no clipping)
Constants = namedtuple(
    "Constants", ["eta", "alpha", "mu", "beta1", "beta2", "eps", "kappa", "weight_decay", "max_norm"]
)
# velocity v (momentum, Nesterov) or Adam's first moment m; Adam's second moment s; Adam's step count
OptimizerState = namedtuple("OptimizerState", ["m", "s", "step"])
# the update rule's code (``optim.SGD`` … ``ADAMW``), its ``OptimizerState`` and its ``Constants``
Optimizer = namedtuple("Optimizer", ["code", "state", "constants"])


@njit(**JIT_DRIVER_INLINE)
def train_step(total, net, opt, work, batch, dropout, csr, parallel_macs):
    """One mini-batch: forward, loss, backward and the optimizer's update; the epoch's loss total after it.

    Parameters
    ----------
    total : float
        The epoch's loss total before this batch.
    net : passes.Network
        θ (updated in place), ∂θ (a work buffer), the layout, the loss code.
    opt : Optimizer
        The rule, its state (updated in place) and its constants.
    work : passes.Work
        The work buffers; block 0 of ``Y`` holds the batch's inputs (dense inputs).
    batch : passes.Batch
        ``cap``, ``nb``, the batch's ``rows`` of the data, the targets ``t``, the data's weights
        ``c`` and a buffer ``cb`` for the batch's (both empty when unweighted).
    dropout : passes.Dropout
        Rates and the batch's multipliers (drawn by the epoch); empty without dropout.
    csr : sparse.Csr or None
        CSR inputs, or None for dense ones.
    parallel_macs : int or None
        As in ``passes.forward_layers`` (None: every step on the calling thread).

    Returns
    -------
    float
        ``total + B_b (κ Σ_s c_s E_s / Σ_s c_s + (α/2) Σ w² / Σ_s c_s)`` (``add_batch_loss``,
        the weights before the update); ``total`` unchanged for a batch of zero weight, which
        has no error and no gradient and takes no step.

    Notes
    -----
    ``u_j = Σ_i y_i w_ij + b_j``, ``y_j = f(u_j)``; E; ``δ_k ← c_s δ_k``,
    ``∂w_ij = Σ_s y_i δ_j / Σ_s c_s``, ``∂b_j = Σ_s δ_j / Σ_s c_s``; then ``apply_update``.
    """
    # with CSR inputs the first layer sums over the non-zeros; the dense layers start above it
    if csr is not None:
        csr_forward(net, work, batch, csr)
    if csr is None:
        layers = net
    else:
        layers = Network(net.params, net.grads, csr.up, net.loss)
    forward_layers(layers, work, batch, dropout, parallel_macs)
    error = loss_sum(work.e, work.Y, work.U, batch.t, layers.layout, net.loss, batch.cap, batch.nb)
    c_sum = float(batch.nb)
    if batch.c.shape[0] > 0:
        error, c_sum = batch_weights(batch.cb, batch.c, batch.rows, work.e)
    if c_sum == 0.0:
        return total
    total = add_batch_loss(total, error, c_sum, batch.nb, batch.c.shape[0] > 0, net, opt.constants)
    backward_layers(layers, work, batch, dropout, batch_scale(net.params, batch.cb, batch.nb), parallel_macs)
    if csr is not None:
        csr_backward(net, work, batch, csr, c_sum, parallel_macs)
    apply_update(net, opt, c_sum, parallel_macs)
    return total


@njit(**JIT_SERIAL)
def batch_weights(cb, c, rows, e):
    """A weighted batch's sample weights, gathered into ``cb``, and its two sums.

    Notes
    -----
    ``cb_s = c_rows(s)``; returns ``(Σ_s c_s E_s, Σ_s c_s)`` (float64, in sample order).
    """
    error, c_sum = 0.0, 0.0
    # c_s = c_rows(s);  Σ_s c_s E_s;  Σ_s c_s
    for s in range(rows.shape[0]):
        cb[s] = c[rows[s]]
        error += cb[s] * e[s]
        c_sum += cb[s]
    return error, c_sum


@njit(**JIT_DRIVER_INLINE)
def add_batch_loss(total, error, c_sum, nb, weighted, net, constants):
    """The epoch's loss total plus one batch's share, weights before the batch's update.

    Parameters
    ----------
    total : float
        The loss total so far.
    error, c_sum : float
        ``Σ_s c_s E_s`` and ``Σ_s c_s`` of the batch (``Σ_s E_s`` and nb when unweighted).
    nb : int
        The batch's size B_b.
    weighted : bool
        Whether samples carry weights (then ``Σ_s c_s E_s`` is rescaled to nb samples).
    net, constants
        The network (θ, the layout) and the optimizer's constants (κ, α).

    Notes
    -----
    ``total ← total + B_b (κ Σ_s c_s E_s / Σ_s c_s + (α/2) Σ w² / Σ_s c_s)``, added term by
    term in that order (the same bits in every epoch and in the sharded step).
    """
    if weighted:
        error *= nb / c_sum
    total += float(constants.kappa) * error
    alpha = constants.alpha
    if alpha > 0:
        total += nb * 0.5 * alpha * weight_sqnorm(net.params, net.layout) / c_sum
    return total


@njit(**JIT_DRIVER_INLINE)
def apply_update(net, opt, c_sum, parallel_macs):
    """Add the L2 penalty's gradient to a batch's mean gradient, clip it, then take one optimizer step.

    Parameters
    ----------
    net : passes.Network
        θ (updated in place) and the batch's data gradient ``Σ_s c_s ∂E_s / Σ_s c_s`` in ``grads``
        (the penalty's gradient is added).
    opt : Optimizer
        As in ``train_step``.
    c_sum : float
        ``Σ_s c_s`` of the batch (its size when unweighted).
    parallel_macs : int or None
        As in ``train_step``: ``None`` updates every parameter on the calling thread
        (``optim.l2_block``, ``optim.update_block``; the same bits, each entry is updated on its own).

    Notes
    -----
    ``∂w_ij ← ∂w_ij + α w_ij / Σ_s c_s``; ``∂θ ← ∂θ · c / ‖∂θ‖`` when ``c > 0`` and ``‖∂θ‖ > c``;
    then the rule (Adam, AdamW: ``t ← t + 1``, ``η_t = η √(1 − β₂ᵗ) / (1 − β₁ᵗ)``; AdamW:
    ``ε_t = ε √(1 − β₂ᵗ)``, decay factor ``1 − η λ``).
    """
    params, grads, layout = net.params, net.grads, net.layout
    m, s, step = opt.state
    k = opt.constants
    eta, mu, beta1, beta2, eps = k.eta, k.mu, k.beta1, k.beta2, k.eps
    if k.alpha > 0:
        lam = k.alpha / params.dtype.type(c_sum)
        if parallel_macs is None:
            l2_block(grads, params, layout, lam, np.int64(0), params.shape[0])
        else:
            l2_gradient(grads, params, layout, lam)
    if k.max_norm > 0:
        clip_gradient(grads, k.max_norm)
    decay = params.dtype.type(1)
    if opt.code == ADAM or opt.code == ADAMW:
        step[0] += 1
        root2 = np.sqrt(1.0 - float(beta2) ** step[0])
        if opt.code == ADAMW:
            decay = params.dtype.type(1.0 - float(eta) * float(k.weight_decay))
            eps = params.dtype.type(float(eps) * root2)
        eta = params.dtype.type(eta * root2 / (1.0 - float(beta1) ** step[0]))
    rule = Rule(opt.code, eta, mu, beta1, beta2, eps, decay)
    if parallel_macs is None:
        update_block(params, m, s, grads, rule, np.int64(0), params.shape[0])
    else:
        optimizer_step(params, m, s, grads, rule)
