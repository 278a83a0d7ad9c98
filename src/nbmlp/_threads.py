"""Thread count of the compiled kernels.

Numba's own thread count belongs to the Python thread that sets it; ``set_num_threads`` is
process-wide instead: every fit, forward pass and prediction, in whichever Python thread,
uses the count it set (``use_chosen``, ``serial_if_small``).

Numba's ``workqueue`` threading layer (its fallback without OpenMP or TBB) aborts the process
when two Python threads run parallel kernels at once; with that layer the same two context
managers let one Python thread at a time into the kernels (``_exclusive``).
"""
import contextlib
import threading

import numba

from ._validation import check_number
from .kernels.dense import PARALLEL_MIN_MACS

# whether the user called set_num_threads (then nbmlp.distributed keeps their choice)
chosen = False
_count = None  # the count set_num_threads chose, for every Python thread
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


def set_num_threads(n):
    """Use ``n`` threads in the parallel kernels (1 ≤ n ≤ ``numba.config.NUMBA_NUM_THREADS``).

    The setting is process-wide: fits and predictions in every Python thread use it (Numba's
    own ``numba.set_num_threads`` applies to the calling Python thread only).
    """
    check_number(n, "n", low=1, integer=True)
    if n > numba.config.NUMBA_NUM_THREADS:
        raise ValueError(f"n must be at most {numba.config.NUMBA_NUM_THREADS} (the threads Numba started), got {n}")
    global chosen, _count
    numba.set_num_threads(int(n))
    chosen, _count = True, int(n)


def get_num_threads():
    """Number of threads the parallel kernels use (in any Python thread)."""
    return _count if _count is not None else numba.get_num_threads()


@contextlib.contextmanager
def use_chosen():
    """Run the enclosed kernels with the count of ``set_num_threads``, in this Python thread too."""
    before = numba.get_num_threads()
    if _count is not None and _count != before:
        numba.set_num_threads(_count)
    try:
        with _exclusive():
            yield
    finally:
        if numba.get_num_threads() != before:
            numba.set_num_threads(before)


@contextlib.contextmanager
def serial_if_small(layers, batch):
    """Run the enclosed kernels on one thread if a training step of ``batch`` samples is small.

    A step with fewer than ``PARALLEL_MIN_MACS`` multiply-adds (``batch · Σ l·m`` over the layers)
    costs less than waking the other threads for each of its ~10 parallel kernels, and much less
    when the cores are shared (a launch then waits for a descheduled thread). Results do not
    change: every kernel gives the same bits on any number of threads.
    """
    macs = batch * sum(l * m for l, m in zip(layers[:-1], layers[1:]))
    before = numba.get_num_threads()
    if macs < PARALLEL_MIN_MACS:
        numba.set_num_threads(1)
    elif _count is not None:
        numba.set_num_threads(_count)
    try:
        with _exclusive():
            yield
    finally:
        numba.set_num_threads(before)

