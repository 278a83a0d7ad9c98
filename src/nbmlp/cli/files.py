"""The command's output files: written whole or not at all.

A file is written to a temporary beside it and moved into place, so that a failure leaves no
partial file (and no temporary); standard output (``-``) and files that are not regular (a
device, a FIFO) are written through. Output files get the usual permissions (0666 minus the
umask; an existing file keeps its mode).
"""

import os
import stat
import sys
import tempfile

from ..tabular import UserError

STDOUT = "-"  # the output path that names standard output


def _special(path):
    """Whether ``path`` is standard output or an existing file that is not a regular file (a
    device such as /dev/null or /dev/stdout, a FIFO, a socket): written through, never replaced."""
    if path == STDOUT:
        return True
    try:
        return not stat.S_ISREG(os.stat(path).st_mode)  # follows symlinks
    except OSError:
        return False  # does not exist (or a dangling symlink): a new regular file


def is_stdout(path):
    """Whether ``path`` is standard output: ``-``, or the file standard output is (/dev/stdout)."""
    if path == STDOUT:
        return True
    try:
        here, out = os.stat(path), os.fstat(1)
    except (OSError, ValueError):
        return False
    return (here.st_dev, here.st_ino) == (out.st_dev, out.st_ino) and not stat.S_ISREG(here.st_mode)


def check_writable(path, what="output file"):
    """UserError unless ``path`` can be created or replaced (checked before any long work)."""
    if _special(path) and not os.path.isdir(path):
        if path != STDOUT and not os.access(path, os.W_OK):
            raise UserError(f"cannot write {what} {path!r}: permission denied")
        return
    path = os.path.realpath(path)  # a symlink: its target is written
    directory = os.path.dirname(path)
    if os.path.isdir(path):
        raise UserError(f"cannot write {what} {path!r}: it is a directory")
    if not os.path.isdir(directory):
        raise UserError(f"cannot write {what} {path!r}: directory {directory!r} does not exist")
    if not os.access(directory, os.W_OK | os.X_OK):
        raise UserError(f"cannot write {what} {path!r}: directory {directory!r} is not writable")


def _new_file_mode(path):
    """The mode a plain ``open(path, "w")`` would give: the existing file's, else 0666 minus the umask."""
    try:
        return os.stat(path).st_mode & 0o7777
    except OSError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask


def write_atomically(path, write, what="output file"):
    """Call ``write(fh)`` with a temporary file opened for binary writing next to ``path``, then move
    it into place, so that no partial file is left (and no temporary, whatever fails).

    A symlink's target is the file replaced. Standard output (``-``) and anything else that is not
    a regular file (a device, a FIFO) cannot be replaced: ``write`` writes to it directly.
    """
    check_writable(path, what)
    if _special(path):
        _write_through(path, write, what)
        return
    path = os.path.realpath(path)
    directory = os.path.dirname(path)
    try:
        fd, tmp = tempfile.mkstemp(prefix=".nbmlp-", dir=directory)
    except OSError as err:
        raise UserError(f"cannot write {what} {path!r}: {err.strerror}") from None
    try:
        with os.fdopen(fd, "wb") as fh:
            write(fh)
        os.chmod(tmp, _new_file_mode(path))
        os.replace(tmp, path)
    except OSError as err:
        raise UserError(f"cannot write {what} {path!r}: {err.strerror or err}") from None
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def _write_through(path, write, what):
    """``write(fh)`` to standard output (its file descriptor: what a redirection of
    ``sys.stdout`` prints does not mix in) or to the special file ``path``."""
    try:
        if path == STDOUT:
            sys.stdout.flush()
            with os.fdopen(os.dup(1), "wb") as fh:
                write(fh)
        else:
            with open(path, "wb") as fh:
                write(fh)
    except BrokenPipeError:
        raise
    except OSError as err:
        raise UserError(f"cannot write {what} {path!r}: {err.strerror or err}") from None
