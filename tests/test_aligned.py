"""The buffers the kernels read as vectors start at a multiple of 64 bytes (``nbmlp._aligned``)."""

import numpy as np
import pytest
from conftest import DTYPES

import nbmlp
from nbmlp import _aligned as aligned
from nbmlp.kernels.passes import pack_region


def _at_line(a):
    return a.ctypes.data % aligned.ALIGNMENT == 0


@pytest.mark.parametrize("dtype", DTYPES)
def test_helpers_align_and_keep_the_values(dtype):
    assert aligned.empty(0, dtype).shape == (0,)
    for n in (1, 7, 33):
        for _ in range(5):  # several allocations: NumPy's own land 16 bytes apart at random
            e = aligned.empty(n, dtype)
            assert _at_line(e) and e.shape == (n,) and e.dtype == dtype
        z = aligned.zeros(n, dtype)
        assert z.dtype == dtype and not z.any()
        a = np.arange(n, dtype=dtype)
        c = aligned.copy(a)
        assert _at_line(c) and c.dtype == dtype
        np.testing.assert_array_equal(c, a)


@pytest.mark.parametrize("dtype", DTYPES)
def test_empty_many_cuts_aligned_arrays_that_do_not_overlap(dtype):
    sizes = [0, 1, 7, 16, 33, 0, 5]
    arrays = aligned.empty_many(sizes, dtype)
    assert [a.shape for a in arrays] == [(n,) for n in sizes]
    assert all(_at_line(a) and a.dtype == dtype and a.flags.c_contiguous for a in arrays)
    for k, a in enumerate(arrays):
        a[...] = k
    for k, a in enumerate(arrays):
        assert (a == k).all()  # no array wrote into another


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_parameters_work_buffers_and_packed_copies_are_aligned(dtype):
    for layers in ([3, 5, 2], [7, 13, 11, 3]):
        net = nbmlp.MLP(layers, dtype=dtype, seed=0)
        assert _at_line(net.params)
        work = net.work_buffers(5, True)
        assert all(_at_line(b) for b in work[:4])
        assert _at_line(pack_region(work.Y, net.layout, 5))
