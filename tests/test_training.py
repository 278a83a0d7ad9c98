"""Training: the compiled epoch against the reference, determinism, dtypes, learning."""

import warnings

import numpy as np
import pytest
import reference as ref
from conftest import DTYPES

import nbmlp
from nbmlp import MLPRegressor


def _shuffled_orders(net, N, epochs):
    """The sample orders fit uses, replayed from the same generator state."""
    from nbmlp.kernels.epoch import shuffle

    rng, perm, orders = net._rng.copy(), np.arange(N, dtype=np.int64), []
    for _ in range(epochs):
        shuffle(perm, rng)
        orders.append(perm.copy())
    return orders


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("batch", [1, 4, 7, 100])
def test_fit_matches_reference_sgd(dtype, batch):
    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((23, 5)), rng.integers(0, 3, 23)
    net = nbmlp.MLP([5, 7, 3, 3], activation=["tanh", "leaky_relu"], dtype=dtype, seed=1)
    w = [a.astype(np.float64) for a in net.weights]
    b = [a.astype(np.float64) for a in net.biases]
    orders = _shuffled_orders(net, 23, 2)
    hist = net.fit(X, y, epochs=2, batch_size=batch, lr=0.05)
    T = np.eye(3)[y]
    Xd = X.astype(dtype).astype(np.float64)
    ref_hist = [ref.sgd_epoch(w, b, net.activations, net.loss, Xd, T, order, batch, 0.05) for order in orders]
    rtol = 1e-4 if dtype == np.float32 else 1e-10
    np.testing.assert_allclose(hist, ref_hist, rtol=rtol)
    for a, r in zip(net.weights + net.biases, w + b):
        np.testing.assert_allclose(a, r, rtol=rtol, atol=rtol)


def test_fit_without_shuffle_keeps_order():
    rng = np.random.default_rng(0)
    X, T = rng.standard_normal((9, 2)), rng.standard_normal((9, 1))
    net = nbmlp.MLP([2, 3, 1], activation="sigmoid", output="identity", dtype="float64", seed=0)
    w = [a.copy() for a in net.weights]
    b = [a.copy() for a in net.biases]
    net.fit(X, T, epochs=1, batch_size=4, lr=0.1, shuffle=False)
    ref.sgd_epoch(w, b, net.activations, net.loss, X, T, np.arange(9), 4, 0.1)
    for a, r in zip(net.weights + net.biases, w + b):
        np.testing.assert_allclose(a, r, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("dtype", DTYPES)
def test_bitwise_identical_across_thread_counts(dtype):
    if nbmlp._threads.numba.config.NUMBA_NUM_THREADS < 2:
        pytest.skip("needs at least 2 threads")
    rng = np.random.default_rng(5)
    X, y = rng.standard_normal((301, 37)), rng.integers(0, 10, 301)
    results = []
    for threads in (1, 2):
        nbmlp.set_num_threads(threads, adaptive=False)  # exactly this many
        net = nbmlp.MLP([37, 65, 33, 10], activation=["relu", "tanh"], dtype=dtype, seed=11)
        hist = net.fit(X, y, epochs=3, batch_size=64, lr=0.1)
        results.append((net.params.copy(), hist, net.forward(X), net.gradients(X, y)))
    (p1, h1, y1, g1), (p2, h2, y2, g2) = results
    assert p1.tobytes() == p2.tobytes()
    assert h1 == h2
    assert y1.tobytes() == y2.tobytes()
    assert g1[0] == g2[0]
    for a, b in zip(g1[1] + g1[2], g2[1] + g2[2]):
        assert a.tobytes() == b.tobytes()


def test_same_seed_same_result_and_different_seed_differs():
    rng = np.random.default_rng(2)
    X, y = rng.standard_normal((50, 4)), rng.integers(0, 2, 50)
    nets = [nbmlp.MLP([4, 8, 2], seed=s) for s in (3, 3, 4)]
    for net in nets:
        net.fit(X, y, epochs=2, batch_size=8, lr=0.1)
    assert nets[0].params.tobytes() == nets[1].params.tobytes()
    assert nets[0].params.tobytes() != nets[2].params.tobytes()


def test_float32_stays_float32():
    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((20, 3)).astype(np.float32), rng.integers(0, 2, 20)
    net = nbmlp.MLP([3, 4, 2], dtype="float32", seed=0)
    net.fit(X, y, epochs=1, batch_size=5, lr=0.1)
    assert all(w.dtype == np.float32 for w in net.weights + net.biases)
    assert net.forward(X).dtype == np.float32
    _, dW, db = net.gradients(X, y)
    assert all(g.dtype == np.float32 for g in dW + db)
    # float64 inputs are converted to the network's dtype, not the other way round
    assert net.forward(X.astype(np.float64)).dtype == np.float32


def test_float64_network():
    net = nbmlp.MLP([3, 4, 1], output="identity", dtype="float64", seed=0)
    assert net.forward(np.ones((2, 3), np.float32)).dtype == np.float64


def test_xor_is_learned():
    X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=np.float64)
    t = np.array([0, 1, 1, 0])
    net = nbmlp.MLP([2, 8, 1], activation="tanh", output="sigmoid", dtype="float64", seed=0)
    hist = net.fit(X, t, epochs=2000, batch_size=4, lr=0.5)
    assert hist[-1] < hist[0]
    assert (net.predict(X) == t).all()


