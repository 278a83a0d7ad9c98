"""Every kernel against the NumPy reference, over odd shapes and both float dtypes."""

import numpy as np
import pytest
import reference as ref
from conftest import ACTIVATIONS, DTYPES, tol

from nbmlp.kernels import activations, losses
from nbmlp.kernels.dense import dense_backward_db, dense_backward_dw, dense_backward_dy, dense_forward
from nbmlp.kernels.optim import sgd_update

SHAPES = [(N, l, m) for N in (1, 5) for l in (1, 3, 7) for m in (1, 3, 7)]


def rand(rng, shape, dtype):
    return rng.standard_normal(shape).astype(dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("N,l,m", SHAPES)
def test_dense_kernels(N, l, m, dtype):
    rng = np.random.default_rng(N * 100 + l * 10 + m)
    y, w, b, delta = (
        rand(rng, (N, l), dtype),
        rand(rng, (l, m), dtype),
        rand(rng, (m,), dtype),
        rand(rng, (N, m), dtype),
    )
    y64, w64, b64, d64 = (a.astype(np.float64) for a in (y, w, b, delta))

    u = np.full((N, m), np.nan, dtype)
    dense_forward(u, y, w, b)
    assert u.dtype == dtype
    np.testing.assert_allclose(u, y64 @ w64 + b64, **tol(dtype))

    dy = np.full((N, l), np.nan, dtype)
    dense_backward_dy(dy, delta, w)
    np.testing.assert_allclose(dy, d64 @ w64.T, **tol(dtype))

    scale = dtype(1) / dtype(N)
    dw = np.full((l, m), np.nan, dtype)
    dense_backward_dw(dw, y, delta, scale)
    np.testing.assert_allclose(dw, y64.T @ d64 / N, **tol(dtype))

    db = np.full(m, np.nan, dtype)
    dense_backward_db(db, delta, scale)
    np.testing.assert_allclose(db, d64.mean(axis=0), **tol(dtype))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("act", ACTIVATIONS + ["softmax"])
@pytest.mark.parametrize("N,m", [(1, 1), (5, 3), (5, 7)])
def test_activation_forward(act, N, m, dtype):
    rng = np.random.default_rng(m)
    u = rand(rng, (N, m), dtype) * 3
    y = np.full_like(u, np.nan)
    activations.activation_forward(y, u, activations.CODES[act])
    assert y.dtype == dtype
    np.testing.assert_allclose(y, ref.f(u.astype(np.float64), act), **tol(dtype))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("act", ACTIVATIONS)
@pytest.mark.parametrize("N,m", [(1, 1), (5, 3), (5, 7)])
def test_activation_backward(act, N, m, dtype):
    rng = np.random.default_rng(m + 1)
    u, dy = rand(rng, (N, m), dtype) * 3, rand(rng, (N, m), dtype)
    y = ref.f(u.astype(np.float64), act).astype(dtype)
    delta = np.full_like(u, np.nan)
    activations.activation_backward(delta, dy, u, y, activations.CODES[act])
    expected = dy.astype(np.float64) * ref.df(u.astype(np.float64), y.astype(np.float64), act)
    np.testing.assert_allclose(delta, expected, **tol(dtype))


LOSS_OUTPUTS = [("squared_error", a) for a in ACTIVATIONS] + [
    ("cross_entropy", "softmax"),
    ("binary_cross_entropy", "sigmoid"),
]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("loss,act", LOSS_OUTPUTS)
@pytest.mark.parametrize("N,n", [(1, 1), (5, 3), (5, 7)])
def test_loss_and_output_delta(loss, act, N, n, dtype):
    rng = np.random.default_rng(n + 7)
    u = rand(rng, (N, n), dtype) * 2
    y64 = ref.f(u.astype(np.float64), act)
    y = y64.astype(dtype)
    if loss == "cross_entropy":
        t = np.eye(n, dtype=dtype)[rng.integers(0, n, N)]
    elif loss == "binary_cross_entropy":
        t = rng.integers(0, 2, (N, n)).astype(dtype)
    else:
        t = rand(rng, (N, n), dtype)
    e = np.full(N, np.nan, dtype)
    losses.loss_forward(e, y, u, t, losses.CODES[loss])
    assert e.dtype == dtype
    np.testing.assert_allclose(
        e, ref.loss_per_sample(y64, t.astype(np.float64), loss), rtol=1e-4 if dtype == np.float32 else 1e-10, atol=1e-5
    )

    delta = np.full_like(u, np.nan)
    losses.output_delta(delta, y, u, t, losses.CODES[loss], activations.CODES[act])
    expected = ref.output_delta(y.astype(np.float64), u.astype(np.float64), t.astype(np.float64), loss, act)
    np.testing.assert_allclose(delta, expected, **tol(dtype))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("P", [1, 3, 7, 1001])
def test_sgd_update(P, dtype):
    rng = np.random.default_rng(P)
    theta, dtheta = rand(rng, P, dtype), rand(rng, P, dtype)
    expected = theta.astype(np.float64) - 0.1 * dtheta.astype(np.float64)
    sgd_update(theta, dtheta, dtype(0.1))
    assert theta.dtype == dtype
    np.testing.assert_allclose(theta, expected, **tol(dtype))
