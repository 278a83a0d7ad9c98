"""nbmlp.MLPClassifier / MLPRegressor: scikit-learn's formulas, training control, persistence."""
import pickle
import warnings

import numpy as np
import pytest
from sklearn.datasets import load_diabetes, load_digits, load_iris
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPClassifier as SkClassifier
from sklearn.neural_network import MLPRegressor as SkRegressor

import nbmlp
from nbmlp import MLPClassifier, MLPRegressor

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


def _blobs(n=60, n_features=4, n_classes=3, seed=0):
    rng = np.random.default_rng(seed)
    y = np.arange(n) % n_classes
    X = rng.standard_normal((n, n_features)) + 2.0 * np.eye(n_classes, n_features)[y]
    return X, y


def _start_like(ours, sk, X, y, **kw):
    """Fit both for one epoch, then give scikit-learn nbmlp's weights."""
    ours.fit(X, y, **kw)
    sk.fit(X, y, **kw)
    sk.coefs_ = [c.astype(np.float64).copy() for c in ours.coefs_]
    sk.intercepts_ = [b.astype(np.float64).copy() for b in ours.intercepts_]


CASES = [
    dict(solver="sgd", momentum=0.0, learning_rate="constant"),
    dict(solver="sgd", momentum=0.9, nesterovs_momentum=False, learning_rate="constant"),
    dict(solver="sgd", momentum=0.9, nesterovs_momentum=True, learning_rate="invscaling", power_t=0.25),
    dict(solver="sgd", momentum=0.5, learning_rate="adaptive", tol=0.5, n_iter_no_change=1),
    dict(solver="adam"),
]


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("task", ["multiclass", "binary", "multilabel", "regression"])
@pytest.mark.parametrize("weighted", [False, True])
def test_steps_match_scikit_learn(case, task, weighted):
    """Same start, same batch order (no shuffle): nbmlp's steps are scikit-learn's in float64."""
    X, y = _blobs(23, 4, 3)
    if task == "binary":
        y = y % 2
    elif task == "multilabel":
        y = np.stack([y == 0, y != 1], axis=1).astype(int)
    elif task == "regression":
        y = np.stack([X[:, 0] - X[:, 1], X[:, 2] * 0.5], axis=1)
    kw = dict(hidden_layer_sizes=(5, 4), activation="tanh", alpha=0.01, batch_size=7,
              learning_rate_init=0.05, shuffle=False, max_iter=1, random_state=0, **case)
    ours_cls, sk_cls = (MLPRegressor, SkRegressor) if task == "regression" else (MLPClassifier, SkClassifier)
    ours, sk = ours_cls(dtype="float64", **kw), sk_cls(**kw)
    fit_kw = {"sample_weight": np.random.default_rng(1).uniform(0.2, 2, len(X))} if weighted else {}
    _start_like(ours, sk, X, y, **fit_kw)
    ours.set_params(warm_start=True, max_iter=6)
    sk.set_params(warm_start=True, max_iter=6)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        ours.fit(X, y, **fit_kw)
        sk.fit(X, y, **fit_kw)
    assert ours.n_iter_ == sk.n_iter_ and ours.t_ == sk.t_
    np.testing.assert_allclose(ours.loss_curve_, sk.loss_curve_, rtol=1e-9)
    for a, b in zip(ours.coefs_ + ours.intercepts_, sk.coefs_ + sk.intercepts_):
        np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-12)


def test_one_sgd_epoch_equals_core_fit():
    X, y = _blobs(41, 5, 3)
    est = MLPClassifier((6,), activation="tanh", solver="sgd", momentum=0, alpha=0, batch_size=8,
                        learning_rate_init=0.1, shuffle=False, max_iter=1, random_state=3)
    est.fit(X, y)
    net = nbmlp.MLP([5, 6, 3], activation="tanh", output="softmax", seed=0)
    for w, b, c, i in zip(net.weights, net.biases, est.coefs_, est.intercepts_):
        w[...], b[...] = c, i
    hist = net.fit(X, y, epochs=1, batch_size=8, lr=0.1, shuffle=False)
    est.set_params(warm_start=True).fit(X, y)
    assert est.loss_ == pytest.approx(hist[0], rel=1e-12)
    for a, b in zip(est.coefs_ + est.intercepts_, net.weights + net.biases):
        np.testing.assert_array_equal(a, b)


def _mean_scores(ours_cls, sk_cls, X, y, seeds, **kw):
    ours, sk = [], []
    for seed in seeds:
        Xtr, Xte, ytr, yte = train_test_split(X, y, random_state=seed, test_size=0.25)
        ours.append(ours_cls(random_state=seed, **kw).fit(Xtr, ytr).score(Xte, yte))
        sk.append(sk_cls(random_state=seed, **kw).fit(Xtr, ytr).score(Xte, yte))
    return np.mean(ours), np.mean(sk)


@pytest.mark.parametrize("solver", ["adam", "sgd"])
def test_digits_accuracy_close_to_scikit_learn(solver):
    X, y = load_digits(return_X_y=True)
    ours, sk = _mean_scores(MLPClassifier, SkClassifier, X / 16, y, range(3), hidden_layer_sizes=(64,),
                            solver=solver, learning_rate_init=0.01 if solver == "adam" else 0.1, max_iter=40)
    assert ours > 0.9 and abs(ours - sk) <= 0.01


def test_iris_accuracy_close_to_scikit_learn():
    X, y = load_iris(return_X_y=True)
    X = (X - X.mean(0)) / X.std(0)
    ours, sk = _mean_scores(MLPClassifier, SkClassifier, X, y, range(5), hidden_layer_sizes=(16,),
                            learning_rate_init=0.01, max_iter=300)
    assert ours > 0.85 and abs(ours - sk) <= 0.01 + 1e-12


def test_diabetes_r2_close_to_scikit_learn():
    X, y = load_diabetes(return_X_y=True)
    X = (X - X.mean(0)) / X.std(0)
    ours, sk = _mean_scores(MLPRegressor, SkRegressor, X, y / y.std(), range(5), hidden_layer_sizes=(16,),
                            solver="sgd", learning_rate_init=0.01, alpha=1.0, max_iter=50)
    assert ours > 0.3 and abs(ours - sk) <= 0.01 + 1e-12
