"""Activation functions beyond the kernel sweep of ``test_kernels``: GELU (exact and tanh
approximation, PyTorch's names) and SiLU: f against the reference, f′
against central differences of the kernel's own f in float64, float32 against float64, and
through the fused epilogues of the dense kernels (a network's gradients against the reference)."""

import numpy as np
import pytest
import reference as ref
from conftest import tol

from nbmlp import MLP
from nbmlp.kernels import activations

NEW = ["gelu", "gelu_tanh", "silu"]


def _u(dtype, n=(5, 7)):
    # values around the bends and in both tails
    u = np.linspace(-6, 6, n[0] * n[1]).reshape(n)
    return u.astype(dtype)


def _f(u, act):
    y = np.full_like(u, np.nan)
    activations.activation_forward(y, u, activations.CODES[act])
    return y


def _df(u, act):
    delta = np.full_like(u, np.nan)
    dy = np.ones_like(u)
    activations.activation_backward(delta, dy, u, _f(u, act), activations.CODES[act])
    return delta


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("act", NEW)
def test_forward_matches_the_reference(act, dtype):
    u = _u(dtype)
    y = _f(u, act)
    assert y.dtype == dtype
    np.testing.assert_allclose(y, ref.f(u.astype(np.float64), act), **tol(dtype))


@pytest.mark.parametrize("act", NEW)
def test_derivative_matches_central_differences_in_float64(act):
    u = _u(np.float64)
    h = 1e-6
    numeric = (_f(u + h, act) - _f(u - h, act)) / (2 * h)
    np.testing.assert_allclose(_df(u, act), numeric, rtol=1e-7, atol=1e-8)
    # and the reference's f′ (the one the network tests below use) is the same function
    np.testing.assert_allclose(ref.df(u, None, act), numeric, rtol=1e-7, atol=1e-8)


@pytest.mark.parametrize("act", NEW)
def test_float32_is_float64_to_float32_rounding(act):
    u32 = _u(np.float32)
    u64 = u32.astype(np.float64)
    for kernel in (_f, _df):
        got = kernel(u32, act)
        assert got.dtype == np.float32
        np.testing.assert_allclose(got, kernel(u64, act), rtol=2e-6, atol=2e-6)


def test_the_tanh_approximation_is_close_to_the_exact_gelu():
    u = _u(np.float64)
    assert np.max(np.abs(_f(u, "gelu_tanh") - _f(u, "gelu"))) < 1e-3
    assert not np.array_equal(_f(u, "gelu_tanh"), _f(u, "gelu"))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_network_gradients_through_the_fused_kernels(dtype):
    # sizes past one vector panel and one 6-sample tile, so that the dense kernels' epilogues run
    rng = np.random.default_rng(3)
    X, y = rng.standard_normal((13, 9)).astype(dtype), rng.integers(0, 3, 13)
    net = MLP([9, 19, 17, 11, 3], activation=NEW, output="softmax", dtype=dtype, seed=1)
    loss, dW, db = net.gradients(X, y)
    T = np.eye(3)[y]
    weights = [w.astype(np.float64) for w in net.weights]
    biases = [b.astype(np.float64) for b in net.biases]
    E, rW, rb = ref.gradients(weights, biases, net.activations, "cross_entropy", X.astype(np.float64), T)
    t = dict(rtol=1e-4, atol=1e-5) if dtype == np.float32 else dict(rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(loss, E, **t)
    for a, b in zip(dW + db, rW + rb):
        np.testing.assert_allclose(a, b, **t)


def test_output_layer_refuses_them():
    with pytest.raises(ValueError, match="output"):
        MLP([3, 4, 2], output="gelu")
