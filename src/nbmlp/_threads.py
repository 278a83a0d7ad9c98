"""Thread count of the compiled kernels.

Numba's own thread count belongs to the Python thread that sets it; ``set_num_threads`` is
process-wide instead: every fit, forward pass and prediction, in whichever Python thread,
uses the count it set (``use_chosen``, ``training_threads``).

Training adapts that count to what the machine gives (``Governor``): each parallel region of a
step ends in a barrier, and when another process holds a core, every barrier waits for a thread
the operating system has put aside. Every kernel gives the same bits on any number of threads,
so the count can change between epochs without changing a result. See ``docs/performance.md``.

The budget a caller sets is honoured: ``NUMBA_NUM_THREADS`` (which joblib's workers set to
cores / n_jobs), ``set_num_threads`` and ``threadpoolctl.threadpool_limits`` (nbmlp registers a
controller for its threads, ``_register_threadpoolctl``).

Numba's ``workqueue`` threading layer (its fallback without OpenMP or TBB) aborts the process
when two Python threads run parallel kernels at once; with that layer the same context
managers let one Python thread at a time into the kernels (``_exclusive``).

In a process forked from one whose threads run on GNU OpenMP, every kernel runs on one thread
(``_fork``): more would hang.
"""

import contextlib
import math
import os
import threading
import time

import numba

from . import _fork
from ._validation import check_number
from .kernels.dense import PARALLEL_MIN_MACS
from .kernels.epoch import shuffle

# whether the user called set_num_threads (then nbmlp.distributed keeps their choice)
chosen = False
_count = None  # the count set_num_threads chose, for every Python thread
_limit = None  # the limit of threadpoolctl.threadpool_limits, while one is in force
_adaptive = True  # whether training adapts the count to the machine (Governor)
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
def _running_on(n):
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
    with _running_on(get_num_threads()):
        yield


def step_macs(layers, batch):
    """Multiply-adds of one step's forward sums: ``batch · Σ l·m`` over the layers."""
    return batch * sum(l * m for l, m in zip(layers[:-1], layers[1:]))


@contextlib.contextmanager
def training_threads(layers, batch, samples):
    """Run the enclosed training (``samples`` samples in steps of ``batch``) on the threads it should use.

    A step with fewer than ``PARALLEL_MIN_MACS`` multiply-adds (``step_macs``) runs on one thread:
    it costs less than waking the other threads for each of its ~10 parallel kernels, and much
    less when the cores are shared. Larger steps run on the count the ``Governor`` allows, and
    the enclosed time and CPU time are reported to it. Results do not change: every kernel
    gives the same bits on any number of threads.
    """
    budget = get_num_threads()
    if step_macs(layers, batch) < PARALLEL_MIN_MACS or budget == 1:
        with _running_on(1):
            yield
        return
    if not _adaptive:
        with _running_on(budget):
            yield
        return
    key = (tuple(layers), int(batch))
    n = GOVERNOR.choose(budget, key)
    with _running_on(n):
        wall, cpu = time.perf_counter(), time.process_time()
        yield
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    GOVERNOR.record(key, n, wall, cpu, samples)


# multiply-adds (forward and backward: 3 · step_macs per batch) of one run of batches: about
# 10-40 ms of training, so that the governor judges windows of ~25 ms even in epochs of seconds
RUN_MACS = 2**30


