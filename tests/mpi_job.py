"""Jobs that ``test_distributed.py`` launches with ``mpiexec -n R python -m mpi4py mpi_job.py``.

``python -m mpi4py tests/mpi_job.py OUT fits`` trains every case of ``CASES`` on this rank's
shard with ``fit_mpi``/``partial_fit_mpi`` and writes ``OUT/rank<r>.npz``; ``… OUT bad_shard``
gives rank 1 a shard with a wrong feature count; ``… OUT raise`` makes rank 1's callback raise
in the middle of training and ``… OUT raise_outside`` makes rank 1 raise while rank 0 waits
in a barrier (either way the job must end, not hang); ``… OUT rank0_callbacks`` gives
callbacks to rank 0 only (one of them stops training) and ``… OUT interrupt`` raises
KeyboardInterrupt in rank 1's callback, catching what each rank's ``fit_mpi`` raises. The data
and estimators are defined here so that the test can train the single-process references on
the concatenated shards.
"""

import sys

import numpy as np

N_ROWS = 61


def data():
    """Features, class labels (3 classes), 2 regression targets and sample weights."""
    rng = np.random.RandomState(0)
    X = rng.randn(N_ROWS, 5)
    labels = np.array(["a", "b", "c"])[(X[:, 0] + X[:, 1] > 0).astype(int) + (X[:, 2] > 0.8)]
    Y = np.stack([X[:, 0] - 2 * X[:, 3], np.sin(X[:, 1])], axis=1)
    weights = rng.uniform(0.5, 2.0, N_ROWS)
    return X, labels, Y, weights


def shards(size):
    """Row ranges of each rank: uneven, rank 0 holds fewer rows."""
    cuts = [0] + [N_ROWS * (r + 1) // (size + 1) for r in range(size - 1)] + [N_ROWS]
    return [np.arange(cuts[r], cuts[r + 1]) for r in range(size)]


def cases():
    """name -> (estimator, how): how is "fit", "weighted" or "partial" (two partial fits)."""
    from nbmlp import MLPClassifier, MLPRegressor

    common = dict(dtype="float64", random_state=3, max_iter=4, batch_size=8)
    return {
        "adam": (MLPClassifier((6, 4), alpha=1e-3, **common), "fit"),
        "nesterov_weighted": (MLPRegressor((5,), solver="sgd", learning_rate_init=0.01, **common), "weighted"),
        "early_stopping": (
            MLPClassifier(
                (6,),
                early_stopping=True,
                validation_fraction=0.25,
                n_iter_no_change=2,
                tol=0.5,
                class_weight="balanced",
                **dict(common, max_iter=8),
            ),
            "fit",
        ),
        "early_stopping_r2": (
            MLPRegressor(
                (6,),
                early_stopping=True,
                validation_fraction=0.25,
                solver="sgd",
                momentum=0.0,
                learning_rate_init=0.01,
                **common,
            ),
            "fit",
        ),
        "partial": (MLPClassifier((4,), solver="sgd", momentum=0.0, learning_rate_init=0.1, **common), "partial"),
        "partial_momentum": (
            MLPClassifier((4,), solver="sgd", momentum=0.5, learning_rate_init=0.1, **common),
            "partial",
        ),
    }


def train(est, how, X, labels, Y, weights, fit, partial_fit):
    """Train ``est`` with ``fit(est, X, y, **kw)``/``partial_fit`` (single-process or MPI)."""
    y = labels if hasattr(est, "class_weight") else Y  # classifier or regressor
    if how == "fit":
        return fit(est, X, y)
    if how == "weighted":
        return fit(est, X, y, sample_weight=weights)
    partial_fit(est, X, y, classes=np.array(["a", "b", "c"]))
    return partial_fit(est, X, y)


def summary(est):
    """The arrays a test compares: flat weights, loss curve, counters, validation scores."""
    out = {
        "params": np.concatenate([a.ravel() for w, b in zip(est.coefs_, est.intercepts_) for a in (w, b)]),
        "loss_curve": np.array(est.loss_curve_),
        "counters": np.array([est.n_iter_, est.t_]),
    }
    if est.validation_scores_ is not None:
        out["validation_scores"] = np.array(est.validation_scores_)
        out["validation_loss"] = np.array(est.validation_loss_curve_)
    return out


def main(out, job):
    from mpi4py import MPI

    from nbmlp.distributed import fit_mpi, partial_fit_mpi

    comm = MPI.COMM_WORLD
    rank = comm.Get_rank()
    X, labels, Y, weights = data()
    mine = shards(comm.Get_size())[rank]
    Xs, ls, Ys, ws = X[mine], labels[mine], Y[mine], weights[mine]
    results = {}
    if job == "fits":
        for name, (est, how) in cases().items():
            train(est, how, Xs, ls, Ys, ws, fit_mpi, partial_fit_mpi)
            results.update({f"{name}/{k}": v for k, v in summary(est).items()})
    elif job == "bad_shard":
        est, _ = cases()["adam"]
        try:
            fit_mpi(est, Xs[:, :4] if rank == 1 else Xs, ls)
        except ValueError as e:
            results["message"] = np.array(str(e))
            results["unchanged"] = np.array(not hasattr(est, "coefs_") and not hasattr(est, "n_features_in_"))
    elif job == "raise":

        def fail_on_rank_1(est, record):
            if rank == 1 and record["epoch"] == 2:
                raise RuntimeError("rank 1 fails in epoch 2")

        est, _ = cases()["adam"]
        est.set_params(max_iter=1000, callbacks=[fail_on_rank_1])
        fit_mpi(est, Xs, ls)
    elif job == "rank0_callbacks":
        # callbacks on rank 0 only: a logger, then one that stops training after epoch 3
        seen = []

        def log(est, record):
            seen.append(record["epoch"])

        for name, stop_at in (("log", None), ("stop", 3)):
            est, _ = cases()["adam"]
            callbacks = [log] + ([lambda e, r: r["epoch"] == stop_at] if stop_at else [])
            est.set_params(max_iter=5, callbacks=callbacks if rank == 0 else None)
            fit_mpi(est, Xs, ls)
            results.update({f"{name}/{k}": v for k, v in summary(est).items()})
        results["seen"] = np.array(seen)
    elif job == "interrupt":

        def interrupt_on_rank_1(est, record):
            if rank == 1 and record["epoch"] == 2:
                raise KeyboardInterrupt

        est, _ = cases()["adam"]
        est.set_params(max_iter=1000, callbacks=[interrupt_on_rank_1])
        try:
            fit_mpi(est, Xs, ls)
        except BaseException as e:  # every rank must get here, none may return normally
            results["error"] = np.array(f"{type(e).__name__}: {e}")
            results["n_iter"] = np.array(est.n_iter_)
    elif job == "raise_outside":
        if rank == 1:
            raise RuntimeError("rank 1 fails outside nbmlp")
        comm.Barrier()  # rank 0 would wait here for ever without ``python -m mpi4py``
    np.savez(f"{out}/rank{rank}.npz", **results)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
