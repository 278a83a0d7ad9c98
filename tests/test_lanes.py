"""The vector layer's intrinsics on small arrays, at the lane count this process uses.

``test_vector_kernels.py`` runs this file again in child processes with every other lane count
forced (``NBMLP_LANES``), so every width is checked on any machine.
"""

import llvmlite.binding as llvm
import numpy as np
import pytest
from conftest import DTYPES
from numba import njit

from nbmlp.kernels import dense, lanes, tiles
from nbmlp.kernels.lanes import (
    lane_count,
    vadd,
    vbroadcast,
    vbroadcast_at,
    vdiv,
    vexp,
    vfma,
    vlane,
    vload,
    vload_part,
    vmul,
    vstore,
    vstore_part,
    vsub,
    vsum,
    vsum_part,
    vtanh,
    vwhere_greater,
    vzero,
)


def width(dtype):
    return lanes.lanes_for(dtype)


@njit
def _copy(out, a, r, c):
    vstore(out, r, c, vload(a, r, c))
    return lane_count(a)


@njit
def _store_part(out, a, n):
    vstore_part(out, 0, 1, vload(a, 0, 0), n)


@njit
def _load_part(out, a, n):
    vstore(out, 0, 0, vload_part(a, 0, 1, n))


@njit
def _arith(out, a, x):
    v, z = vload(a, 0, 0), vzero(a)
    vstore(out, 0, 0, vfma(v, vbroadcast(x), z))  # v·x + 0
    vstore(out, 1, 0, vadd(v, v))
    vstore(out, 2, 0, vmul(v, v))
    return vsum(v), vlane(v, 1)


@njit
def _elementwise(out, a, which):
    """``e^x`` (0), ``tanh x`` (1), ``x − y`` (2) or ``x / y`` (3, y = 3) of every element of each row."""
    W, three = lane_count(a), vbroadcast(a.dtype.type(3))
    for r in range(a.shape[0]):
        for c in range(0, a.shape[1], W):
            x = vload(a, r, c)
            if which == 0:
                vstore(out, r, c, vexp(x))
            elif which == 1:
                vstore(out, r, c, vtanh(x))
            elif which == 2:
                vstore(out, r, c, vsub(x, three))
            else:
                vstore(out, r, c, vdiv(x, three))


@njit
def _broadcast_at(out, a, r, c):
    vstore(out, 0, 0, vbroadcast_at(a, r, c))


@njit
def _sum_part(a, n):
    return vsum_part(vload(a, 0, 0), n)


@njit
def _where_greater(out, x, y, a, b):
    """``a if x > y else b`` of every element, a vector at a time."""
    for c in range(0, x.shape[1], lane_count(x)):
        vstore(out, 0, c, vwhere_greater(vload(x, 0, c), vload(y, 0, c), vload(a, 0, c), vload(b, 0, c)))


@njit
def _fma(a, b, c):
    return vlane(vfma(vbroadcast(a), vbroadcast(b), vbroadcast(c)), 0)


def test_lane_count_follows_the_cpu_or_the_variable(monkeypatch):
    assert lanes.LANES32 in lanes.WIDTHS and lanes.LANES64 * 2 == lanes.LANES32
    monkeypatch.setenv(lanes.LANES_VARIABLE, "8")
    assert lanes.chosen_lanes() == 8
    monkeypatch.setenv(lanes.LANES_VARIABLE, "")
    assert lanes.chosen_lanes() == lanes.host_lanes()
    monkeypatch.setenv(lanes.LANES_VARIABLE, "5")
    with pytest.raises(ValueError, match="NBMLP_LANES"):
        lanes.chosen_lanes()


def test_register_count_follows_the_cpu_or_the_variable(monkeypatch):
    assert lanes.REGISTERS in lanes.REGISTER_COUNTS
    avx512 = lanes.HOST_FEATURES.get("avx512f", False)
    assert lanes.host_registers() == (32 if avx512 and llvm.get_host_cpu_name() not in lanes.TILES_AS_16 else 16)
    monkeypatch.setenv(lanes.REGISTERS_VARIABLE, "16")
    assert lanes.chosen_registers() == 16
    monkeypatch.setenv(lanes.REGISTERS_VARIABLE, "")
    assert lanes.chosen_registers() == lanes.host_registers()
    monkeypatch.setenv(lanes.REGISTERS_VARIABLE, "24")
    with pytest.raises(ValueError, match="NBMLP_REGISTERS"):
        lanes.chosen_registers()


