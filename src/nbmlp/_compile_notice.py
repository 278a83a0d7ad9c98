"""Say when nbmlp compiles: one line on stderr the first time a kernel set compiles in a process.

Numba compiles a kernel the first time it is called with new argument types, unless its on-disk
cache holds it; a first fit can then spend many seconds in silence. Numba fires a
``numba:compile`` event only for a real compile (a cache hit loads without one), so a listener on
that event knows, exactly, when nbmlp's kernels compile: at the outermost compile of an nbmlp
kernel it names the kernel set (the function called from Python, with its dtype), once per set and
process, and it adds up the seconds spent compiling (``compile_seconds``), which the command leaves
out of its time per epoch.

``NBMLP_COMPILE_NOTICE=0`` in the environment silences the line (``quiet()``); the seconds are
counted all the same. ``watch(callback)`` calls ``callback(label)`` as a compile starts (the
estimators' progress bar shows "compiling" with it).
"""

import os
import sys
import threading
import time
from contextlib import contextmanager

from numba.core import event, types

ENV = "NBMLP_COMPILE_NOTICE"

# the compiled functions Python calls, by name: what their compile prepares, and about how many
# CPU seconds it takes with an empty cache (docs/first_compile.md; 2-core x86 machines)
KERNEL_SETS = {
    "train_epoch_opt": ("training kernels", 15),
    "forward_pass": ("prediction kernels", 3),
    "forward_pass_serial": ("prediction kernels (single-threaded)", 3),
    "sparse_forward_pass": ("sparse-input prediction kernels", 3),
    "backward_pass": ("gradient kernels", 4),
    "dense_backward_dy": ("input-gradient kernel", 2),
    "loss_sum": ("loss kernels", 2),
    "validation_loss_sum": ("validation kernels", 2),
    "full_loss_gradient": ("L-BFGS kernels", 10),
    "shard_gradient_sums": ("distributed training kernels", 10),
    "shard_update": ("distributed update kernels", 3),
}
DEFAULT_SET = ("kernels", 1)

_lock = threading.Lock()
_state = threading.local()  # depth: compiles nested in this thread's outermost one
_said = set()
_watchers = []
_seconds = [0.0]


FORCE = None  # True or False overrides the environment (the command: on unless --quiet)


def quiet():
    """Whether the compile line is silenced (``NBMLP_COMPILE_NOTICE=0``, read at each compile)."""
    if FORCE is not None:
        return not FORCE
    return os.environ.get(ENV, "1").strip().lower() in ("0", "false", "no", "off")


@contextmanager
def forced(on):
    """Inside the block the line is printed (``on``) or not, whatever the environment says."""
    global FORCE
    before, FORCE = FORCE, bool(on)
    try:
        yield
    finally:
        FORCE = before


def compile_seconds():
    """Wall seconds this process has spent compiling nbmlp's kernels so far (outermost compiles)."""
    return _seconds[0]


def kernel_set(name, args):
    """The label of a compile of the function ``name`` with the Numba types ``args``.

    The label names the dtype (of the first array argument) and, for the dense epoch, whether it
    is the multi-threaded copy or the single-threaded one of small networks (``parallel_macs``).
    """
    label, estimate = KERNEL_SETS.get(name, DEFAULT_SET)
    epoch = name == "train_epoch_opt" and len(args) > 1
    csr = epoch and not isinstance(args[-2], (types.NoneType, types.Omitted))  # its ``csr`` argument given
    if csr:
        label = "sparse-input " + label
    dtype = _first_dtype(args)
    if dtype is not None:
        label = f"{dtype} {label}"
    if epoch and not csr:
        serial = isinstance(args[-1], (types.NoneType, types.Omitted))
        label += " (single-threaded epoch)" if serial else " (multi-threaded epoch)"
    return label, estimate


def _first_dtype(args):
    """The dtype of the first array among ``args``, looking inside tuples (the kernels' bundles)."""
    for a in args:
        if isinstance(a, types.Array):
            return str(a.dtype)
        if isinstance(a, types.BaseTuple):
            found = _first_dtype(a.types)
            if found is not None:
                return found
    return None


def _cache_text():
    from ._config import _CACHE_PATH

    return f"cached in {_CACHE_PATH}" if _CACHE_PATH else "not cached: no writable cache directory"


def _nbmlp_function(ev):
    """The Python function of the nbmlp kernel an event compiles, or None for anyone else's."""
    dispatcher = ev.data.get("dispatcher")
    if dispatcher is None or not dispatcher.py_func.__module__.startswith("nbmlp."):
        return None
    return dispatcher.py_func


class _Listener(event.Listener):
    def on_start(self, ev):
        function = _nbmlp_function(ev)
        if function is None:
            return
        depth = getattr(_state, "depth", 0)
        _state.depth = depth + 1
        if depth:
            return
        _state.start = time.perf_counter()
        name = function.__name__
        label, estimate = kernel_set(name, ev.data.get("args", ()))
        for callback in list(_watchers):
            callback(label)
        with _lock:
            if name not in KERNEL_SETS or label in _said:
                return  # a helper compiled on its own takes a fraction of a second: no line
            _said.add(label)
        if not quiet():
            sys.stderr.write(
                f"nbmlp: compiling the {label} (first use on this machine, about {estimate} s; {_cache_text()})\n"
            )
            sys.stderr.flush()

    def on_end(self, ev):
        if _nbmlp_function(ev) is None:
            return
        _state.depth = getattr(_state, "depth", 1) - 1
        if _state.depth == 0:
            with _lock:
                _seconds[0] += time.perf_counter() - _state.start


_listener = _Listener()


def install():
    """Listen to Numba's compile events (once per process; ``nbmlp`` calls it at import)."""
    if not getattr(install, "done", False):
        event.register("numba:compile", _listener)
        install.done = True


@contextmanager
def watch(callback):
    """Call ``callback(label)`` whenever one of nbmlp's kernel sets starts compiling, inside the block."""
    _watchers.append(callback)
    try:
        yield
    finally:
        _watchers.remove(callback)


class _Recorder(event.Listener):
    def __init__(self):
        self.names = []

    def on_start(self, ev):
        function = _nbmlp_function(ev)
        if function is not None:
            self.names.append(function.__name__)

    def on_end(self, ev):
        pass


@contextmanager
def record():
    """The names of nbmlp's functions that Numba compiles inside the block, nested ones included
    (a list, filled as they compile; empty when everything came from the cache)."""
    recorder = _Recorder()
    with event.install_listener("numba:compile", recorder):
        yield recorder.names
