"""The first compile is announced, counted and can be done ahead: the ``nbmlp: compiling …`` line
on stderr (once per kernel set and process, never for a warm cache), ``NBMLP_COMPILE_NOTICE=0``,
the command's compile note, and ``nbmlp warmup`` filling a fresh cache so that a later process
compiles nothing (counted with Numba's compile events, not timed)."""

import json
import subprocess
import sys

import background
import numpy as np
from numba.core import types

from nbmlp import _compile_notice

# a small float32 fit and prediction (the single-threaded epoch), then what it compiled
SMALL_FIT = """
import json, sys, warnings
import numpy as np
from numba.core import event
warnings.simplefilter("ignore")
compiled = []
class Count(event.Listener):
    def on_start(self, ev):
        d = ev.data.get("dispatcher")
        if d is not None and d.py_func.__module__.startswith("nbmlp."):
            compiled.append(d.py_func.__name__)
    def on_end(self, ev):
        pass
event.register("numba:compile", Count())
import nbmlp
X = np.random.default_rng(0).random((40, 64)).astype(np.float32)
y = np.arange(40) % 10
clf = nbmlp.MLPClassifier((5,), batch_size=4, max_iter=2, random_state=0).fit(X, y)
clf.predict_proba(X)
clf.fit(X, y)  # the same kernels again: no second line
print(json.dumps(compiled))
"""


NOTICE_SEQUENCE = """
import json, os, subprocess, sys
code, cache = sys.argv[1], sys.argv[2]
env = dict(os.environ, NUMBA_CACHE_DIR=cache)
env.pop("NBMLP_COMPILE_NOTICE", None)
runs = [subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=900)
        for _ in range(2)]
print(json.dumps([[r.returncode, r.stdout, r.stderr] for r in runs]))
"""


def _start_notice():
    cache = background.scratch("compile-notice")
    background.launch("compile-notice", [sys.executable, "-c", NOTICE_SEQUENCE, SMALL_FIT, cache])


@background.child(_start_notice)
def test_a_cold_compile_says_so_once_and_a_warm_one_never():
    returncode, out, err = background.result("compile-notice", _start_notice, timeout=1800)
    assert returncode == 0, err[-2000:]
    (cold_code, cold_out, cold_err), (warm_code, warm_out, warm_err) = json.loads(out.strip().splitlines()[-1])
    assert cold_code == 0 and warm_code == 0, cold_err[-2000:] + warm_err[-2000:]
    lines = [line for line in cold_err.splitlines() if line.startswith("nbmlp: compiling")]
    training = [line for line in lines if "float32 training kernels (single-threaded epoch)" in line]
    prediction = [line for line in lines if "float32 prediction kernels (single-threaded)" in line]
    assert len(training) == 1 and len(prediction) == 1, cold_err
    assert len(lines) == len(set(lines)), cold_err  # each kernel set once per process
    assert "first use on this machine" in training[0] and "cached in" in training[0]
    assert "train_epoch_opt" in json.loads(cold_out.strip().splitlines()[-1])
    # a new process with the same cache loads everything: no compile and no line
    assert json.loads(warm_out.strip().splitlines()[-1]) == []
    assert "nbmlp: compiling" not in warm_err, warm_err


WARMUP_SEQUENCE = """
import json, os, subprocess, sys
code, cache = sys.argv[1], sys.argv[2]
env = dict(os.environ, NUMBA_CACHE_DIR=cache)
env.pop("NBMLP_COMPILE_NOTICE", None)
warm = subprocess.run([sys.executable, "-m", "nbmlp", "warmup", "--dtype", "float32", "--kernels", "small",
                       "--jobs", "2"], capture_output=True, text=True, env=env, timeout=1500)
fit = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=900)
print(json.dumps([[r.returncode, r.stdout, r.stderr] for r in (warm, fit)]))
"""


def _start_warmup():
    cache = background.scratch("warmup")
    background.launch("warmup", [sys.executable, "-c", WARMUP_SEQUENCE, SMALL_FIT, cache])


@background.child(_start_warmup)
def test_warmup_fills_a_fresh_cache_so_that_a_new_process_compiles_nothing():
    returncode, out, err = background.result("warmup", _start_warmup, timeout=2400)
    assert returncode == 0, err[-2000:]
    (warm_code, warm_out, warm_err), (fit_code, fit_out, fit_err) = json.loads(out.strip().splitlines()[-1])
    assert warm_code == 0, warm_err[-2000:]
    assert "nbmlp warmup: done" in warm_out and "float32 training of small networks" in warm_out, warm_out
    assert "nbmlp: compiling" not in warm_err  # the children's own lines are silenced
    assert fit_code == 0, fit_err[-2000:]
    assert json.loads(fit_out.strip().splitlines()[-1]) == []  # every kernel came from the cache
    assert "nbmlp: compiling" not in fit_err


