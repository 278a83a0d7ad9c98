"""``MLP.trace``: the quantities of the derivation, by name, from the compiled passes."""

import numpy as np
import pytest
from conftest import DTYPES
from test_gradients import OUTPUTS, make_data
from test_hand import T as T_HAND
from test_hand import X as X_HAND
from test_hand import hand_net

import nbmlp

KEYS = {"w", "b", "u", "y", "mask", "delta", "dy", "dw", "db"}  # mask: None without dropout


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize(
    "sizes,hidden", [([3, 2], "tanh"), ([7, 3, 5], "relu"), ([3, 4, 3, 2], ["sigmoid", "leaky_relu"])]
)
@pytest.mark.parametrize("output,loss", OUTPUTS)
def test_trace_matches_gradients_and_forward(sizes, hidden, output, loss, dtype):
    rng = np.random.default_rng(len(sizes))
    net = nbmlp.MLP(sizes, activation=hidden, output=output, loss=loss, dtype=dtype, seed=2)
    for b in net.biases:
        b[...] = rng.uniform(-0.3, 0.3, b.shape)
    X, T = make_data(net, 5, rng)
    before = net.params.copy()
    tr = net.trace(X, T)
    np.testing.assert_array_equal(net.params, before)  # the network is not changed
    E, dW, db = net.gradients(X, T)
    assert tr["loss"] == E
    assert tr["e"].shape == (5,) and np.isclose(tr["e"].mean(), E, rtol=1e-5)
    np.testing.assert_array_equal(tr["layers"][-1]["y"], net.forward(X))
    assert len(tr["layers"]) == len(sizes) - 1
    for L, layer in enumerate(tr["layers"]):
        l, m = sizes[L], sizes[L + 1]
        assert set(layer) == KEYS and layer["mask"] is None
        for key, shape in (
            ("u", (5, m)),
            ("y", (5, m)),
            ("delta", (5, m)),
            ("dy", (5, l)),
            ("w", (l, m)),
            ("b", (m,)),
            ("dw", (l, m)),
            ("db", (m,)),
        ):
            assert layer[key].shape == shape and layer[key].dtype == dtype, key
        np.testing.assert_array_equal(layer["dw"], dW[L])
        np.testing.assert_array_equal(layer["db"], db[L])
        np.testing.assert_array_equal(layer["w"], net.weights[L])
        # the names mean what the docstring says: u = y_in w + b, dw = (1/N) Σ_s y_s δ_s,
        # db = (1/N) Σ_s δ_s, dy = δ wᵀ (NumPy references, in float64)
        y_in = (tr["x"] if L == 0 else tr["layers"][L - 1]["y"]).astype(np.float64)
        delta, w = layer["delta"].astype(np.float64), layer["w"].astype(np.float64)
        tol = dict(rtol=1e-4, atol=1e-5) if dtype == np.float32 else dict(rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(layer["u"], y_in @ w + layer["b"], **tol)
        np.testing.assert_allclose(layer["dw"], y_in.T @ delta / 5, **tol)
        np.testing.assert_allclose(layer["db"], delta.mean(axis=0), **tol)
        np.testing.assert_allclose(layer["dy"], delta @ w.T, **tol)


@pytest.mark.parametrize("dtype", DTYPES)
def test_softmax_cross_entropy_output_delta_is_y_minus_t(dtype):
    rng = np.random.default_rng(0)
    net = nbmlp.MLP([4, 6, 3], activation="tanh", output="softmax", dtype=dtype, seed=1)
    X, labels = rng.standard_normal((7, 4)), rng.integers(0, 3, 7)
    tr = net.trace(X, labels)
    out = tr["layers"][-1]
    t = np.eye(3, dtype=dtype)[labels]
    np.testing.assert_array_equal(tr["t"], t)
    # per sample: δ_k = y_k − t_k exactly, without the 1/N of the mean
    np.testing.assert_array_equal(out["delta"], out["y"] - t)
    np.testing.assert_allclose(
        out["db"],
        (out["y"] - t).astype(np.float64).mean(axis=0),
        rtol=1e-5 if dtype == np.float32 else 1e-12,
        atol=1e-7,
    )


def test_input_gradient_is_the_derivative_of_each_samples_error():
    """``dy`` of layer 0 is ∂E_s/∂x_s: the derivative of the mean E is dy / N (central differences)."""
    rng = np.random.default_rng(3)
    net = nbmlp.MLP(
        [3, 4, 2], activation="tanh", output="sigmoid", loss="binary_cross_entropy", dtype="float64", seed=0
    )
    X, T = rng.standard_normal((4, 3)), rng.integers(0, 2, (4, 2)).astype(float)
    dy = net.trace(X, T)["layers"][0]["dy"]
    h = 1e-6
    for s in range(4):
        for i in range(3):
            Xp, Xm = X.copy(), X.copy()
            Xp[s, i] += h
            Xm[s, i] -= h
            fd = (net.gradients(Xp, T)[0] - net.gradients(Xm, T)[0]) / (2 * h)
            assert abs(fd - dy[s, i] / 4) < 1e-7


def test_hand_computed_2_2_1_network():
    """The numbers worked out by hand in ``test_hand.py``'s docstring, read from trace."""
    tr = hand_net().trace(X_HAND, T_HAND)
    hid, out = tr["layers"]
    a = dict(atol=1e-10)
    np.testing.assert_allclose(hid["u"], [[0.5, 0.0]], **a)
    np.testing.assert_allclose(hid["y"], [[0.6224593312, 0.5]], **a)
    np.testing.assert_allclose(out["u"], [[0.6224593312]], **a)
    np.testing.assert_allclose(out["y"], [[0.6507776782]], **a)
    assert abs(tr["loss"] - 0.0609781150) < 1e-10
    np.testing.assert_allclose(out["delta"], [[-0.0793663922]], **a)
    np.testing.assert_allclose(out["dw"], [[-0.0494023514], [-0.0396831961]], **a)
    np.testing.assert_allclose(out["db"], [-0.0793663922], **a)
    np.testing.assert_allclose(out["dy"], [[-0.0793663922, 0.0793663922]], **a)
    np.testing.assert_allclose(hid["delta"], [[-0.0186513968, 0.0198415981]], **a)
    np.testing.assert_allclose(hid["dw"], [[-0.0186513968, 0.0198415981], [0.0, 0.0]], **a)
    np.testing.assert_allclose(hid["db"], [-0.0186513968, 0.0198415981], **a)
    # ∂y of the inputs: Σ_j δ_j w_ij = (−0.0186513968·0.5 + 0.0198415981·1, −0.0186513968·(−0.5) + 0.0198415981·2)
    np.testing.assert_allclose(hid["dy"], [[0.0105158997, 0.0490088946]], **a)


def test_trace_checks_its_input_and_leaves_the_network_alone():
    net = nbmlp.MLP([2, 3, 2], activation="relu", output="softmax", seed=0)
    before = net.params.copy()
    with pytest.raises(ValueError, match="X has 3 features"):
        net.trace(np.zeros((2, 3)), [0, 1])
    with pytest.raises(ValueError, match="T"):
        net.trace(np.zeros((2, 2)), [0, 5])
    np.testing.assert_array_equal(net.params, before)


def test_serial_passes_is_below_the_parallel_threshold():
    from nbmlp.kernels.dense import PARALLEL_MIN_MACS
    from nbmlp.kernels.passes import serial_passes

    n = PARALLEL_MIN_MACS // (64 * 32)  # the first layer's N · l · m reaches the threshold at n
    assert serial_passes([64, 32, 10], n - 1)
    assert not serial_passes([64, 32, 10], n)
    assert not serial_passes([10, 32, 64 * 64], n // 2)  # the last layer decides here


SMALL_TRACE = """
import json, numpy as np, nbmlp
from test_cache import _kernel_dispatchers
X, y = np.random.default_rng(0).random((8, 64)), np.arange(8) % 10
net = nbmlp.MLP([64, 32, 10], activation="tanh", output="softmax", seed=0)
net.trace(X, y)
net.forward(X)
print(json.dumps({name: len(d.signatures) for name, d in _kernel_dispatchers()}))
"""


def test_a_small_trace_and_forward_compile_no_parallel_kernel(tmp_path):
    # a first trace and forward on a few rows need only the serial kernels: the parallel ones (most of the
    # compile time) stay uncompiled; run in a child with an empty cache of its own
    import json
    import os
    import subprocess
    import sys

    env = dict(os.environ, NUMBA_CACHE_DIR=str(tmp_path))
    tests = os.path.dirname(os.path.abspath(__file__))
    out = subprocess.run([sys.executable, "-c", SMALL_TRACE], env=env, cwd=tests, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr[-2000:]
    compiled = json.loads(out.stdout.strip().splitlines()[-1])
    for step in ("forward", "backward_dy", "backward_dw"):
        assert compiled[f"nbmlp.kernels.dense.dense_{step}_parallel"] == 0, step
        assert compiled[f"nbmlp.kernels.dense.dense_{step}_serial"] == 1, step
    assert compiled["nbmlp.kernels.passes.forward_pass_serial"] == 1
    assert compiled["nbmlp.kernels.passes.forward_pass"] == 0


def test_a_float32_trace_with_dropout_stays_float32():
    net = nbmlp.MLP([7, 13, 3], activation="tanh", dtype="float32", seed=2, dropout=[0.3])
    X, y = np.random.default_rng(4).standard_normal((9, 7)).astype(np.float32), np.arange(9) % 3
    tr = net.trace(X, y)
    for layer in tr["layers"]:
        assert layer["dw"].dtype == np.float32 and np.isfinite(layer["dw"]).all()
    assert tr["layers"][0]["mask"] is not None


def test_forward_of_a_few_rows_has_the_bits_of_a_parallel_forward():
    # N · 64 · 64 ≥ PARALLEL_MIN_MACS: the first layer's step runs on the threads; 5 rows run the
    # passes compiled without the parallel kernels (serial_passes), with the same bits per row
    net = nbmlp.MLP([64, 64, 10], activation="relu", seed=0)
    X = np.random.default_rng(1).random((100, 64))
    assert not nbmlp.kernels.passes.serial_passes(net.layers, 100)
    assert nbmlp.kernels.passes.serial_passes(net.layers, 5)
    np.testing.assert_array_equal(net.forward(X[:5]), net.forward(X)[:5])
