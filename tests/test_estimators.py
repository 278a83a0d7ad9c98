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
    kw = dict(
        hidden_layer_sizes=(5, 4),
        activation="tanh",
        alpha=0.01,
        batch_size=7,
        learning_rate_init=0.05,
        shuffle=False,
        max_iter=1,
        random_state=0,
        **case,
    )
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
    est = MLPClassifier(
        (6,),
        activation="tanh",
        solver="sgd",
        momentum=0,
        alpha=0,
        batch_size=8,
        learning_rate_init=0.1,
        shuffle=False,
        max_iter=1,
        random_state=3,
        dtype="float32",
    )
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
    ours, sk = _mean_scores(
        MLPClassifier,
        SkClassifier,
        X / 16,
        y,
        range(3),
        hidden_layer_sizes=(64,),
        solver=solver,
        learning_rate_init=0.01 if solver == "adam" else 0.1,
        max_iter=40,
    )
    assert ours > 0.9 and abs(ours - sk) <= 0.01


def test_iris_accuracy_close_to_scikit_learn():
    X, y = load_iris(return_X_y=True)
    X = (X - X.mean(0)) / X.std(0)
    ours, sk = _mean_scores(
        MLPClassifier, SkClassifier, X, y, range(5), hidden_layer_sizes=(16,), learning_rate_init=0.01, max_iter=300
    )
    assert ours > 0.85 and abs(ours - sk) <= 0.01 + 1e-12


def test_diabetes_r2_close_to_scikit_learn():
    X, y = load_diabetes(return_X_y=True)
    X = (X - X.mean(0)) / X.std(0)
    ours, sk = _mean_scores(
        MLPRegressor,
        SkRegressor,
        X,
        y / y.std(),
        range(5),
        hidden_layer_sizes=(16,),
        solver="sgd",
        learning_rate_init=0.01,
        alpha=1.0,
        max_iter=50,
    )
    assert ours > 0.3 and abs(ours - sk) <= 0.01 + 1e-12


# -- training control -------------------------------------------------------------------------
def test_early_stopping_restores_best_weights():
    X, y = _blobs(200, 6, 3, seed=4)
    seen = []

    def keep(est, record):
        seen.append(([c.copy() for c in est.coefs_], record["validation_score"]))

    est = MLPClassifier(
        (8,),
        solver="sgd",
        learning_rate_init=0.5,
        early_stopping=True,
        n_iter_no_change=3,
        max_iter=60,
        random_state=0,
        callbacks=[keep],
    ).fit(X, y)
    scores = [s for _, s in seen]
    assert scores == est.validation_scores_ and len(est.validation_loss_curve_) == len(scores)
    best = int(np.argmax(scores))
    assert best < len(scores) - 1, "the last epoch was the best: the test shows nothing"
    assert est.best_validation_score_ == max(scores) and est.best_loss_ is None
    for a, b in zip(est.coefs_, seen[best][0]):
        np.testing.assert_array_equal(a, b)


def test_early_stopping_stops_after_n_iter_no_change():
    X, y = _blobs(100, 4, 2, seed=1)
    est = MLPClassifier((4,), early_stopping=True, n_iter_no_change=2, tol=10.0, max_iter=50, random_state=0).fit(X, y)
    # the first score sets the best; none after it improves by tol=10; stop once the count exceeds 2
    assert est.n_iter_ == 4


def test_partial_fit_continues_after_fit():
    X, y = _blobs(60, 4, 3)
    est = MLPClassifier((8,), max_iter=5, random_state=0).fit(X, y)
    coefs, t = [c.copy() for c in est.coefs_], est.t_
    est.partial_fit(X, y)
    assert est.t_ == t + len(X) and len(est.loss_curve_) == 6 and est.n_iter_ == 1
    assert not np.array_equal(coefs[0], est.coefs_[0])
    fresh = MLPClassifier((8,), max_iter=1, random_state=0).fit(X, y)
    assert est.loss_curve_[-1] < fresh.loss_curve_[-1]


def test_partial_fit_needs_classes_and_rejects_unseen_labels():
    X, y = _blobs(30, 3, 3)
    est = MLPClassifier((4,), random_state=0)
    with pytest.raises(ValueError, match="classes"):
        est.partial_fit(X, y)
    est.partial_fit(X[:10], y[:10], classes=[0, 1, 2, 3])
    assert list(est.classes_) == [0, 1, 2, 3] and est.predict_proba(X).shape == (30, 4)
    before = [c.copy() for c in est.coefs_]
    with pytest.raises(ValueError, match="not in classes_"):
        est.partial_fit(X, y + 5)
    for a, b in zip(before, est.coefs_):
        np.testing.assert_array_equal(a, b)


