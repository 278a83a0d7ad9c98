"""``MLP.trace``: every quantity of the derivation for one forward and backward pass.

The numbers come from the compiled passes that ``fit`` and ``gradients`` use
(``kernels.passes.forward_pass``, ``loss_sum``, ``backward_pass``): this module only allocates
the work buffers, runs the passes once over the whole of (X, T) and copies each layer's block
out of the flat buffers. Nothing here recomputes the math.
"""

import numpy as np

from ._threads import use_chosen
from .kernels.dense import PARALLEL_MIN_MACS, dense_backward_dy
from .kernels.epoch import draw_masks
from .kernels.passes import (
    Batch,
    Dropout,
    Network,
    Work,
    backward_layers,
    backward_pass,
    batch_scale,
    forward_layers,
    forward_pass,
    input_block,
    layer_block,
    loss_sum,
    serial_passes,
)


def trace(net, X, T):
    """One forward and one backward pass of ``net`` on (X, T), every quantity by its name.

    Parameters
    ----------
    net : MLP
        The network; it is not changed.
    X : (N, l) array
        Inputs, one sample per row.
    T : (N, n) array, or (N,) class labels for a softmax output
        Targets ``t_k``.

    Returns
    -------
    dict
        ``loss``: ``E``, the mean of the per-sample errors (a float, as ``gradients`` returns).
        ``e``: (N,) the per-sample errors ``E_s``.
        ``x``: (N, l) the inputs, converted to the network's dtype (the input layer's ``y_i``).
        ``t``: (N, n) the targets (one-hot when labels were given).
        ``layers``: one dict per weight layer L (from layer L to layer L+1), holding

        - ``w`` (in, out), ``b`` (out,): copies of the weights ``w_ij`` and biases ``b_j``;
        - ``u`` (N, out): the weighted sums ``u_j = Σ_i y_i w_ij + b_j``;
        - ``y`` (N, out): the outputs ``y_j = f(u_j)`` (after dropout, ``m_j f(u_j) / (1 − p)``,
          on a hidden layer with dropout);
        - ``mask`` (N, out) or None: with dropout, the multipliers ``M_sj = m_sj / (1 − p)`` drawn
          for this pass (0 for a dropped neuron), as ``fit`` draws them, from a copy of the
          network's generator; None for a layer without dropout and for the output layer;
        - ``delta`` (N, out): ``δ_j = ∂E_s/∂u_j``, **per sample**: the derivative of sample s's
          own error, without any 1/N. For softmax with cross-entropy (and sigmoid with binary
          cross-entropy) the output layer's ``delta`` is exactly ``y − t``;
        - ``dy`` (N, in): ``∂y_i = ∂E_s/∂y_i``, the gradient of the layer's *input*
          (``Σ_j δ_j w_ij``), per sample; for layer 0 it is ∂E_s/∂X; when the layer below has
          dropout, ``M_si Σ_j δ_j w_ij``, the gradient of its outputs before dropout;
        - ``dw`` (in, out), ``db`` (out,): ``∂E/∂w_ij`` and ``∂E/∂b_j`` of the batch's mean
          error, so the mean over the samples is taken here:
          ``dw = (1/N) Σ_s y_s δ_s`` (``y_s`` the layer's input) and ``db = (1/N) Σ_s δ_s``.
          They equal ``net.gradients(X, T)``.

        Every per-sample array has the sample index first and the network's dtype.
    """
    X = net.check_inputs(X)
    T = net.check_targets(T, X.shape[0])
    N = X.shape[0]
    layout = net.layout
    Y, U, D, DY, Tb, e = net.work_buffers(N, with_backward=True)
    grads = np.empty_like(net.params)
    Y[: X.size] = X.ravel()
    weights, biases = net.views(net.params)
    rates, M, Yk = net.dropout_buffers(N)
    no_weights = np.empty(0, net.dtype)
    serial = serial_passes(net.layers, N)
    with use_chosen():
        if rates.shape[0]:  # dropout: the masks of one training pass, from a copy of the generator
            draw_masks(M, rates, layout, N, N, net.rng.copy())
        # the bundles of the passes (kernels.passes): a training step's, on all N rows
        bundle = Network(net.params, grads, layout, net.loss_code)
        work, batch = Work(Y, U, D, DY, Tb, e), Batch(N, N, None, T, None, no_weights)
        parallel_macs = None if serial else PARALLEL_MIN_MACS
        if rates.shape[0] or serial:
            forward_layers(bundle, work, batch, Dropout(rates, M, Yk), parallel_macs)
        else:
            forward_pass(Y, U, net.params, layout, N, N)
        total = loss_sum(e, Y, U, T, layout, net.loss_code, N, N)
        if rates.shape[0] or serial:
            # a NumPy scalar scale: float32 stays float32
            scale = net.dtype(batch_scale(net.params, no_weights, N))
            backward_layers(bundle, work, batch, Dropout(rates, M, Yk), scale, parallel_macs)
        else:
            backward_pass(bundle, work, batch)
        # backward_pass stops at the first layer's δ; its input gradient ∂y_i = Σ_j δ_j w_ij is
        # one more call of the same kernel
        dense_backward_dy(input_block(DY, layout, 0, N, N), layer_block(D, layout, 0, N, N), weights[0])
    dW, db = net.views(grads)
    layers = []
    for L in range(len(layout)):
        layers.append(
            {
                "w": weights[L].copy(),
                "b": biases[L].copy(),
                "u": layer_block(U, layout, L, N, N).copy(),
                "y": layer_block(Y, layout, L, N, N).copy(),
                "mask": layer_block(M, layout, L, N, N).copy() if rates.shape[0] and rates[L] > 0 else None,
                "delta": layer_block(D, layout, L, N, N).copy(),
                "dy": input_block(DY, layout, L, N, N).copy(),
                "dw": dW[L].copy(),
                "db": db[L].copy(),
            }
        )
    return {"loss": total / N, "e": e[:N].copy(), "x": X.copy(), "t": T.copy(), "layers": layers}
