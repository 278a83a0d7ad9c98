"""The register-blocked kernels against the plain kernels of ``dense`` and the NumPy reference.

Shapes are odd and not multiples of the 4×3 tile; serial and parallel versions, and 1 and 2
threads, must give bitwise identical results. ∂y below a narrow layer (m ≤ 16, l ≥ 24, e.g.
l = 30) takes the row sweeps of ``ab_rows`` (``blocked.narrow``) instead of the tiles.
"""
import numpy as np
import pytest

import nbmlp
import reference as ref
from conftest import ACTIVATIONS, DTYPES, tol
from nbmlp.kernels import activations, blocked
from nbmlp.kernels.dense import dense_backward_db, dense_backward_dw, dense_backward_dy, dense_forward

SIZES = (1, 3, 5, 7, 17)
SHAPES = [(N, l, m) for N in SIZES for l in (1, 7, 17, 30) for m in (1, 5, 7, 17)]


def rand(rng, shape, dtype):
    return rng.standard_normal(shape).astype(dtype)


def blocked_forward(y, w, b, code, parallel=False):
    N, m = y.shape[0], w.shape[1]
    wt = np.full((m, w.shape[0]), np.nan, y.dtype)
    u, y_out = np.full((N, m), np.nan, y.dtype), np.full((N, m), np.nan, y.dtype)
    if parallel:
        blocked.transpose_parallel(wt, w)
        blocked.forward_parallel(y_out, u, y, wt, b, code)
    else:
        blocked.transpose_rows(wt, w, 0, m)
        blocked.forward_rows(y_out, u, y, wt, b, code, 0, N)
    assert (wt == w.T).all()
    return u, y_out


def blocked_backward_dy(delta, w, u_in, y_in, code, parallel=False):
    dy, delta_in = np.full_like(u_in, np.nan), np.full_like(u_in, np.nan)
    wt = np.full((w.shape[1], w.shape[0]), np.nan, w.dtype)
    blocked.transpose_rows(wt, w, 0, w.shape[1])
    if parallel:
        blocked.backward_dy_parallel(delta_in, dy, delta, w, wt, u_in, y_in, code)
    else:
        blocked.backward_dy_rows(delta_in, dy, delta, w, wt, u_in, y_in, code, 0, dy.shape[0])
    return dy, delta_in


def blocked_backward_dw(y, delta, scale, parallel=False):
    (N, l), m = y.shape, delta.shape[1]
    yt, dt = np.full((l, N), np.nan, y.dtype), np.full((m, N), np.nan, y.dtype)
    dw, db = np.full((l, m), np.nan, y.dtype), np.full(m, np.nan, y.dtype)
    blocked.pack_delta(dt, db, delta, scale)
    if parallel:
        blocked.transpose_parallel(yt, y)
        blocked.backward_dw_parallel(dw, yt, dt, scale)
    else:
        blocked.transpose_rows(yt, y, 0, l)
        blocked.backward_dw_rows(dw, yt, dt, scale, 0, l)
    assert (yt == y.T).all() and (dt == delta.T).all()
    return dw, db


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("N,l,m", SHAPES)
def test_blocked_dense_matches_plain_and_reference(N, l, m, dtype):
    rng = np.random.default_rng(N * 1000 + l * 10 + m)
    y, w, b, delta = rand(rng, (N, l), dtype), rand(rng, (l, m), dtype), rand(rng, (m,), dtype), rand(rng, (N, m), dtype)
    y64, w64, b64, d64 = (a.astype(np.float64) for a in (y, w, b, delta))
    scale = dtype(1) / dtype(N)

    u, y_out = blocked_forward(y, w, b, activations.IDENTITY)
    u_plain = np.empty_like(u)
    dense_forward(u_plain, y, w, b)
    assert u.dtype == dtype and (y_out == u).all()
    np.testing.assert_allclose(u, y64 @ w64 + b64, **tol(dtype))
    np.testing.assert_allclose(u, u_plain, **tol(dtype))

    dy, delta_in = blocked_backward_dy(delta, w, y, y, activations.IDENTITY)
    dy_plain = np.empty_like(dy)
    dense_backward_dy(dy_plain, delta, w)
    assert (delta_in == dy).all()
    np.testing.assert_allclose(dy, d64 @ w64.T, **tol(dtype))
    np.testing.assert_allclose(dy, dy_plain, **tol(dtype))

    dw, db = blocked_backward_dw(y, delta, scale)
    dw_plain, db_plain = np.empty_like(dw), np.empty_like(db)
    dense_backward_dw(dw_plain, y, delta, scale)
    dense_backward_db(db_plain, delta, scale)
    np.testing.assert_allclose(dw, y64.T @ d64 / N, **tol(dtype))
    np.testing.assert_allclose(dw, dw_plain, **tol(dtype))
    np.testing.assert_allclose(db, db_plain, **tol(dtype))
    np.testing.assert_allclose(db, d64.mean(axis=0), **tol(dtype))


@pytest.mark.parametrize("dtype", DTYPES)
def test_abt_rows_over_several_cache_blocks(dtype):
    # nq large enough that a cache block holds fewer columns than B has (blocks of 4, then 3)
    rng = np.random.default_rng(3)
    nq = blocked.BLOCK_BYTES // (4 * np.dtype(dtype).itemsize) + 5
    A, B = rand(rng, (6, nq), dtype), rand(rng, (7, nq), dtype)
    C = np.full((6, 7), np.nan, dtype)
    blocked.abt_rows(C, A, B, 0, 6)
    np.testing.assert_allclose(C, A.astype(np.float64) @ B.astype(np.float64).T, rtol=1e-4 if dtype == np.float32 else 1e-10,
                               atol=1e-2 if dtype == np.float32 else 1e-9)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("act", ACTIVATIONS + ["softmax"])