def test_warm_start_continues_and_cold_start_restarts():
    X, y = _blobs(60, 4, 3)
    warm = MLPClassifier((8,), max_iter=5, random_state=0, warm_start=True).fit(X, y)
    first = list(warm.loss_curve_)
    warm.fit(X, y)
    assert len(warm.loss_curve_) == 10 and warm.loss_curve_[:5] == first
    assert warm.loss_curve_[5] < first[0]
    cold = MLPClassifier((8,), max_iter=5, random_state=0).fit(X, y).fit(X, y)
    assert cold.loss_curve_ == first


def test_class_weight_changes_decision_on_imbalanced_set():
    rng = np.random.default_rng(0)
    y = (rng.uniform(size=400) < 0.1).astype(int)
    X = rng.standard_normal((400, 2)) + 1.0 * y[:, None]
    kw = dict(hidden_layer_sizes=(8,), max_iter=100, learning_rate_init=0.01, random_state=0)
    plain = MLPClassifier(**kw).fit(X, y)
    balanced = MLPClassifier(class_weight="balanced", **kw).fit(X, y)
    as_dict = MLPClassifier(class_weight={0: 1.0, 1: 9.0}, **kw).fit(X, y)
    minority = y == 1
    recall = lambda m: (m.predict(X)[minority] == 1).mean()  # noqa: E731
    assert recall(plain) < 0.3 and recall(balanced) > 0.6 and recall(as_dict) > 0.6
    assert (balanced.predict(X) == 1).sum() > 2 * (plain.predict(X) == 1).sum()


def test_sample_weight_ones_equals_unweighted_and_zero_batch_is_skipped():
    X, y = _blobs(30, 3, 3)
    a = MLPClassifier((4,), max_iter=3, random_state=0).fit(X, y)
    b = MLPClassifier((4,), max_iter=3, random_state=0).fit(X, y, sample_weight=np.ones(30))
    np.testing.assert_array_equal(a.coefs_[0], b.coefs_[0])
    c = MLPClassifier((4,), max_iter=3, random_state=0, batch_size=10, shuffle=False)
    c.fit(X, y, sample_weight=np.r_[np.zeros(10), np.ones(20)])
    assert np.isfinite(c.loss_) and all(np.isfinite(w).all() for w in c.coefs_)


def test_callbacks_get_records_and_can_stop():
    X, y = _blobs(40, 3, 2)
    records = []
    est = MLPClassifier(
        (4,), max_iter=50, random_state=0, callbacks=[lambda e, r: records.append(r), lambda e, r: r["epoch"] == 4]
    ).fit(X, y)
    assert est.n_iter_ == 4 and [r["epoch"] for r in records] == [1, 2, 3, 4]
    assert [r["loss"] for r in records] == est.loss_curve_
    assert set(records[0]) == {"epoch", "loss", "validation_score", "validation_loss", "learning_rate"}


def test_keyboard_interrupt_keeps_last_finished_epoch():
    X, y = _blobs(40, 3, 2)
    seen = []

    def interrupt(est, record):
        seen.append([c.copy() for c in est.coefs_])
        if record["epoch"] == 3:
            raise KeyboardInterrupt

    est = MLPClassifier((4,), max_iter=50, random_state=0, callbacks=[interrupt])
    with pytest.warns(UserWarning, match="interrupted"):
        est.fit(X, y)
    assert est.n_iter_ == 3 and len(est.loss_curve_) == 3
    for a, b in zip(est.coefs_, seen[-1]):
        np.testing.assert_array_equal(a, b)
    assert est.predict(X).shape == (40,)


def test_verbose_is_silent_when_off_and_reports_when_on(capsys):
    X, y = _blobs(40, 3, 2)
    MLPClassifier((4,), max_iter=3, random_state=0).fit(X, y)
    out = capsys.readouterr()
    assert out.out == "" and out.err == ""
    MLPClassifier(
        (4,), max_iter=3, random_state=0, verbose=True, early_stopping=True, n_iter_no_change=1, tol=10.0
    ).fit(X, y)
    out = capsys.readouterr()
    assert "Stopping" in out.out + out.err and ("it/s" in out.err or "Iteration" in out.out)


