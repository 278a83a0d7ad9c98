"""The estimators behave as scikit-learn's where a user swapping the import would notice."""

import warnings

import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning

from nbmlp import MLPClassifier, MLPRegressor

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


def _blobs(n=30, n_features=3, n_classes=3, seed=0):
    rng = np.random.default_rng(seed)
    y = np.arange(n) % n_classes
    X = rng.standard_normal((n, n_features)) + 2.0 * np.eye(n_classes, n_features)[y]
    return X, y


def _same_weights(est, before):
    for a, b in zip(before, est.coefs_ + est.intercepts_):
        np.testing.assert_array_equal(a, b)


# -- the four "Wrong" items --------------------------------------------------------------------
def test_partial_fit_after_early_stopping_fit_raises_and_changes_nothing():
    X, y = _blobs()
    est = MLPClassifier((4,), early_stopping=True, max_iter=3, random_state=0).fit(X, y)
    before, curve = [a.copy() for a in est.coefs_ + est.intercepts_], list(est.loss_curve_)
    with pytest.raises(ValueError, match="partial_fit does not support early_stopping=True"):
        est.partial_fit(X, y)
    _same_weights(est, before)
    assert est.loss_curve_ == curve


def test_first_partial_fit_rejects_labels_not_in_classes():
    X, y = _blobs()
    est = MLPClassifier((4,), random_state=0)
    with pytest.raises(ValueError, match=r"not in classes"):
        est.partial_fit(X[:2], [1, 0], classes=[0, 2])
    assert not hasattr(est, "coefs_") and not hasattr(est, "classes_")


def test_warm_start_refit_needs_the_same_classes():
    X, y = _blobs()
    est = MLPClassifier((4,), warm_start=True, max_iter=2, random_state=0).fit(X, y)
    before = [a.copy() for a in est.coefs_ + est.intercepts_]
    with pytest.raises(ValueError, match="warm_start can only be used where `y` has the same classes"):
        est.fit(X[y < 2], y[y < 2])
    _same_weights(est, before)
    est.partial_fit(X[y < 2], y[y < 2])  # partial_fit may see some of the classes


def test_early_stopping_with_a_tiny_validation_set_raises():
    X, y = _blobs(4)
    with pytest.raises(ValueError, match="The validation set is too small"):
        MLPRegressor((3,), early_stopping=True, max_iter=2).fit(X[:2], y[:2].astype(float))


def test_n_iter_no_change_inf_never_stops_early():
    X, y = _blobs()
    est = MLPClassifier((4,), tol=1e9, n_iter_no_change=np.inf, max_iter=5, random_state=0).fit(X, y)
    assert est.n_iter_ == 5
    with pytest.raises(ValueError, match="n_iter_no_change"):
        MLPClassifier(n_iter_no_change=0).fit(X, y)


# -- the dtype rule ------------------------------------------------------------------------------
def test_default_dtype_follows_the_input_and_float32_stays_explicit():
    X, y = _blobs()
    for X_in, expected in ((X, np.float64), (X.astype(np.float32), np.float32), (X.astype(int), np.float64)):
        clf = MLPClassifier((4,), max_iter=2, random_state=0).fit(X_in, y)
        assert clf.coefs_[0].dtype == expected and clf.predict_proba(X_in).dtype == expected
    reg = MLPRegressor((4,), max_iter=2, random_state=0).fit(X, X[:, :2])
    assert reg.predict(X).dtype == np.float64
    fast = MLPClassifier((4,), max_iter=2, random_state=0, dtype="float32").fit(X, y)
    assert fast.coefs_[0].dtype == np.float32 and fast.predict_proba(X).dtype == np.float32
    # a warm start / partial_fit keeps the fitted type whatever the new input's
    clf = MLPClassifier((4,), max_iter=2, random_state=0, warm_start=True).fit(X, y)
    clf.fit(X.astype(np.float32), y)
    clf.partial_fit(X.astype(np.float32), y)
    assert clf.coefs_[0].dtype == np.float64


