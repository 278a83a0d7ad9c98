"""Activations: ``y_j = f(u_j)`` and the backward step ``δ_j = ∂y_j · ∂y_j/∂u_j``.

Legend: s sample, j neuron of the layer, r neuron inside a sum (softmax).
Each activation has its own loop nest so that the loop reads as its formula, written once: in
``activation_block``/``derivative_block`` (a block of samples × neurons) and ``softmax_rows``.
``activation_forward``/``activation_backward`` run them row by row on every thread; the dense
kernels run them on each block they compute. The code is chosen by an integer so one compiled
kernel serves every activation (and ``cache=True`` works). The activations that need e^u or
tanh take W neurons j at a time on vector registers (``lanes.vexp``, ``lanes.vtanh``): a call to
the C library per value would cost more than the layer's sums.
"""

import math

import numpy as np
from numba import njit, prange

from .._config import JIT_PARALLEL, JIT_SERIAL
from .lanes import (
    lane_count,
    vadd,
    vbroadcast,
    vdiv,
    vexp,
    vfma,
    vload_part,
    vmul,
    vstore_part,
    vsub,
    vtanh,
    vwhere_greater,
)

IDENTITY, SIGMOID, TANH, RELU, LEAKY_RELU, SOFTMAX, GELU, GELU_TANH, SILU = 0, 1, 2, 3, 4, 5, 6, 7, 8
EXP = 9  # output only, with the Poisson loss (its δ_k = y_k − t_k needs no derivative here)
CODES = {
    "identity": IDENTITY,
    "sigmoid": SIGMOID,
    "tanh": TANH,
    "relu": RELU,
    "leaky_relu": LEAKY_RELU,
    "softmax": SOFTMAX,
    # PyTorch's names: nn.GELU() (exact, with erf), nn.GELU(approximate="tanh"), nn.SiLU()
    "gelu": GELU,
    "gelu_tanh": GELU_TANH,
    "silu": SILU,
    "exp": EXP,
}
LEAKY_SLOPE = 0.01  # a in leaky ReLU: f(u) = u if u > 0 else a·u
SQRT_HALF = 0.7071067811865476  # 1/√2: GELU's Φ(u) = ½ (1 + erf(u/√2))
INV_SQRT_2PI = 0.3989422804014327  # 1/√(2π): GELU's φ(u) = e^(−u²/2) / √(2π)
GELU_C = 0.7978845608028654  # √(2/π), the tanh approximation's c
GELU_A = 0.044715  # the tanh approximation's cubic coefficient


