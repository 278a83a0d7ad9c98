"""Numba decorator options, defined once for every kernel.

``JIT_PARALLEL`` is for the kernels with a ``prange`` loop; ``JIT_SERIAL`` for code that calls no
parallel kernel; ``JIT_DRIVER`` for the drivers that call parallel kernels one after another (a
driver has no ``prange`` of its own and never runs a parallel kernel inside a parallel loop).
``JIT_DRIVER_INLINE`` is for the drivers between the epoch and the kernels (``forward_pass``,
``loss_sum``, ``backward_pass`` and ``backward_pass_scaled`` with their shared body
``backward_layers``, ``apply_update``): Numba inlines their code into each compiled caller
instead of compiling them on their own (called from Python, they compile as usual).
Numba links every callee's compiled module into its caller's and optimizes and emits all of it
again, so each level of compiled drivers between the epoch and the kernels costs seconds of
compile time (inlining them saved about 3 s of LLVM time in the first ``fit``).

A driver is compiled with ``parallel=True`` although it has no parallel loop: a cached *serial*
function that calls a parallel one crashes when it is loaded from the cache in a later process
(numba issue #8578, open in numba 0.68); compiled as parallel, the same driver loads safely.
``tests/test_cache.py`` runs that sequence in fresh processes.

``cache`` is True when Numba can write its cache somewhere (``CACHE``, decided at import):
installed read-only for a user without a writable home and without ``NUMBA_CACHE_DIR``, nbmlp
compiles without the on-disk cache and warns once.

``fastmath`` allows re-association and contraction (so reductions vectorize and use FMA) but
keeps NaN and inf semantics (no ``nnan``/``ninf``), so divergence checks with ``np.isfinite``
still work. Re-association changes no result between thread counts: every output is summed by
one thread, in the same order, whatever the number of threads.
"""
import os
import warnings

from numba.core.errors import NumbaPerformanceWarning

from .kernels.lanes import NATIVE

FASTMATH = {"reassoc", "contract", "arcp", "nsz"}


def _probe():
    """A function for ``_cache_usable`` to ask Numba's cache locators about."""


def _cache_usable():
    """Whether Numba can cache the kernels: one of its cache locators accepts ``kernels/``.

    With ``cache=True`` and no usable locator (package in a read-only place, no writable home,
    no ``NUMBA_CACHE_DIR``) Numba raises at decoration time, that is at ``import nbmlp``.
    """
    try:
        from numba.core.caching import FunctionCache
        locators = FunctionCache._impl_class._locator_classes
    except (ImportError, AttributeError):  # pragma: no cover - another Numba layout: let Numba decide
        return True
    source = os.path.join(os.path.dirname(os.path.abspath(__file__)), "kernels", "__init__.py")
    for locator in locators:
        try:
            if locator.from_function(_probe, source) is not None:
                return True
        except Exception:  # noqa: BLE001 - a locator that fails is a locator that cannot be used
            continue
    return False


CACHE = _cache_usable()
if not CACHE:
    warnings.warn("nbmlp: Numba has no writable cache directory (the package's directory is read-only, "
                  "there is no writable home and NUMBA_CACHE_DIR is not set), so the kernels are compiled "
                  "without the on-disk cache, again in every process. Set NUMBA_CACHE_DIR to a writable "
                  "directory to keep them.", RuntimeWarning, stacklevel=2)

# no_cfunc_wrapper: no C-callable wrapper (only used to pass a kernel as a first-class function
# value, which nbmlp never does); each wrapper is compiled, and again in every caller's module.
# cache: Numba keys its on-disk cache by the signature and the CPU, not by the lane count that
# ``kernels/lanes.py`` compiled in; a lane count forced to another width than the host's
# (``NBMLP_LANES``, for tests) therefore compiles without the cache, so the two never mix.
COMMON = dict(fastmath=FASTMATH, cache=CACHE and NATIVE, nogil=True, error_model="numpy", no_cfunc_wrapper=True)
JIT_PARALLEL = dict(COMMON, parallel=True)
JIT_SERIAL = dict(COMMON, parallel=False)
JIT_INLINE = dict(JIT_SERIAL, inline="always")
JIT_DRIVER = JIT_PARALLEL
JIT_DRIVER_INLINE = dict(JIT_DRIVER, inline="always")

# A driver has no parallel loop of its own, so Numba notes that ``parallel=True`` found nothing to
# transform; silence exactly that note for nbmlp's kernel modules.
warnings.filterwarnings(
    "ignore", category=NumbaPerformanceWarning,
    message=r"(?s).*no transformation for parallel execution was possible.*nbmlp[/\\]kernels[/\\]")
