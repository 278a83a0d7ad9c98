"""Child processes that a test starts when the session is collected and reads when its turn comes.

A few tests check nbmlp in a fresh child process that compiles every kernel (an empty cache, a
forced lane count, a read-only install): minutes of work on one core each, while the rest of the
suite mostly compiles on one core too. A test marks its child with ``@background.child(start)``:
``start()`` launches it (``launch``) once the session knows the test will run, so the children
compile on the otherwise idle core, and the test then waits for its child's output (``result``).
The results do not depend on when a child runs: each uses its own cache and temporary files.
"""

import atexit
import os
import shutil
import subprocess
import tempfile

_running = {}  # key -> (Popen, its temporary directory)


def child(start):
    """Mark a test whose child processes ``start()`` launches at collection (see ``conftest``)."""

    def mark(test):
        test.start_in_background = start
        return test

    return mark


def scratch(key):
    """A temporary directory for the child ``key``, removed at exit (made writable first)."""
    path = tempfile.mkdtemp(prefix=f"nbmlp-{key}-")
    atexit.register(_remove, path)
    return path


def _remove(path):
    for root, _dirs, _files in os.walk(path):
        os.chmod(root, 0o755)
    shutil.rmtree(path, ignore_errors=True)


def launch(key, args, **kwargs):
    """Start ``args`` (stdout and stderr captured as text) unless ``key`` is running already."""
    if key not in _running:
        _running[key] = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kwargs)
    return _running[key]


def result(key, start, timeout=900):
    """``(returncode, stdout, stderr)`` of the child ``key``, started now if it was not yet."""
    if key not in _running:
        start()
    proc = _running.pop(key)
    out, err = proc.communicate(timeout=timeout)
    return proc.returncode, out, err


def stop_all():
    """Kill the children no test waited for (a session stopped early)."""
    for proc in _running.values():
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    _running.clear()
