"""The estimators where scikit-learn's own MLP tests look: verbose lines, errors and their wording,
divergence with early stopping, the early-stopping split; and ``trace``/``summary`` of a fitted estimator."""

import io
import re
import warnings

import numpy as np
import pytest
from sklearn.datasets import load_iris
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPRegressor as SkRegressor

import nbmlp
from nbmlp import MLPClassifier, MLPRegressor
from nbmlp.estimators import _epochs

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


def _blobs(n=30, n_features=3, n_classes=3, seed=0):
    rng = np.random.default_rng(seed)
    y = np.arange(n) % n_classes
    X = rng.standard_normal((n, n_features)) + 2.0 * np.eye(n_classes, n_features)[y]
    return X, y


# -- verbose ------------------------------------------------------------------------------------
def test_verbose_prints_scikit_learns_lines_when_not_on_a_terminal(capsys):
    X, y = [[3, 2], [1, 6]], [1, 0]
    clf = MLPClassifier(solver="sgd", max_iter=2, verbose=10, hidden_layer_sizes=2)
    clf.fit(X, y)
    clf.partial_fit(X, y)
    out = capsys.readouterr().out
    assert re.findall(r"^Iteration (\d+), loss = \d+\.\d{8}$", out, re.M) == ["1", "2", "1"]


def test_verbose_true_on_a_file_and_early_stopping_lines(capsys):
    X, y = _blobs()
    MLPClassifier((4,), max_iter=3, random_state=0, verbose=True, early_stopping=True, validation_fraction=0.3).fit(
        X, y
    )
    out = capsys.readouterr()
    lines = out.out.splitlines()
    assert lines[0].startswith("Iteration 1, loss = ") and re.fullmatch(r"Validation score: \d\.\d{6}", lines[1])
    assert "\r" not in out.out + out.err  # no progress bar redraws in a log


def test_verbose_bar_only_on_a_terminal_and_lines_for_verbose_2(monkeypatch, capsys):
    pytest.importorskip("tqdm")
    monkeypatch.setattr(_epochs, "_terminal", lambda stream: True)
    X, y = _blobs()
    assert MLPClassifier(verbose=True)._progress_bar() and MLPClassifier(verbose=1)._progress_bar()
    assert not MLPClassifier(verbose=2)._progress_bar() and not MLPClassifier(verbose=False)._progress_bar()
    MLPClassifier((4,), max_iter=2, random_state=0, verbose=2).fit(X, y)
    assert "Iteration 2, loss" in capsys.readouterr().out
    monkeypatch.setattr(_epochs, "tqdm", None)
    assert not MLPClassifier(verbose=True)._progress_bar()


# -- errors ---------------------------------------------------------------------------------------
SK_NON_FINITE = (
    "Solver produced non-finite parameter weights. The input data may contain large values and need to be preprocessed."
)


@pytest.mark.parametrize("solver", ["adam", "lbfgs"])
def test_non_finite_weights_raise_a_value_error_with_scikit_learns_sentence(solver):
    rng = np.random.RandomState(0)
    X = np.finfo(np.float64).max * rng.uniform(size=(10, 2))
    y = rng.standard_normal(10)
    est = MLPRegressor(solver=solver, random_state=0)
    with pytest.raises(ValueError, match=re.escape(SK_NON_FINITE)) as info, warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        est.fit(X, y)
    assert isinstance(info.value, nbmlp.DivergenceError) and isinstance(info.value, FloatingPointError)


def test_warm_start_message_prints_classes_as_numpy_does():
    X, _ = _blobs(30)
    y = np.arange(30) % 3
    clf = MLPClassifier((2,), solver="lbfgs", warm_start=True, random_state=0, max_iter=5).fit(X, y)
    y4 = np.arange(30) % 4
    msg = (
        "warm_start can only be used where `y` has the same classes as in the previous call to fit. "
        "Previously got [0 1 2], `y` has [0 1 2 3]"
    )
    with pytest.raises(ValueError, match=re.escape(msg)):
        clf.fit(X, y4)


def test_early_stopping_split_errors_name_the_users_classes():
    X = [[1, 2], [2, 3], [3, 4], [4, 5]]
    with pytest.raises(ValueError, match=r"Classes with too few members are: \['True'\]"):
        MLPClassifier(early_stopping=True).fit(X, [0, 0, 0, 1])  # binary: scikit-learn's booleans
    X6 = [[i, i + 1] for i in range(7)]
    with pytest.raises(ValueError, match=r"Classes with too few members are: \['c'\]"):
        MLPClassifier(early_stopping=True).fit(X6, ["a", "a", "a", "b", "b", "b", "c"])


# -- divergence with early stopping ---------------------------------------------------------------
def _diverging_regressor(**kw):
    return MLPRegressor(
        hidden_layer_sizes=100,
        activation="identity",
        solver="sgd",
        learning_rate_init=1,
        max_iter=20,
        early_stopping=True,
        n_iter_no_change=10,
        random_state=0,
        **kw,
    )


