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


@pytest.mark.parametrize(
    "kwargs,exc,match",
    [
        (dict(lr=0), ValueError, "lr"),
        (dict(lr=-1), ValueError, "lr"),
        (dict(lr=float("nan")), ValueError, "lr"),
        (dict(lr="fast"), TypeError, "lr"),
        (dict(batch_size=0), ValueError, "batch_size"),
        (dict(batch_size=2.5), TypeError, "batch_size"),
        (dict(epochs=-1), ValueError, "epochs"),
        (dict(epochs=1.0), TypeError, "epochs"),
        (dict(shuffle="yes"), TypeError, "shuffle"),
    ],
)
def test_bad_fit_arguments(net, kwargs, exc, match):
    def call():
        with pytest.raises(exc, match=match):
            net.fit(X, y, **kwargs)

    unchanged(net, call)


@pytest.mark.parametrize(
    "Xbad,exc,match",
    [
        (X[0], ValueError, "X must be 2-D"),
        (X[None], ValueError, "X must be 2-D"),
        (X[:, :3], ValueError, "X has 3 features but the network takes 4"),
        (np.where(X > 1, np.nan, X), ValueError, "X contains NaN"),
        (np.where(X > 1, np.inf, X), ValueError, "X contains NaN or inf"),
        (X.astype(str), TypeError, "X must hold numbers"),
        (X.astype(object), TypeError, "X must hold numbers"),
        (X + 1j, TypeError, "X must hold real numbers"),
        (X[:0], ValueError, "X has no rows"),
    ],
)
def test_bad_X(net, Xbad, exc, match):
    for call in (
        lambda: net.fit(Xbad, y),
        lambda: net.forward(Xbad),
        lambda: net.gradients(Xbad, y),
        lambda: net.predict(Xbad),
    ):

        def checked():
            with pytest.raises(exc, match=match):
                call()

        unchanged(net, checked)


@pytest.mark.parametrize(
    "Tbad,exc,match",
    [
        (y[:9], ValueError, "X has 10 rows but T has 9"),
        (np.eye(3)[y][:, :2], ValueError, "T has 2 columns"),
        (np.where(np.eye(3)[y] > 0, np.nan, 0), ValueError, "T contains NaN"),
        (np.where(np.eye(3)[y] > 0, np.inf, 0), ValueError, "T contains NaN"),
        (y + 5, ValueError, "class labels must lie in 0..2"),
        (y + 0.5, TypeError, "integer class labels"),
        (np.eye(3)[y].astype(str), TypeError, "T must hold numbers"),
    ],
)
def test_bad_T(net, Tbad, exc, match):
    for call in (lambda: net.fit(X, Tbad), lambda: net.gradients(X, Tbad)):

        def checked():
            with pytest.raises(exc, match=match):
                call()

        unchanged(net, checked)


@pytest.mark.parametrize(
    "kwargs,exc,match",
    [
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
    ],
)
def test_bad_constructor_arguments(kwargs, exc, match):
    with pytest.raises(exc, match=match):
        nbmlp.MLP([4, 5, 6, 3], **kwargs)


@pytest.mark.parametrize(
    "layers,exc",
    [([4], ValueError), ([4, 0, 3], ValueError), ("abc", TypeError), ([4, 2.5, 3], ValueError), (None, TypeError)],
)
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


# -- errors that name the argument (huge seeds, values beyond float32, pandas missing values) ----
def test_huge_integer_seed_is_a_seed():
    a, b = nbmlp.MLP([4, 3], seed=2**70), nbmlp.MLP([4, 3], seed=2**70)
    np.testing.assert_array_equal(a.params, b.params)


def test_values_beyond_float32_name_the_argument(net):
    T = np.eye(3)[y]
    for call, match in [
        (lambda: net.fit(X * 1e300, T, epochs=1), "X has values too large for float32"),
        (lambda: net.fit(X, T * 1e300, epochs=1), "T has values too large for float32"),
        (lambda: net.forward(X * 1e300), "X has values too large for float32"),
    ]:

        def check(call=call, match=match):
            with pytest.raises(ValueError, match=match):
                call()

        unchanged(net, check)
    with pytest.raises(ValueError, match="X contains NaN or infinity"):
        net.forward(X * np.inf)


def test_estimator_random_state_and_sample_weight_are_named():
    from nbmlp import MLPClassifier

    clf = MLPClassifier((3,), max_iter=2, random_state=0, dtype="float32").fit(X, y)
    before = [c.copy() for c in clf.coefs_]
    with pytest.raises(ValueError, match="random_state must be in"):
        clf.set_params(random_state=2**70).fit(X, y)
    with pytest.raises(TypeError, match="random_state must be None"):
        clf.set_params(random_state="seven").fit(X, y)
    with pytest.raises(ValueError, match="sample_weight has values too large for float32"):
        clf.set_params(random_state=0).fit(X, y, sample_weight=np.full(len(y), 1e300))
    for a, b in zip(before, clf.coefs_):
        np.testing.assert_array_equal(a, b)


def test_pandas_nullable_columns():
    pd = pytest.importorskip("pandas")
    from nbmlp import MLPClassifier

    frame = pd.DataFrame({"a": pd.array(range(10), dtype="Int64"), "b": pd.array(X[:, 0], dtype="Float64")})
    net = nbmlp.MLP([2, 3], seed=0)
    net.fit(frame, np.eye(3)[y], epochs=1)  # nullable columns without missing values are numbers
    frame.loc[3, "a"] = pd.NA
    with pytest.raises(ValueError, match="X contains NaN"):
        net.fit(frame, np.eye(3)[y], epochs=1)
    labels = pd.Series(pd.array(["p", "q"] * 5, dtype="string"))
    labels[0] = pd.NA
    with pytest.raises(ValueError, match="y contains missing values"):
        MLPClassifier((3,), max_iter=1).fit(X, labels)
