"""Thread count of the compiled kernels."""
import numba

from ._validation import check_number

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
