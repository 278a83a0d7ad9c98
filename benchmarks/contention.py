"""Training speed when another process holds a core: nbmlp on 1 and on all threads, scikit-learn beside.

Run ``python benchmarks/contention.py`` (``--help`` for the options). Each case is a whole ``fit``
of an estimator, timed on an idle machine and then with one core made busy by a child process
that spins (for a bounded time, and always ended). Per case and machine state it prints the
median fit time of

- ``nbmlp 1``: nbmlp on one thread;
- ``nbmlp N fixed``: nbmlp on all N threads, always (the behaviour before the thread governor,
  ``nbmlp.set_num_threads(N, adaptive=False)``);
- ``nbmlp N``: nbmlp on at most N threads, the default (``adaptive=True``: the governor of
  ``nbmlp._threads`` uses fewer while the machine does not give it N cores);
- ``scikit-learn``: ``sklearn.neural_network.MLPClassifier`` with the same settings,

and the ratios the threading policy is judged by: ``N / 1`` (busy: at most 1.3) and ``N / N fixed``
(idle: not above 1). ``--grid`` adds ``GridSearchCV(nbmlp.MLPClassifier(), …)`` with ``n_jobs=1``
and ``n_jobs=2`` (8 candidates × 5 folds on breast-cancer). Every contender runs in turn in
each round, with a pause before each call (idle threads of OpenMP and OpenBLAS spin for a
while after a call), and the medians are over the rounds. Say which CPU the figures come from:
they are printed in the header.
"""

import argparse
import subprocess
import sys
import time
import warnings

import numpy as np

import nbmlp

# name: (hidden layers, batch size, samples, epochs); the breast-cancer case is scikit-learn's defaults
CASES = {
    "small": ((64,), 32, None, 20),  # digits 64-64-10: steps too small for threads
    "breast-cancer": ((100,), 200, None, 200),  # 569 × 30, MLPClassifier() defaults
    "mid": ((256, 128), 128, 4_096, 3),  # 784-256-128-10
    "large": ((1024, 1024), 256, 2_048, 2),  # 784-1024-1024-10
}
PAUSE = 0.15
SPIN = "import time, sys\nend = time.monotonic() + float(sys.argv[1])\nwhile time.monotonic() < end:\n    pass\n"


def case_data(name, seed=0):
    """Standardized inputs and labels of a case."""
    from sklearn.preprocessing import StandardScaler

    hidden, batch, n, epochs = CASES[name]
    if name == "breast-cancer":
        from sklearn.datasets import load_breast_cancer

        X, y = load_breast_cancer(return_X_y=True)
    elif n is None:
        from sklearn.datasets import load_digits

        X, y = load_digits(return_X_y=True)
    else:
        rng = np.random.default_rng(seed)
        prototypes = rng.random((10, 784))
        y = rng.integers(0, 10, n)
        X = 0.2 * prototypes[y] + 0.8 * rng.random((n, 784))
    return StandardScaler().fit_transform(X).astype(np.float32), y


def settings(name):
    """The estimator parameters of a case, the same for nbmlp and scikit-learn."""
    hidden, batch, _, epochs = CASES[name]
    return dict(
        hidden_layer_sizes=hidden,
        batch_size=batch,
        max_iter=epochs,
        tol=0.0,
        n_iter_no_change=epochs + 1,
        random_state=0,
    )


class Spinner:
    """One core made busy by a child process that spins for at most ``seconds``; ended on exit."""

    def __init__(self, seconds):
        self.seconds, self.proc = seconds, None

    def __enter__(self):
        self.proc = subprocess.Popen([sys.executable, "-c", SPIN, str(self.seconds)])
        time.sleep(0.3)  # let the scheduler place it
        return self

    def __exit__(self, *exc):
        self.proc.kill()
        self.proc.wait()


def contenders(name, n_threads):
    """name -> a function that fits the case once and returns its time."""
    from sklearn.neural_network import MLPClassifier as SkMLP

    X, y = case_data(name)
    params = settings(name)

    def nbmlp_on(n, adaptive):
        def fit():
            nbmlp.set_num_threads(n, adaptive=adaptive)
            t0 = time.perf_counter()
            nbmlp.MLPClassifier(dtype="float32", **params).fit(X, y)
            return time.perf_counter() - t0

        return fit

    def sklearn_fit():
        t0 = time.perf_counter()
        SkMLP(**params).fit(X, y)
        return time.perf_counter() - t0

    fns = {
        "nbmlp 1": nbmlp_on(1, False),
        f"nbmlp {n_threads} fixed": nbmlp_on(n_threads, False),
        f"nbmlp {n_threads}": nbmlp_on(n_threads, True),
        "scikit-learn": sklearn_fit,
    }
    nbmlp.MLPClassifier(dtype="float32", **dict(params, max_iter=1)).fit(X[:50], y[:50])  # compile
    return fns