# -- loss="poisson" ------------------------------------------------------------------------------
def test_poisson_steps_match_scikit_learn():
    """Same start, no shuffle, float64: the exponential output, half Poisson deviance and its
    gradient give scikit-learn's losses and weights, with two outputs and sample weights."""
    from sklearn.neural_network import MLPRegressor as SkRegressor

    rng = np.random.default_rng(0)
    X = rng.standard_normal((23, 4))
    Y = rng.poisson(np.exp(0.5 * X[:, :2]))  # counts, zeros among them
    c = rng.uniform(0.2, 2, len(X))
    kw = dict(
        hidden_layer_sizes=(5,),
        activation="tanh",
        alpha=0.01,
        batch_size=7,
        loss="poisson",
        learning_rate_init=0.05,
        shuffle=False,
        max_iter=1,
        random_state=0,
    )
    ours, sk = MLPRegressor(dtype="float64", **kw), SkRegressor(**kw)
    ours.fit(X, Y, sample_weight=c)
    sk.fit(X, Y, sample_weight=c)
    sk.coefs_ = [a.copy() for a in ours.coefs_]
    sk.intercepts_ = [a.copy() for a in ours.intercepts_]
    for est in (ours, sk):
        est.set_params(warm_start=True, max_iter=4).fit(X, Y, sample_weight=c)
    assert ours.out_activation_ == sk.out_activation_ == "exp"
    np.testing.assert_allclose(ours.loss_curve_[1:], sk.loss_curve_[1:], rtol=1e-9)
    for a, b in zip(ours.coefs_ + ours.intercepts_, sk.coefs_ + sk.intercepts_):
        np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(ours.predict(X), sk.predict(X), rtol=1e-9)
    assert (ours.predict(X) > 0).all()


def test_poisson_rejects_negative_targets_and_a_changed_loss(tmp_path):
    import nbmlp

    X, _ = _blobs()
    y = np.abs(X[:, 0])
    with pytest.raises(ValueError, match="poisson"):
        MLPRegressor((3,), loss="poisson").fit(X, -y)
    est = MLPRegressor((3,), loss="poisson", max_iter=2, warm_start=True, random_state=0, early_stopping=True).fit(X, y)
    assert np.isfinite(est.validation_loss_curve_).all()
    with pytest.raises(ValueError, match="loss cannot change"):
        est.set_params(loss="squared_error").fit(X, y)
    est.set_params(loss="poisson").save(tmp_path / "p.npz")
    np.testing.assert_array_equal(nbmlp.load(tmp_path / "p.npz").predict(X), est.predict(X))


# -- solver="lbfgs" ------------------------------------------------------------------------------
@pytest.mark.parametrize("task", ["multiclass", "regression"])
def test_lbfgs_matches_scikit_learn_from_the_same_start(task):
    """float64, same starting weights: the same L-BFGS-B run (penalty and sample weights included;
    two outputs for the regressor), hence the same loss_, n_iter_ and weights."""
    from sklearn.neural_network import MLPClassifier as SkClassifier
    from sklearn.neural_network import MLPRegressor as SkRegressor

    X, y = _blobs(40, 4, 3)
    if task == "regression":
        y = np.stack([X[:, 0] - X[:, 1], 0.5 * X[:, 2]], axis=1)
    c = np.random.default_rng(1).uniform(0.2, 2, len(X))
    ours_cls, sk_cls = (MLPRegressor, SkRegressor) if task == "regression" else (MLPClassifier, SkClassifier)
    kw = dict(hidden_layer_sizes=(6,), activation="tanh", alpha=0.01, random_state=0, max_iter=1, solver="sgd")
    ours, sk = ours_cls(dtype="float64", **kw), sk_cls(**kw)
    ours.fit(X, y, sample_weight=c)
    sk.fit(X, y, sample_weight=c)
    sk.coefs_ = [a.copy() for a in ours.coefs_]
    sk.intercepts_ = [a.copy() for a in ours.intercepts_]
    for est in (ours, sk):
        est.set_params(solver="lbfgs", warm_start=True, max_iter=8)
        with pytest.warns(ConvergenceWarning, match="lbfgs failed to converge"):
            est.fit(X, y, sample_weight=c)
    assert ours.n_iter_ == sk.n_iter_ == 8
    np.testing.assert_allclose(ours.loss_, sk.loss_, rtol=1e-8)
    for a, b in zip(ours.coefs_ + ours.intercepts_, sk.coefs_ + sk.intercepts_):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-9)


