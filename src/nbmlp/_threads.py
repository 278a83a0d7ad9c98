"""Thread count of the compiled kernels: ``set_num_threads``, ``get_num_threads``, ``use_chosen``.

Numba's own thread count belongs to the Python thread that sets it; ``set_num_threads`` is
process-wide instead: every fit, forward pass and prediction, in whichever Python thread,
uses the count it set (``use_chosen``; training through ``_governor.training_threads``, which
adapts the count to what the machine gives).

The budget a caller sets is honoured: ``NUMBA_NUM_THREADS`` (which joblib's workers set to
cores / n_jobs), ``set_num_threads`` and ``threadpoolctl.threadpool_limits`` (through the
controller of ``_threadpool``, which sets the limit here: ``set_limit``).

Numba's ``workqueue`` threading layer (its fallback without OpenMP or TBB) aborts the process
when two Python threads run parallel kernels at once; with that layer the same context
managers let one Python thread at a time into the kernels (``_exclusive``).

In a process forked from one whose threads run on GNU OpenMP, every kernel runs on one thread
(``_fork``): more would hang.
"""

import contextlib
import threading

import numba

from . import _fork
from ._validation import check_number

# whether the user called set_num_threads (then nbmlp.distributed keeps their choice)
chosen = False
_count = None  # the count set_num_threads chose, for every Python thread
_limit = None  # the limit of threadpoolctl.threadpool_limits, while one is in force
_adaptive = True  # whether training adapts the count to the machine (_governor)
_layer = None  # Numba's threading layer, once known
_workqueue_lock = threading.RLock()


def _threading_layer():
    """The threading layer Numba uses (it starts its threads to find out), or "unknown"."""
    global _layer
    if _layer is None:
        try:
            from numba.np.ufunc import parallel

            parallel._launch_threads()
            _layer = numba.threading_layer()
        except Exception:  # noqa: BLE001 - another Numba layout: assume a thread-safe layer
            _layer = "unknown"
    return _layer


@contextlib.contextmanager
def _exclusive():
    """One Python thread at a time in the parallel kernels, if the layer is not thread-safe."""
    if _threading_layer() == "workqueue":
        with _workqueue_lock:
            yield
    else:
        yield


def set_num_threads(n, *, adaptive=True):
    """Use at most ``n`` threads in the parallel kernels (1 ≤ n ≤ ``numba.config.NUMBA_NUM_THREADS``).

    The setting is process-wide: fits and predictions in every Python thread use it (Numba's
    own ``numba.set_num_threads`` applies to the calling Python thread only).

    With ``adaptive=True`` (the default) training uses fewer threads while the machine does not
    give it ``n`` cores (another process holds one): see ``docs/performance.md``. With
    ``adaptive=False`` every parallel kernel runs on exactly ``n`` threads. Either way the results
    are the same, bit for bit.
    """
    check_number(n, "n", low=1, integer=True)
    if n > numba.config.NUMBA_NUM_THREADS:
        raise ValueError(f"n must be at most {numba.config.NUMBA_NUM_THREADS} (the threads Numba started), got {n}")
    if not isinstance(adaptive, bool):
        raise TypeError(f"adaptive must be True or False, got {adaptive!r}")
    global chosen, _count, _adaptive
    numba.set_num_threads(1 if _fork.forked else int(n))
    chosen, _count, _adaptive = True, int(n), bool(adaptive)


def get_num_threads():
    """The most threads the parallel kernels use (in any Python thread).

    That is the count of ``set_num_threads`` (else Numba's), within a ``threadpool_limits``
    limit; training may use fewer while the machine is busy (``docs/performance.md``). In a
    process forked from one whose threads run on GNU OpenMP it is 1 (``_fork``).
    """
    if _fork.forked:
        return 1
    n = _count if _count is not None else numba.get_num_threads()
    return n if _limit is None else max(1, min(n, _limit))


@contextlib.contextmanager
def running_on(n):
    """Run the enclosed kernels on ``n`` threads in this Python thread, then restore its count."""
    before = numba.get_num_threads()
    if n != before:
        numba.set_num_threads(n)
    try:
        with _exclusive():
            yield
    finally:
        if numba.get_num_threads() != before:
            numba.set_num_threads(before)


@contextlib.contextmanager
def use_chosen():
    """Run the enclosed kernels with the count of ``get_num_threads``, in this Python thread too."""
    with running_on(get_num_threads()):
        yield


def adapts():
    """Whether training may use fewer threads than ``get_num_threads`` while the machine is busy."""
    return _adaptive


def set_limit(n):
    """Limit the count to ``n`` threads (None: no limit), as ``threadpoolctl.threadpool_limits`` asks."""
    global _limit
    unlimited = _count if _count is not None else numba.config.NUMBA_NUM_THREADS
    # a limit at or above the count is no limit (threadpoolctl restores the count it saw)
    _limit = None if n is None or n >= unlimited else max(1, int(n))
