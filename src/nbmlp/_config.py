"""Numba decorator options, defined once for every kernel.

``JIT_PARALLEL`` is for the kernels with a ``prange`` loop; ``JIT_SERIAL`` for the scalar helpers
and for the drivers that call parallel kernels one after another (a driver never runs a parallel
kernel inside its own parallel loop).

``fastmath`` allows re-association and contraction (so reductions vectorize and use FMA) but
keeps NaN and inf semantics (no ``nnan``/``ninf``), so divergence checks with ``np.isfinite``
still work. Re-association changes no result between thread counts: every output is summed by
one thread, in the same order, whatever the number of threads.
"""

FASTMATH = {"reassoc", "contract", "arcp", "nsz"}

JIT_PARALLEL = dict(parallel=True, fastmath=FASTMATH, cache=True, nogil=True, error_model="numpy")
JIT_SERIAL = dict(parallel=False, fastmath=FASTMATH, cache=True, nogil=True, error_model="numpy")
JIT_INLINE = dict(JIT_SERIAL, inline="always")