def test_divergence_raises_and_keeps_last_good_weights():
    X, y = _blobs(40, 3, 2)
    X = X * 1e30
    est = MLPRegressor((4,), solver="sgd", learning_rate_init=1e10, momentum=0, max_iter=5, random_state=0)
    with pytest.raises(nbmlp.DivergenceError):
        est.fit(X, y.astype(float) * 1e30)
    assert all(np.isfinite(w).all() for w in est.coefs_)


def test_divergence_with_early_stopping_keeps_and_names_the_best_epoch():
    X, y = _blobs(60, 3, 3)
    seen = {}

    def blow_up_after_epoch_3(est, record):
        seen[record["epoch"]] = ([c.copy() for c in est.coefs_], record["validation_score"])
        if record["epoch"] == 3:
            est._optimizer_state["learning_rate"] = float("inf")  # the next epoch diverges

    est = MLPClassifier(
        (5,),
        solver="sgd",
        momentum=0.0,
        learning_rate_init=0.05,
        early_stopping=True,
        validation_fraction=0.3,
        max_iter=10,
        random_state=0,
        n_iter_no_change=100,
        callbacks=[blow_up_after_epoch_3],
    )
    with pytest.warns(nbmlp.DivergenceWarning, match="diverged in epoch 4") as info:
        est.fit(X, y)  # early stopping: scikit-learn's NaN score for the epoch, and the end of training
    assert est.n_iter_ == 4 and np.isnan(est.validation_scores_[-1])
    scores = {epoch: score for epoch, (_, score) in seen.items()}
    best = max(scores, key=lambda e: (scores[e], -e))  # the first epoch with the best score
    assert f"the weights of epoch {best}, the best validation score, are kept" in str(info[0].message)
    for w, ref in zip(est.coefs_, seen[best][0]):
        np.testing.assert_array_equal(w, ref)


# -- targets and predictions ------------------------------------------------------------------
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_targets_and_output_shapes(dtype):
    X, y = _blobs(30, 3, 3)
    strings = np.array(["a", "b", "c"])[y]
    clf = MLPClassifier((5,), max_iter=20, random_state=0, dtype=dtype).fit(X, strings)
    assert clf.out_activation_ == "softmax" and set(clf.predict(X)) <= {"a", "b", "c"}
    P = clf.predict_proba(X)
    assert P.shape == (30, 3) and P.dtype == np.dtype(dtype)
    np.testing.assert_allclose(P.sum(1), 1, rtol=1e-5)
    np.testing.assert_allclose(np.exp(clf.predict_log_proba(X)), P, rtol=1e-5)
    binary = MLPClassifier((5,), max_iter=20, random_state=0, dtype=dtype).fit(X, y % 2)
    assert binary.out_activation_ == "logistic" and binary.n_outputs_ == 1
    assert binary.predict_proba(X).shape == (30, 2)
    Y = np.stack([y == 0, y == 1], axis=1).astype(int)
    multi = MLPClassifier((5,), max_iter=20, random_state=0, dtype=dtype).fit(X, Y)
    assert multi.predict(X).shape == (30, 2) and multi.predict_proba(X).shape == (30, 2)
    reg = MLPRegressor((5,), max_iter=20, random_state=0, dtype=dtype).fit(X, X[:, 0])
    assert reg.predict(X).shape == (30,) and reg.out_activation_ == "identity" and reg.n_layers_ == 3
    reg2 = MLPRegressor((5,), max_iter=20, random_state=0, dtype=dtype).fit(X, X[:, :2])
    assert reg2.predict(X).shape == (30, 2) and reg2.coefs_[0].dtype == np.dtype(dtype)


def test_per_layer_activations_and_leaky_relu():
    X, y = _blobs(30, 3, 3)
    est = MLPClassifier((5, 4), activation=["leaky_relu", "logistic"], max_iter=10, random_state=0).fit(X, y)
    assert [c.shape for c in est.coefs_] == [(3, 5), (5, 4), (4, 3)]
    with pytest.raises(ValueError, match="activation"):
        MLPClassifier((5, 4), activation=["relu"]).fit(X, y)