def test_tile_rows_follow_the_register_count():
    # 2R sums, the panel's 2 vectors and the broadcast value fit: BLIS's 6-row tile on 16 registers
    assert tiles.rows_for(16) == 6 and tiles.rows_for(32) == 14
    assert tiles.ROWS == tiles.rows_for(lanes.REGISTERS) == dense.TILE
    assert lanes.NATIVE == (lanes.LANES32 == lanes.host_lanes() and lanes.REGISTERS == lanes.host_registers())


@pytest.mark.parametrize("dtype", DTYPES)
def test_load_and_store_a_row_segment(dtype):
    W = width(dtype)
    a = np.arange(3 * (W + 3), dtype=dtype).reshape(3, W + 3)
    out = np.full_like(a, -1)
    assert _copy(out, a, 2, 3) == W
    expected = np.full_like(a, -1)
    expected[2, 3 : 3 + W] = a[2, 3 : 3 + W]
    np.testing.assert_array_equal(out, expected)


@pytest.mark.parametrize("masked", [False, True])
@pytest.mark.parametrize("dtype", DTYPES)
def test_partial_store_writes_only_the_first_n_lanes(dtype, masked, monkeypatch):
    # both ways of storing a partial vector (``lanes.MASKED_STORES`` picks one from the CPU), each
    # compiled afresh: the flag is read when the intrinsic is compiled
    monkeypatch.setattr(lanes, "MASKED_STORES", masked)
    store_part = njit(_store_part.py_func)
    W = width(dtype)
    a = np.arange(1, W + 1, dtype=dtype).reshape(1, W)
    for n in range(-2, W + 6):
        out = np.zeros((1, W + 2), dtype)
        store_part(out, a, n)
        k = max(0, min(n, W))
        expected = np.zeros((1, W + 2), dtype)
        expected[0, 1 : 1 + k] = a[0, :k]
        np.testing.assert_array_equal(out, expected, err_msg=f"n = {n}")


@pytest.mark.parametrize("dtype", DTYPES)
def test_partial_load_reads_only_the_first_n_lanes(dtype):
    W = width(dtype)
    for n in (-2, 0, 1, W - 1, W, W + 5):
        k = max(0, min(n, W))
        a = np.full((1, W + 1), np.nan, dtype)  # NaN past the n elements: a lane that read them would show it
        a[0, 1 : 1 + k] = np.arange(1, k + 1, dtype=dtype)
        out = np.full((1, W), -1, dtype)
        _load_part(out, a, n)
        expected = np.zeros((1, W), dtype)
        expected[0, :k] = a[0, 1 : 1 + k]
        np.testing.assert_array_equal(out, expected, err_msg=f"n = {n}")


@pytest.mark.parametrize("dtype", DTYPES)
def test_broadcast_zero_add_mul_lane_and_sum(dtype):
    W = width(dtype)
    a = (np.arange(W, dtype=dtype) * dtype(0.1) + dtype(1)).reshape(1, W)
    out = np.zeros((3, W), dtype)
    total, second = _arith(out, a, dtype(3))
    np.testing.assert_array_equal(out[0], a[0] * dtype(3))
    np.testing.assert_array_equal(out[1], a[0] + a[0])
    np.testing.assert_array_equal(out[2], a[0] * a[0])
    assert second == a[0, 1]
    expected = dtype(0)
    for q in range(W):  # the lanes are added in order
        expected = dtype(expected + a[0, q])
    assert total == expected and type(total) in (dtype, float)


def test_fma_rounds_once():
    # (1 + 2⁻¹²)² = 1 + 2⁻¹¹ + 2⁻²⁴: a float32 product loses the 2⁻²⁴, a fused multiply-add keeps it
    x = np.float32(1 + 2.0**-12)
    c = np.float32(-(1 + 2.0**-11))
    assert _fma(x, x, c) == np.float32(2.0**-24)
    assert np.float32(x * x) + c == 0
    # the same in float64 with 2⁻²⁷: (1 + 2⁻²⁷)² = 1 + 2⁻²⁶ + 2⁻⁵⁴
    x64, c64 = 1 + 2.0**-27, -(1 + 2.0**-26)
    assert _fma(x64, x64, c64) == 2.0**-54


def _ulps(got, exact, dtype):
    """|got − exact| in units in the last place of the exact value rounded to ``dtype``."""
    rounded = exact.astype(dtype)
    return np.abs(got.astype(np.float64) - exact) / np.spacing(np.abs(rounded)).astype(np.float64)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", ["exp", "tanh"])