def test_digits_reaches_95_percent():
    from sklearn.datasets import load_digits

    X, y = load_digits(return_X_y=True)
    net = nbmlp.MLP([64, 64, 10], activation="relu", output="softmax", dtype="float32", seed=0)
    hist = net.fit(X / 16.0, y, epochs=10, batch_size=32, lr=0.1)
    assert hist[-1] < hist[0]
    assert (net.predict(X / 16.0) == y).mean() >= 0.95


def test_predict_shapes():
    X = np.random.default_rng(0).standard_normal((6, 3))
    assert nbmlp.MLP([3, 4, 5], seed=0).predict(X).shape == (6,)
    assert nbmlp.MLP([3, 4, 1], output="sigmoid", seed=0).predict(X).shape == (6,)
    assert nbmlp.MLP([3, 4, 2], output="sigmoid", seed=0).predict(X).shape == (6, 2)
    assert nbmlp.MLP([3, 4, 2], output="identity", seed=0).predict(X).shape == (6, 2)


def test_forward_in_chunks_matches_one_call(monkeypatch):
    X = np.random.default_rng(0).standard_normal((10, 3))
    net = nbmlp.MLP([3, 5, 2], output="identity", dtype="float64", seed=0)
    whole = net.forward(X)
    monkeypatch.setattr(nbmlp.network, "PREDICT_CHUNK", 3)
    np.testing.assert_array_equal(net.forward(X), whole)


def test_weights_are_views_of_params():
    net = nbmlp.MLP([3, 4, 2], seed=0)
    net.weights[1][2, 1] = 7.0
    assert 7.0 in net.params
    assert [w.shape for w in net.weights] == [(3, 4), (4, 2)]
    assert [b.shape for b in net.biases] == [(4,), (2,)]
    assert net.n_params == 3 * 4 + 4 + 4 * 2 + 2


def test_he_and_glorot_init_scale():
    net = nbmlp.MLP([400, 300, 300, 10], activation=["relu", "tanh"], seed=0)
    w0, w1, w2 = net.weights
    assert np.isclose(np.abs(w0).max(), np.sqrt(6 / 400), rtol=0.01)  # He before ReLU
    assert np.isclose(np.abs(w1).max(), np.sqrt(6 / 600), rtol=0.01)  # Glorot before tanh
    assert all((b == 0).all() for b in net.biases)


