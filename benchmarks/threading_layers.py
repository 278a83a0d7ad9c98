"""Training and prediction speed under each of Numba's threading layers, and in a forked child.

Run ``python benchmarks/threading_layers.py`` (``--help`` for the options). Numba chooses its
threading layer once per process, so each contender runs in a process of its own: ``omp``
(GNU OpenMP on Linux: the layer Numba chooses without TBB), ``workqueue`` (Numba's own),
``tbb`` (when the ``tbb`` package is installed; skipped otherwise) and ``omp, forked child``:
a process forked from an ``omp`` process after its threads ran, where nbmlp runs its kernels on
one thread (``nbmlp._fork``). Each process compiles (from the cache), then times ``fit`` and
``predict`` of each case ``--repeat`` times; the rounds take the contenders in turn, and the
table gives the medians over rounds (s) and each contender's ratio to ``omp``. Say which CPU
the figures come from and how busy the machine was: the header prints both.
"""

import argparse
import json
import os
import subprocess
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from contention import CASES, case_data, settings  # noqa: E402

LAYERS = ("omp", "workqueue", "tbb", "omp, forked child")


def time_cases(cases, repeat):
    """{case: (median fit s, median predict s)} in this process."""
    import warnings

    import nbmlp

    warnings.filterwarnings("ignore")
    out = {}
    for name in cases:
        X, y = case_data(name)
        params = settings(name)
        nbmlp.MLPClassifier(dtype="float32", **dict(params, max_iter=1)).fit(X[:300], y[:300])  # compile
        fits, predicts = [], []
        for _ in range(repeat):
            t0 = time.perf_counter()
            clf = nbmlp.MLPClassifier(dtype="float32", **params).fit(X, y)
            fits.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            clf.predict_proba(X)
            predicts.append(time.perf_counter() - t0)
        out[name] = (float(np.median(fits)), float(np.median(predicts)))
    return out


def worker(layer, cases, repeat):
    """The body of one contender's process: prints its times as JSON."""
    import numba

    if layer == "omp, forked child":
        import nbmlp

        X, y = case_data("mid")
        nbmlp.MLPClassifier(dtype="float32", max_iter=1, batch_size=256).fit(X[:2048], y[:2048])
        assert numba.threading_layer() == "omp"
        read, write = os.pipe()
        pid = os.fork()
        if pid == 0:
            os.close(read)
            with os.fdopen(write, "w") as f:
                f.write(json.dumps(time_cases(cases, repeat)))
            os._exit(0)
        os.close(write)
        with os.fdopen(read) as f:
            text = f.read()
        os.waitpid(pid, 0)
        print(text)
        return
    times = time_cases(cases, repeat)
    numba.threading_layer()
    print(json.dumps(times))


def run(layer, cases, repeat):
    """Times of one contender in a fresh process, or None when its layer cannot load."""
    env = dict(os.environ, NUMBA_THREADING_LAYER=layer.split(",")[0])
    args = [sys.executable, __file__, "--worker", layer, "--repeat", str(repeat), "--cases", *cases]
    res = subprocess.run(args, capture_output=True, text=True, env=env)
    if res.returncode != 0:
        if "No threading layer could be loaded" in res.stderr:
            return None
        raise RuntimeError(f"{layer}: {res.stderr[-2000:]}")
    return json.loads(res.stdout.strip().splitlines()[-1])


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cases", nargs="+", default=["small", "breast-cancer", "mid"], choices=list(CASES))
    parser.add_argument("--rounds", type=int, default=3, help="rounds of each contender (default 3)")
    parser.add_argument("--repeat", type=int, default=3, help="fits per case in each process (default 3)")
    parser.add_argument("--worker", choices=LAYERS, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        worker(args.worker, args.cases, args.repeat)
        return
    from nbmlp.bench import machine_description

    for line in machine_description():
        print("#", line)
    print(f"# load average before: {' '.join(f'{v:.2f}' for v in os.getloadavg())}")
    times = {layer: [] for layer in LAYERS}
    for _ in range(args.rounds):
        for layer in LAYERS:
            t = run(layer, args.cases, args.repeat)
            if t is not None:
                times[layer].append(t)
    print(f"# load average after: {' '.join(f'{v:.2f}' for v in os.getloadavg())}")
    print(f"# medians over {args.rounds} rounds of the median of {args.repeat} calls per process, s; ratio to omp")
    print(f"{'case':<14} {'layer':<18} {'fit':>9} {'predict':>9} {'fit/omp':>8} {'predict/omp':>11}")
    base = {}
    for layer in LAYERS:
        if not times[layer]:
            print(f"{'':<14} {layer:<18} not available")
            continue
        for name in args.cases:
            fit = float(np.median([t[name][0] for t in times[layer]]))
            predict = float(np.median([t[name][1] for t in times[layer]]))
            base.setdefault(name, (fit, predict))
            print(
                f"{name:<14} {layer:<18} {fit:9.4f} {predict:9.4f} {fit / base[name][0]:8.2f} "
                f"{predict / base[name][1]:11.2f}",
                flush=True,
            )


if __name__ == "__main__":
    main()