@njit(**JIT_SERIAL)
def activation_block(y, u, code, s0, s1, j0, j1):
    """``y_j = f(u_j)`` on the block ``s0 ≤ s < s1``, ``j0 ≤ j < j1`` (a row of ``activation_forward``, the
    epilogue of a block of ``dense_forward_tiles``).

    Notes
    -----
    ``y_j = f(u_j)`` with f one of: identity ``u``, sigmoid ``1 / (1 + e^(−u))``, tanh, ReLU
    ``max(0, u)``, leaky ReLU ``u if u > 0 else a·u``, GELU ``u Φ(u) = ½ u (1 + erf(u/√2))``, its
    tanh approximation ``½ u (1 + tanh(√(2/π) (u + 0.044715 u³)))``, SiLU ``u σ(u)``, exponential
    ``e^u`` (output only; softmax needs whole rows: ``softmax_rows``).
    """
    zero, one, a = u.dtype.type(0), u.dtype.type(1), u.dtype.type(LEAKY_SLOPE)
    W, zeros, ones = lane_count(u), vbroadcast(zero), vbroadcast(one)
    if code == IDENTITY:
        # y_j… = u_j…   (W neurons j at a time: the last vector holds the n < W left)
        for s in range(s0, s1):
            for j in range(j0, j1, W):
                vstore_part(y, s, j, vload_part(u, s, j, j1 - j), j1 - j)
    elif code == SIGMOID:
        # y_j… = 1 / (1 + e^(−u_j…))
        for s in range(s0, s1):
            for j in range(j0, j1, W):
                u_j = vload_part(u, s, j, j1 - j)
                vstore_part(y, s, j, vdiv(ones, vadd(ones, vexp(vsub(zeros, u_j)))), j1 - j)
    elif code == TANH:
        # y_j… = tanh(u_j…)
        for s in range(s0, s1):
            for j in range(j0, j1, W):
                vstore_part(y, s, j, vtanh(vload_part(u, s, j, j1 - j)), j1 - j)
    elif code == RELU:
        # y_j… = max(0, u_j…) = 0 if 0 > u_j… else u_j…   (as Python's max: NaN and −0 stay)
        for s in range(s0, s1):
            for j in range(j0, j1, W):
                u_j = vload_part(u, s, j, j1 - j)
                vstore_part(y, s, j, vwhere_greater(zeros, u_j, zeros, u_j), j1 - j)
    elif code == LEAKY_RELU:
        slopes = vbroadcast(a)
        # y_j… = u_j… if u_j… > 0 else a·u_j…
        for s in range(s0, s1):
            for j in range(j0, j1, W):
                u_j = vload_part(u, s, j, j1 - j)
                vstore_part(y, s, j, vwhere_greater(u_j, zeros, u_j, vmul(slopes, u_j)), j1 - j)
    elif code == GELU:
        half, r2 = u.dtype.type(0.5), u.dtype.type(SQRT_HALF)
        # y_j = u_j Φ(u_j) = ½ u_j (1 + erf(u_j / √2))
        for s in range(s0, s1):
            for j in range(j0, j1):
                y[s, j] = half * u[s, j] * (one + math.erf(u[s, j] * r2))
    elif code == GELU_TANH:
        half, c, ca = u.dtype.type(0.5), u.dtype.type(GELU_C), u.dtype.type(GELU_C * GELU_A)
        halves, cs, cas = vbroadcast(half), vbroadcast(c), vbroadcast(ca)
        # y_j… = ½ u_j… (1 + tanh(u_j… (c + c·0.044715 u_j…²))),  c = √(2/π)
        for s in range(s0, s1):
            for j in range(j0, j1, W):
                x = vload_part(u, s, j, j1 - j)
                tau = vtanh(vmul(x, vfma(cas, vmul(x, x), cs)))
                vstore_part(y, s, j, vmul(vmul(halves, x), vadd(ones, tau)), j1 - j)
    elif code == SILU:
        # y_j… = u_j… σ(u_j…) = u_j… / (1 + e^(−u_j…))
        for s in range(s0, s1):
            for j in range(j0, j1, W):
                u_j = vload_part(u, s, j, j1 - j)
                vstore_part(y, s, j, vdiv(u_j, vadd(ones, vexp(vsub(zeros, u_j)))), j1 - j)
    elif code == EXP:
        # y_j… = e^(u_j…)
        for s in range(s0, s1):
            for j in range(j0, j1, W):
                vstore_part(y, s, j, vexp(vload_part(u, s, j, j1 - j)), j1 - j)


@njit(**JIT_SERIAL)
def softmax_rows(y, u, s0, s1):
    """Softmax of the samples ``s0 ≤ s < s1``.

    Notes
    -----
    ``y_k = e^(u_k) / Σ_r e^(u_r)``, computed with ``u_k − max_r u_r`` for stability.
    """
    m = u.shape[1]
    zero, W = u.dtype.type(0), lane_count(u)
    # y_k = e^(u_k − max) / Σ_r e^(u_r − max)   (the e^(u_r − max) W at a time)
    for s in range(s0, s1):
        umax = u[s, 0]
        for r in range(1, m):
            umax = max(umax, u[s, r])
        for r in range(0, m, W):
            vstore_part(y, s, r, vexp(vsub(vload_part(u, s, r, m - r), vbroadcast(umax))), m - r)
        total = zero
        for r in range(m):
            total += y[s, r]
        for k in range(m):
            y[s, k] = y[s, k] / total