def test_divergence_raises_and_keeps_last_good_weights():
    rng = np.random.default_rng(0)
    X, T = rng.standard_normal((64, 3)) * 1e3, rng.standard_normal((64, 1)) * 1e3
    net = nbmlp.MLP([3, 16, 1], activation="identity", output="identity", dtype="float32", seed=0)
    before = net.params.copy()
    with pytest.raises(nbmlp.DivergenceError, match="diverged in epoch 1"):
        net.fit(X, T, epochs=5, batch_size=8, lr=10.0)
    assert np.array_equal(net.params, before)
    assert np.isfinite(net.params).all()


# -- nbmlp.training: the trainer's parts, in plain Python (no compiled step) ------------------------
def test_schedules_give_scikit_learns_rates():
    from nbmlp import training as tr

    inv = tr.InvScaling(0.5, 0.25)
    assert inv.end_epoch(0.5, 99) == 0.5 / 100**0.25 and inv.begin_epoch(0.3, 7) == 0.3
    adaptive = tr.Adaptive()
    assert adaptive.trigger_stopping(1.0) == (0.2, False)
    assert adaptive.trigger_stopping(1e-6) == (1e-6, True)  # scikit-learn stops at η ≤ 1e-6
    assert tr.Constant().trigger_stopping(0.1) == (0.1, True)
    cos = tr.Cosine(1.0, 2, 6)
    rates = [cos.begin_epoch(None, e) for e in range(8)]
    np.testing.assert_allclose(rates[:2], [0.5, 1.0])  # warm-up η₀ (e + 1) / W
    np.testing.assert_allclose(rates[2:6], [0.5 * (1 + np.cos(np.pi * k / 4)) for k in range(4)])
    assert rates[6] == rates[7] == rates[5]  # past max_iter: the last rate


def test_no_improvement_counts_epochs_within_tol():
    from nbmlp.training import NoImprovement

    loss = NoImprovement(tol=0.1, patience=1, maximize=False, best=np.inf)
    for value, count in [(1.0, 0), (0.95, 1), (0.85, 0), (0.8, 1), (0.9, 2)]:
        loss.update(value)
        assert loss.count == count
    assert loss.best == 0.8 and loss.triggered
    score = NoImprovement(tol=0.0, patience=2, maximize=True, best=-np.inf)
    for value in (0.5, 0.5, 0.7):
        score.update(value)
    assert (score.count, score.best, score.triggered) == (0, 0.7, False)


def test_trainer_rolls_back_a_diverging_or_interrupted_epoch():
    from nbmlp import training as tr

    params, rng = np.ones(3), np.zeros(1, np.uint64)
    events = iter(["ok", "nan", "ok", "interrupt"])
    hypers = []

    def step(hyper):
        hypers.append(hyper)
        params[...] += 1
        rng[0] += 1
        event = next(events)
        if event == "interrupt":
            raise KeyboardInterrupt
        return np.nan if event == "nan" else 2.0

    trainer = tr.Trainer(
        step, 2, (params, rng), {"learning_rate": 0.5}, tr.Hyper(alpha=0.25), np.float32, hint="Try again."
    )
    with pytest.raises(
        nbmlp.DivergenceError,
        match=r"diverged in epoch 2 \(loss nan\); the weights from before "
        r"that epoch were kept\. Solver produced non-finite parameter weights\. .* Try again\.",
    ):
        trainer.run(5)
    assert params.tolist() == [2, 2, 2] and rng[0] == 1  # after epoch 1
    assert hypers[0] == (np.float32(0.5), np.float32(0.25), 0, 0, 0, 0, 1, 0, 0)
    assert all(type(v) is np.float32 for v in hypers[0])
    assert trainer.run(5, catch_interrupt=True) == "interrupted"
    assert params.tolist() == [3, 3, 3] and rng[0] == 2  # after the epoch before the interrupt


