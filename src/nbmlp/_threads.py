"""Thread count of the compiled kernels."""
import contextlib

import numba

from ._validation import check_number
from .kernels.dense import PARALLEL_MIN_MACS

# whether the user called set_num_threads (then nbmlp.distributed keeps their choice)
chosen = False


def set_num_threads(n):
    """Use ``n`` threads in the parallel kernels (1 ≤ n ≤ ``numba.config.NUMBA_NUM_THREADS``)."""
    check_number(n, "n", low=1, integer=True)
    if n > numba.config.NUMBA_NUM_THREADS:
        raise ValueError(f"n must be at most {numba.config.NUMBA_NUM_THREADS} (the threads Numba started), got {n}")
    global chosen
    numba.set_num_threads(int(n))
    chosen = True


def get_num_threads():
    """Number of threads the parallel kernels use."""
    return numba.get_num_threads()


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
    try:
        yield
    finally:
        numba.set_num_threads(before)