def test_the_notice_can_be_silenced_and_the_command_overrides_it(monkeypatch):
    monkeypatch.setattr(_compile_notice, "FORCE", None)
    monkeypatch.delenv(_compile_notice.ENV, raising=False)
    assert not _compile_notice.quiet()
    for off in ("0", "false", "off"):
        monkeypatch.setenv(_compile_notice.ENV, off)
        assert _compile_notice.quiet()
    monkeypatch.setattr(_compile_notice, "FORCE", True)  # the command, without --quiet
    assert not _compile_notice.quiet()
    monkeypatch.setattr(_compile_notice, "FORCE", False)  # the command with --quiet
    monkeypatch.delenv(_compile_notice.ENV)
    assert _compile_notice.quiet()


def test_kernel_sets_are_named_by_dtype_and_epoch_copy():
    f32 = types.Array(types.float32, 1, "C")
    f64 = types.Array(types.float64, 2, "C")
    i64 = types.Array(types.int64, 1, "C")
    # the epoch's arguments: bundles (tuples of arrays) first, then csr, then parallel_macs
    net32, net64 = types.Tuple((f32, f32, types.int64)), types.Tuple((f64, types.int64))
    label, seconds = _compile_notice.kernel_set("train_epoch_opt", (net32, types.none, types.none))
    assert label == "float32 training kernels (single-threaded epoch)" and seconds > 0
    label, _ = _compile_notice.kernel_set("train_epoch_opt", (net64, types.none, types.int64))
    assert label == "float64 training kernels (multi-threaded epoch)"
    csr = types.Tuple((i64, i64, f32))
    label, _ = _compile_notice.kernel_set("train_epoch_opt", (types.Tuple((f32, i64)), csr, types.int64))
    assert label == "float32 sparse-input training kernels"
    assert _compile_notice.kernel_set("forward_pass", (f64,))[0] == "float64 prediction kernels"


def test_a_compile_in_this_process_is_announced_to_watchers_and_counted(monkeypatch, capsys):
    # a fresh nbmlp-module function compiled here: the listener sees a real Numba compile
    from numba import njit

    def forward_pass(y):  # named as a kernel set, defined in an nbmlp module
        return y.sum()

    forward_pass.__module__ = "nbmlp.kernels.passes"
    compiled = njit(forward_pass)
    monkeypatch.setattr(_compile_notice, "FORCE", True)
    monkeypatch.setattr(_compile_notice, "_said", set())
    seen, before = [], _compile_notice.compile_seconds()
    with _compile_notice.watch(seen.append), _compile_notice.record() as names:
        compiled(np.ones(3, dtype=np.float32))
        compiled(np.ones(3, dtype=np.float32))  # compiled already: nothing
    assert names == ["forward_pass"]
    compiled(np.ones(3))  # float64, outside the watch: a line, no callback
    assert seen == ["float32 prediction kernels"]
    err = capsys.readouterr().err
    assert err.count("nbmlp: compiling the float32 prediction kernels") == 1
    assert err.count("nbmlp: compiling the float64 prediction kernels") == 1
    assert _compile_notice.compile_seconds() > before


def test_warmup_refuses_unknown_kernel_sets_with_a_clear_error():
    res = subprocess.run(
        [sys.executable, "-m", "nbmlp", "warmup", "--kernels", "train,nope"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert res.returncode == 2 and "Traceback" not in res.stderr
    assert "expected kernel sets from train, small, trace, sparse, lbfgs, got 'train,nope'" in res.stderr


def test_warmup_names_every_kernel_set_in_its_help():
    res = subprocess.run(
        [sys.executable, "-m", "nbmlp", "warmup", "--help"], capture_output=True, text=True, timeout=120
    )
    assert res.returncode == 0
    for name in ("train", "small", "trace", "sparse", "lbfgs", "NUMBA_CACHE_DIR"):
        assert name in res.stdout


def test_the_command_forces_the_line_only_while_it_runs(monkeypatch, capsys):
    from nbmlp.cli import main

    monkeypatch.setattr(_compile_notice, "FORCE", None)
    with _compile_notice.forced(True):
        assert _compile_notice.FORCE is True
    assert _compile_notice.FORCE is None
    assert main(["explain", "forward"]) == 0  # a command run in-process (as tests do)
    capsys.readouterr()
    assert _compile_notice.FORCE is None  # later fits in the process follow the environment again
