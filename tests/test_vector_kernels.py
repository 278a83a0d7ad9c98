"""The vector-register kernels of ``dense`` (``*_tiles`` and their drivers) against the plain loops
beside them and the NumPy reference, over odd shapes, both dtypes, one thread and every thread.

Every lane count and tile shape is checked: the tests run here at this machine's lane and register
counts, and again in a child process for each of a few others (``NBMLP_LANES``, ``NBMLP_REGISTERS``:
4, 8 and 16 float32 lanes, tiles of 6 and 14 rows), whose results must be bitwise the same.
"""

import os
import sys

import background
import numpy as np
import pytest
import reference as ref
from conftest import ACTIVATIONS, DTYPES, tol

import nbmlp
from nbmlp.kernels import activations, dense, lanes, tiles

NEURONS = (1, 3, 7, 17, 33, 65)
BATCHES = (1, 5, 7, 13, 29, 33)
DUMP = "NBMLP_TEST_DUMP"  # a child process saves its fixed-problem results here


def buffers(dtype, N, l, m):
    """The packed copies' space for one layer, cut as ``passes`` cuts it (NaN: unwritten)."""
    nr = 2 * lanes.lanes_for(dtype)
    P = np.full(dense.pack_elements(l, m, N, nr), np.nan, dtype)
    return (dense.forward_packing(P, l, m), dense.dy_packing(P, l, m)) + dense.dw_packing(P, N, l, m)


def fast_steps(y, w, b, delta, u_in, code, code_in, parallel):
    """Forward, ∂y (with the δ of the layer below) and ∂w, ∂b through the fast drivers."""
    dtype, (N, l), m = y.dtype, y.shape, w.shape[1]
    wp, wtp, yp, dp = buffers(dtype, N, l, m)
    u, y_out = np.full((N, m), np.nan, dtype), np.full((N, m), np.nan, dtype)
    dy, delta_in = np.full((N, l), np.nan, dtype), np.full((N, l), np.nan, dtype)
    dw, db = np.full((l, m), np.nan, dtype), np.full(m, np.nan, dtype)
    y_in = np.empty_like(u_in)
    activations.activation_forward(y_in, u_in, code_in)
    scale = dtype.type(1 / N)
    if parallel:
        dense.dense_forward_parallel(y_out, u, y, w, b, wp, code)
        dense.dense_backward_dy_parallel(delta_in, dy, delta, w, wtp, u_in, y_in, code_in)
        dense.dense_backward_dw_parallel(dw, db, y, delta, yp, dp, scale)
    else:
        dense.dense_forward_serial(y_out, u, y, w, b, code)
        dense.dense_backward_dy_serial(delta_in, dy, delta, w, wtp, u_in, y_in, code_in)
        dense.dense_backward_dw_serial(dw, db, y, delta, yp, dp, scale)
    return dict(u=u, y=y_out, dy=dy, delta_in=delta_in, dw=dw, db=db, y_in=y_in)


def problem(rng, dtype, N, l, m):
    r = lambda *shape: rng.standard_normal(shape).astype(dtype)  # noqa: E731
    return r(N, l), r(l, m), r(m), r(N, m), r(N, l)


@pytest.mark.parametrize("parallel", [False, True], ids=["serial", "parallel"])
@pytest.mark.parametrize("dtype", DTYPES)
def test_fast_steps_match_the_reference_over_odd_shapes(dtype, parallel):
    rng = np.random.default_rng(7)
    acts = ACTIVATIONS
    for N in BATCHES:
        for l in NEURONS:
            for m in NEURONS:
                act, act_in = acts[(N + l + m) % len(acts)], acts[(N + 2 * l + m) % len(acts)]
                y, w, b, delta, u_in = problem(rng, dtype, N, l, m)
                got = fast_steps(y, w, b, delta, u_in, activations.CODES[act], activations.CODES[act_in], parallel)
                y64, w64, d64 = y.astype(np.float64), w.astype(np.float64), delta.astype(np.float64)
                where = f"N={N} l={l} m={m} {act}/{act_in}"
                u_ref = y64 @ w64 + b
                np.testing.assert_allclose(got["u"], u_ref, **tol(dtype), err_msg=where)
                np.testing.assert_allclose(
                    got["y"], ref.f(got["u"].astype(np.float64), act), **tol(dtype), err_msg=where
                )
                dy_ref = d64 @ w64.T
                np.testing.assert_allclose(got["dy"], dy_ref, **tol(dtype), err_msg=where)
                y_in = got["y_in"].astype(np.float64)
                np.testing.assert_allclose(
                    got["delta_in"],
                    got["dy"] * ref.df(u_in.astype(np.float64), y_in, act_in),
                    **tol(dtype),
                    err_msg=where,
                )
                np.testing.assert_allclose(got["dw"], y64.T @ d64 / N, **tol(dtype), err_msg=where)
                np.testing.assert_allclose(got["db"], d64.mean(axis=0), **tol(dtype), err_msg=where)
                assert all(a.dtype == dtype for a in got.values())


