"""Optimizer, penalty and sample-weight kernels against the NumPy references (scikit-learn's formulas)."""

import numpy as np
import pytest
import reference as ref
from conftest import DTYPES, tol

import nbmlp
from nbmlp.kernels import losses, optim
from nbmlp.kernels.passes import backward_pass, forward_pass

SHAPES = [1, 3, 7, 1001]


def rand(rng, shape, dtype):
    return rng.standard_normal(shape).astype(dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("P", SHAPES)
@pytest.mark.parametrize("nesterov", [False, True])
def test_momentum_and_nesterov(P, dtype, nesterov):
    rng = np.random.default_rng(P)
    theta, v = rand(rng, P, dtype), rand(rng, P, dtype)
    t64, v64 = theta.astype(np.float64), v.astype(np.float64)
    kernel = optim.nesterov_update if nesterov else optim.momentum_update
    for _ in range(3):
        g = rand(rng, P, dtype)
        kernel(theta, v, g, dtype(0.1), dtype(0.9))
        ref.momentum_step(t64, v64, g.astype(np.float64), 0.1, 0.9, nesterov)
    assert theta.dtype == dtype and v.dtype == dtype
    np.testing.assert_allclose(theta, t64, **tol(dtype))
    np.testing.assert_allclose(v, v64, **tol(dtype))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("P", SHAPES)
def test_adam(P, dtype):
    rng = np.random.default_rng(P)
    theta = rand(rng, P, dtype)
    m, s = np.zeros(P, dtype), np.zeros(P, dtype)
    t64, m64, s64 = theta.astype(np.float64), np.zeros(P), np.zeros(P)
    for t in range(1, 4):
        g = rand(rng, P, dtype)
        eta_t = 0.01 * np.sqrt(1 - 0.999**t) / (1 - 0.9**t)
        optim.adam_update(theta, m, s, g, dtype(eta_t), dtype(0.9), dtype(0.999), dtype(1e-8))
        ref.adam_step(t64, m64, s64, g.astype(np.float64), 0.01, t, 0.9, 0.999, 1e-8)
    assert theta.dtype == dtype
    np.testing.assert_allclose(theta, t64, **tol(dtype))
    np.testing.assert_allclose(m, m64, **tol(dtype))
    np.testing.assert_allclose(s, s64, **tol(dtype))


@pytest.mark.parametrize("dtype", DTYPES)
# [300, 220, 3]: 66,883 parameters, more than optim.SERIAL_UPDATE: threads own blocks of
# optim.UPDATE_BLOCK, with block boundaries inside the first w
@pytest.mark.parametrize("layers", [[1, 1], [3, 7, 1], [7, 3, 3, 5], [300, 220, 3]])
def test_l2_gradient_and_sqnorm_touch_weights_only(layers, dtype):
    net = nbmlp.MLP(layers, activation="tanh", output="identity", dtype=dtype, seed=0)
    rng = np.random.default_rng(1)
    net.params[...] = rand(rng, net.n_params, dtype)
    g = rand(rng, net.n_params, dtype)
    expected = g.astype(np.float64)
    wv, _ = net._views(expected)
    for w_ref, w in zip(wv, net.weights):
        w_ref += 0.3 * w.astype(np.float64)
    optim.l2_gradient(g, net.params, net.layout, dtype(0.3))
    np.testing.assert_allclose(g, expected, **tol(dtype))
    sq = sum((w.astype(np.float64) ** 2).sum() for w in net.weights)
    np.testing.assert_allclose(
        optim.weight_sqnorm(net.params, net.layout), sq, rtol=1e-6 if dtype == np.float32 else 1e-12
    )


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("N", [1, 5])
@pytest.mark.parametrize(
    "output,loss", [("softmax", "cross_entropy"), ("sigmoid", "binary_cross_entropy"), ("identity", "squared_error")]
)
def test_weighted_backward_pass(N, dtype, output, loss):
    rng = np.random.default_rng(N)
    net = nbmlp.MLP([3, 7, 3], activation="relu", output=output, loss=loss, dtype=dtype, seed=2)
    X = rand(rng, (N, 3), dtype)
    T = np.eye(3, dtype=dtype)[rng.integers(0, 3, N)]
    c = rng.uniform(0.1, 3, N).astype(dtype)
    Y, U, D, DY, _, _ = net._work(N, with_backward=True)
    Y[: X.size] = X.ravel()
    grads = np.empty_like(net.params)
    forward_pass(Y, U, net.params, net.layout, N, N)
    backward_pass(grads, D, DY, net.params, Y, U, T, net.layout, net._loss_code, N, N, c)
    w = [a.astype(np.float64) for a in net.weights]
    b = [a.astype(np.float64) for a in net.biases]
    dW, db = ref.weighted_gradients(
        w, b, net.activations, loss, X.astype(np.float64), T.astype(np.float64), c.astype(np.float64), 0.0
    )
    gw, gb = net._views(grads)
    for a, r in zip(gw + gb, dW + db):
        np.testing.assert_allclose(a, r, **tol(dtype))


@pytest.mark.parametrize("dtype", DTYPES)
def test_weight_delta(dtype):
    rng = np.random.default_rng(0)
    delta, c = rand(rng, (5, 3), dtype), rand(rng, 5, dtype)
    expected = delta.astype(np.float64) * c.astype(np.float64)[:, None]
    losses.weight_delta(delta, c)
    np.testing.assert_allclose(delta, expected, **tol(dtype))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("optimizer", [optim.SGD, optim.MOMENTUM, optim.NESTEROV, optim.ADAM, optim.ADAMW])
def test_optimizer_step_in_blocks_equals_one_pass(optimizer, dtype):
    # more than SERIAL_UPDATE entries: optimizer_step runs blocks of UPDATE_BLOCK on the threads;
    # every entry is updated on its own, so the blocks give the bits of one pass over all of them
    P = optim.SERIAL_UPDATE + optim.UPDATE_BLOCK + 7
    rng = np.random.default_rng(optimizer)
    theta, a, b, g = (rand(rng, P, dtype) for _ in range(4))
    b = np.abs(b)
    rule = optim.Rule(optimizer, dtype(0.01), dtype(0.9), dtype(0.9), dtype(0.999), dtype(1e-8), dtype(0.999))
    blocks = [x.copy() for x in (theta, a, b)]
    optim.optimizer_step(*blocks[:3], g, rule)
    whole = [x.copy() for x in (theta, a, b)]
    optim.update_block(*whole[:3], g, rule, np.int64(0), P)
    for x, y in zip(blocks, whole):
        np.testing.assert_array_equal(x, y)
    assert not np.array_equal(blocks[0], theta)
