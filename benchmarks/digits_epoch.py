"""Time per epoch on digits (64-64-10, ReLU, softmax, batch 32, SGD lr 0.1): nbmlp vs scikit-learn.

Run: python benchmarks/digits_epoch.py [--repeats 7] [--threads N]
Both libraries train the same architecture with plain SGD (no momentum, no L2, no early
stopping) in one process; the medians and their ratio are printed. Compilation is done before
timing.
"""
import argparse
import platform
import time
import warnings

import numpy as np

import nbmlp
from nbmlp.datasets import load_digits


def median_epoch_seconds(fit_one_epoch, repeats):
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fit_one_epoch()
        times.append(time.perf_counter() - t0)
    return float(np.median(times))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--threads", type=int, default=None)
    args = parser.parse_args()
    if args.threads:
        nbmlp.set_num_threads(args.threads)
    X, y = load_digits()
    net = nbmlp.MLP([64, 64, 10], activation="relu", dtype="float32", seed=0)
    net.fit(X, y, epochs=1, batch_size=32, lr=0.1)  # compile
    t_nbmlp = median_epoch_seconds(lambda: net.fit(X, y, epochs=1, batch_size=32, lr=0.1), args.repeats)

    from sklearn.exceptions import ConvergenceWarning
    from sklearn.neural_network import MLPClassifier
    clf = MLPClassifier(hidden_layer_sizes=(64,), activation="relu", solver="sgd", alpha=0.0, batch_size=32,
                        learning_rate_init=0.1, momentum=0.0, max_iter=1, shuffle=True, random_state=0, tol=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.partial_fit(X, y, classes=np.arange(10))
        t_sklearn = median_epoch_seconds(lambda: clf.partial_fit(X, y), args.repeats)

    print(f"machine: {platform.processor() or platform.machine()}, threads {nbmlp.get_num_threads()}, "
          f"numpy {np.__version__}, nbmlp {nbmlp.__version__}")
    print(f"{'library':<14}{'ms/epoch':>10}")
    print(f"{'nbmlp':<14}{t_nbmlp * 1e3:>10.2f}")
    print(f"{'scikit-learn':<14}{t_sklearn * 1e3:>10.2f}")
    print(f"nbmlp is {t_sklearn / t_nbmlp:.1f}x faster than scikit-learn (median of {args.repeats})")


if __name__ == "__main__":
    main()
