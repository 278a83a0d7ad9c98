"""Arrays whose data start at a multiple of 64 bytes (a cache line, and an AVX-512 vector).

NumPy aligns its allocations to 16 bytes only, so a vector of the kernels (32 bytes with AVX2,
64 with AVX-512) read from a NumPy buffer may straddle two cache lines. The gain is small (a few
per cent of a dense step either way, docs/performance.md), but alignment costs nothing. The
parameters, the gradients, the optimizer state and the work buffers are allocated here.

Alignment also keeps the bits the same from run to run: a vectorized loop may round its first
and last elements differently, and where they fall depends on the alignment (``distributed``
relies on it across ranks).
"""

import numpy as np

ALIGNMENT = 64  # bytes


def empty(n, dtype):
    """A 1-D array of ``n`` elements of ``dtype``, uninitialized, its data at a multiple of 64 bytes."""
    dtype = np.dtype(dtype)
    raw = np.empty(n * dtype.itemsize + ALIGNMENT, dtype=np.uint8)
    start = (-raw.ctypes.data) % ALIGNMENT
    return raw[start : start + n * dtype.itemsize].view(dtype)


def empty_many(sizes, dtype):
    """Arrays of ``sizes[k]`` elements of ``dtype``, uninitialized, each at a multiple of 64 bytes,
    cut from one allocation (one address lookup instead of one per array: each costs µs)."""
    per = ALIGNMENT // np.dtype(dtype).itemsize  # elements per 64 bytes
    starts = [0]
    for n in sizes:  # each array rounded up to 64 bytes
        starts.append(starts[-1] + -(-n // per) * per)
    whole = empty(starts[-1], dtype)
    return [whole[a : a + n] for a, n in zip(starts, sizes)]


def zeros(n, dtype):
    """As ``empty``, filled with zeros."""
    out = empty(n, dtype)
    out[...] = 0
    return out


def copy(a):
    """A copy of the 1-D array ``a`` whose data start at a multiple of 64 bytes."""
    out = empty(a.shape[0], a.dtype)
    out[...] = a
    return out