@pytest.mark.parametrize("dtype", DTYPES)
def test_fast_steps_match_the_plain_loops_and_thread_counts(dtype):
    rng = np.random.default_rng(3)
    for N, l, m in [(33, 65, 17), (7, 33, 65), (32, 61, 30), (100, 40, 130)]:  # ∂w: y in place (N ≤ 32) and packed
        y, w, b, delta, u_in = problem(rng, dtype, N, l, m)
        serial = fast_steps(y, w, b, delta, u_in, activations.IDENTITY, activations.IDENTITY, False)
        parallel = fast_steps(y, w, b, delta, u_in, activations.IDENTITY, activations.IDENTITY, True)
        for key in serial:  # the same sums in the same order: the same bits
            np.testing.assert_array_equal(serial[key], parallel[key], err_msg=key)
        u, dy = np.empty((N, m), dtype), np.empty((N, l), dtype)
        dw, db = np.empty((l, m), dtype), np.empty(m, dtype)
        dense.dense_forward(u, y, w, b)
        dense.dense_backward_dy(dy, delta, w)
        dense.dense_backward_dw(dw, y, delta, dtype(1 / N))
        dense.dense_backward_db(db, delta, dtype(1 / N))
        np.testing.assert_allclose(serial["u"], u, **tol(dtype))
        np.testing.assert_allclose(serial["dy"], dy, **tol(dtype))
        np.testing.assert_allclose(serial["dw"], dw, **tol(dtype))
        np.testing.assert_array_equal(serial["db"], db)  # ∂b sums in sample order in both


def test_the_broadcast_operand_is_packed_exactly_for_tiles_larger_than_avx2s():
    # 6 rows read y and δ in place; the 14-row tile reads them packed in tiles of samples
    assert dense.PACK_BROADCAST == (tiles.ROWS > tiles.rows_for(16))


@pytest.mark.parametrize("dtype", DTYPES)
def test_pack_tiles_puts_the_tiles_samples_side_by_side_and_repeats_the_last(dtype):
    rng, R = np.random.default_rng(11), dense.TILE
    for N in BATCHES:
        for n in NEURONS:
            y = rng.standard_normal((N, n)).astype(dtype)
            T = dense.tiles(N)
            ys = np.full((T * n, R), np.nan, dtype)
            dense.pack_tiles(ys, y, 0, T)
            # ys[t n + i, x] = y[min(R t + x, N − 1), i]
            expected = y[np.minimum(np.arange(T * R), N - 1)].reshape(T, R, n).transpose(0, 2, 1).reshape(T * n, R)
            np.testing.assert_array_equal(ys, expected, err_msg=f"N={N} n={n}")


@pytest.mark.skipif(not dense.PACK_BROADCAST, reason="this tile shape reads y and δ in place")
@pytest.mark.parametrize("dtype", DTYPES)
def test_the_packed_broadcast_operands_lie_in_the_space_after_the_panels(dtype):
    nr = 2 * lanes.lanes_for(dtype)
    for N, l, m in [(1, 1, 1), (13, 65, 3), (33, 7, 65), (29, 17, 33)]:
        P = np.zeros(dense.pack_elements(l, m, N, nr), dtype)
        for space, panel_rows, n in [
            (dense.forward_packing(P, l, m), dense.panels(m, nr) * (l + 1), l),
            (dense.dy_packing(P, l, m), dense.panels(l, nr) * m, m),
        ]:
            P[:] = 0
            ys = dense.tiles_after(space, panel_rows, N, n)
            assert ys.shape == (dense.tiles(N) * n, dense.TILE)
            ys[:] = 1  # a view of the space: the panels before it stay untouched
            start = panel_rows * nr
            assert not P[:start].any() and P[start : start + ys.size].all() and P.sum() == ys.size


def softmax_case(dtype):
    rng = np.random.default_rng(5)
    y, w, b, _, _ = problem(rng, dtype, 50, 20, 11)
    return y, w, b


