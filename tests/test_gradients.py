"""``MLP.gradients`` against the NumPy reference and against central finite differences."""

import itertools

import numpy as np
import pytest
import reference as ref
from conftest import ACTIVATIONS, DTYPES, tol

import nbmlp

OUTPUTS = [
    ("identity", "squared_error"),
    ("sigmoid", "squared_error"),
    ("tanh", "squared_error"),
    ("relu", "squared_error"),
    ("leaky_relu", "squared_error"),
    ("softmax", "cross_entropy"),
    ("sigmoid", "binary_cross_entropy"),
    ("exp", "poisson"),
]


def make_data(net, N, rng):
    X = rng.standard_normal((N, net.layers[0]))
    n = net.layers[-1]
    if net.loss == "cross_entropy":
        T = np.eye(n)[rng.integers(0, n, N)]
    elif net.loss == "binary_cross_entropy":
        T = rng.integers(0, 2, (N, n)).astype(float)
    elif net.loss == "poisson":
        T = rng.poisson(1.0, (N, n)).astype(float)  # counts, zeros among them
    else:
        T = rng.standard_normal((N, n))
    return X, T


def finite_difference(net, X, T, h=1e-6):
    """Central differences of E over every parameter (float64)."""
    grad = np.empty_like(net.params)
    for p in range(net.params.size):
        saved = net.params[p]
        net.params[p] = saved + h
        e_plus = net.gradients(X, T)[0]
        net.params[p] = saved - h
        e_minus = net.gradients(X, T)[0]
        net.params[p] = saved
        grad[p] = (e_plus - e_minus) / (2 * h)
    return grad


@pytest.mark.parametrize("depth", [1, 2, 3])
@pytest.mark.parametrize("hidden", ACTIVATIONS)
@pytest.mark.parametrize("output,loss", OUTPUTS)
def test_gradients_match_finite_differences(depth, hidden, output, loss):
    rng = np.random.default_rng(depth)
    sizes = [3] + [4, 3, 5][:depth] + [2]
    net = nbmlp.MLP(sizes, activation=hidden, output=output, loss=loss, dtype="float64", seed=depth)
    # biases away from zero, so ReLU kinks are not hit by the finite differences
    for b in net.biases:
        b[...] = rng.uniform(0.1, 0.3, b.shape)
    X, T = make_data(net, 5, rng)
    E, dW, db = net.gradients(X, T)
    fd = finite_difference(net, X, T)
    analytic = np.concatenate([np.concatenate([w.ravel(), b]) for w, b in zip(dW, db)])
    np.testing.assert_allclose(analytic, fd, rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("hidden", ["tanh", ["relu", "sigmoid"]])
@pytest.mark.parametrize("output,loss", OUTPUTS)
def test_gradients_match_reference(dtype, hidden, output, loss):
    rng = np.random.default_rng(1)
    sizes = [7, 3, 3] if isinstance(hidden, str) else [7, 3, 5, 3]
    net = nbmlp.MLP(sizes, activation=hidden, output=output, loss=loss, dtype=dtype, seed=3)
    X, T = make_data(net, 5, rng)
    E, dW, db = net.gradients(X, T)
    w64 = [w.astype(np.float64) for w in net.weights]
    b64 = [b.astype(np.float64) for b in net.biases]
    E_ref, dW_ref, db_ref = ref.gradients(w64, b64, net.activations, loss, X.astype(dtype).astype(np.float64), T)
    assert np.isclose(E, E_ref, rtol=1e-4 if dtype == np.float32 else 1e-12)
    for a, b in itertools.chain(zip(dW, dW_ref), zip(db, db_ref)):
        assert a.dtype == dtype
        np.testing.assert_allclose(a, b, **tol(dtype))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("output,loss", [("softmax", "cross_entropy"), ("identity", "squared_error")])
def test_gradients_through_a_narrow_layer(dtype, output, loss):
    # 26 → 4: ∂y of the 26-wide layer sums over only 4 neurons r (a short sum, one panel of i
    # partly past l), the 2-wide output a panel mostly of zeros
    sizes = [3, 26, 4, 2]
    rng = np.random.default_rng(11)
    net = nbmlp.MLP(sizes, activation="tanh", output=output, loss=loss, dtype=dtype, seed=11)
    X, T = make_data(net, 9, rng)
    E, dW, db = net.gradients(X, T)
    w64 = [w.astype(np.float64) for w in net.weights]
    b64 = [b.astype(np.float64) for b in net.biases]
    _, dW_ref, db_ref = ref.gradients(w64, b64, net.activations, loss, X.astype(dtype).astype(np.float64), T)
    for a, b in itertools.chain(zip(dW, dW_ref), zip(db, db_ref)):
        np.testing.assert_allclose(a, b, **tol(dtype))
    if dtype == np.float64:
        analytic = np.concatenate([np.concatenate([w.ravel(), b]) for w, b in zip(dW, db)])
        np.testing.assert_allclose(analytic, finite_difference(net, X, T), rtol=1e-5, atol=1e-7)