def test_serial_steps_follows_the_kernels_thresholds():
    from nbmlp.kernels.dense import PARALLEL_MIN_MACS
    from nbmlp.kernels.optim import SERIAL_UPDATE
    from nbmlp.training import serial_steps

    assert serial_steps([64, 64, 10], 32)  # digits: 131,072 multiply-adds in its largest step
    assert not serial_steps([784, 256, 128, 10], 128)
    # the largest step decides, one multiply-add under or at the threshold
    batch = PARALLEL_MIN_MACS // 16  # [4, 4, 1]: the first step has batch · 16 multiply-adds
    assert serial_steps([4, 4, 1], batch - 1)
    assert not serial_steps([4, 4, 1], batch)
    assert not serial_steps([3, 2, 4, 4], batch)
    # small steps, but more parameters than one serial update takes: the parallel epoch
    assert not serial_steps([SERIAL_UPDATE // 2, 2, 1], 1)


@pytest.mark.parametrize("dtype", DTYPES)
def test_serial_epoch_gives_the_parallel_epochs_bits(dtype, monkeypatch):
    """A small network trains through the epoch compiled without parallel kernels; forced through
    the parallel one (the same kernels chosen step by step) it gives the same bits."""
    from sklearn.utils import compute_sample_weight

    import nbmlp.training as training

    rng = np.random.default_rng(8)
    X, y = rng.standard_normal((203, 13)), rng.integers(0, 4, 203)
    weights = compute_sample_weight("balanced", y) * rng.uniform(0.5, 1.5, 203)
    assert training.serial_steps([13, 17, 4], 32)
    results = []
    for forced in (False, True):
        if forced:
            monkeypatch.setattr(training, "serial_steps", lambda layers, batch: False)
        run = []
        for solver in ("adam", "sgd"):
            clf = nbmlp.MLPClassifier(
                (17,), solver=solver, alpha=1e-2, batch_size=32, max_iter=3, random_state=3, dtype=dtype
            )
            clf.fit(X, y, sample_weight=weights)
            run.append(np.concatenate([a.ravel() for a in clf.coefs_ + clf.intercepts_]))
        net = nbmlp.MLP([13, 17, 4], dtype=dtype, seed=4, dropout=0.25)
        run.append((net.fit(X, y, epochs=2, batch_size=32, lr=0.1), net.params.copy()))
        results.append(run)
    (a1, s1, (h1, d1)), (a2, s2, (h2, d2)) = results
    assert a1.tobytes() == a2.tobytes()
    assert s1.tobytes() == s2.tobytes()
    assert h1 == h2 and d1.tobytes() == d2.tobytes()


# -- learning-rate schedules through the estimators -------------------------------------------------
def _schedule_data():
    rng = np.random.default_rng(7)
    X = rng.standard_normal((24, 5))
    return X, np.sin(X[:, 0]) + 0.5 * X[:, 1]


def test_cosine_schedule_with_warmup_for_adam():
    X, y = _schedule_data()
    rates = []
    est = MLPRegressor(
        (4,),
        solver="adam",
        learning_rate="cosine",
        warmup_epochs=2,
        learning_rate_init=0.1,
        max_iter=6,
        tol=0,
        n_iter_no_change=100,
        random_state=0,
        callbacks=[lambda e, r: rates.append(r["learning_rate"])],
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        est.fit(X, y)
    expected = [0.05, 0.1] + [0.05 * (1 + np.cos(np.pi * k / 4)) for k in range(4)]
    np.testing.assert_allclose(rates, expected, rtol=1e-15)


def test_sgd_schedules_leave_adams_rate_constant():
    X, y = _schedule_data()
    for schedule in ("invscaling", "adaptive"):
        rates = []
        est = MLPRegressor(
            (4,),
            solver="adam",
            learning_rate=schedule,
            max_iter=4,
            random_state=0,
            callbacks=[lambda e, r: rates.append(r["learning_rate"])],
        )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            est.fit(X, y)
        assert rates == [0.001] * 4
