"""Numba decorator options, defined once for every kernel.

``JIT_PARALLEL`` is for the kernels with a ``prange`` loop; ``JIT_SERIAL`` for code that calls no
parallel kernel; ``JIT_DRIVER`` for the drivers that call parallel kernels one after another (a
driver has no ``prange`` of its own and never runs a parallel kernel inside a parallel loop).
``JIT_DRIVER_INLINE`` is for the drivers between the epoch and the kernels (``forward_pass``,
``loss_sum``, ``backward_pass`` and ``backward_pass_scaled`` with their shared body
``backward_layers``, ``apply_update``, the batch step): Numba inlines their code into each compiled
caller instead of compiling them on their own (called from Python, they compile as usual), and
only into the outermost caller (``inline_outermost``: a driver inlined into a driver that is
itself inlined would be copied with it, at a cost that grows with the square of its size).
Numba links every callee's compiled module into its caller's and optimizes and emits all of it
again, so each level of compiled drivers between the epoch and the kernels costs seconds of
compile time (docs/performance.md, "First compile").

A driver is compiled with ``parallel=True`` although it has no parallel loop: a cached *serial*
function that calls a parallel one crashes when it is loaded from the cache in a later process
(numba issue #8578, open in numba 0.68); compiled as parallel, the same driver loads safely.
``tests/test_cache.py`` runs that sequence in fresh processes.

``cache`` is True when Numba can write its cache somewhere (``CACHE``, decided at import):
installed read-only for a user without a writable home and without ``NUMBA_CACHE_DIR``, nbmlp
compiles without the on-disk cache and warns once. Numba keys each cached function by its own file
only, so a cache written by other kernel sources (an upgrade in place, an edited checkout) is
dropped at import (``_drop_stale_cache``: a digest of all the kernel modules beside the cache).

``fastmath`` allows re-association and contraction (so reductions vectorize and use FMA) but
keeps NaN and inf semantics (no ``nnan``/``ninf``), so divergence checks with ``np.isfinite``
still work. Re-association changes no result between thread counts: every output is summed by
one thread, in the same order, whatever the number of threads.
"""

import os
import sys
import warnings

from numba.core.errors import NumbaPerformanceWarning

from ._cpu import NATIVE

FASTMATH = {"reassoc", "contract", "arcp", "nsz"}


def _probe():
    """A function for ``_cache_path`` to ask Numba's cache locators about."""


def _cache_path():
    """The directory Numba caches the kernels in: the first of its cache locators that accepts
    ``kernels/`` gives it; None when none does (or ``""`` for a Numba whose locators we cannot see).

    With ``cache=True`` and no usable locator (package in a read-only place, no writable home,
    no ``NUMBA_CACHE_DIR``) Numba raises at decoration time, that is at ``import nbmlp``.
    """
    try:
        from numba.core.caching import FunctionCache

        locators = FunctionCache._impl_class._locator_classes
    except (ImportError, AttributeError):  # pragma: no cover - another Numba layout: let Numba decide
        return ""
    source = os.path.join(os.path.dirname(os.path.abspath(__file__)), "kernels", "__init__.py")
    for locator in locators:
        try:
            found = locator.from_function(_probe, source)
            if found is not None:
                return found.get_cache_path()
        except Exception:  # noqa: BLE001 - a locator that fails is a locator that cannot be used
            continue
    return None


def _sources_stamp():
    """A digest of every kernel module's source and of Numba's version."""
    import hashlib

    import numba

    kernels = os.path.join(os.path.dirname(os.path.abspath(__file__)), "kernels")
    digest = hashlib.sha256(numba.__version__.encode())
    for name in sorted(os.listdir(kernels)):
        if name.endswith(".py"):
            with open(os.path.join(kernels, name), "rb") as f:
                digest.update(name.encode() + b"\0" + f.read())
    return digest.hexdigest()


STAMP_FILE = "nbmlp-kernels.sha256"


