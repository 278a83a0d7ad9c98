"""Losses: the per-sample error E and the output delta ``δ_k = (∂E/∂y_k)(∂y_k/∂u_k)``.

Legend: s sample, k output neuron, r output neuron inside a sum.
E of a batch is the mean of the per-sample errors; the kernels here work per sample and the
mean is taken by the caller (``passes``), in a fixed order.
The kernels are serial: the output layer is N × n with n small, so a parallel launch would cost
more than the work (and every prange would be one more function to compile).
"""

import numpy as np
from numba import njit

from .._config import JIT_SERIAL
from .activations import derivative_block
from .lanes import lane_count, vbroadcast, vexp, vload_part, vsub, vsum_part

SQUARED_ERROR, CROSS_ENTROPY, BINARY_CROSS_ENTROPY, POISSON = 0, 1, 2, 3
CODES = {
    "squared_error": SQUARED_ERROR,
    "cross_entropy": CROSS_ENTROPY,
    "binary_cross_entropy": BINARY_CROSS_ENTROPY,
    "poisson": POISSON,
}


@njit(**JIT_SERIAL)
def loss_forward(e, y, u, t, code):
    """Per-sample error of the output layer.

    Parameters
    ----------
    e : (N,) array, out
        ``E`` of each sample.
    y, u : (N, n) arrays
        Output-layer outputs and sums.
    t : (N, n) array
        Targets ``t_k``.
    code : int
        Loss code (``CODES``).

    Notes
    -----
    squared error ``E = ½ Σ_k (y_k − t_k)²``;
    cross-entropy ``E = −Σ_k t_k log y_k`` with ``log y_k = u_k − log Σ_r e^(u_r)`` (softmax);
    binary cross-entropy ``E = −Σ_k [t_k log y_k + (1 − t_k) log(1 − y_k)]``
    ``= Σ_k [max(u_k, 0) − t_k u_k + log(1 + e^(−|u_k|))]`` (sigmoid), both from u for stability;
    Poisson (half the deviance, exponential output ``y_k = e^(u_k)``)
    ``E = Σ_k [t_k log(t_k / y_k) − t_k + y_k] = Σ_k [t_k log t_k − t_k u_k − t_k + y_k]``
    (``t log t = 0`` at t = 0).
    """
    N, n = y.shape
    zero, one, half = y.dtype.type(0), y.dtype.type(1), y.dtype.type(0.5)
    W = lane_count(u)
    if code == SQUARED_ERROR:
        # E = ½ Σ_k (y_k − t_k)²
        for s in range(N):
            acc = zero
            for k in range(n):
                acc += (y[s, k] - t[s, k]) * (y[s, k] - t[s, k])
            e[s] = half * acc
    elif code == CROSS_ENTROPY:
        # E = −Σ_k t_k (u_k − log Σ_r e^(u_r))   (the e^(u_r − max) W at a time)
        for s in range(N):
            umax = u[s, 0]
            for r in range(1, n):
                umax = max(umax, u[s, r])
            total = zero
            for r in range(0, n, W):
                total += vsum_part(vexp(vsub(vload_part(u, s, r, n - r), vbroadcast(umax))), n - r)
            log_z = umax + np.log(total)
            acc = zero
            for k in range(n):
                acc -= t[s, k] * (u[s, k] - log_z)
            e[s] = acc
    elif code == BINARY_CROSS_ENTROPY:
        # E = Σ_k [max(u_k, 0) − t_k u_k + log(1 + e^(−|u_k|))]
        for s in range(N):
            acc = zero
            for k in range(n):
                acc += max(u[s, k], zero) - t[s, k] * u[s, k] + np.log(one + np.exp(-abs(u[s, k])))
            e[s] = acc
    elif code == POISSON:
        # E = Σ_k [t_k log t_k − t_k u_k − t_k + y_k]   (y_k = e^(u_k), t log t = 0 at t = 0)
        for s in range(N):
            acc = zero
            for k in range(n):
                tk = t[s, k]
                acc += (tk * np.log(tk) if tk > zero else zero) - tk * u[s, k] - tk + y[s, k]
            e[s] = acc


@njit(**JIT_SERIAL)
def output_delta(delta, y, u, t, loss, act):
    """Delta of the output layer, per sample.

    Parameters
    ----------
    delta : (N, n) array, out
        ``δ_k = ∂E/∂u_k``.
    y, u : (N, n) arrays
        Output-layer outputs and sums.
    t : (N, n) array
        Targets ``t_k``.
    loss, act : int
        Loss code and output activation code.

    Notes
    -----
    ``δ_k = (∂E/∂y_k)(∂y_k/∂u_k)``. Squared error: ``∂E/∂y_k = y_k − t_k`` times the output
    activation's derivative (``activations.derivative_block``, in place). Cross-entropy with
    softmax, binary cross-entropy with sigmoid and Poisson with the exponential output
    (``∂E/∂y_k = 1 − t_k/y_k``, ``∂y_k/∂u_k = y_k``): ``δ_k = y_k − t_k`` directly.
    """
    N, n = y.shape
    # δ_k = y_k − t_k   (the whole delta for the three matched pairs; ∂E/∂y_k for squared error)
    for s in range(N):
        for k in range(n):
            delta[s, k] = y[s, k] - t[s, k]
    if loss == SQUARED_ERROR:
        # δ_k = ∂E/∂y_k · ∂y_k/∂u_k   (the activation's derivative, written once: derivative_block)
        derivative_block(delta, delta, u, y, act, np.int64(0), N, np.int64(0), n)


@njit(**JIT_SERIAL)
def weight_delta(delta, c):
    """Per-sample weights on the output delta.

    Parameters
    ----------
    delta : (N, n) array, in/out
        ``δ_k`` of each sample.
    c : (N,) array
        Sample weights ``c_s``.

    Notes
    -----
    ``δ_k ← c_s δ_k``: the delta of the weighted error ``c_s E_s``. Divided by ``Σ_s c_s``
    (instead of N) in the batch mean, the gradients are those of ``Σ_s c_s E_s / Σ_s c_s``.
    """
    # δ_k ← c_s δ_k
    for s in range(delta.shape[0]):
        for k in range(delta.shape[1]):
            delta[s, k] *= c[s]
