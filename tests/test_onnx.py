"""``to_onnx``: onnxruntime runs the exported graph with the network's outputs, to float32
rounding (skipped when onnx or onnxruntime is not installed)."""

import warnings

import numpy as np
import pytest

import nbmlp

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")


def _run(model, X):
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    return session.run(["y"], {"X": X.astype(np.float32)})[0]


@pytest.mark.parametrize("output", ["softmax", "sigmoid", "identity"])
def test_every_activation_runs_as_the_network(output, tmp_path):
    rng = np.random.default_rng(0)
    X = rng.standard_normal((31, 6)).astype(np.float32)
    acts = ["identity", "sigmoid", "tanh", "relu", "leaky_relu", "gelu", "gelu_tanh", "silu"]
    net = nbmlp.MLP([6] + [9] * len(acts) + [4], activation=acts, output=output, seed=3, dropout=0.5)
    path = tmp_path / "net.onnx"
    model = net.to_onnx(path)
    ops = [n.op_type for n in model.graph.node]
    assert ops.count("MatMul") == len(acts) + 1 and "Gelu" in ops and "Dropout" not in ops
    np.testing.assert_allclose(_run(onnx.load(path), X), net.forward(X), rtol=1e-5, atol=1e-6)


def test_estimators_export_their_predictions():
    rng = np.random.default_rng(1)
    X = rng.standard_normal((60, 5))
    y = rng.integers(0, 3, 60)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        clf = nbmlp.MLPClassifier((8,), activation="silu", max_iter=5, random_state=0, dtype="float64").fit(X, y)
        reg = nbmlp.MLPRegressor((8,), max_iter=5, random_state=0).fit(X, X[:, 0])
    P = _run(clf.to_onnx(), X)
    np.testing.assert_allclose(P, clf.predict_proba(X), rtol=1e-5, atol=1e-6)
    assert np.array_equal(clf.classes_[P.argmax(axis=1)], clf.predict(X))
    np.testing.assert_allclose(_run(reg.to_onnx(), X)[:, 0], reg.predict(X), rtol=1e-5, atol=1e-6)
