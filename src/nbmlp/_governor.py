"""How many threads a training step runs on: the ``Governor`` and ``training_threads``.

Each parallel region of a step ends in a barrier, and when another process holds a core, every
barrier waits for a thread the operating system has put aside. Training therefore adapts its
thread count to what the machine gives, within the budget of ``_threads.get_num_threads``.
Every kernel gives the same bits on any number of threads, so the count can change between
epochs without changing a result. See ``docs/performance.md``.
"""

import contextlib
import math
import os
import threading
import time

from ._threads import adapts, get_num_threads, running_on
from .kernels.dense import PARALLEL_MIN_MACS


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
        with running_on(1):
            yield
        return
    if not adapts():
        with running_on(budget):
            yield
        return
    key = (tuple(layers), int(batch))
    n = GOVERNOR.choose(budget, key)
    with running_on(n):
        wall, cpu = time.perf_counter(), time.process_time()
        yield
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    GOVERNOR.record(key, n, wall, cpu, samples)


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