@pytest.mark.parametrize("N,l,m", [(1, 3, 1), (5, 7, 3), (17, 5, 7)])
def test_blocked_forward_fuses_the_activation(act, N, l, m, dtype):
    rng = np.random.default_rng(m)
    y, w, b = rand(rng, (N, l), dtype), rand(rng, (l, m), dtype), rand(rng, (m,), dtype)
    code = activations.CODES[act]
    u, y_out = blocked_forward(y, w, b, code)
    y_plain = np.empty_like(y_out)
    activations.activation_forward(y_plain, u, code)
    assert y_out.tobytes() == y_plain.tobytes()
    np.testing.assert_allclose(y_out, ref.f(u.astype(np.float64), act), **tol(dtype))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("act", ACTIVATIONS)
@pytest.mark.parametrize("N,l,m", [(1, 1, 3), (5, 7, 3), (17, 5, 7)])
def test_blocked_backward_dy_fuses_the_derivative(act, N, l, m, dtype):
    rng = np.random.default_rng(m + 1)
    delta, w, u_in = rand(rng, (N, m), dtype), rand(rng, (l, m), dtype), rand(rng, (N, l), dtype)
    code = activations.CODES[act]
    y_in = np.empty_like(u_in)
    activations.activation_forward(y_in, u_in, code)
    dy, delta_in = blocked_backward_dy(delta, w, u_in, y_in, code)
    delta_plain = np.empty_like(delta_in)
    activations.activation_backward(delta_plain, dy, u_in, y_in, code)
    assert delta_in.tobytes() == delta_plain.tobytes()
    u64, y64 = u_in.astype(np.float64), y_in.astype(np.float64)
    expected = (delta.astype(np.float64) @ w.astype(np.float64).T) * ref.df(u64, y64, act)
    np.testing.assert_allclose(delta_in, expected, **tol(dtype))


def test_narrow_shapes_take_the_row_sweeps():
    # ∂y of the shapes above with l = 30 and m ≤ 7 exercises ab_rows; m = 17 or l ≤ 17 must not
    assert blocked.narrow(7, 30) and blocked.narrow(1, 30) and blocked.narrow(16, 24)
    assert not blocked.narrow(17, 30) and not blocked.narrow(7, 17) and not blocked.narrow(16, 23)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("nA,nq,nc", [(1, 1, 24), (5, 2, 25), (7, 3, 31), (9, 16, 40), (3, 15, 1), (4, 7, 9)])
def test_ab_rows_matches_reference(nA, nq, nc, dtype):
    rng = np.random.default_rng(nA * 100 + nq + nc)
    A, B = rand(rng, (nA, nq), dtype), rand(rng, (nq, nc), dtype)
    C = np.full((nA + 2, nc), np.nan, dtype)
    blocked.ab_rows(C, A, B, 0, nA)
    assert np.isnan(C[nA:]).all()  # rows outside [a0, a1) untouched
    np.testing.assert_allclose(C[:nA], A.astype(np.float64) @ B.astype(np.float64), **tol(dtype))
    # a sub-range of rows gives the same bits as the whole
    part = np.full((nA, nc), np.nan, dtype)
    blocked.ab_rows(part, A, B, nA // 2, nA)
    assert part[nA // 2:].tobytes() == C[nA // 2:nA].tobytes() and np.isnan(part[:nA // 2]).all()


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("N,l,m", [
    (133, 37, 70),  # several chunks of 8 tiles and a ragged last tile
    (140, 37, 10),  # ∂y below a narrow layer: row sweeps
])
def test_parallel_serial_and_thread_counts_bitwise_identical(N, l, m, dtype):
    if nbmlp._threads.numba.config.NUMBA_NUM_THREADS < 2:
        pytest.skip("needs at least 2 threads")
    rng = np.random.default_rng(7)
    y, w, b, delta = rand(rng, (N, l), dtype), rand(rng, (l, m), dtype), rand(rng, (m,), dtype), rand(rng, (N, m), dtype)
    code, scale = activations.TANH, dtype(1) / dtype(N)
    results = []
    for threads, parallel in ((1, False), (1, True), (2, True)):
        nbmlp.set_num_threads(threads)
        out = blocked_forward(y, w, b, code, parallel)
        out += blocked_backward_dy(delta, w, y, y, code, parallel)
        out += blocked_backward_dw(y, delta, scale, parallel)
        results.append(b"".join(a.tobytes() for a in out))
    assert results[0] == results[1] == results[2]


@pytest.mark.parametrize("dtype", DTYPES)
def test_a_sample_gives_the_same_bits_in_any_batch(dtype):
    # the ragged last tile repeats rows instead of using other code: each row's sums are the
    # same whichever rows share its tile
    rng = np.random.default_rng(8)
    y, w, b = rand(rng, (23, 9), dtype), rand(rng, (9, 6), dtype), rand(rng, (6,), dtype)
    whole = blocked_forward(y, w, b, activations.SIGMOID)[0]
    for start, stop in ((0, 1), (3, 6), (5, 22), (22, 23)):
        part = blocked_forward(np.ascontiguousarray(y[start:stop]), w, b, activations.SIGMOID)[0]
        assert part.tobytes() == whole[start:stop].tobytes()
