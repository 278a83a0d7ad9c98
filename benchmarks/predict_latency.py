"""One-row ``predict_proba`` latency on the digits: nbmlp's MLPClassifier against scikit-learn's.

Run: python benchmarks/predict_latency.py [--rounds 9] [--calls 2000] [--dtype float64]
Both classifiers are 64-100-10 (scikit-learn's default hidden layer), fitted 5 epochs on the
digits; each round times ``calls`` calls of each contender in turn, so that a slow moment of a
shared machine hits all of them, and the medians over rounds are printed in µs with the load
average. Contenders: nbmlp's and scikit-learn's ``predict_proba`` of one row; what an nbmlp call
is made of: ``MLP.forward`` of the fitted network and scikit-learn's ``validate_data`` (which
nbmlp skips for a plain float array whose checks would all pass); and the path without
the fitted network's reuse (``validate_data``, then a new ``MLP`` built from ``coefs_`` for every call).
"""

import argparse
import os
import platform
import time
import warnings

import numpy as np
from sklearn.neural_network import MLPClassifier as SkClassifier
from sklearn.utils.validation import validate_data

from nbmlp import MLPClassifier
from nbmlp.datasets import load_digits


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--dtype", choices=["float64", "float32"], default="float64")
    args = parser.parse_args()
    X, y = load_digits()
    X = X.astype(args.dtype)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # 5 epochs do not converge
        ours = MLPClassifier((100,), max_iter=5, random_state=0).fit(X, y)
        theirs = SkClassifier((100,), max_iter=5, random_state=0).fit(X, y)
    row = X[:1].copy()
    dtype = ours.coefs_[0].dtype.type
    net = ours._network(dtype)

    def before():  # without the reuse: validate_data, then a new network per call
        Xc = validate_data(ours, row, reset=False, dtype=(np.float64, np.float32), accept_sparse=["csr", "csc"])
        return ours._network(dtype).forward(Xc)  # _network: an MLP built from coefs_ and intercepts_

    contenders = {
        "nbmlp predict_proba": lambda: ours.predict_proba(row),
        "scikit-learn predict_proba": lambda: theirs.predict_proba(row),
        "  nbmlp MLP.forward (the network alone)": lambda: net.forward(row),
        "  scikit-learn validate_data (alone)": lambda: validate_data(
            ours, row, reset=False, dtype=(np.float64, np.float32), accept_sparse=["csr", "csc"]
        ),
        "nbmlp without reuse (new MLP per call)": before,
    }
    np.testing.assert_allclose(ours.predict_proba(row), net.forward(row))
    times = {name: [] for name in contenders}
    for f in contenders.values():
        for _ in range(200):
            f()
    load = [os.getloadavg()[0]]
    for _ in range(args.rounds):
        for name, f in contenders.items():
            t0 = time.perf_counter()
            for _ in range(args.calls):
                f()
            times[name].append((time.perf_counter() - t0) / args.calls * 1e6)
        load.append(os.getloadavg()[0])
    print(
        f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores; 1-min load average "
        f"{min(load):.2f}-{max(load):.2f}; {args.dtype}; median of {args.rounds} rounds of {args.calls} calls"
    )
    for name, t in times.items():
        print(f"{name:45s} {np.median(t):8.1f} µs")
    ratios = np.array(times["nbmlp predict_proba"]) / np.array(times["scikit-learn predict_proba"])
    print(f"{'nbmlp / scikit-learn (median of round ratios)':45s} {np.median(ratios):8.2f}")


if __name__ == "__main__":
    main()
