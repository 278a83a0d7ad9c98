"""First-compile time: what a new user waits for, each case in a fresh process with an empty Numba
cache (a new ``NUMBA_CACHE_DIR`` per run), and where the compile time goes.

    python benchmarks/first_compile.py [--repeats N] [--case NAME ...] [--table] [--warm]

For each case, the median over ``N`` fresh processes (default 2) of the CPU seconds of the whole
process (user + system, all threads: less sensitive than wall time to other processes on a busy
machine; counted from after NumPy, scikit-learn and the data are loaded, so it starts at
``import nbmlp``) and the wall seconds of the timed calls. ``--table`` adds, per compiled function,
the median inclusive and exclusive compile seconds from Numba's ``numba:compile`` events
(CPU seconds of the compiling thread; exclusive: minus the compiles nested inside it), and the
number of signatures compiled.
``--warm`` runs each case a second time in the same cache directory (a new process loading the
kernels from the cache) and reports that too. ``--list`` names the cases.

The cases are the first calls the issue lists: the estimator defaults on the digits in float64
and float32 (fit + predict), ``MLP.fit`` of a mid network, ``trace``, sparse input, ``lbfgs``,
``nbmlp train`` on a CSV, the whole "first session" in one process, and the small network the
script timed before (all its steps run serially).
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile

# name: (what it times, the code run after the untimed setup; X, y are the digits / 16)
CASES = {
    "digits64": (
        "MLPClassifier(max_iter=20).fit + predict_proba, digits, float64",
        """
import nbmlp
clf = nbmlp.MLPClassifier(max_iter=20, random_state=0).fit(X, y)
clf.predict_proba(X)
""",
    ),
    "digits32": (
        "MLPClassifier(max_iter=20).fit + predict, digits, float32",
        """
import nbmlp
clf = nbmlp.MLPClassifier(max_iter=20, random_state=0).fit(X32, y)
clf.predict(X32)
""",
    ),
    "mid": (
        "MLP 784-256-128-10 fit (batch 128, 1 epoch, 1024 rows) + predict, float32",
        """
import nbmlp
net = nbmlp.MLP([784, 256, 128, 10], activation="relu", output="softmax", dtype="float32", seed=0)
net.fit(XM, yM, epochs=1, batch_size=128, lr=0.01)
net.predict(XM)
""",
    ),
    "trace": (
        "MLP 64-32-10 trace, digits rows, float64",
        """
import nbmlp
net = nbmlp.MLP([64, 32, 10], activation="tanh", output="softmax", seed=0)
net.trace(X[:8], y[:8])
""",
    ),
    "sparse": (
        "MLPClassifier(max_iter=5).fit + predict, CSR digits, float64",
        """
import nbmlp
clf = nbmlp.MLPClassifier(max_iter=5, random_state=0).fit(XS, y)
clf.predict(XS)
""",
    ),
    "lbfgs": (
        "MLPClassifier(solver='lbfgs', max_iter=20).fit + predict, digits, float64",
        """
import nbmlp
clf = nbmlp.MLPClassifier(solver="lbfgs", max_iter=20, random_state=0).fit(X, y)
clf.predict(X)
""",
    ),
    "cli": (
        "nbmlp train digits.csv --target digit --epochs 5 (the command's main, in process)",
        """
from nbmlp.cli import main
main(["train", CSV, "--target", "digit", "--epochs", "5", "--quiet"])
""",
    ),
    "session": (
        "first session: float64 fit + predict, float32 fit + predict_proba, MLP.fit + trace, "
        "MLPRegressor fit + predict on the diabetes data",
        """
import nbmlp
nbmlp.MLPClassifier(max_iter=20, random_state=0).fit(X, y).predict(X)
nbmlp.MLPClassifier(max_iter=20, random_state=0).fit(X32, y).predict_proba(X32)
net = nbmlp.MLP([64, 32, 10], activation="relu", output="softmax", seed=0)
net.fit(X, y, epochs=2, batch_size=32, lr=0.1)
net.trace(X[:8], y[:8])
nbmlp.MLPRegressor(max_iter=20, random_state=0).fit(XD, yD).predict(XD)
""",
    ),
    "tiny": (
        "MLP 8-5-3 fit (batch 4, every step serial) + predict, float32",
        """
import nbmlp
net = nbmlp.MLP([8, 5, 3], activation="relu", output="softmax", dtype="float32", seed=0)
net.fit(X[:16, :8], y[:16] % 3, epochs=1, batch_size=4, lr=0.1)
net.predict(X[:16, :8])
""",
    ),
}

CHILD = """
import json, resource, time, warnings
import numpy as np
import scipy.sparse
from sklearn.datasets import load_diabetes, load_digits
warnings.simplefilter("ignore")
X, y = load_digits(return_X_y=True)
X = X / 16
X32 = X.astype(np.float32)
XS = scipy.sparse.csr_matrix(X)
XD, yD = load_diabetes(return_X_y=True)
rng = np.random.default_rng(0)
XM = rng.random((1024, 784), dtype=np.float32)
yM = rng.integers(0, 10, 1024)
CSV = {csv!r}
from numba.core import event


