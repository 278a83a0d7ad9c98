"""Optimizer, penalty and sample-weight kernels against the NumPy references (scikit-learn's formulas);
AdamW against PyTorch's ``torch.optim.AdamW`` formulas (written in NumPy, float64, step by step) and
gradient clipping by the global norm, in the kernels and through the estimators."""

import warnings

import numpy as np
import pytest
import reference as ref
from conftest import DTYPES, tol

import nbmlp
from nbmlp import MLPClassifier, MLPRegressor
from nbmlp.kernels import losses, optim
from nbmlp.kernels.optim import clip_gradient
from nbmlp.kernels.passes import Batch, Network, backward_pass, forward_pass

SHAPES = [1, 3, 7, 1001]


def rand(rng, shape, dtype):
    return rng.standard_normal(shape).astype(dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("P", SHAPES)
@pytest.mark.parametrize("nesterov", [False, True])
def test_momentum_and_nesterov(P, dtype, nesterov):
    rng = np.random.default_rng(P)
    theta, v = rand(rng, P, dtype), rand(rng, P, dtype)
    t64, v64 = theta.astype(np.float64), v.astype(np.float64)
    kernel = optim.nesterov_update if nesterov else optim.momentum_update
    for _ in range(3):
        g = rand(rng, P, dtype)
        kernel(theta, v, g, dtype(0.1), dtype(0.9))
        ref.momentum_step(t64, v64, g.astype(np.float64), 0.1, 0.9, nesterov)
    assert theta.dtype == dtype and v.dtype == dtype
    np.testing.assert_allclose(theta, t64, **tol(dtype))
    np.testing.assert_allclose(v, v64, **tol(dtype))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("P", SHAPES)
def test_adam(P, dtype):
    rng = np.random.default_rng(P)
    theta = rand(rng, P, dtype)
    m, s = np.zeros(P, dtype), np.zeros(P, dtype)
    t64, m64, s64 = theta.astype(np.float64), np.zeros(P), np.zeros(P)
    for t in range(1, 4):
        g = rand(rng, P, dtype)
        eta_t = 0.01 * np.sqrt(1 - 0.999**t) / (1 - 0.9**t)
        optim.adam_update(theta, m, s, g, dtype(eta_t), dtype(0.9), dtype(0.999), dtype(1e-8))
        ref.adam_step(t64, m64, s64, g.astype(np.float64), 0.01, t, 0.9, 0.999, 1e-8)
    assert theta.dtype == dtype
    np.testing.assert_allclose(theta, t64, **tol(dtype))
    np.testing.assert_allclose(m, m64, **tol(dtype))
    np.testing.assert_allclose(s, s64, **tol(dtype))


@pytest.mark.parametrize("dtype", DTYPES)
# [300, 220, 3]: 66,883 parameters, more than optim.SERIAL_UPDATE: threads own blocks of
# optim.UPDATE_BLOCK, with block boundaries inside the first w
@pytest.mark.parametrize("layers", [[1, 1], [3, 7, 1], [7, 3, 3, 5], [300, 220, 3]])
def test_l2_gradient_and_sqnorm_touch_weights_only(layers, dtype):
    net = nbmlp.MLP(layers, activation="tanh", output="identity", dtype=dtype, seed=0)
    rng = np.random.default_rng(1)
    net.params[...] = rand(rng, net.n_params, dtype)
    g = rand(rng, net.n_params, dtype)
    expected = g.astype(np.float64)
    wv, _ = net.views(expected)
    for w_ref, w in zip(wv, net.weights):
        w_ref += 0.3 * w.astype(np.float64)
    optim.l2_gradient(g, net.params, net.layout, dtype(0.3))
    np.testing.assert_allclose(g, expected, **tol(dtype))
    sq = sum((w.astype(np.float64) ** 2).sum() for w in net.weights)
    np.testing.assert_allclose(
        optim.weight_sqnorm(net.params, net.layout), sq, rtol=1e-6 if dtype == np.float32 else 1e-12
    )


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("N", [1, 5])
@pytest.mark.parametrize(
    "output,loss", [("softmax", "cross_entropy"), ("sigmoid", "binary_cross_entropy"), ("identity", "squared_error")]
)
def test_weighted_backward_pass(N, dtype, output, loss):
    rng = np.random.default_rng(N)
    net = nbmlp.MLP([3, 7, 3], activation="relu", output=output, loss=loss, dtype=dtype, seed=2)
    X = rand(rng, (N, 3), dtype)
    T = np.eye(3, dtype=dtype)[rng.integers(0, 3, N)]
    c = rng.uniform(0.1, 3, N).astype(dtype)
    work = net.work_buffers(N, with_backward=True)
    work.Y[: X.size] = X.ravel()
    grads = np.empty_like(net.params)
    forward_pass(work.Y, work.U, net.params, net.layout, N, N)
    backward_pass(Network(net.params, grads, net.layout, net.loss_code), work, Batch(N, N, None, T, None, c))
    w = [a.astype(np.float64) for a in net.weights]
    b = [a.astype(np.float64) for a in net.biases]
    dW, db = ref.weighted_gradients(
        w, b, net.activations, loss, X.astype(np.float64), T.astype(np.float64), c.astype(np.float64), 0.0
    )
    gw, gb = net.views(grads)
    for a, r in zip(gw + gb, dW + db):
        np.testing.assert_allclose(a, r, **tol(dtype))


@pytest.mark.parametrize("dtype", DTYPES)
def test_weight_delta(dtype):
    rng = np.random.default_rng(0)
    delta, c = rand(rng, (5, 3), dtype), rand(rng, 5, dtype)
    expected = delta.astype(np.float64) * c.astype(np.float64)[:, None]
    losses.weight_delta(delta, c)
    np.testing.assert_allclose(delta, expected, **tol(dtype))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("optimizer", [optim.SGD, optim.MOMENTUM, optim.NESTEROV, optim.ADAM, optim.ADAMW])
def test_optimizer_step_in_blocks_equals_one_pass(optimizer, dtype):
    # more than SERIAL_UPDATE entries: optimizer_step runs blocks of UPDATE_BLOCK on the threads;
    # every entry is updated on its own, so the blocks give the bits of one pass over all of them
    P = optim.SERIAL_UPDATE + optim.UPDATE_BLOCK + 7
    rng = np.random.default_rng(optimizer)
    theta, a, b, g = (rand(rng, P, dtype) for _ in range(4))
    b = np.abs(b)
    rule = optim.Rule(optimizer, dtype(0.01), dtype(0.9), dtype(0.9), dtype(0.999), dtype(1e-8), dtype(0.999))
    blocks = [x.copy() for x in (theta, a, b)]
    optim.optimizer_step(*blocks[:3], g, rule)
    whole = [x.copy() for x in (theta, a, b)]
    optim.update_block(*whole[:3], g, rule, np.int64(0), P)
    for x, y in zip(blocks, whole):
        np.testing.assert_array_equal(x, y)
    assert not np.array_equal(blocks[0], theta)


# -- AdamW and clipping by the global norm, through the estimators ----------------------------------
ROWS, INPUTS = 24, 5  # the regression data of the estimator-level tests below


def _regression_data():
    rng = np.random.default_rng(7)
    X = rng.standard_normal((ROWS, INPUTS))
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
    X, y = _regression_data()
    lr, wd, b1, b2, eps = 0.05, 0.2, 0.8, 0.95, 1e-3
    est = MLPRegressor(
        (6,),
        activation="tanh",
        solver="adamw",
        alpha=alpha,
        batch_size=ROWS,
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
        rng.standard_normal((INPUTS, 6)),
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
        grads = [g + alpha * w / ROWS for g, w in zip(grads[:2], theta[:2])] + grads[2:]  # scikit-learn's L2 term
        new = [_torch_adamw(w, g, a, b, t, lr, b1, b2, eps, wd) for w, g, a, b in zip(theta, grads, m, v)]
        theta, m, v = [n[0] for n in new], [n[1] for n in new], [n[2] for n in new]
        for a, r in zip(got, theta):
            np.testing.assert_allclose(a, r, rtol=1e-11, atol=1e-13)


def test_adamw_with_no_decay_is_adam_up_to_where_epsilon_goes():
    X, y = _regression_data()
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
    X, y = _regression_data()
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
    X, y = _regression_data()
    lr, c = 0.1, 0.05
    est = MLPRegressor(
        (6,),
        activation="tanh",
        solver="sgd",
        momentum=0.0,
        alpha=0.0,
        batch_size=ROWS,
        shuffle=False,
        learning_rate_init=lr,
        max_grad_norm=c,
        tol=0,
        random_state=0,
        dtype="float64",
    )
    rng = np.random.default_rng(2)
    theta = [rng.standard_normal((INPUTS, 6)), rng.standard_normal((6, 1)), np.zeros(6), np.zeros(1)]
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
    X, y = _regression_data()
    with pytest.raises((ValueError, TypeError), match=name):
        MLPRegressor((3,), **{name: value}).fit(X, y)