def epoch_runs(layers, batch, N):
    """The runs of whole batches an epoch of N samples is trained in: ``[(first, stop), …]``.

    They depend on the shape only (never on timing), so the loss, summed run by run, has the
    same bits whatever the governor chooses.
    """
    per_run = max(1, RUN_MACS // max(1, 3 * step_macs(layers, batch))) * batch
    return [(a, min(a + per_run, N)) for a in range(0, N, per_run)]


def train_epoch_in_runs(layers, batch, perm, rng, train):
    """One epoch, run by run, each on the threads ``training_threads`` chooses; the summed loss.

    ``train(order, do_shuffle)`` trains the samples ``order`` (a slice of ``perm``, a view) and
    returns their summed loss. With a generator state ``rng`` (None: no shuffle) the epoch's
    order is shuffled first: inside the one compiled call of an epoch of one run, or
    here (``kernels.epoch.shuffle``, the same draws) before the runs.
    """
    runs = epoch_runs(layers, batch, perm.shape[0])
    if len(runs) == 1:
        with training_threads(layers, batch, perm.shape[0]):
            return train(perm, rng is not None)
    if rng is not None:
        shuffle(perm, rng)
    total = 0.0
    for first, stop in runs:
        with training_threads(layers, batch, stop - first):
            total += train(perm[first:stop], False)
    return total


def _idle_ticks():
    """The machine's idle CPU time so far, in seconds summed over its cores (Linux), or None."""
    try:
        with open("/proc/stat", "rb") as f:
            fields = f.readline().split()
        return (int(fields[4]) + int(fields[5])) / _TICKS  # idle + iowait
    except (OSError, ValueError, IndexError):
        return None


try:
    _TICKS = os.sysconf("SC_CLK_TCK")
except (AttributeError, ValueError, OSError):  # pragma: no cover - not a POSIX system
    _TICKS = 100


class Governor:
    """Chooses how many threads a training step uses, from what the machine gives.

    Training reports each epoch's wall time, the process's CPU time and its samples (``record``);
    the governor judges windows of at least ``WINDOW`` seconds, per network shape and batch
    (``key``):

    - busy fraction ``u = CPU time / (wall time · n)``: threads that compute or wait spinning are
      busy, so on a free machine ``u ≈ 1``. Below ``LOW`` in ``LOW_WINDOWS`` windows in a row, the
      operating system has been putting the threads aside (another process holds a core): the
      next window tries fewer threads
      (``⌊u·n⌋``, at least 1), and keeps them if their samples per second are at least as high.
    - with fewer threads than the budget, the next window tries one more once the machine
      showed an idle core during a window (``/proc/stat``, read when a window starts and ends,
      so pauses between fits do not count; elsewhere: after the wait), and keeps it if it
      trains ``GAIN`` times faster. A failed try doubles the wait before the next (``WAIT``,
      counted in windows, so a long epoch waits as many epochs as a short one).

    One governor serves the process (``GOVERNOR``), so a new fit starts from what the last one
    learned. The choice never changes results: the kernels give the same bits on any count.
    """

    WINDOW = 0.025  # s of training judged at a time
    LOW = 0.8  # busy fraction below which threads are being put aside
    LOW_WINDOWS = 2  # ... in that many windows in a row (one short dip, e.g. an epoch's last batch, is not it)
    GAIN = 1.05  # how much faster more threads must train to be kept
    WAIT = (2, 64)  # windows before trying again: first, and the most after doubling
    IDLE = 0.5  # idle cores that make more threads worth a try

    def __init__(self, clock=time.perf_counter, idle=_idle_ticks):
        self._clock, self._idle = clock, idle
        self._lock = threading.Lock()
        self.reset()

    def reset(self):
        """Forget everything learned."""
        with getattr(self, "_lock", contextlib.nullcontext()):
            self.n = None  # the count in use (None: the budget)
            self.trial = None  # a count being tried in the current window, or None
            self.key = None  # the shape the windows below were measured on
            self.rate = {}  # count -> samples per second, for ``key``
            self._window = [0.0, 0.0, 0.0]  # wall, CPU, samples of the current window
            self._wait = {+1: self.WAIT[0], -1: self.WAIT[0]}  # windows before the next try up/down
            self._since = {+1: 0, -1: self.WAIT[0]}  # windows since the last try
            self._idle_mark = None  # (clock, idle seconds) when the current window started, on fewer threads
            self._before = self._budget = None  # the count before a trial; the last budget
            self._low = 0  # windows in a row with a busy fraction below LOW

    def choose(self, budget, key):
        """The thread count for the next epoch of shape ``key`` within ``budget``."""
        with self._lock:
            if key != self.key:
                self.key, self.rate, self.trial = key, {}, None
                self._window = [0.0, 0.0, 0.0]
            self._budget = budget
            n = budget if self.n is None else min(self.n, budget)
            if self._window[0] == 0.0 and self.trial is None and n < budget:
                self._look_at_idle()  # a window on fewer threads starts: the machine's idle time now
            if self.trial is not None:
                return min(self.trial, budget)
            return n

    def record(self, key, n, wall, cpu, samples):
        """Report an epoch of shape ``key`` run on ``n`` threads: its wall time, CPU time, samples."""
        with self._lock:
            if key != self.key:
                return
            w = self._window
            w[0] += wall
            w[1] += cpu
            w[2] += samples
            if w[0] < self.WINDOW:
                return
            u, rate = w[1] / (w[0] * n), w[2] / w[0]
            self._window = [0.0, 0.0, 0.0]
            if self.trial is not None:
                self._judge(n, rate)
                return
            self.rate[n] = rate
            self._since[+1] += 1
            self._since[-1] += 1
            self._low = self._low + 1 if u < self.LOW else 0
            if n > 1 and self._low >= self.LOW_WINDOWS and self._since[-1] >= self._wait[-1]:
                self.trial, self._before = max(1, min(n - 1, math.floor(u * n))), n
                self._since[-1] = 0
            elif n < self._budget and self._since[+1] >= self._wait[+1] and self._cores_idle():
                self.trial, self._before = n + 1, n
                self._since[+1] = 0

    def _judge(self, n, rate):
        """Keep the tried count ``n`` or go back to the one before, from their samples per second."""
        before = self._before
        direction = +1 if n > before else -1
        base = self.rate.get(before, 0.0)
        keep = rate >= base * self.GAIN if direction > 0 else rate >= base
        self.trial = None
        self.rate[n] = rate
        if keep:
            self.n = n
            self._wait[direction] = self.WAIT[0]
        else:
            self.n = before if self.n is not None else None
            self._wait[direction] = min(2 * self._wait[direction], self.WAIT[1])

    def _look_at_idle(self):
        self._idle_mark = (self._clock(), self._idle())

    def _cores_idle(self):
        """Whether the machine had ``IDLE`` idle cores during the window that just ended (True if unknown)."""
        mark, self._idle_mark = self._idle_mark, None
        if mark is None:
            return False
        now, idle = self._clock(), self._idle()
        if idle is None or mark[1] is None:
            return True
        if now - mark[0] <= 0:
            return False
        return (idle - mark[1]) / (now - mark[0]) >= self.IDLE


GOVERNOR = Governor()


def _register_threadpoolctl():
    """Let ``threadpoolctl.threadpool_limits`` limit nbmlp's threads as it limits BLAS and OpenMP.

    threadpoolctl finds the thread pools of a process by the shared libraries loaded in it; the
    controller registered here is found through Numba's helper library (loaded with Numba, so
    before any parallel kernel ran) and sets ``_limit``.
    """
    try:
        import threadpoolctl

        register, base = threadpoolctl.register, threadpoolctl.LibController
    except (ImportError, AttributeError):  # threadpoolctl < 3.2: limits are not seen
        return False

    class NbmlpController(base):
        user_api = "nbmlp"
        internal_api = "nbmlp"
        filename_prefixes = ("_helperlib",)

        def get_num_threads(self):
            return get_num_threads()

        def set_num_threads(self, num_threads):
            global _limit
            unlimited = _count if _count is not None else numba.config.NUMBA_NUM_THREADS
            # a limit at or above the count is no limit (threadpoolctl restores the count it saw)
            _limit = None if num_threads is None or num_threads >= unlimited else max(1, int(num_threads))

        def get_version(self):
            from . import __version__

            return __version__

    register(NbmlpController)
    return True