class Recorder(event.Listener):
    # CPU seconds of the compiling thread (Numba compiles in the calling thread), not wall time
    def __init__(self):
        self.buffer = []

    def on_start(self, ev):
        self.buffer.append((time.thread_time(), ev))

    def on_end(self, ev):
        self.buffer.append((time.thread_time(), ev))


def cpu():
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime

rec = Recorder()
c0, t0 = cpu(), time.perf_counter()
with event.install_listener("numba:compile", rec):
{body}
wall, seconds = time.perf_counter() - t0, cpu() - c0
events = []
for ts, ev in rec.buffer:
    d = ev.data.get("dispatcher")
    key = d.py_func.__module__.replace("nbmlp.kernels.", "") + "." + d.py_func.__qualname__ if d else "?"
    events.append((ts, key, ev.is_start))
print("RESULT", json.dumps(dict(cpu=seconds, wall=wall, events=events)))
"""


def tally(events):
    """Per function: inclusive and exclusive seconds and signatures compiled, from the
    ``(time, function, is_start)`` of Numba's nested ``numba:compile`` events."""
    inclusive, exclusive, count, stack = {}, {}, {}, []
    for ts, key, is_start in events:
        if is_start:
            stack.append([key, ts, 0.0])
            continue
        k, start, nested = stack.pop()
        if k != key:
            raise ValueError(f"compile events out of order: {key} ends inside {k}")
        inclusive[k] = inclusive.get(k, 0.0) + ts - start
        exclusive[k] = exclusive.get(k, 0.0) + ts - start - nested
        count[k] = count.get(k, 0) + 1
        if stack:
            stack[-1][2] += ts - start
    return dict(inclusive=inclusive, exclusive=exclusive, count=count)


def write_csv(path):
    from sklearn.datasets import load_digits

    X, y = load_digits(return_X_y=True)
    with open(path, "w") as f:
        f.write(",".join(f"p{i}" for i in range(X.shape[1])) + ",digit\n")
        for row, label in zip(X.astype(int), y):
            f.write(",".join(map(str, row)) + f",{label}\n")


def child_code(body, csv):
    """The child process's program: the setup, then ``body`` under the compile-event listener."""
    return CHILD.format(csv=csv, body="".join("    " + line + "\n" for line in body.strip().splitlines()))


def run(body, cache, csv):
    env = dict(os.environ, NUMBA_CACHE_DIR=cache)
    code = child_code(body, csv)
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    if out.returncode:
        raise RuntimeError(f"child failed (exit {out.returncode}):\n{out.stderr[-3000:]}")
    line = [s for s in out.stdout.splitlines() if s.startswith("RESULT ")][-1]
    result = json.loads(line[len("RESULT ") :])
    result.update(tally(result.pop("events")))
    return result


def median_table(runs, key):
    names = set().union(*(r[key] for r in runs))
    return {n: statistics.median(r[key].get(n, 0.0) for r in runs) for n in names}


def fmt(values):
    return f"{statistics.median(values):5.1f} ({', '.join(f'{v:.1f}' for v in values)})"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=2, help="fresh processes per case (default 2)")
    parser.add_argument("--case", action="append", choices=list(CASES), help="run this case (repeatable)")
    parser.add_argument("--table", action="store_true", help="print the per-function compile table")
    parser.add_argument("--top", type=int, default=25, help="rows of the table (default 25)")
    parser.add_argument("--warm", action="store_true", help="also time a new process with the cache filled")
    parser.add_argument("--list", action="store_true", help="list the cases and exit")
    args = parser.parse_args(argv)
    if args.list:
        for name, (what, _) in CASES.items():
            print(f"{name:9s} {what}")
        return
    with tempfile.TemporaryDirectory(prefix="nbmlp-first-compile-") as root:
        csv = os.path.join(root, "digits.csv")
        write_csv(csv)
        for name in args.case or list(CASES):
            what, body = CASES[name]
            cold, warm = [], []
            for r in range(args.repeats):
                cache = os.path.join(root, f"{name}{r}")
                cold.append(run(body, cache, csv))
                if args.warm:
                    warm.append(run(body, cache, csv))
            counts = median_table(cold, "count")
            line = (
                f"{name}: CPU {fmt([c['cpu'] for c in cold])} s, wall {fmt([c['wall'] for c in cold])} s, "
                f"{len(counts)} functions, {round(sum(counts.values()))} signatures"
            )
            if warm:
                line += f"; warm cache: wall {fmt([w['wall'] for w in warm])} s"
            print(f"{line}  [{what}; medians of {args.repeats}]", flush=True)
            if args.table:
                inc, exc = median_table(cold, "inclusive"), median_table(cold, "exclusive")
                print(f"    {'inclusive':>9s} {'exclusive':>9s} {'sigs':>4s}  function")
                for fn in sorted(inc, key=inc.get, reverse=True)[: args.top]:
                    print(f"    {inc[fn]:9.2f} {exc[fn]:9.2f} {counts[fn]:4.0f}  {fn}")
                print(f"    {'':9s} {sum(exc.values()):9.2f}       (all exclusive)", flush=True)


if __name__ == "__main__":
    main()