def test_lbfgs_fits_stops_on_max_fun_and_has_no_partial_fit():
    X, y = _blobs(60, 4, 3)
    est = MLPClassifier((8,), solver="lbfgs", max_iter=200, random_state=0)
    assert not hasattr(est, "partial_fit")
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        est.fit(X, y)  # converges (tol reached) well before 200 iterations, no warning
    assert est.n_iter_ < 200 and est.score(X, y) > 0.95
    assert len(est.loss_curve_) == est.n_iter_ and est.loss_ == pytest.approx(est.loss_curve_[-1])
    with pytest.warns(ConvergenceWarning, match="lbfgs failed to converge"):
        short = MLPClassifier((8,), solver="lbfgs", max_fun=5, random_state=0).fit(X, y)
    assert short.n_iter_ <= 5 and short.loss_ > est.loss_


# -- sparse input --------------------------------------------------------------------------------
def _sparse_problem(n=50, d=40, seed=0):
    import scipy.sparse as sp

    rng = np.random.default_rng(seed)
    X = sp.random(n, d, density=0.1, format="csr", random_state=seed, data_rvs=rng.standard_normal)
    y = np.arange(n) % 3
    X = (X + sp.csr_matrix((np.full(n, 2.0), (np.arange(n), y)), shape=(n, d))).tocsr()  # learnable
    return X, y


def test_sparse_input_trains_as_dense_input():
    """CSR, CSC and COO give the dense input's training in float64 (the sums in another order);
    predictions from sparse rows equal those from dense rows."""
    import scipy.sparse as sp

    X, y = _sparse_problem()
    c = np.linspace(0.5, 2, X.shape[0])
    kw = dict(
        hidden_layer_sizes=(7, 5),
        activation="tanh",
        alpha=0.01,
        batch_size=16,
        max_iter=4,
        random_state=0,
        dtype="float64",
    )
    dense = MLPClassifier(**kw).fit(X.toarray(), y, sample_weight=c)
    for fmt in (sp.csr_matrix, sp.csc_matrix, sp.coo_matrix):
        est = MLPClassifier(**kw).fit(fmt(X), y, sample_weight=c)
        np.testing.assert_allclose(est.loss_curve_, dense.loss_curve_, rtol=1e-10)
        for a, b in zip(est.coefs_ + est.intercepts_, dense.coefs_ + dense.intercepts_):
            np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-12)
        np.testing.assert_allclose(est.predict_proba(fmt(X)), est.predict_proba(X.toarray()), rtol=1e-12)
    est.partial_fit(X, y)
    reg = MLPRegressor((6,), max_iter=3, early_stopping=True, random_state=0, dtype="float64").fit(
        X, X[:, 0].toarray().ravel()
    )
    assert np.isfinite(reg.validation_scores_).all() and reg.predict(X).shape == (X.shape[0],)
    for solver_kw in (dict(hidden_layer_sizes=()), dict(solver="lbfgs", max_iter=3)):  # densified
        assert MLPClassifier(random_state=0, **solver_kw).fit(X, y).predict(X).shape == y.shape


def test_sparse_training_is_bitwise_identical_across_thread_counts():
    import nbmlp

    if nbmlp._threads.numba.config.NUMBA_NUM_THREADS < 2:
        pytest.skip("needs at least 2 threads")
    X, y = _sparse_problem(200, 400)  # 200 · 400 · 64 multiply-adds a step: the parallel kernels run
    results = []
    try:
        for threads in (1, 2):
            nbmlp.set_num_threads(threads)
            est = MLPClassifier((64,), max_iter=2, batch_size=200, alpha=0.01, random_state=0, dtype="float64")
            results.append([a.copy() for a in est.fit(X, y).coefs_])
    finally:
        nbmlp.set_num_threads(nbmlp._threads.numba.config.NUMBA_NUM_THREADS)
    for a, b in zip(*results):
        np.testing.assert_array_equal(a, b)