def test_predict_reuses_its_network_until_the_weights_change():
    from scipy import sparse

    from nbmlp.estimators import _prediction

    X, y = _blobs(30, 3, 3)
    clf = MLPClassifier((4,), max_iter=3, random_state=0).fit(X, y)

    def fresh(est, X):  # the network built anew from coefs_ and intercepts_, as before the cache
        return est._network(est.coefs_[0].dtype.type).forward(X)

    before = dict(vars(clf))
    P = clf.predict_proba(X)
    np.testing.assert_array_equal(P, fresh(clf, X))
    assert vars(clf).keys() == before.keys()  # kept beside the estimator, not in it
    net = _prediction._PREDICTING[clf][3]
    clf.predict_proba(X[:1])
    assert _prediction._PREDICTING[clf][3] is net
    clf.coefs_[0][0, 0] += 1.0  # written in place: seen by the next call
    np.testing.assert_array_equal(clf.predict_proba(X), fresh(clf, X))
    assert not np.array_equal(clf.predict_proba(X), P)
    for change in (
        lambda: clf.partial_fit(X, y),
        lambda: clf.set_params(warm_start=True).fit(X, y),
        lambda: setattr(clf, "coefs_", [c * 0.5 for c in clf.coefs_]),
    ):
        change()
        np.testing.assert_array_equal(clf.predict_proba(X), fresh(clf, X))
    clf.coefs_[1][...] = 0  # by hand, not views into one buffer: copied on every call
    np.testing.assert_array_equal(clf.predict_proba(X), fresh(clf, X))
    back = pickle.loads(pickle.dumps(clf))
    np.testing.assert_array_equal(back.predict_proba(X), clf.predict_proba(X))
    np.testing.assert_array_equal(clf.predict_proba(sparse.csr_matrix(X)), clf.predict_proba(X))
    # the shortcut past validate_data gives validate_data's outcome: dtype rule, errors
    X32 = X.astype(np.float32)
    np.testing.assert_array_equal(clf.predict_proba(X32), fresh(clf, X32))
    np.testing.assert_array_equal(clf.predict_proba(np.asfortranarray(X)), clf.predict_proba(X))
    with pytest.raises(ValueError, match="Input X contains NaN"):
        clf.predict(np.where(X > 1, np.nan, X))
    with pytest.raises(ValueError, match="X has 2 features, but MLPClassifier is expecting 3"):
        clf.predict(X[:, :2])
    with pytest.raises(ValueError, match="0 sample"):
        clf.predict(X[:0])
    clf.feature_names_in_ = np.array(["a", "b", "c"], dtype=object)
    with pytest.warns(UserWarning, match="X does not have valid feature names"):
        clf.predict(X)


# -- persistence ------------------------------------------------------------------------------
def _fitted_pair():
    X, y = _blobs(40, 3, 3)
    clf = MLPClassifier(
        (5,), max_iter=5, random_state=0, class_weight={0: 2.0, 1: 1.0, 2: 1.0}, early_stopping=True
    ).fit(X, y)
    reg = MLPRegressor((5, 2), max_iter=5, random_state=0, dtype="float64").fit(X, X[:, :2])
    return X, clf, reg


def _same(a, b, X):
    assert type(a) is type(b) and a.get_params() == b.get_params()
    for name in (
        "n_iter_",
        "t_",
        "loss_",
        "loss_curve_",
        "n_features_in_",
        "n_layers_",
        "n_outputs_",
        "out_activation_",
        "best_validation_score_",
        "validation_scores_",
        "validation_loss_curve_",
    ):
        assert getattr(a, name) == getattr(b, name), name
    for u, v in zip(a.coefs_ + a.intercepts_, b.coefs_ + b.intercepts_):
        assert u.dtype == v.dtype
        np.testing.assert_array_equal(u, v)
    np.testing.assert_array_equal(a.predict(X), b.predict(X))


def test_save_load_round_trip_is_exact(tmp_path):
    import nbmlp.estimators
    import nbmlp.persistence

    # persistence.py holds save and load; the older import paths still give the same functions
    assert nbmlp.load is nbmlp.estimators.load is nbmlp.persistence.load
    assert nbmlp.estimators.load_with_inputs is nbmlp.persistence.load_with_inputs
    X, clf, reg = _fitted_pair()
    for est in (clf, reg):
        path = tmp_path / f"{type(est).__name__}.npz"
        est.save(path)
        back = nbmlp.load(path)
        _same(est, back, X)
    strings = MLPClassifier((3,), max_iter=2, random_state=0).fit(X, np.array(["x", "y", "z"])[np.arange(40) % 3])
    strings.save(tmp_path / "strings.npz")
    back = nbmlp.load(tmp_path / "strings.npz")
    _same(strings, back, X)
    assert list(back.classes_) == ["x", "y", "z"] and back.predict(X).dtype == strings.predict(X).dtype
    # training continues exactly as the original would
    reg2 = nbmlp.load(tmp_path / "MLPRegressor.npz")
    reg.partial_fit(X, X[:, :2])
    reg2.partial_fit(X, X[:, :2])
    np.testing.assert_array_equal(reg.coefs_[0], reg2.coefs_[0])


