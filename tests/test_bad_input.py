"""Bad input raises ValueError/TypeError naming the argument; the network is left unchanged."""
import numpy as np
import pytest

import nbmlp

X = np.random.default_rng(0).standard_normal((10, 4))
y = np.arange(10) % 3


@pytest.fixture
def net():
    return nbmlp.MLP([4, 5, 3], seed=0)


def unchanged(net, call):
    before, rng = net.params.copy(), net._rng.copy()
    call()
    assert net.params.tobytes() == before.tobytes()
    assert net._rng.tobytes() == rng.tobytes()


@pytest.mark.parametrize("kwargs,exc,match", [
    (dict(lr=0), ValueError, "lr"),
    (dict(lr=-1), ValueError, "lr"),
    (dict(lr=float("nan")), ValueError, "lr"),
    (dict(lr="fast"), TypeError, "lr"),
    (dict(batch_size=0), ValueError, "batch_size"),
    (dict(batch_size=2.5), TypeError, "batch_size"),
    (dict(epochs=-1), ValueError, "epochs"),
    (dict(epochs=1.0), TypeError, "epochs"),
    (dict(shuffle="yes"), TypeError, "shuffle"),
])
def test_bad_fit_arguments(net, kwargs, exc, match):
    def call():
        with pytest.raises(exc, match=match):
            net.fit(X, y, **kwargs)
    unchanged(net, call)


@pytest.mark.parametrize("Xbad,exc,match", [
    (X[0], ValueError, "X must be 2-D"),
    (X[None], ValueError, "X must be 2-D"),
    (X[:, :3], ValueError, "X has 3 features but the network takes 4"),
    (np.where(X > 1, np.nan, X), ValueError, "X contains NaN"),
    (np.where(X > 1, np.inf, X), ValueError, "X contains NaN or inf"),
    (X.astype(str), TypeError, "X must hold numbers"),
    (X.astype(object), TypeError, "X must hold numbers"),
    (X + 1j, TypeError, "X must hold real numbers"),
    (X[:0], ValueError, "X has no rows"),
])
def test_bad_X(net, Xbad, exc, match):
    for call in (lambda: net.fit(Xbad, y), lambda: net.forward(Xbad), lambda: net.gradients(Xbad, y),
                 lambda: net.predict(Xbad)):
        def checked():
            with pytest.raises(exc, match=match):
                call()
        unchanged(net, checked)


@pytest.mark.parametrize("Tbad,exc,match", [
    (y[:9], ValueError, "X has 10 rows but T has 9"),
    (np.eye(3)[y][:, :2], ValueError, "T has 2 columns"),
    (np.where(np.eye(3)[y] > 0, np.nan, 0), ValueError, "T contains NaN"),
    (np.where(np.eye(3)[y] > 0, np.inf, 0), ValueError, "T contains NaN"),
    (y + 5, ValueError, "class labels must lie in 0..2"),
    (y + 0.5, TypeError, "integer class labels"),
    (np.eye(3)[y].astype(str), TypeError, "T must hold numbers"),
])
def test_bad_T(net, Tbad, exc, match):
    for call in (lambda: net.fit(X, Tbad), lambda: net.gradients(X, Tbad)):
        def checked():
            with pytest.raises(exc, match=match):
                call()
        unchanged(net, checked)


@pytest.mark.parametrize("kwargs,exc,match", [
    (dict(activation="swish"), ValueError, "activation: unknown activation 'swish'"),
    (dict(activation=["relu"]), ValueError, "activation: 1 names for 2 hidden layers"),
    (dict(activation="softmax"), ValueError, "activation"),
    (dict(activation=3), TypeError, "activation"),
    (dict(output="gelu"), ValueError, "output: unknown activation"),
    (dict(loss="hinge"), ValueError, "loss: unknown loss 'hinge'"),
    (dict(output="softmax", loss="squared_error"), ValueError, "softmax output needs loss='cross_entropy'"),
    (dict(output="identity", loss="cross_entropy"), ValueError, "needs output='softmax'"),
    (dict(output="tanh", loss="binary_cross_entropy"), ValueError, "needs output='sigmoid'"),
    (dict(dtype="float16"), TypeError, "dtype"),
    (dict(dtype="int32"), TypeError, "dtype"),
    (dict(dtype="nonsense"), TypeError, "dtype"),
    (dict(seed=-1), ValueError, "seed"),
    (dict(seed="a"), TypeError, "seed"),
])
def test_bad_constructor_arguments(kwargs, exc, match):
    with pytest.raises(exc, match=match):
        nbmlp.MLP([4, 5, 6, 3], **kwargs)


@pytest.mark.parametrize("layers,exc", [([4], ValueError), ([4, 0, 3], ValueError), ("abc", TypeError),
                                         ([4, 2.5, 3], ValueError), (None, TypeError)])
def test_bad_layers(layers, exc):
    with pytest.raises(exc, match="layers"):
        nbmlp.MLP(layers)


@pytest.mark.parametrize("n,exc", [(0, ValueError), (10**6, ValueError), (1.5, TypeError)])
def test_bad_thread_count(n, exc):
    with pytest.raises(exc, match="n must"):
        nbmlp.set_num_threads(n)


def test_integer_and_bool_inputs_are_accepted(net):
    assert net.forward(np.ones((2, 4), dtype=np.int64)).shape == (2, 3)
    assert net.forward(np.ones((2, 4), dtype=bool)).shape == (2, 3)
    assert net.forward([[1, 2, 3, 4]]).shape == (1, 3)