def _drop_stale_cache(path):
    """Remove the cached kernels when any kernel module changed since they were written.

    Numba keys a cached function by its own file's time stamp, not by the constants it imports
    from other modules: after an upgrade in place, ``dense.py`` unchanged would keep code compiled
    with ``activations.py``'s old activation codes. The digest of all the kernel sources
    (``STAMP_FILE`` beside the cache) catches that: when it differs, every cached kernel goes.
    """
    stamp = os.path.join(path, STAMP_FILE)
    try:
        current = _sources_stamp()
        with open(stamp) as f:
            if f.read().strip() == current:
                return
    except OSError:
        pass  # no stamp yet: a new cache, or one written before the stamp existed
    try:
        for name in os.listdir(path):
            if name.endswith((".nbi", ".nbc")):
                os.remove(os.path.join(path, name))
        with open(stamp + ".tmp", "w") as f:
            f.write(current + "\n")
        os.replace(stamp + ".tmp", stamp)
    except OSError:  # the directory does not exist yet, or another process got there first
        try:
            os.makedirs(path, exist_ok=True)
            with open(stamp + f".{os.getpid()}", "w") as f:
                f.write(current + "\n")
            os.replace(stamp + f".{os.getpid()}", stamp)
        except OSError:
            pass


_CACHE_PATH = _cache_path()
CACHE = _CACHE_PATH is not None
if _CACHE_PATH:
    _drop_stale_cache(_CACHE_PATH)
if not CACHE:
    warnings.warn(
        "nbmlp: Numba has no writable cache directory (the package's directory is read-only, "
        "there is no writable home and NUMBA_CACHE_DIR is not set), so the kernels are compiled "
        "without the on-disk cache, again in every process. Set NUMBA_CACHE_DIR to a writable "
        "directory to keep them.",
        RuntimeWarning,
        stacklevel=2,
    )

# no_cfunc_wrapper: no C-callable wrapper (only used to pass a kernel as a first-class function
# value, which nbmlp never does); each wrapper is compiled, and again in every caller's module.
# cache: Numba keys its on-disk cache by the signature and the CPU, not by the lane count and the
# tile rows that ``kernels/lanes.py`` and ``kernels/tiles.py`` compiled in; a lane or register
# count forced to another than the host's (``NBMLP_LANES``, ``NBMLP_REGISTERS``, for tests)
# therefore compiles without the cache, so the two never mix.
COMMON = dict(fastmath=FASTMATH, cache=CACHE and NATIVE, nogil=True, error_model="numpy", no_cfunc_wrapper=True)
JIT_PARALLEL = dict(COMMON, parallel=True)
JIT_SERIAL = dict(COMMON, parallel=False)
JIT_INLINE = dict(JIT_SERIAL, inline="always")
JIT_DRIVER = JIT_PARALLEL


def inline_outermost(expr, caller_ir, callee_ir):
    """Numba's inlining cost model for the drivers: inline a driver into the function being
    compiled, not into a driver that is itself being prepared for inlining.

    To inline a function, Numba runs its untyped pipeline on it (which inlines *its* inlined
    callees first), then deep-copies its IR block by block, every block's copy carrying the whole
    variable scope: a time that grows with the square of the function's size. A driver that has
    already inlined the passes (``step.train_step``) would be copied with all of them. Deferred,
    those calls stay in the driver's IR, and the compiled caller inlines them after it (Numba's
    inliner scans the blocks it inlined for more calls): each driver is copied at its own size.
    The result is the same code. ``tests/test_compile_structure.py`` checks that Numba still inlines a chain
    of such drivers and still prepares an inlined function in ``InlineWorker.run_untyped_passes``
    (the frame looked for here; without it every driver is inlined at once, as with ``"always"``).
    """
    frame = sys._getframe(1)
    while frame is not None:
        if frame.f_code.co_name == "run_untyped_passes":
            return False
        frame = frame.f_back
    return True


JIT_DRIVER_INLINE = dict(JIT_DRIVER, inline=inline_outermost)

# A driver has no parallel loop of its own, so Numba notes that ``parallel=True`` found nothing to
# transform; silence exactly that note for nbmlp's kernel modules.
warnings.filterwarnings(
    "ignore",
    category=NumbaPerformanceWarning,
    message=r"(?s).*no transformation for parallel execution was possible.*nbmlp[/\\]kernels[/\\]",
)
