"""Run by ``test_fork.py`` in a fresh process: nbmlp used in processes forked after a fit.

The parent fits and predicts (large enough that the parallel kernels run, so Numba's threads
are started), then forks in every way a user does: a bare ``os.fork`` (and a fork in that
child), ``multiprocessing.Pool.map`` of ``predict`` and of a fit, a ``ProcessPoolExecutor``
with the fork context and ``cross_val_score`` on joblib's multiprocessing backend. Each child's
results must equal the parent's, bit for bit. Prints the threading layer and ``ok``; a child that
dies makes its pool hang, so the test runs this script with a time limit.
"""

import multiprocessing as mp
import os
import sys
from concurrent.futures import ProcessPoolExecutor

import numba
import numpy as np
from joblib import parallel_backend
from sklearn.model_selection import cross_val_score

from nbmlp import MLPClassifier

rng = np.random.default_rng(0)
X = rng.random((6000, 64))
y = (X[:, :8].sum(axis=1) > 4).astype(int) + (X[:, 8] > 0.5)
PARTS = np.array_split(X, 4)


def fitted(seed):
    return MLPClassifier(hidden_layer_sizes=(256,), batch_size=256, max_iter=2, random_state=seed, tol=0).fit(X, y)


def fit_and_predict(seed):
    return fitted(seed).predict_proba(X)


def child_checks(clf, expected, fit_expected):
    """In a forked child: predict and fit give the parent's bits; returns 0 if so."""
    if not np.array_equal(np.concatenate([clf.predict(p) for p in PARTS]), expected):
        return 1
    if not np.array_equal(fit_and_predict(1), fit_expected):
        return 2
    return 0


def forked(fn):
    """Run ``fn()`` (an exit code) in a forked child; its exit status."""
    pid = os.fork()
    if pid == 0:
        code = 3
        try:
            code = fn()
        finally:
            os._exit(code)
    return os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1])


def main():
    clf = fitted(0)
    expected = clf.predict(X)
    fit_expected = fit_and_predict(1)
    layer = numba.threading_layer()

    # a bare fork, and a fork in that child (a grandchild of the process that started the threads)
    assert forked(lambda: child_checks(clf, expected, fit_expected)) == 0, "os.fork"
    assert forked(lambda: forked(lambda: child_checks(clf, expected, fit_expected))) == 0, "fork in a fork"

    ctx = mp.get_context("fork")
    with ctx.Pool(2) as pool:
        assert np.array_equal(np.concatenate(pool.map(clf.predict, PARTS)), expected), "Pool.map(predict)"
        assert all(np.array_equal(p, fit_expected) for p in pool.map(fit_and_predict, [1, 1])), "Pool.map(fit)"
    with ProcessPoolExecutor(2, mp_context=ctx) as ex:
        assert np.array_equal(np.concatenate(list(ex.map(clf.predict, PARTS))), expected), "ProcessPoolExecutor"
    model = MLPClassifier(hidden_layer_sizes=(256,), batch_size=256, max_iter=2, random_state=0, tol=0)
    alone = cross_val_score(model, X, y, cv=2)
    with parallel_backend("multiprocessing", n_jobs=2):
        pooled = cross_val_score(model, X, y, cv=2)
    assert np.array_equal(alone, pooled), "cross_val_score on joblib's multiprocessing backend"
    print(layer, "ok")


if __name__ == "__main__":
    import warnings

    warnings.simplefilter("ignore")
    sys.exit(main())
