"""nbmlp in processes forked after a fit (``nbmlp._fork``): whatever Numba's threading layer,
a forked child predicts and fits with the parent's bits and nothing hangs or dies."""

import os
import subprocess
import sys

import pytest

CHILD = os.path.join(os.path.dirname(__file__), "fork_child.py")
LIMIT = 900  # s: a child killed by Numba's guard leaves its pool waiting forever; this ends it


def run_child(layer=None):
    env = dict(os.environ)
    if layer is not None:
        env["NUMBA_THREADING_LAYER"] = layer
    try:
        return subprocess.run([sys.executable, CHILD], capture_output=True, text=True, env=env, timeout=LIMIT)
    except subprocess.TimeoutExpired:
        pytest.fail(f"a forked child hung or died: no answer in {LIMIT} s")


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
@pytest.mark.parametrize("layer", [None, "workqueue"])
def test_forked_children_predict_and_fit_like_the_parent(layer):
    res = run_child(layer)
    assert res.returncode == 0, res.stderr[-3000:]
    assert res.stdout.split()[-1] == "ok"
    if layer is not None:
        assert res.stdout.split()[0] == layer
