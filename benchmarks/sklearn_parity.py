"""What dtype="float32" buys, and solver="lbfgs" against scikit-learn's, on digits.

Run: python benchmarks/sklearn_parity.py [--repeats 5] [--threads N]
1. adam, 20 epochs of a 64-(100)-10 ReLU network on all 1797 digits: nbmlp with the default
   dtype (float64 for float64 input, scikit-learn's rule) and with dtype="float32".
2. solver="lbfgs", a 64-(100)-10 ReLU network, max_iter=200 (scikit-learn's defaults), trained
   on 75 % of digits (X/16): fit time and test accuracy of nbmlp (float64 and float32) and of
   scikit-learn.
Medians of the fit times over the repeats; compilation is done before timing. For a like-for-like
lbfgs figure pin scikit-learn's BLAS too: OPENBLAS_NUM_THREADS=1 with --threads 1 (measured so,
on the shared machine at load 7: about 3 s each, the same test accuracy, 0.942 and 0.944).
"""

import argparse
import platform
import time
import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPClassifier as SkClassifier

import nbmlp
from nbmlp.datasets import load_digits


def median_fit(make, X, y, repeats):
    times, est = [], None
    for _ in range(repeats):
        est = make()
        t0 = time.perf_counter()
        est.fit(X, y)
        times.append(time.perf_counter() - t0)
    return float(np.median(times)), est


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, default=None)
    args = parser.parse_args()
    if args.threads:
        nbmlp.set_num_threads(args.threads)
    warnings.simplefilter("ignore", ConvergenceWarning)
    X, y = load_digits()
    X = np.asarray(X, dtype=np.float64) / 16
    print(f"digits {X.shape}; {platform.processor() or platform.machine()}, nbmlp threads {nbmlp.get_num_threads()}")

    print("1. adam, 64-(100)-10 ReLU, 20 epochs, all samples")
    params = dict(hidden_layer_sizes=(100,), max_iter=20, random_state=0)
    times = {}
    for dtype in (None, "float32"):
        nbmlp.MLPClassifier(dtype=dtype, **params).fit(X, y)  # compile
        times[dtype], est = median_fit(lambda: nbmlp.MLPClassifier(dtype=dtype, **params), X, y, args.repeats)
        print(
            f"   dtype={dtype!s:8s} ({est.coefs_[0].dtype})  {times[dtype] * 1e3:8.1f} ms  "
            f"train acc {est.score(X, y):.3f}"
        )
    print(f"   float32 is {times[None] / times['float32']:.2f}x faster than the default float64")

    print("2. lbfgs, 64-(100)-10 ReLU, max_iter=200, 75 % train / 25 % test")
    X_tr, X_te, y_tr, y_te = train_test_split(X, y, random_state=0)
    params = dict(hidden_layer_sizes=(100,), solver="lbfgs", max_iter=200, random_state=0)
    rows = [
        ("nbmlp (float64)", lambda: nbmlp.MLPClassifier(**params)),
        ("nbmlp float32", lambda: nbmlp.MLPClassifier(dtype="float32", **params)),
        ("scikit-learn", lambda: SkClassifier(**params)),
    ]
    rows[0][1]().fit(X_tr, y_tr)  # compile
    rows[1][1]().fit(X_tr, y_tr)
    for name, make in rows:
        t, est = median_fit(make, X_tr, y_tr, args.repeats)
        print(f"   {name:16s} {t * 1e3:8.1f} ms  n_iter_ {est.n_iter_:3d}  test acc {est.score(X_te, y_te):.3f}")


if __name__ == "__main__":
    main()
