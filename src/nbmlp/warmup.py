"""``nbmlp warmup``: compile the kernels that common use needs into Numba's on-disk cache, ahead.

A fresh environment (a container, a CI runner, a notebook server) starts with an empty cache, and
its first fit compiles for many seconds. ``nbmlp warmup`` runs small fits, predictions and traces
that call the same compiled functions with the same argument types as real use, each kernel set
in a process of its own, two or more at a time (Numba compiles one function at a time per
process). Then one process runs every job again and counts what it still had to compile (Numba
keeps no lock on its cache index: two processes that save the same function at the same moment
can lose one entry, which that pass compiles again). After it, a new process loads everything
from the cache.

    nbmlp warmup [--dtype float32|float64] [--kernels train,small,trace,sparse,lbfgs] [--jobs N] [--quiet]
"""

import os
import subprocess
import sys
import tempfile
import time

JOBS = {
    "train": "training (multi-threaded epoch) and prediction",
    "small": "training of small networks (single-threaded epoch)",
    "trace": "MLP.fit, trace and gradients",
    "sparse": "sparse-input training and prediction",
    "lbfgs": "L-BFGS training",
}
DEFAULT_JOBS = ("train", "small", "trace")
DTYPES = ("float64", "float32")


def run_job(kind, dtype):
    """Call, in this process, the compiled functions of one kernel set with real argument types."""
    import warnings

    import numpy as np

    warnings.simplefilter("ignore")
    rng = np.random.default_rng(0)
    X = rng.random((400, 64)).astype(dtype)
    y = np.arange(400) % 10
    if kind in ("train", "small", "sparse", "lbfgs"):
        from .estimators import MLPClassifier, MLPRegressor

        X_fit = X
        if kind == "sparse":
            import scipy.sparse

            X_fit = scipy.sparse.csr_matrix(X * (X > 0.7))
        # the estimators' defaults (100 hidden, batch 200) take the multi-threaded epoch; a small
        # network with a small batch the single-threaded one
        hidden, batch = ((5,), 4) if kind == "small" else ((100,), 200)
        solver = "lbfgs" if kind == "lbfgs" else "adam"
        for early_stopping in (False, True):
            clf = MLPClassifier(
                hidden, solver=solver, batch_size=batch, max_iter=2, early_stopping=early_stopping, random_state=0
            )
            clf.fit(X_fit, y).predict_proba(X_fit)
        MLPRegressor(hidden, solver=solver, batch_size=batch, max_iter=2, random_state=0).fit(X_fit, X[:, 0]).predict(
            X_fit
        )
    elif kind == "trace":
        from .network import MLP

        T = np.eye(10, dtype=dtype)[y]
        for layers, batch in (([64, 5, 10], 4), ([64, 100, 10], 200)):
            net = MLP(layers, activation="relu", output="softmax", dtype=dtype, seed=0)
            net.fit(X, T, epochs=1, batch_size=batch, lr=0.01)
            net.predict(X)
            net.gradients(X[:8], T[:8])
            net.trace(X[:2], T[:2])
    else:
        raise ValueError(f"unknown warmup job {kind!r}; choose from {', '.join(JOBS)}")


def _child(kind, dtype):
    """Start ``run_job`` in a new Python process (no fork: a child of a process that ran parallel
    kernels must not start them again under every threading layer)."""
    code = f"from nbmlp.warmup import run_job; run_job({kind!r}, {dtype!r})"
    env = dict(os.environ, NBMLP_COMPILE_NOTICE="0")
    # stderr to a file, read once the child has ended: a pipe read only then could fill and stall it
    err = tempfile.TemporaryFile("w+")
    return subprocess.Popen([sys.executable, "-c", code], env=env, stdout=subprocess.DEVNULL, stderr=err), err


CHECK = """
from nbmlp._compile_notice import record
from nbmlp.warmup import run_job
with record() as compiled:
    for kind, dtype in {jobs!r}:
        run_job(kind, dtype)
print(len(compiled))
"""


def warmup(kinds=DEFAULT_JOBS, dtypes=DTYPES, jobs=None, say=print):
    """Compile the kernel sets ``kinds`` for ``dtypes`` into the cache; returns the number of
    compiles the checking pass still needed (0 when the parallel pass left the cache whole)."""
    from ._config import _CACHE_PATH

    if not _CACHE_PATH:
        raise RuntimeError(
            "Numba has no writable cache directory here, so warmup cannot keep the compiled kernels: "
            "set NUMBA_CACHE_DIR to a writable directory"
        )
    todo = [(kind, dtype) for kind in kinds for dtype in dtypes]
    workers = max(1, jobs or os.cpu_count() or 1)
    say(
        f"nbmlp warmup: compiling {len(todo)} kernel set(s) in {min(workers, len(todo))} process(es) into {_CACHE_PATH}"
    )
    start, running, done = time.perf_counter(), [], 0
    pending = list(todo)
    while pending or running:
        while pending and len(running) < workers:
            kind, dtype = pending.pop(0)
            running.append((kind, dtype, *_child(kind, dtype)))
        time.sleep(0.05)
        for item in list(running):
            kind, dtype, proc, stderr = item
            if proc.poll() is None:
                continue
            running.remove(item)
            stderr.seek(0)
            err = stderr.read()
            stderr.close()
            if proc.returncode != 0:
                raise RuntimeError(f"warmup of the {dtype} {JOBS[kind]} kernels failed:\n{err[-2000:]}")
            done += 1
            say(f"  {done}/{len(todo)}  {dtype} {JOBS[kind]}  ({time.perf_counter() - start:.0f} s)")
    check = subprocess.run(
        [sys.executable, "-c", CHECK.format(jobs=todo)],
        env=dict(os.environ, NBMLP_COMPILE_NOTICE="0"),
        capture_output=True,
        text=True,
    )
    if check.returncode != 0:
        raise RuntimeError(f"warmup's checking pass failed:\n{check.stderr[-2000:]}")
    again = int(check.stdout.split()[-1])
    say(
        f"nbmlp warmup: done in {time.perf_counter() - start:.0f} s"
        + (f" ({again} function(s) compiled again by the checking pass)" if again else "")
        + "; a new process now loads these kernels from the cache"
    )
    return again