@njit(**JIT_PARALLEL)
def activation_forward(y, u, code):
    """Apply the activation of a layer to its weighted sums.

    Parameters
    ----------
    y : (N, m) array, out
        Neuron outputs ``y_j``.
    u : (N, m) array
        Weighted input sums ``u_j``.
    code : int
        Activation code (``CODES``).

    Notes
    -----
    ``y_j = f(u_j)`` with f one of: identity ``u``, sigmoid ``1 / (1 + e^(−u))``, tanh,
    ReLU ``max(0, u)``, leaky ReLU ``u if u > 0 else a·u``, GELU ``u Φ(u)`` (exact or tanh
    approximation), SiLU ``u σ(u)`` (``activation_block``), and on the output layer softmax
    ``y_k = e^(u_k) / Σ_r e^(u_r)`` (computed with ``u_k − max_r u_r`` for stability).
    """
    N, m = u.shape
    # y_j = f(u_j)   (threads own samples; the formulas: activation_block, softmax_rows)
    for s in prange(N):
        if code == SOFTMAX:
            softmax_rows(y, u, s, s + 1)
        else:
            activation_block(y, u, code, s, s + 1, 0, m)


@njit(**JIT_SERIAL)
def derivative_block(delta, dy, u, y, code, s0, s1, j0, j1):
    """``δ_j = ∂y_j · ∂y_j/∂u_j`` on the block ``s0 ≤ s < s1``, ``j0 ≤ j < j1`` (a row of
    ``activation_backward``, the epilogue of a block of ``dense_backward_dy_tiles``).

    Notes
    -----
    ``δ_j = ∂y_j · ∂y_j/∂u_j`` with ∂y/∂u: identity 1, sigmoid ``y(1 − y)``, tanh ``1 − y²``,
    ReLU ``1 if u > 0 else 0``, leaky ReLU ``1 if u > 0 else a``, GELU ``Φ(u) + u φ(u)``, its tanh
    approximation ``½ (1 + τ) + ½ u (1 − τ²) c (1 + 3·0.044715 u²)`` with
    ``τ = tanh(c (u + 0.044715 u³))``, ``c = √(2/π)``, SiLU ``σ(u) (1 + u (1 − σ(u)))`` (not softmax).
    """
    zero, one, a = u.dtype.type(0), u.dtype.type(1), u.dtype.type(LEAKY_SLOPE)
    W, zeros, ones = lane_count(u), vbroadcast(zero), vbroadcast(one)
    if code == IDENTITY:
        # δ_j… = ∂y_j… · 1   (W neurons j at a time: the last vector holds the n < W left)
        for s in range(s0, s1):
            for j in range(j0, j1, W):
                vstore_part(delta, s, j, vload_part(dy, s, j, j1 - j), j1 - j)
    elif code == SIGMOID:
        # δ_j… = ∂y_j… · y_j… (1 − y_j…) = p − p·y_j…,  p = ∂y_j… · y_j…   (one fused multiply-add)
        for s in range(s0, s1):
            for j in range(j0, j1, W):
                y_j, n = vload_part(y, s, j, j1 - j), j1 - j
                p = vmul(vload_part(dy, s, j, n), y_j)
                vstore_part(delta, s, j, vfma(vsub(zeros, p), y_j, p), n)
    elif code == TANH:
        # δ_j… = ∂y_j… · (1 − y_j…²)   (1 − y² in one fused multiply-add)
        for s in range(s0, s1):
            for j in range(j0, j1, W):
                y_j, n = vload_part(y, s, j, j1 - j), j1 - j
                vstore_part(delta, s, j, vmul(vload_part(dy, s, j, n), vfma(vsub(zeros, y_j), y_j, ones)), n)
    elif code == RELU:
        # δ_j… = ∂y_j… · (1 if u_j… > 0 else 0)   (W neurons j at a time: the last vector holds the n < W left)
        for s in range(s0, s1):
            for j in range(j0, j1, W):
                n = j1 - j
                vstore_part(
                    delta, s, j, vwhere_greater(vload_part(u, s, j, n), zeros, vload_part(dy, s, j, n), zeros), n
                )
    elif code == LEAKY_RELU:
        slopes = vbroadcast(a)
        # δ_j… = ∂y_j… · (1 if u_j… > 0 else a)
        for s in range(s0, s1):
            for j in range(j0, j1, W):
                n = j1 - j
                dy_j = vload_part(dy, s, j, n)
                vstore_part(delta, s, j, vwhere_greater(vload_part(u, s, j, n), zeros, dy_j, vmul(slopes, dy_j)), n)
    elif code == GELU:
        half, r2, g = u.dtype.type(0.5), u.dtype.type(SQRT_HALF), u.dtype.type(INV_SQRT_2PI)
        # δ_j = ∂y_j · (Φ(u_j) + u_j φ(u_j)),  Φ(u) = ½ (1 + erf(u/√2)), φ(u) = e^(−u²/2) / √(2π)
        for s in range(s0, s1):
            for j in range(j0, j1):
                x = u[s, j]
                delta[s, j] = dy[s, j] * (half * (one + math.erf(x * r2)) + x * g * np.exp(-half * x * x))
    elif code == GELU_TANH:
        half, c, ca = u.dtype.type(0.5), u.dtype.type(GELU_C), u.dtype.type(GELU_C * GELU_A)
        ca3 = u.dtype.type(3 * GELU_C * GELU_A)
        halves, cs, cas, ca3s = vbroadcast(half), vbroadcast(c), vbroadcast(ca), vbroadcast(ca3)
        # δ_j… = ∂y_j… · (½ (1 + τ) + ½ u (1 − τ²) (c + 3·c·0.044715 u²)),  τ = tanh(u (c + c·0.044715 u²))
        for s in range(s0, s1):
            for j in range(j0, j1, W):
                x, n = vload_part(u, s, j, j1 - j), j1 - j
                tau = vtanh(vmul(x, vfma(cas, vmul(x, x), cs)))
                slope = vmul(vmul(halves, x), vmul(vsub(ones, vmul(tau, tau)), vfma(ca3s, vmul(x, x), cs)))
                vstore_part(delta, s, j, vmul(vload_part(dy, s, j, n), vfma(halves, vadd(ones, tau), slope)), n)
    elif code == SILU:
        # δ_j… = ∂y_j… · σ (1 + u_j… (1 − σ)),  σ = 1 / (1 + e^(−u_j…))
        for s in range(s0, s1):
            for j in range(j0, j1, W):
                x, n = vload_part(u, s, j, j1 - j), j1 - j
                sig = vdiv(ones, vadd(ones, vexp(vsub(zeros, x))))
                slope = vmul(sig, vfma(x, vsub(ones, sig), ones))
                vstore_part(delta, s, j, vmul(vload_part(dy, s, j, n), slope), n)


@njit(**JIT_PARALLEL)
def activation_backward(delta, dy, u, y, code):
    """Turn the gradient of a layer's outputs into its deltas.

    Parameters
    ----------
    delta : (N, m) array, out
        ``δ_j = ∂E/∂u_j``.
    dy : (N, m) array
        ``∂y_j = ∂E/∂y_j`` from the layer above.
    u, y : (N, m) arrays
        The layer's forward sums and outputs.
    code : int
        Activation code (not softmax: softmax is only used on the output, with cross-entropy).

    Notes
    -----
    ``δ_j = ∂y_j · ∂y_j/∂u_j`` with ∂y/∂u: identity 1, sigmoid ``y(1 − y)``, tanh ``1 − y²``,
    ReLU ``1 if u > 0 else 0``, leaky ReLU ``1 if u > 0 else a``, GELU ``Φ(u) + u φ(u)`` (exact or
    tanh approximation), SiLU ``σ(u) (1 + u (1 − σ(u)))`` (``derivative_block``).
    """
    N, m = u.shape
    # δ_j = ∂y_j · ∂y_j/∂u_j   (threads own samples; the formulas: derivative_block)
    for s in prange(N):
        derivative_block(delta, dy, u, y, code, s, s + 1, 0, m)
