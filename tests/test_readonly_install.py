"""nbmlp installed read-only, run by a user without a writable home and without NUMBA_CACHE_DIR:
``import nbmlp`` and training work, compiling without Numba's on-disk cache, with one warning.

The package is copied to a temporary directory made read-only and imported from there in a
child process with ``HOME=/nonexistent``. Root can write anywhere, so as root the places
Numba would try are made impossible instead: the kernels' ``__pycache__`` is a plain file and
the home directory lies below a plain file.
"""

import os
import pathlib
import shutil
import stat
import sys

import background

import nbmlp

CHILD = """
import warnings
warnings.simplefilter("always")
with warnings.catch_warnings(record=True) as caught:
    import numpy as np
    import nbmlp
    net = nbmlp.MLP([3, 4, 2], activation="tanh", output="softmax", seed=0)
    X, T = np.random.default_rng(0).random((20, 3)), np.eye(2)[np.arange(20) % 2]
    history = net.fit(X, T, epochs=2, batch_size=5, lr=0.1)
from nbmlp import _config
print(nbmlp.__file__)
print(_config.CACHE, len(history), all(np.isfinite(history)))
print(sum("no writable cache directory" in str(w.message) for w in caught))
"""


def _read_only(path):
    for root, _dirs, files in os.walk(path):
        for name in files:
            p = os.path.join(root, name)
            os.chmod(p, os.stat(p).st_mode & ~(stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH))
    for root, _dirs, _files in os.walk(path, topdown=False):
        os.chmod(root, 0o555)


def _start_read_only_child():
    tmp_path = pathlib.Path(background.scratch("read-only"))
    site = tmp_path / "site"
    shutil.copytree(pathlib.Path(nbmlp.__file__).parent, site / "nbmlp", ignore=shutil.ignore_patterns("__pycache__"))
    root = hasattr(os, "geteuid") and os.geteuid() == 0
    home = "/nonexistent"
    if root:
        (site / "nbmlp" / "kernels" / "__pycache__").write_text("")
        (tmp_path / "plain_file").write_text("")
        home = str(tmp_path / "plain_file" / "home")
    _read_only(site)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("NUMBA_CACHE_DIR", "XDG_CACHE_HOME"))}
    env.update(HOME=home, PYTHONPATH=str(site), NUMBA_OPT="0")  # NUMBA_OPT=0: a shorter compile
    background.launch("read-only", [sys.executable, "-c", CHILD], env=env, cwd=tmp_path)
    _SITE.append(site)


_SITE = []


@background.child(_start_read_only_child)
def test_read_only_install_without_home_imports_and_trains():
    try:
        returncode, out, err = background.result("read-only", _start_read_only_child)
    finally:
        for r, _dirs, _files in os.walk(_SITE[-1]):
            os.chmod(r, 0o755)  # writable again, so that the directory can be removed
    site = _SITE[-1]
    assert returncode == 0, err[-3000:]
    where, state, warnings = out.strip().splitlines()[-3:]
    assert where.startswith(str(site))  # the read-only copy, not the installed package
    assert state == "False 2 True"  # no cache, two finite epochs
    assert warnings == "1"
    assert not list(site.rglob("*.nbi")) and not list(site.rglob("*.nbc"))