def test_exp_and_tanh_within_two_ulps(dtype, name):
    W = width(dtype)
    rng = np.random.default_rng(1)
    wide = 800.0 if dtype == np.float64 else 110.0  # past overflow and through the subnormals
    special = [0.0, -0.0, np.inf, -np.inf, np.nan, 0.625, -0.625, 1e-30, -1e-30, 88.72, -87.3, -103.9, 709.78, -745.1]
    x = np.concatenate([rng.uniform(-wide, wide, 20 * W), rng.uniform(-2, 2, 20 * W), special]).astype(dtype)
    x = np.concatenate([x, np.zeros((-len(x)) % W, dtype)]).reshape(-1, W)
    out = np.empty_like(x)
    _elementwise(out, x, 0 if name == "exp" else 1)
    with np.errstate(over="ignore"):
        exact = getattr(np, name)(x.astype(np.float64))  # NumPy's float64: within 1 ulp of e^x, tanh x
        rounded = exact.astype(dtype)
    finite, nan = np.isfinite(rounded), np.isnan(exact)
    np.testing.assert_array_equal(np.isnan(out), nan)  # NaN kept, and only there
    np.testing.assert_array_equal(out[~finite & ~nan], rounded[~finite & ~nan])  # ±inf where e^x, tanh x round to it
    assert _ulps(out[finite], exact[finite], dtype).max() <= 2
    if name == "exp":
        assert out.dtype == dtype and np.any((out > 0) & (out < np.finfo(dtype).tiny))  # subnormal results


@pytest.mark.parametrize("dtype", DTYPES)
def test_sub_div_and_partial_sum(dtype):
    W = width(dtype)
    a = (np.arange(W, dtype=dtype) * dtype(0.7) + dtype(1)).reshape(1, W)
    out = np.zeros_like(a)
    _elementwise(out, a, 2)
    np.testing.assert_array_equal(out[0], a[0] - dtype(3))
    _elementwise(out, a, 3)
    np.testing.assert_array_equal(out[0], a[0] / dtype(3))
    for n in (-1, 0, 1, W - 1, W, W + 3):
        expected = dtype(0)
        for q in range(min(max(n, 0), W)):  # the lanes q < n, in order
            expected = dtype(expected + a[0, q])
        assert _sum_part(a, n) == expected, n


@pytest.mark.parametrize("dtype", DTYPES)
def test_broadcast_of_one_element(dtype):
    W = width(dtype)
    a = np.arange(12, dtype=dtype).reshape(3, 4)
    out = np.zeros((1, W), dtype)
    for r, c in ((0, 0), (2, 3), (1, 2)):
        _broadcast_at(out, a, r, c)
        np.testing.assert_array_equal(out[0], np.full(W, a[r, c]))


@pytest.mark.parametrize("dtype", DTYPES)
def test_where_greater_is_the_scalar_branch_on_every_lane(dtype):
    # every pair of special values, as x > y is decided for scalars (NaN compares false; −0 = +0)
    special = np.array([np.nan, -np.inf, -1.5, -0.0, 0.0, 1e-30, 2.5, np.inf], dtype)
    x, y = (v.ravel() for v in np.meshgrid(special, special))
    n = len(x) + (-len(x)) % width(dtype)
    pad = lambda v: np.concatenate([v, np.zeros(n - len(v), dtype)]).reshape(1, n)  # noqa: E731
    a, b = np.arange(n, dtype=dtype).reshape(1, n), -np.arange(n, dtype=dtype).reshape(1, n) - 1
    out = np.empty((1, n), dtype)
    _where_greater(out, pad(x), pad(y), a, b)
    expected = [a[0, k] if xk > yk else b[0, k] for k, (xk, yk) in enumerate(zip(pad(x)[0], pad(y)[0]))]
    np.testing.assert_array_equal(out[0], np.array(expected, dtype))
    # ReLU as Python's max keeps NaN and −0: max(u, 0) = 0 if 0 > u else u
    u = special.reshape(1, -1)
    u = np.concatenate([u, np.zeros((1, (-u.shape[1]) % width(dtype)), dtype)], axis=1)
    relu = np.empty_like(u)
    _where_greater(relu, np.zeros_like(u), u, np.zeros_like(u), u)
    np.testing.assert_array_equal(relu[0], np.array([max(v, dtype(0)) for v in u[0]], dtype))
    assert np.signbit(relu[0, 3]) and np.isnan(relu[0, 0])
