"""Sparse input: an epoch on a TF-IDF-like CSR matrix, nbmlp against scikit-learn.

Run: python benchmarks/sparse_tfidf.py [--epochs 3] [--threads N] [--rows 20000] [--cols 50000]
The matrix is generated: 20,000 documents × 50,000 terms, 0.1 % non-zeros (50 per row), 20
classes; 30 % of a document's terms come from its class's 2,500 favoured terms, the rest from
the whole vocabulary; values are log(1 + count) · idf, rows L2-normalized (float64 CSR).
Both estimators fit the same CSR matrix (80 % of the rows) with adam, batch 200, alpha 1e-4, one
hidden layer of 128 ReLU, no early stopping, for ``--epochs`` epochs; the fit time per epoch and
the test accuracy on the other 20 % are printed. nbmlp runs with the default dtype (float64, as
scikit-learn on float64 input) and with dtype="float32". Compilation is done before timing.
"""

import argparse
import platform
import time
import warnings

import numpy as np
import scipy.sparse as sp
from sklearn.exceptions import ConvergenceWarning
from sklearn.neural_network import MLPClassifier as SkClassifier

import nbmlp


def tfidf_like(n_rows, n_cols, nnz_per_row=50, n_classes=20, favoured=2500, own_share=0.3, seed=0):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, n_classes, n_rows)
    vocab = np.stack([rng.choice(n_cols, favoured, replace=False) for _ in range(n_classes)])
    own = rng.random((n_rows, nnz_per_row)) < own_share
    cols = np.where(
        own,
        vocab[y[:, None], rng.integers(0, favoured, (n_rows, nnz_per_row))],
        rng.integers(0, n_cols, (n_rows, nnz_per_row)),
    )
    rows = np.repeat(np.arange(n_rows), nnz_per_row)
    counts = sp.csr_matrix((np.ones(rows.size), (rows, cols.ravel())), shape=(n_rows, n_cols))
    counts.sum_duplicates()
    df = np.bincount(counts.indices, minlength=n_cols)
    idf = np.log((1 + n_rows) / (1 + df)) + 1
    X = counts.copy()
    X.data = np.log1p(X.data) * idf[X.indices]
    norms = np.sqrt(np.asarray(X.multiply(X).sum(axis=1)).ravel())
    X = sp.diags(1 / norms) @ X
    return X.tocsr(), y


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--rows", type=int, default=20000)
    parser.add_argument("--cols", type=int, default=50000)
    args = parser.parse_args()
    if args.threads:
        nbmlp.set_num_threads(args.threads)
    warnings.simplefilter("ignore", ConvergenceWarning)
    X, y = tfidf_like(args.rows, args.cols)
    n_train = int(0.8 * X.shape[0])
    X_tr, y_tr, X_te, y_te = X[:n_train], y[:n_train], X[n_train:], y[n_train:]
    print(
        f"TF-IDF-like CSR {X.shape}, {X.nnz} non-zeros ({100 * X.nnz / np.prod(X.shape):.3f} %), "
        f"20 classes; 64-bit {platform.processor() or platform.machine()}, nbmlp threads {nbmlp.get_num_threads()}"
    )
    params = dict(hidden_layer_sizes=(128,), solver="adam", max_iter=args.epochs, random_state=0)
    rows = [
        ("nbmlp (float64)", lambda: nbmlp.MLPClassifier(**params)),
        ("nbmlp float32", lambda: nbmlp.MLPClassifier(dtype="float32", **params)),
        ("scikit-learn", lambda: SkClassifier(**params)),
    ]
    for _, make in rows[:2]:  # compile on a small slice
        make().set_params(max_iter=1).fit(X_tr[:500], y_tr[:500])
    per_epoch = {}
    for name, make in rows:
        est = make()
        t0 = time.perf_counter()
        est.fit(X_tr, y_tr)
        per_epoch[name] = (time.perf_counter() - t0) / est.n_iter_
        print(
            f"{name:16s} {per_epoch[name]:7.2f} s/epoch  test acc {est.score(X_te, y_te):.3f}  loss {est.loss_:.4f}",
            flush=True,
        )
    for name in rows[:2]:
        print(f"{name[0]}: {per_epoch['scikit-learn'] / per_epoch[name[0]]:.1f}x faster per epoch than scikit-learn")


if __name__ == "__main__":
    main()