@pytest.mark.parametrize("parallel", [False, True], ids=["serial", "parallel"])
@pytest.mark.parametrize("dtype", DTYPES)
def test_fast_forward_applies_softmax_to_whole_rows(dtype, parallel):
    y, w, b = softmax_case(dtype)
    wp, *_ = buffers(dtype, 50, 20, 11)
    u, y_out = np.empty((50, 11), dtype), np.empty((50, 11), dtype)
    if parallel:
        dense.dense_forward_parallel(y_out, u, y, w, b, wp, activations.SOFTMAX)
    else:
        dense.dense_forward_serial(y_out, u, y, w, b, activations.SOFTMAX)
    np.testing.assert_allclose(y_out, ref.f(y.astype(np.float64) @ w.astype(np.float64) + b, "softmax"), **tol(dtype))


def fixed_results():
    """The fast steps on one odd problem per dtype (serial and parallel drivers), for comparing
    lane counts and tile shapes bit for bit."""
    out = {}
    for dtype in DTYPES:
        rng = np.random.default_rng(1)
        y, w, b, delta, u_in = problem(rng, dtype, 37, 45, 29)
        for parallel in (False, True):
            got = fast_steps(y, w, b, delta, u_in, activations.TANH, activations.SIGMOID, parallel)
            driver = "parallel" if parallel else "serial"
            out.update({f"{k}_{np.dtype(dtype).name}_{driver}": v for k, v in got.items()})
    return out


def test_fixed_problem_for_the_lane_count_comparison():
    results = fixed_results()
    assert all(np.isfinite(v).all() for v in results.values())
    if os.environ.get(DUMP):
        np.savez(os.environ[DUMP], **results)


def test_fixed_problem_gives_the_same_bits_on_one_thread_and_on_every_thread():
    every = fixed_results()
    nbmlp.set_num_threads(1, adaptive=False)
    one = fixed_results()
    for key, value in every.items():
        np.testing.assert_array_equal(one[key], value, err_msg=key)


# (float32 lanes, vector registers): AVX2's (8, 16), AVX-512's (16, 32), Zen 4's (16, 16) and one
# more; whichever of them the host runs, the others cover every lane count and both tile shapes
SHAPES = [(4, 32), (8, 16), (16, 16), (16, 32)]
OTHER_SHAPES = [shape for shape in SHAPES if shape != (lanes.LANES32, lanes.REGISTERS)]
FORCED = bool(os.environ.get(lanes.LANES_VARIABLE) or os.environ.get(lanes.REGISTERS_VARIABLE))


def _name(shape):
    return f"lanes{shape[0]}-registers{shape[1]}"


def _start_lane_children():
    # one child process per other shape (each mostly compiles, on one core)
    if FORCED:
        return  # already a child with a forced shape
    here = os.path.dirname(os.path.abspath(__file__))
    for shape in OTHER_SHAPES:
        if shape in _DUMPS:
            continue  # started already
        dump = os.path.join(background.scratch(_name(shape)), "fixed.npz")
        forced = {lanes.LANES_VARIABLE: str(shape[0]), lanes.REGISTERS_VARIABLE: str(shape[1])}
        background.launch(
            _name(shape),
            [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "test_lanes.py", "test_vector_kernels.py"],
            cwd=here,
            env=dict(os.environ, **forced, **{DUMP: dump}),
        )
        _DUMPS[shape] = dump


_DUMPS = {}


def test_the_shapes_compared_cover_every_lane_count_and_tile_shape():
    # the host runs its own shape and starts a child for each other one
    assert {w for w, _ in SHAPES} == set(lanes.WIDTHS)
    assert {tiles.rows_for(n) for _, n in SHAPES} == {6, 14}
    for host in [(8, 16), (16, 16), (16, 32)]:  # AVX2, Zen 4, AVX-512: three children each
        assert host in SHAPES


@pytest.mark.skipif(FORCED, reason="already a child with a forced lane count or tile shape")
@background.child(_start_lane_children)
def test_every_lane_count_and_tile_shape_passes_and_gives_the_same_bits():
    outputs = {shape: background.result(_name(shape), _start_lane_children) for shape in OTHER_SHAPES}
    ours = fixed_results()
    for shape, (returncode, out, err) in outputs.items():
        where = f"{shape[0]} float32 lanes, {shape[1]} registers ({tiles.rows_for(shape[1])} rows)"
        assert returncode == 0, f"{where}:\n{out[-3000:]}{err[-1000:]}"
        assert " passed" in out and "failed" not in out
        theirs = np.load(_DUMPS[shape])
        assert sorted(theirs.files) == sorted(ours)
        for key, value in ours.items():
            np.testing.assert_array_equal(theirs[key], value, err_msg=f"{key} at {where}")
