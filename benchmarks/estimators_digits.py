"""Fit time on digits, nbmlp.MLPClassifier vs scikit-learn's MLPClassifier, same hyperparameters.

Run: python benchmarks/estimators_digits.py [--repeats 5] [--threads N]
Both fit 20 epochs of a 64-(64)-10 ReLU network (batch 200 = "auto", alpha 1e-4, no early
stopping) with each solver in one process; the medians of the fit times, their ratio and the
training accuracies are printed. Compilation is done before timing.
"""

import argparse
import platform
import time
import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.neural_network import MLPClassifier as SkClassifier

import nbmlp
from nbmlp.datasets import load_digits

SOLVERS = {"adam": dict(solver="adam"), "sgd+nesterov": dict(solver="sgd", momentum=0.9, learning_rate_init=0.1)}


def median_fit(make, X, y, repeats):
    times, est = [], None
    for _ in range(repeats):
        est = make()
        t0 = time.perf_counter()
        est.fit(X, y)
        times.append(time.perf_counter() - t0)
    return float(np.median(times)), est.score(X, y)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, default=None)
    args = parser.parse_args()
    if args.threads:
        nbmlp.set_num_threads(args.threads)
    X, y = load_digits()
    warnings.simplefilter("ignore", ConvergenceWarning)
    print(
        f"digits {X.shape}, 64-(64)-10 ReLU, 20 epochs; {platform.processor() or platform.machine()}, "
        f"nbmlp threads {nbmlp.get_num_threads()}"
    )
    for name, kw in SOLVERS.items():
        params = dict(hidden_layer_sizes=(64,), max_iter=20, random_state=0, **kw)
        nbmlp.MLPClassifier(**params).fit(X, y)  # compile
        t_nb, acc_nb = median_fit(lambda: nbmlp.MLPClassifier(**params), X, y, args.repeats)
        t_sk, acc_sk = median_fit(lambda: SkClassifier(**params), X, y, args.repeats)
        print(
            f"{name:14s} nbmlp {t_nb * 1e3:8.1f} ms (acc {acc_nb:.3f})   scikit-learn {t_sk * 1e3:8.1f} ms "
            f"(acc {acc_sk:.3f})   scikit-learn / nbmlp = {t_sk / t_nb:.2f}"
        )


if __name__ == "__main__":
    main()