def test_pickle_round_trip():
    X, clf, reg = _fitted_pair()
    for est in (clf, reg):
        _same(est, pickle.loads(pickle.dumps(est)), X)


def test_corrupted_foreign_and_other_version_files_raise(tmp_path):
    X, clf, _ = _fitted_pair()
    good = tmp_path / "good.npz"
    clf.save(good)
    raw = good.read_bytes()
    (tmp_path / "truncated.npz").write_bytes(raw[: len(raw) // 2])
    (tmp_path / "garbage.npz").write_bytes(b"not a model at all" * 10)
    flipped = bytearray(raw)
    i = raw.index(b"parameters.npy") + 200
    flipped[i] ^= 0xFF
    (tmp_path / "flipped.npz").write_bytes(bytes(flipped))
    np.savez(tmp_path / "foreign.npz", a=np.arange(3))
    with np.load(good) as f:
        arrays = {k: f[k] for k in f.files}
    np.savez(tmp_path / "v99.npz", **dict(arrays, format_version=np.array(99)))
    np.savez(tmp_path / "broken.npz", **dict(arrays, parameters=arrays["parameters"][:-1]))
    for name, match in [
        ("truncated", "not a readable"),
        ("garbage", "not a readable"),
        ("flipped", "readable|damaged"),
        ("foreign", "not an nbmlp model"),
        ("v99", "version 99"),
        ("broken", "member .parameters.: shape"),
        ("missing", "not a readable"),
    ]:
        with pytest.raises(ValueError, match=match):
            nbmlp.load(tmp_path / f"{name}.npz")


# -- bad input --------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "params,match",
    [
        (dict(solver="newton"), "solver"),
        (dict(learning_rate="cosine_decay"), "learning_rate"),
        (dict(alpha=-1.0), "alpha"),
        (dict(batch_size=0), "batch_size"),
        (dict(max_iter=0), "max_iter"),
        (dict(momentum=1.5), "momentum"),
        (dict(validation_fraction=1.0), "validation_fraction"),
        (dict(beta_1=1.0), "beta_1"),
        (dict(hidden_layer_sizes=(0,)), "hidden_layer_sizes"),
        (dict(activation="swish"), "activation"),
        (dict(dtype="int8"), "dtype"),
        (dict(callbacks=[1]), "callbacks"),
        (dict(callbacks=print), "callbacks"),
        (dict(class_weight="bad"), "class_weight"),
    ],
)
def test_bad_parameters_name_the_argument_and_change_nothing(params, match):
    X, y = _blobs(30, 3, 3)
    est = MLPClassifier((4,), max_iter=3, random_state=0).fit(X, y)
    before = [c.copy() for c in est.coefs_], list(est.loss_curve_)
    with pytest.raises((ValueError, TypeError), match=match):
        est.set_params(**params).fit(X, y)
    for a, b in zip(before[0], est.coefs_):
        np.testing.assert_array_equal(a, b)
    assert est.loss_curve_ == before[1]


def test_every_parameter_has_a_rule():
    # _parameter_rules (the declarative checks of _check_params) names each constructor parameter once
    for cls in (MLPClassifier, MLPRegressor):
        assert list(cls._parameter_rules) != [] and set(cls._parameter_rules) == set(cls().get_params())
    with pytest.raises(ValueError, match="loss must be 'squared_error' or 'poisson', got 'hinge'"):
        MLPRegressor(loss="hinge")._check_params()
    # the messages the hand-written checks gave, word for word
    for params, error, message in [
        (dict(momentum=1.5), ValueError, "momentum must be in [0, 1], got 1.5"),
        (dict(validation_fraction=1.0), ValueError, "validation_fraction must be in (0, 1), got 1.0"),
        (dict(beta_2=1), ValueError, "beta_2 must be in [0, 1), got 1"),
        (dict(epsilon=0.0), ValueError, "epsilon must be > 0, got 0.0"),
        (dict(max_iter=2.0), TypeError, "max_iter must be an integer, got 2.0"),
        (dict(n_iter_no_change=np.inf, batch_size="big"), TypeError, "batch_size must be an integer, got 'big'"),
        (dict(random_state=2**32), ValueError, "random_state must be in [0, 2**32), got 4294967296"),
        (dict(shuffle=1), TypeError, "shuffle must be True or False, got 1"),
        (dict(hidden_layer_sizes=(3, 2), activation=["relu"]), ValueError, "activation: 1 names for 2 hidden layers"),
        (dict(solver="lbfgs", dropout=0.5), ValueError, "dropout=0.5 is not available with solver='lbfgs'"),
        (dict(class_weight=[1]), ValueError, "class_weight must be a dict, 'balanced' or None, got [1]"),
    ]:
        with pytest.raises(error) as caught:
            MLPClassifier(**params)._check_params()
        assert str(caught.value).startswith(message), str(caught.value)


def test_bad_data_follows_scikit_learn():
    X, y = _blobs(30, 3, 3)
    est = MLPClassifier((4,), max_iter=3, random_state=0).fit(X, y)
    for bad in (np.nan, np.inf):
        Xb = X.copy()
        Xb[3, 1] = bad
        with pytest.raises(ValueError, match="NaN|infinity"):
            MLPClassifier().fit(Xb, y)
        with pytest.raises(ValueError, match="NaN|infinity"):
            est.predict(Xb)
    with pytest.raises(ValueError, match="features"):
        est.predict(X[:, :2])
    with pytest.raises(ValueError, match="inconsistent|samples"):
        MLPClassifier().fit(X, y[:-1])
    with pytest.raises(ValueError, match="Unknown label type|continuous"):
        MLPClassifier().fit(X, X[:, 0])
    with pytest.raises(ValueError, match="[Nn]egative"):
        MLPClassifier().fit(X, y, sample_weight=-np.ones(30))
    with pytest.raises(Exception, match="not fitted"):
        MLPRegressor().predict(X)


def test_docs_estimator_example_runs(tmp_path, monkeypatch):
    import pathlib
    import re

    text = (pathlib.Path(__file__).resolve().parents[1] / "docs" / "estimators.md").read_text()
    code = re.findall(r"```python\n(.*?)```", text, re.S)[0]
    monkeypatch.chdir(tmp_path)
    exec(compile(code, "estimators.md", "exec"), {})
    assert (tmp_path / "digits_mlp.npz").exists()


def test_works_in_scikit_learn_tools():
    import subprocess
    import sys

    from sklearn.base import clone
    from sklearn.model_selection import GridSearchCV, cross_val_score
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    X, y = _blobs(60, 4, 3)
    pipe = make_pipeline(StandardScaler(), MLPClassifier((8,), max_iter=30, learning_rate_init=0.05, random_state=0))
    assert cross_val_score(pipe, X, y, cv=3).mean() > 0.6
    grid = GridSearchCV(pipe, {"mlpclassifier__alpha": [1e-4, 1e-1]}, cv=2).fit(X, y)
    assert grid.best_params_["mlpclassifier__alpha"] in (1e-4, 1e-1)
    est = MLPRegressor((3,), alpha=0.5)
    assert clone(est).get_params() == est.get_params()
    # the core does not import scikit-learn
    code = "import sys, nbmlp; nbmlp.MLP([2, 1]); assert 'sklearn' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)


def test_bitwise_identical_across_thread_counts():
    if nbmlp._threads.numba.config.NUMBA_NUM_THREADS < 2:
        pytest.skip("needs at least 2 threads")
    X, y = _blobs(150, 9, 3)
    results = []
    for threads in (1, 2):
        nbmlp.set_num_threads(threads, adaptive=False)  # exactly this many
        for kw in (dict(solver="adam"), dict(solver="sgd", momentum=0.9)):
            est = MLPClassifier((33, 17), max_iter=3, batch_size=32, alpha=0.01, random_state=0, **kw)
            est.fit(X, y, sample_weight=np.linspace(0.5, 2, 150))
            results.append([c.copy() for c in est.coefs_])
    for a, b in zip(results[:2], results[2:]):
        for u, v in zip(a, b):
            np.testing.assert_array_equal(u, v)


def test_failed_refit_keeps_n_features_in():
    X, y = _blobs(30, 3, 3)
    est = MLPClassifier((4,), max_iter=2, random_state=0).fit(X, y)
    X5 = np.hstack([X, X[:, :2]])
    with pytest.raises(ValueError, match="[Nn]egative"):
        est.fit(X5, y, sample_weight=-np.ones(30))
    assert est.n_features_in_ == 3 and est.predict(X).shape == (30,)
