"""Inverted dropout: the masks, the trace against a NumPy reference built from the trace's own
mask, one fit step against the trace, thread-count independence, and off in predict."""

import warnings

import numpy as np
import pytest
import reference as ref

import nbmlp
from nbmlp import MLP, MLPClassifier

ACTS = ["tanh", "sigmoid", "relu"]
RATES = [0.3, 0.0, 0.5]


def _problem(dtype=np.float64, N=23):
    rng = np.random.default_rng(4)
    return rng.standard_normal((N, 7)).astype(dtype), rng.integers(0, 3, N)


def _net(dtype="float64", dropout=RATES):
    return MLP([7, 13, 9, 11, 3], activation=ACTS, dtype=dtype, seed=2, dropout=dropout)


def test_trace_shows_the_masks_and_matches_the_reference_with_them():
    X, y = _problem()
    net = _net()
    rng_before = net._rng.copy()
    tr = net.trace(X, y)
    assert net._rng.tobytes() == rng_before.tobytes()  # trace changes nothing
    masks = [layer["mask"] for layer in tr["layers"]]
    assert masks[1] is None and masks[3] is None  # rate 0, and the output layer
    for M, p in ((masks[0], 0.3), (masks[2], 0.5)):
        assert set(np.unique(M)) <= {0.0, 1 / (1 - p)}
        assert 0 < (M == 0).sum() < M.size
    # the reference: y' = f(u) M on the hidden layers, ∂y = M Σ δ w, δ = ∂y f'(u)
    W, b = net.weights, net.biases
    T = np.eye(3)[y]
    ys, us = [X], []
    for L in range(4):
        u = ys[-1] @ W[L] + b[L]
        yL = ref.f(u, net.activations[L])
        us.append(u)
        ys.append(yL * masks[L] if masks[L] is not None else yL)
    delta = ys[-1] - T
    N = X.shape[0]
    for L in range(3, -1, -1):
        np.testing.assert_allclose(tr["layers"][L]["dw"], ys[L].T @ delta / N, rtol=1e-12, atol=1e-14)
        np.testing.assert_allclose(tr["layers"][L]["db"], delta.mean(axis=0), rtol=1e-12, atol=1e-14)
        np.testing.assert_allclose(tr["layers"][L]["y"], ys[L + 1], rtol=1e-12, atol=1e-14)
        if L > 0:
            dy = delta @ W[L].T
            if masks[L - 1] is not None:
                dy = dy * masks[L - 1]
            f_u = ref.f(us[L - 1], net.activations[L - 1])
            delta = dy * ref.df(us[L - 1], f_u, net.activations[L - 1])


def test_one_fit_step_is_the_traced_step():
    # without shuffling the generator's next draws are the masks: fit's first batch draws what
    # trace drew from its copy
    X, y = _problem()
    net = _net()
    tr = net.trace(X, y)
    before = [w.copy() for w in net.weights]
    net.fit(X, y, epochs=1, batch_size=X.shape[0], lr=0.1, shuffle=False)
    for L, w in enumerate(net.weights):
        np.testing.assert_allclose(w, before[L] - 0.1 * tr["layers"][L]["dw"], rtol=1e-12, atol=1e-14)


def test_mask_rate_and_predict_off():
    X, y = _problem(N=400)
    net = MLP([7, 300, 3], dtype="float64", seed=0, dropout=0.25)
    M = net.trace(X, y)["layers"][0]["mask"]
    assert abs((M == 0).mean() - 0.25) < 0.01  # 120,000 draws
    plain = MLP([7, 300, 3], dtype="float64", seed=0)
    plain.params[...] = net.params
    assert net.forward(X).tobytes() == plain.forward(X).tobytes()
    assert np.array_equal(net.predict(X), plain.predict(X))


def test_dropout_changes_training_and_zero_changes_nothing():
    X, y = _problem(np.float32)
    hists = []
    for rates in (0.0, [0.0, 0.0, 0.0], 0.4):
        net = _net("float32", rates)
        hists.append((net.fit(X, y, epochs=2, batch_size=8, lr=0.1), net.params.copy()))
    assert hists[0][0] == hists[1][0] and hists[0][1].tobytes() == hists[1][1].tobytes()
    assert hists[2][1].tobytes() != hists[0][1].tobytes()


def test_bitwise_identical_across_thread_counts():
    if nbmlp._threads.numba.config.NUMBA_NUM_THREADS < 2:
        pytest.skip("needs at least 2 threads")
    rng = np.random.default_rng(5)
    X, y = rng.standard_normal((301, 37)), rng.integers(0, 10, 301)
    results = []
    before = nbmlp.get_num_threads()
    try:
        for threads in (1, 2):
            nbmlp.set_num_threads(threads)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                est = MLPClassifier(
                    (300, 70),
                    activation=["tanh", "relu"],
                    dropout=[0.2, 0.5],
                    batch_size=128,
                    max_iter=2,
                    random_state=0,
                ).fit(X, y)
            results.append(b"".join(a.tobytes() for a in est.coefs_ + est.intercepts_) + str(est.loss_curve_).encode())
    finally:
        nbmlp.set_num_threads(before)
    assert results[0] == results[1]


@pytest.mark.parametrize(
    "value,error",
    [(1.0, ValueError), (-0.1, ValueError), ([0.1], ValueError), ("0.5", TypeError), ([0.1, None], TypeError)],
)
def test_bad_dropout_names_itself_and_changes_nothing(value, error):
    X, y = _problem()
    est = MLPClassifier((4, 5), max_iter=1, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        est.fit(X, y)
    coefs = [c.copy() for c in est.coefs_]
    with pytest.raises(error, match="dropout"):
        est.set_params(dropout=value).fit(X, y)
    assert all(np.array_equal(a, b) for a, b in zip(coefs, est.coefs_))
    with pytest.raises(error, match="dropout"):
        MLP([3, 4, 5, 2], dropout=value)


def test_summary_shows_layers_params_and_dropout(capsys):
    net = MLP([64, 32, 16, 10], activation="gelu", dropout=[0.5, 0.0], dtype="float32")
    net.summary()
    text = capsys.readouterr().out
    assert "gelu + dropout 0.5" in text
    assert "2,080" in text and "528" in text and "170" in text
    assert "Total params: 2,778 (10.85 KB)" in text and "float32" in text
    X, y = _problem()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        est = MLPClassifier((5,), solver="adamw", max_iter=1, random_state=0, dropout=0.1).fit(X, y)
    est.summary()
    text = capsys.readouterr().out
    assert text.startswith("MLPClassifier") and "Solver: adamw" in text and "relu + dropout 0.1" in text


def test_dropout_is_refused_with_sparse_input_and_lbfgs_before_anything_changes():
    import scipy.sparse

    rng = np.random.default_rng(0)
    X, y = rng.random((20, 6)), np.arange(20) % 2
    est = nbmlp.MLPClassifier((5,), dropout=0.2, max_iter=1, random_state=0)
    with pytest.raises(ValueError, match="dropout.*sparse"):
        est.fit(scipy.sparse.csr_matrix(X), y)
    assert not hasattr(est, "coefs_")
    est = nbmlp.MLPClassifier((5,), dropout=0.2, solver="lbfgs", max_iter=1, random_state=0)
    with pytest.raises(ValueError, match="dropout.*lbfgs"):
        est.fit(X, y)
    assert not hasattr(est, "coefs_")
