"""Kernels in a process forked from one whose Numba threads run on GNU OpenMP.

GNU OpenMP (libgomp, Numba's ``omp`` threading layer on Linux) keeps its worker threads in a
pool; ``fork`` copies the pool's bookkeeping into the child but not its threads, so a parallel
region of more than one thread in the child waits forever for threads that do not exist. Numba
guards against that by terminating any direct child of the process that started its threads
as soon as it enters a parallel kernel (``Terminating: fork() called from a process already
using GNU OpenMP``): a ``multiprocessing.Pool`` worker dies and the pool waits forever.

A parallel region of *one* thread is safe in such a child: libgomp returns before it looks at
its pool when a team has one thread (``gomp_team_start``), and Numba's kernels give the same bits
on any number of threads. So, in the child (``after_fork_in_child``, run by ``os.fork`` through
``os.register_at_fork``), nbmlp runs every kernel on one thread (``forked``, which
``_threads.get_num_threads`` honours), sets Numba's count to one for the threads of the child, and
tells Numba's OpenMP layer that this process now owns it (its ``launch_threads`` records the
calling process as the owner: a child of *this* process is then the one it guards against, so a
grandchild is handled the same way). One thread per forked worker is what a pool of processes
wants anyway; a child that should use several threads is started with ``spawn`` or
``forkserver``, or uses a fork-safe layer (``tbb``). See ``docs/threads_and_processes.md``.

Nothing changes under the other layers (``tbb`` and ``workqueue`` are fork-safe, as are the
OpenMP runtimes of other vendors), nor in a process whose parent never started Numba's threads.
"""

import ctypes
import os

forked = False  # True in a process forked from one whose Numba threads run on GNU OpenMP


def _gnu_openmp_started():
    """Whether this process's Numba threads were started, on GNU OpenMP."""
    try:
        from numba.np.ufunc import parallel

        if not parallel._is_initialized or parallel._threading_layer != "omp":
            return False
        from numba.np.ufunc import omppool

        return omppool.openmp_vendor == "GNU"
    except (ImportError, AttributeError):  # another Numba layout: its own guard stays in force
        return False


def _own_openmp_layer():
    """Make this process the owner of Numba's OpenMP layer, with one thread by default."""
    from numba.np.ufunc import omppool

    ctypes.CFUNCTYPE(None, ctypes.c_int)(omppool.launch_threads)(1)


def after_fork_in_child():
    """Run in the child of every ``os.fork``: switch nbmlp to one thread if the parent needed it."""
    global forked
    if not (forked or _gnu_openmp_started()):
        return
    try:
        _own_openmp_layer()
        import numba

        numba.set_num_threads(1)
    except (ImportError, AttributeError, ValueError, TypeError):
        return  # another Numba layout: its own guard (ending the child) stays in force
    forked = True


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=after_fork_in_child)
