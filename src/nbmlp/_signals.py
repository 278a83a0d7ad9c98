"""SIGTERM ends training as Ctrl-C does.

A scheduler's time limit, ``docker stop``, Slurm and ``kill`` send SIGTERM, whose default action
ends the process at once: in the middle of an epoch, with a temporary file left behind and the
training lost. Python delivers a signal to its main thread only, between two bytecodes (so after
the compiled call of an epoch returns); there, while nbmlp trains, SIGTERM raises ``Terminated``,
a ``KeyboardInterrupt``, which the training loop already handles: it keeps the last finished
epoch and ends (``estimators``), and the command saves it with ``--save-interrupted``, removes its
temporary files and exits with 143 (128 + SIGTERM), as a process ended by the signal reports.

A handler that the program installed itself is left alone: only the default action is replaced,
and only while nbmlp trains; the handler before is put back afterwards.
"""

import contextlib
import signal
import threading


class Terminated(KeyboardInterrupt):
    """SIGTERM arrived while nbmlp handled it (``sigterm_as_interrupt``)."""


class _Seen:
    terminated = False


@contextlib.contextmanager
def sigterm_as_interrupt():
    """While the enclosed code runs, SIGTERM raises ``Terminated`` (if this is the main thread and
    SIGTERM has its default action). Yields an object whose ``terminated`` says if it did."""
    seen = _Seen()
    sigterm = getattr(signal, "SIGTERM", None)
    if sigterm is None or threading.current_thread() is not threading.main_thread():
        yield seen
        return
    if signal.getsignal(sigterm) is not signal.SIG_DFL:
        yield seen
        return

    def raise_terminated(signum, frame):
        seen.terminated = True
        raise Terminated

    signal.signal(sigterm, raise_terminated)
    try:
        yield seen
    finally:
        signal.signal(sigterm, signal.SIG_DFL)