def test_divergence_with_early_stopping_records_nan_warns_and_keeps_the_best(tmp_path):
    X, y = load_iris(return_X_y=True)
    seen = {}

    def keep(est, record):
        seen[record["epoch"]] = [c.copy() for c in est.coefs_]

    mlp = _diverging_regressor(callbacks=[keep])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        mlp.fit(X, y)
    diverged = [w for w in caught if issubclass(w.category, nbmlp.DivergenceWarning)]
    assert len(diverged) == 1 and issubclass(nbmlp.DivergenceWarning, ConvergenceWarning)
    assert "diverged in epoch" in str(diverged[0].message) and "are kept" in str(diverged[0].message)
    scores = mlp.validation_scores_
    # the diverged epoch's score is NaN, as an epoch whose outputs overflowed
    assert isinstance(scores[-1], float) and np.isnan(scores[-1]) and np.isfinite(scores[0])
    assert mlp.n_iter_ == len(scores) == len(mlp.loss_curve_) < 20  # stopped at the divergence
    assert not np.isfinite(mlp.loss_curve_[-1]) and np.isfinite(mlp.loss_)
    assert all(np.isfinite(c).all() for c in mlp.coefs_)
    best = int(np.nanargmax(scores)) + 1
    for w, ref in zip(mlp.coefs_, seen[best]):
        np.testing.assert_array_equal(w, ref)
    path = tmp_path / "diverged.npz"
    mlp.save(path)
    back = nbmlp.load(path)
    np.testing.assert_array_equal(back.validation_scores_, scores)


def test_divergence_without_early_stopping_still_raises():
    X, y = load_iris(return_X_y=True)
    mlp = _diverging_regressor().set_params(early_stopping=False)
    with pytest.raises(nbmlp.DivergenceError, match="diverged in epoch"):
        mlp.fit(X, y)


# -- the early-stopping split ---------------------------------------------------------------------
def test_initial_weights_and_validation_rows_are_scikit_learns_for_the_same_random_state():
    """scikit-learn draws the weights from random_state's generator, then splits with it."""
    from sklearn.utils import check_random_state

    rng = np.random.default_rng(1)
    X, y = rng.standard_normal((50, 3)), rng.standard_normal(50)
    ours = MLPRegressor((5, 4), early_stopping=True, validation_fraction=0.2, random_state=7)
    plan = ours._check_fit_input(X, y, None, False, None)
    sk = SkRegressor((5, 4), early_stopping=True, random_state=7)
    sk._random_state = check_random_state(7)
    sk.n_outputs_ = 1
    sk._initialize(y.reshape(-1, 1), [3, 5, 4, 1], np.float64)
    _, idx_val = train_test_split(np.arange(50), random_state=sk._random_state, test_size=0.2)
    for a, b in zip(plan.initial, [a for pair in zip(sk.coefs_, sk.intercepts_) for a in pair]):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(plan.X_val, X[idx_val])


# -- trace and summary ----------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_classifier_trace_is_the_networks_with_labels_encoded(dtype):
    X, y = _blobs(21, 3, 3)
    labels = np.array(["ant", "bee", "cat"])[y]
    clf = MLPClassifier((4,), max_iter=3, random_state=0).fit(X.astype(dtype), labels)
    t = clf.trace(X.astype(dtype), labels)
    ref = clf._network(dtype).trace(X.astype(dtype), np.eye(3, dtype=dtype)[y])
    assert set(t) == {"loss", "e", "x", "t", "layers"} and len(t["layers"]) == 2
    np.testing.assert_array_equal(t["t"], np.eye(3)[y])
    np.testing.assert_allclose(t["layers"][-1]["y"], clf.predict_proba(X.astype(dtype)), rtol=1e-5)
    assert t["layers"][0]["dw"].dtype == dtype
    for a, b in zip(t["layers"], ref["layers"]):
        np.testing.assert_array_equal(a["dw"], b["dw"])
    with pytest.raises(ValueError, match="not in classes_"):
        clf.trace(X, np.array(["ant"] * 20 + ["dog"]))
    with pytest.raises(ValueError, match="y: 3 labels for 21 rows"):
        clf.trace(X, labels[:3])


def test_regressor_and_binary_trace():
    X, y = _blobs(20, 3, 2)
    reg = MLPRegressor((3,), max_iter=2, random_state=0).fit(X, X[:, :2])
    t = reg.trace(X, X[:, :2])
    np.testing.assert_allclose(t["layers"][-1]["y"], reg.predict(X), rtol=1e-12)
    np.testing.assert_allclose(t["layers"][-1]["delta"], reg.predict(X) - X[:, :2], rtol=1e-9, atol=1e-12)
    with pytest.raises(ValueError, match="expected"):
        reg.trace(X, X[:, 0])
    clf = MLPClassifier((3,), max_iter=2, random_state=0).fit(X, y)
    t = clf.trace(X, y)
    assert t["t"].shape == (20, 1)
    np.testing.assert_allclose(t["layers"][-1]["delta"], clf.predict_proba(X)[:, 1:] - y[:, None], atol=1e-12)


def test_summary_returns_what_it_prints(capsys):
    X, y = _blobs()
    clf = MLPClassifier((4,), max_iter=2, random_state=0).fit(X, y)
    text = clf.summary()
    assert capsys.readouterr().out == text + "\n"
    assert text.startswith("MLPClassifier") and "Solver: adam" in text
    buffer = io.StringIO()
    assert clf.summary(file=buffer) == text and buffer.getvalue() == text + "\n"