def measure(fns, rounds):
    """Median time of each contender over ``rounds`` rounds, the contenders taken in turn."""
    times = {k: [] for k in fns}
    for _ in range(rounds):
        for k, fn in fns.items():
            time.sleep(PAUSE)
            times[k].append(fn())
    return {k: float(np.median(v)) for k, v in times.items()}


def grid_search(n_jobs_list=(1, 2), rounds=3):
    """Median time of ``GridSearchCV(nbmlp.MLPClassifier(), …)`` on breast-cancer for each n_jobs.

    8 candidates × 5 folds of ``MLPClassifier()`` defaults. joblib's workers start with
    ``NUMBA_NUM_THREADS = cores // n_jobs``; the first call of each (worker start-up: importing
    nbmlp and loading its compiled code) is left out, as the workers are then reused.
    """
    from sklearn.model_selection import GridSearchCV

    X, y = case_data("breast-cancer")
    grid = dict(alpha=[1e-5, 1e-4, 1e-3, 1e-2], learning_rate_init=[1e-3, 3e-3])
    est = nbmlp.MLPClassifier(random_state=0, dtype="float32")
    times = {n: [] for n in n_jobs_list}
    for n in n_jobs_list:
        GridSearchCV(est, grid, cv=5, n_jobs=n).fit(X, y)  # start-up
    for _ in range(rounds):
        for n in n_jobs_list:
            time.sleep(PAUSE)
            t0 = time.perf_counter()
            GridSearchCV(est, grid, cv=5, n_jobs=n).fit(X, y)
            times[n].append(time.perf_counter() - t0)
    return {n: float(np.median(v)) for n, v in times.items()}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cases", nargs="+", default=list(CASES), choices=list(CASES))
    parser.add_argument("--rounds", type=int, default=5, help="rounds of each contender (default 5)")
    parser.add_argument(
        "--threads", type=int, default=nbmlp.get_num_threads(), help="threads of the parallel contender (default: all)"
    )
    parser.add_argument("--grid", action="store_true", help="also time GridSearchCV with n_jobs 1 and 2")
    args = parser.parse_args(argv)
    warnings.filterwarnings("ignore")  # scikit-learn's ConvergenceWarning at a fixed number of epochs
    before = nbmlp.get_num_threads()
    n = args.threads
    from nbmlp.bench import machine_description
    from nbmlp.kernels.lanes import LANES32

    for line in machine_description():
        print("#", line)
    print(f"# float32 lanes {LANES32}; nbmlp threads {n}; {args.rounds} rounds; median fit time in s")
    print(
        f"{'case':<14} {'machine':<6} {'nbmlp 1':>9} {f'nbmlp {n} fixed':>15} {f'nbmlp {n}':>9} "
        f"{'sklearn':>9} {f'{n}/1':>6} {f'{n}/fixed':>8} {'sklearn/nbmlp':>13}"
    )
    try:
        for name in args.cases:
            fns = contenders(name, n)
            for state in ("idle", "busy"):
                if state == "busy":
                    with Spinner(600):
                        t = measure(fns, args.rounds)
                else:
                    t = measure(fns, args.rounds)
                one, fixed, adaptive, sk = t["nbmlp 1"], t[f"nbmlp {n} fixed"], t[f"nbmlp {n}"], t["scikit-learn"]
                print(
                    f"{name:<14} {state:<6} {one:9.4f} {fixed:15.4f} {adaptive:9.4f} {sk:9.4f} "
                    f"{adaptive / one:6.2f} {adaptive / fixed:8.2f} {sk / adaptive:13.1f}",
                    flush=True,
                )
        if args.grid:
            nbmlp.set_num_threads(before)
            for state in ("idle", "busy"):
                if state == "busy":
                    with Spinner(600):
                        t = grid_search(rounds=args.rounds)
                else:
                    t = grid_search(rounds=args.rounds)
                print(
                    f"GridSearchCV   {state:<6} n_jobs=1 {t[1]:.3f} s, n_jobs=2 {t[2]:.3f} s, ratio {t[2] / t[1]:.2f}",
                    flush=True,
                )
    finally:
        nbmlp.set_num_threads(before)


if __name__ == "__main__":
    main()
