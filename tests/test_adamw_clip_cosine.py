"""AdamW against PyTorch's ``torch.optim.AdamW`` formulas (written in NumPy, float64, step by
step), gradient clipping by the global norm, and the cosine schedule with warm-up."""

import warnings

import numpy as np
import pytest
import reference as ref

import nbmlp
from nbmlp import MLPClassifier, MLPRegressor
from nbmlp.kernels.optim import clip_gradient

N, L_IN = 24, 5


def _data():
    rng = np.random.default_rng(7)
    X = rng.standard_normal((N, L_IN))
    y = np.sin(X[:, 0]) + 0.5 * X[:, 1]
    return X, y


def _fit_recording(est, X, y, theta0):
    """``est`` trained from the weights ``theta0`` (one batch of all samples: one step per epoch),
    returning the weights after every step."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        est.set_params(max_iter=1).fit(X, y)  # creates the attributes
        for c, w in zip(est.coefs_ + est.intercepts_, theta0):
            c[...] = w
        seen = []
        est.set_params(
            warm_start=True,
            max_iter=5,
            callbacks=[lambda e, r: seen.append([a.copy() for a in e.coefs_ + e.intercepts_])],
        )
        est.fit(X, y)
    return seen


def _torch_adamw(theta, g, m, v, t, lr, beta1, beta2, eps, wd):
    """One step of ``torch.optim.AdamW`` (single-tensor, not amsgrad), in NumPy."""
    theta = theta * (1 - lr * wd)
    m = beta1 * m + (1 - beta1) * g
    v = beta2 * v + (1 - beta2) * g * g
    step_size = lr / (1 - beta1**t)
    denom = np.sqrt(v) / np.sqrt(1 - beta2**t) + eps
    return theta - step_size * m / denom, m, v


@pytest.mark.parametrize("alpha", [0.0, 0.3])
def test_adamw_matches_torch_formulas_step_by_step(alpha):
    X, y = _data()
    lr, wd, b1, b2, eps = 0.05, 0.2, 0.8, 0.95, 1e-3
    est = MLPRegressor(
        (6,),
        activation="tanh",
        solver="adamw",
        alpha=alpha,
        batch_size=N,
        shuffle=False,
        learning_rate_init=lr,
        weight_decay=wd,
        beta_1=b1,
        beta_2=b2,
        epsilon=eps,
        tol=0,
        random_state=0,
        dtype="float64",
    )
    rng = np.random.default_rng(1)
    theta = [
        rng.standard_normal((L_IN, 6)),
        rng.standard_normal((6, 1)),
        rng.standard_normal(6) * 0.1,
        rng.standard_normal(1) * 0.1,
    ]
    seen = _fit_recording(est, X, y, theta)
    assert len(seen) == 5
    m = [np.zeros_like(a) for a in theta]
    v = [np.zeros_like(a) for a in theta]
    for t, got in enumerate(seen, start=1):
        _, dW, db = ref.gradients(theta[:2], theta[2:], ["tanh", "identity"], "squared_error", X, y[:, None])
        grads = dW + db
        grads = [g + alpha * w / N for g, w in zip(grads[:2], theta[:2])] + grads[2:]  # scikit-learn's L2 term
        new = [_torch_adamw(w, g, a, b, t, lr, b1, b2, eps, wd) for w, g, a, b in zip(theta, grads, m, v)]
        theta, m, v = [n[0] for n in new], [n[1] for n in new], [n[2] for n in new]
        for a, r in zip(got, theta):
            np.testing.assert_allclose(a, r, rtol=1e-11, atol=1e-13)


def test_adamw_with_no_decay_is_adam_up_to_where_epsilon_goes():
    X, y = _data()
    kw = dict(hidden_layer_sizes=(6,), batch_size=8, max_iter=3, random_state=0, dtype="float64", epsilon=1e-12)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        adam = MLPRegressor(solver="adam", **kw).fit(X, y)
        adamw = MLPRegressor(solver="adamw", weight_decay=0.0, **kw).fit(X, y)
        decayed = MLPRegressor(solver="adamw", weight_decay=0.5, **kw).fit(X, y)
    for a, b in zip(adam.coefs_, adamw.coefs_):
        np.testing.assert_allclose(a, b, rtol=1e-9)
    assert np.abs(decayed.coefs_[0]).sum() < np.abs(adamw.coefs_[0]).sum()


def test_adamw_saves_and_continues(tmp_path):
    X, y = _data()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        est = MLPClassifier((5,), solver="adamw", max_iter=2, random_state=0).fit(X, y > 0)
        est.save(tmp_path / "m.npz")
        back = nbmlp.load(tmp_path / "m.npz")
        est.partial_fit(X, y > 0)
        back.partial_fit(X, y > 0)
    assert back.solver == "adamw" and back.weight_decay == 0.01
    for a, b in zip(est.coefs_, back.coefs_):
        assert a.tobytes() == b.tobytes()


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_clip_gradient_kernel(dtype):
    g = np.random.default_rng(0).standard_normal(1001).astype(dtype)
    norm = np.sqrt(np.sum(g.astype(np.float64) ** 2))
    small = g.copy()
    clip_gradient(small, dtype(norm * 2))
    assert small.tobytes() == g.tobytes()  # under the limit: untouched
    clipped = g.copy()
    clip_gradient(clipped, dtype(norm / 4))
    assert clipped.dtype == dtype
    np.testing.assert_allclose(
        np.sqrt(np.sum(clipped.astype(np.float64) ** 2)), norm / 4, rtol=1e-6 if dtype == np.float32 else 1e-12
    )
    np.testing.assert_allclose(clipped, g * (norm / 4 / norm), rtol=1e-6 if dtype == np.float32 else 1e-12)


def test_clipping_sgd_step_against_the_reference():
    X, y = _data()
    lr, c = 0.1, 0.05
    est = MLPRegressor(
        (6,),
        activation="tanh",
        solver="sgd",
        momentum=0.0,
        alpha=0.0,
        batch_size=N,
        shuffle=False,
        learning_rate_init=lr,
        max_grad_norm=c,
        tol=0,
        random_state=0,
        dtype="float64",
    )
    rng = np.random.default_rng(2)
    theta = [rng.standard_normal((L_IN, 6)), rng.standard_normal((6, 1)), np.zeros(6), np.zeros(1)]
    seen = _fit_recording(est, X, y, theta)
    for got in seen:
        _, dW, db = ref.gradients(theta[:2], theta[2:], ["tanh", "identity"], "squared_error", X, y[:, None])
        grads = dW + db
        norm = np.sqrt(sum(np.sum(g * g) for g in grads))
        assert norm > c  # the limit is reached at every step of this test
        theta = [w - lr * g * (c / norm) for w, g in zip(theta, grads)]
        for a, r in zip(got, theta):
            np.testing.assert_allclose(a, r, rtol=1e-11, atol=1e-13)


def test_clipping_off_or_far_above_changes_nothing_and_mlp_fit_takes_it():
    rng = np.random.default_rng(5)
    X, y = rng.standard_normal((40, 6)), rng.integers(0, 3, 40)
    runs = []
    for clip in (None, 1e30, 0.01):
        net = nbmlp.MLP([6, 9, 3], seed=3, dtype="float64")
        runs.append((net.fit(X, y, epochs=2, batch_size=8, lr=0.5, max_grad_norm=clip), net.params.copy()))
    assert runs[0][0] == runs[1][0] and runs[0][1].tobytes() == runs[1][1].tobytes()
    assert runs[2][1].tobytes() != runs[0][1].tobytes()
    with pytest.raises(ValueError, match="max_grad_norm"):
        nbmlp.MLP([6, 9, 3]).fit(X, y, max_grad_norm=0)


def test_clipping_and_adamw_bitwise_identical_across_thread_counts():
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
                    (300, 70), solver="adamw", max_grad_norm=0.5, batch_size=128, max_iter=2, random_state=0
                ).fit(X, y)
            results.append(b"".join(a.tobytes() for a in est.coefs_ + est.intercepts_))
    finally:
        nbmlp.set_num_threads(before)
    assert results[0] == results[1]


def test_cosine_schedule_with_warmup_for_adam():
    X, y = _data()
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
    X, y = _data()
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


@pytest.mark.parametrize(
    "name,value",
    [
        ("weight_decay", -1.0),
        ("max_grad_norm", 0.0),
        ("max_grad_norm", "a"),
        ("warmup_epochs", 1.5),
        ("solver", "adamax"),
        ("learning_rate", "cos"),
    ],
)
def test_bad_parameters_name_themselves(name, value):
    X, y = _data()
    with pytest.raises((ValueError, TypeError), match=name):
        MLPRegressor((3,), **{name: value}).fit(X, y)
