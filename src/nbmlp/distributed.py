"""Data-parallel training of the estimators over MPI processes (``pip install "nbmlp[mpi]"``).

Every process (rank) holds its own shard of the rows; together they train one model, exactly
the synchronous data-parallel SGD of Horovod or PyTorch DDP, with mpi4py underneath:

- everything global is agreed collectively first: the estimator's parameters, the classes (the
  union of every shard's), the layer sizes, the sample counts, whether samples are weighted;
  a shard that fails its checks makes every rank raise, and no estimator is changed;
- the rows are numbered globally, rank 0's first (shard offsets from an all-gather of the
  counts); every rank draws the same permutation of the N global indices from the same seed,
  so step k's mini-batch is ``perm[kB:(k+1)B]`` on every rank, as in a single-process fit;
- in each step every rank computes the gradient sums of the rows of that batch it holds
  (``kernels.sharded``), one in-place ``Allreduce`` of one preallocated buffer
  ``[∂θ …, Σ c_s E_s, Σ c_s]`` adds them up, and every rank divides by the global ``Σ c_s`` and
  applies the same optimizer update, so all ranks keep bitwise identical weights;
- the early-stopping split is drawn over the global indices; validation scores and losses
  are computed from all-reduced sums, so every rank stops at the same epoch.

The weights after training equal those of a single-process ``fit`` on the concatenated
shards: bitwise with one rank, and up to the order of the sums (float rounding) with more.
Every rank calls the callbacks' agreement after each epoch, whether or not it has callbacks
(a callback on rank 0 only is fine); a callback that asks to stop stops every rank, and one
that raises (``KeyboardInterrupt`` too) makes every rank raise. Any other exception on one
rank during training calls ``MPI.Abort``, and so does Ctrl-C; launch scripts with
``mpiexec -n R python -m mpi4py script.py`` so that an exception anywhere else ends the job too.
"""

import os
import signal
import sys
import threading
import traceback
from dataclasses import replace

import numba
import numpy as np

from . import _aligned as aligned
from . import _threads
from ._validation import check_dropout
from .kernels.epoch import Data
from .training import DivergenceError, optimizer_arrays, validation_loss_sum

__all__ = ["fit_mpi", "partial_fit_mpi", "CallbackError"]


def fit_mpi(estimator, X_shard, y_shard, comm=None, **fit_params):
    """Fit ``estimator`` on the union of every rank's shard; returns the estimator.

    Call it on every rank of ``comm`` with the same estimator parameters. The result is an
    ordinary fitted estimator, identical on every rank.

    Parameters
    ----------
    estimator : nbmlp.MLPClassifier or nbmlp.MLPRegressor
        The estimator to fit (in place, as ``estimator.fit``).
    X_shard : array-like of shape (n_rows, n_features)
        This rank's rows (at least one).
    y_shard : array-like of shape (n_rows,) or (n_rows, n_outputs)
        Their targets.
    comm : mpi4py.MPI.Comm, optional
        The communicator (default ``MPI.COMM_WORLD``).
    **fit_params
        ``sample_weight``: this rank's sample weights.

    Raises
    ------
    ValueError, TypeError
        On every rank, when any rank's shard or the parameters fail a check (the message names
        the rank); the estimators are then unchanged.
    nbmlp.DivergenceError
        On every rank, when training diverges.

    Notes
    -----
    Each step takes a batch from every rank, and one ``Allreduce`` adds up the ranks' sums, so
    that every rank computes the gradient of the whole batch,
    ``g = (Σ_ranks Σ_{s∈B_rank} c_s ∂E_s/∂θ + α w) / Σ_ranks Σ_{s∈B_rank} c_s``, and applies the
    same update as ``estimator.fit`` would (``θ ← θ − η g`` for plain SGD).

    Each rank uses cores-per-node / ranks-per-node threads during the fit unless
    ``NUMBA_NUM_THREADS`` is set or ``nbmlp.set_num_threads`` was called.
    """
    sample_weight = _fit_params(fit_params, ("sample_weight",), "fit_mpi").get("sample_weight")
    return _fit(estimator, X_shard, y_shard, comm, sample_weight, False, None)


def partial_fit_mpi(estimator, X_shard, y_shard, comm=None, **fit_params):
    """One epoch over the union of every rank's shard, continuing from the current weights.

    As ``fit_mpi``; ``fit_params`` may hold ``sample_weight`` and, for a classifier,
    ``classes`` (all the classes, required on the first call as in ``partial_fit``).
    """
    from sklearn.base import is_classifier

    allowed = ("sample_weight", "classes") if is_classifier(estimator) else ("sample_weight",)
    params = _fit_params(fit_params, allowed, "partial_fit_mpi")
    return _fit(estimator, X_shard, y_shard, comm, params.get("sample_weight"), True, params.get("classes"))


def _fit_params(fit_params, allowed, where):
    unknown = sorted(set(fit_params) - set(allowed))
    if unknown:
        raise TypeError(f"{where}() got unexpected keyword arguments {unknown}; it takes {', '.join(allowed)}")
    return fit_params


def _mpi(comm):
    try:
        from mpi4py import MPI
    except ImportError:  # pragma: no cover - exercised only without mpi4py
        raise ImportError('nbmlp.distributed needs mpi4py: pip install "nbmlp[mpi]"') from None
    return MPI, (MPI.COMM_WORLD if comm is None else comm)


def _agreed(comm, fn):
    """``fn()`` on every rank; if it raised on any rank, raise on every rank (no rank hangs)."""
    try:
        result, error = fn(), None
    except Exception as e:  # noqa: BLE001 - re-raised below, on every rank
        result, error = None, e
    errors = comm.allgather(None if error is None else f"{type(error).__name__}: {error}")
    if error is not None:
        raise error
    for rank, message in enumerate(errors):
        if message is not None:
            raise ValueError(f"rank {rank} failed a check, so every rank stops: {message}")
    return result


def _same(comm, value, what):
    values = comm.allgather(value)
    if any(v != values[0] for v in values):
        raise ValueError(f"the ranks disagree on {what}: " + "; ".join(f"rank {r}: {v}" for r, v in enumerate(values)))


def _fit(est, X, y, comm, sample_weight, incremental, classes):
    if hasattr(X, "tocsr"):
        raise TypeError("X_shard: sparse input is not supported by distributed training (pass a dense array)")
    if est.solver == "lbfgs":
        raise ValueError("solver: distributed training needs 'sgd' or 'adam', got 'lbfgs'")
    from .estimators._base import EstimatorEngine  # scikit-learn, on first use

    MPI, comm = _mpi(comm)
    engine = EstimatorEngine(est)
    # checking sets n_features_in_ (and feature_names_in_): put them back if any rank fails
    saved = engine.fitted_features()
    try:
        plan, pos, N = _agree(engine, X, y, comm, MPI, sample_weight, incremental, classes)
    except BaseException:
        engine.put_back_features(saved)
        raise
    return _train(engine, comm, MPI, plan, pos, N)


def _agree(engine, X, y, comm, MPI, sample_weight, incremental, classes):
    """Steps 1–3 of a distributed fit: checks, global agreement, this rank's part of the data.

    Returns the estimator's ``FitPlan`` for this rank's rows (its own split), ``pos`` (the local
    row of each global training sample, −1 when another rank holds it) and N, the global count.
    """
    from sklearn.base import is_classifier
    from sklearn.utils import check_random_state
    from sklearn.utils.multiclass import check_classification_targets, type_of_target

    from .estimators._fit_plan import as_dtype

    est = engine.estimator
    rank = comm.Get_rank()
    classifier = is_classifier(est)

    # 1. local checks of the call and of this rank's shard of labels
    def first_checks():
        if classifier and incremental:
            if not hasattr(est, "coefs_"):
                if classes is None and not type_of_target(y).startswith("multilabel"):
                    raise ValueError("classes must be passed on the first call to partial_fit_mpi")
            elif classes is not None and not np.array_equal(np.unique(classes), est.classes_):
                raise ValueError(
                    f"classes={classes!r} is not the same as on the first call to "
                    f"partial_fit_mpi (classes_ = {est.classes_.tolist()})"
                )
        params = {k: v for k, v in est.get_params(deep=False).items() if k not in ("callbacks", "verbose")}
        if not (params["random_state"] is None or isinstance(params["random_state"], (int, np.integer))):
            params["random_state"] = "instance"
        labels = None
        if classifier:
            y_arr = np.asarray(y)
            check_classification_targets(y_arr)
            if not type_of_target(y_arr).startswith("multilabel"):
                labels = np.unique(y_arr)
        return repr(sorted(params.items())) + repr(hasattr(est, "coefs_")), labels

    key, labels = _agreed(comm, first_checks)
    _same(comm, key, "the estimator's parameters or fitted state")
    all_labels = comm.allgather(labels)
    if classifier and all(lab is not None for lab in all_labels):
        union = np.unique(np.concatenate(all_labels))
        lb_classes = np.asarray(classes) if classes is not None else union
    else:
        union = lb_classes = None
    class_weight = None
    if classifier and union is not None and isinstance(est.class_weight, str) and est.class_weight == "balanced":
        # scikit-learn's "balanced" weights n / (K · n_k) from the global counts n_k
        counts = np.zeros(len(union), dtype=np.int64)
        np.add.at(counts, np.searchsorted(union, np.asarray(y).ravel()), 1)
        counts = comm.allreduce(counts)
        balanced = counts.sum() / (len(union) * counts.astype(np.float64))
        class_weight = dict(zip(union.tolist(), balanced.tolist()))

    # 2. the estimator's own checks, with the global classes and class weights
    def estimator_checks():
        saved = est.class_weight if class_weight is not None else None
        try:
            if class_weight is not None:
                est.class_weight = class_weight
            plan = engine.check(X, y, sample_weight, incremental, lb_classes)
            if any(check_dropout(est.dropout, len(plan.units) - 2)):
                raise ValueError(
                    "dropout: not supported by distributed training (the sharded step has no masks); use dropout=0"
                )
            return replace(plan, X=as_dtype(plan.X, plan.dtype, "X_shard"), T=as_dtype(plan.T, plan.dtype, "y_shard"))
        finally:
            if class_weight is not None:
                est.class_weight = saved

    plan = _agreed(comm, estimator_checks)
    Xc, yc, T, c, lb, units, dtype = plan.X, plan.y, plan.T, plan.c, plan.lb, plan.units, plan.dtype
    _same(comm, (units, np.dtype(dtype).name), "the layer sizes and dtype (features, outputs)")
    counts = comm.allgather(Xc.shape[0])
    offset, N_all = sum(counts[:rank]), sum(counts)
    weighted = comm.allreduce(bool(c is not None and not np.all(c == 1)), op=MPI.LOR)
    if weighted and c is None:
        c = np.ones(Xc.shape[0])
    seed_state = check_random_state(est.random_state).get_state() if rank == 0 else None
    rs = np.random.RandomState()
    rs.set_state(comm.bcast(seed_state, root=0))

    # the initial weights before the split, as the estimator draws them (scikit-learn's order)
    initial = engine.initial_weights(plan.units, plan.acts, rs) if plan.first_pass else None

    # 3. the global training set (and validation set): global indices, agreed by every rank
    early_stopping = est.early_stopping and not incremental
    if early_stopping:
        if lb is not None and lb.y_type_ != "multilabel-indicator":
            codes = np.searchsorted(lb.classes_, yc).astype(np.int64)
            strata = np.empty(N_all, dtype=np.int64)
            comm.Allgatherv(codes, [strata, counts])
        else:
            strata = np.zeros(N_all, dtype=np.int64)
        G = np.arange(N_all)
        # the estimator's own split, drawn over the global indices (the same on every rank)
        g_train, _, _, g_val, _, _ = _agreed(comm, lambda: engine.split(G, strata, G, None, rs, lb))
        mine = (g_val >= offset) & (g_val < offset + Xc.shape[0])
        rows_val = g_val[mine] - offset
        X_val, y_val, T_val = Xc[rows_val], yc[rows_val], T[rows_val]
    else:
        g_train = np.arange(N_all)
    mine = (g_train >= offset) & (g_train < offset + Xc.shape[0])
    rows_train = g_train[mine] - offset
    pos = np.full(len(g_train), -1, dtype=np.int64)
    pos[mine] = np.arange(len(rows_train))
    if early_stopping:
        Xc, T, c = Xc[rows_train], T[rows_train], (c[rows_train] if weighted else None)
    Xt = np.ascontiguousarray(Xc, dtype=dtype)
    Tt = np.ascontiguousarray(T, dtype=dtype)
    cs = np.ascontiguousarray(c, dtype=dtype) if weighted else None
    validation = (X_val, y_val, T_val) if early_stopping else None
    return plan.training_set(Xt, Tt, cs, rs, initial, validation), pos, len(g_train)


def _train(engine, comm, MPI, plan, pos, N):
    """Step 4 of a distributed fit: from here on the estimator changes; an error on one rank ends the job."""
    est = engine.estimator
    rank, size = comm.Get_rank(), comm.Get_size()
    node = comm.Split_type(MPI.COMM_TYPE_SHARED)
    threads = _threads_per_rank(node)
    node.Free()
    saved_threads, saved_verbose = numba.get_num_threads(), est.verbose
    saved_sigint = _abort_on_sigint(comm) if size > 1 else None
    try:
        if threads is not None:
            numba.set_num_threads(threads)
        if rank != 0:
            est.verbose = False
        net = engine.begin(plan)
        opt = engine.optimizer_state
        # the same memory alignment on every rank, so that vectorized loops split their
        # iterations alike and the update rounds alike (see nbmlp._aligned)
        net.params = aligned.copy(net.params)
        opt["m"], opt["s"] = aligned.copy(opt["m"]), aligned.copy(opt["s"])
        for array in (net.params, opt["m"], opt["s"], opt["step"], engine.shuffle_rng):
            comm.Bcast(array, root=0)  # rank 0's weights, optimizer state and seed
        step = ShardedStep(
            comm, MPI, net, plan.X, plan.T, plan.c, pos, N, engine.batch_size(N), opt, engine.shuffle_rng, est.shuffle
        )
        validate = _validate(comm, engine, net, plan) if plan.early_stopping else None
        # every rank runs the agreed callback (one collective per epoch), with or without callbacks
        # of its own, so that the ranks make the same collective calls whatever their callbacks
        plan = replace(plan, callbacks=[_agreed_callback(comm, plan.callbacks)])
        engine.run_epochs(plan, net, step, validate, catch_interrupt=False)
    except DivergenceError:
        raise  # decided from global numbers: raised on every rank alike
    except BaseException as e:
        if size > 1 and not getattr(e, "_nbmlp_every_rank", False):
            traceback.print_exc()
            sys.stderr.flush()
            comm.Abort(1)
        raise
    finally:
        est.verbose = saved_verbose
        if threads is not None:
            numba.set_num_threads(saved_threads)
        if saved_sigint is not None:
            signal.signal(signal.SIGINT, saved_sigint)
    return est


class ShardedStep:
    """The step of ``training.Trainer`` for a rank: one pass over the N global samples, one
    ``Allreduce`` per mini-batch (``kernels.sharded``); every rank takes the same update.

    Its buffers are allocated once: the work buffers of ``batch`` rows, ``buf`` =
    ``[Σ c ∂θ …, Σ c E, Σ c]`` (all-reduced in place) and a gradient (both aligned alike on
    every rank, see ``nbmlp._aligned``), and the batch's local rows. ``X, T, c`` are this rank's
    training rows (``c`` None: unweighted), ``pos`` the local row of each global sample (−1:
    held elsewhere).
    """

    def __init__(self, comm, MPI, net, X, T, c, pos, N, batch, opt, rng, shuffle):
        dtype = net.dtype
        self.comm, self.MPI, self.net, self.pos, self.n_samples, self.batch = comm, MPI, net, pos, N, batch
        self.code, self.state, self.rng, self.shuffle = opt["code"], optimizer_arrays(opt), rng, shuffle
        self.weighted = c is not None
        self.work = net.work_buffers(batch, with_backward=True)
        self.data = Data(X, T, c if c is not None else net.params[:0], np.empty(batch if c is not None else 0, dtype))
        self.buf = aligned.zeros(net.n_params + 2, dtype)
        self.grads = aligned.zeros(net.n_params, net.dtype)
        self.idx = np.empty(batch, dtype=np.int64)
        self.perm = np.arange(N, dtype=np.int64)

    def __call__(self, hyper):
        from .kernels.epoch import shuffle
        from .kernels.passes import Network
        from .kernels.sharded import Shard, shard_gradient_sums, shard_update
        from .kernels.step import Optimizer

        net, N, batch, buf = self.net, self.n_samples, self.batch, self.buf
        net_bundle = Network(net.params, self.grads, net.layout, net.loss_code)
        opt, shard = Optimizer(self.code, self.state, hyper), Shard(self.pos, self.idx)
        if self.shuffle:
            shuffle(self.perm, self.rng)
        total = 0.0
        for start in range(0, N, batch):
            nb = min(batch, N - start)
            shard_gradient_sums(buf, net_bundle, self.work, self.data, shard, self.perm, start, nb)
            self.comm.Allreduce(self.MPI.IN_PLACE, buf, op=self.MPI.SUM)
            total = shard_update(net_bundle, opt, buf, nb, self.weighted, total)
        return total


def _validate(comm, engine, net, plan):
    """``validate()`` for the trainer: score and loss of the global validation set, from sums."""
    X_val, y_val, T_val = plan.X_val, plan.y_val, plan.T_val
    n, k = T_val.shape

    def validate():
        if n:
            Y = net.forward(np.ascontiguousarray(X_val, dtype=net.dtype)).astype(np.float64)
            loss_sum, count = validation_loss_sum(engine.loss, Y, T_val, net.dtype)
        else:
            Y, loss_sum, count = np.zeros((0, k)), 0.0, 0
        if hasattr(engine.estimator, "classes_"):
            # accuracy: rows whose every label is right, over the rows
            pred = engine.labels(Y).reshape(n, -1) if n else np.zeros((0, 1))
            right = np.sum(np.all(np.asarray(y_val).reshape(n, -1) == pred, axis=1))
            sums = comm.allreduce(np.array([loss_sum, count, right, n], dtype=np.float64))
            return float(sums[2] / sums[3]), float(sums[0] / sums[1])
        # R², averaged over outputs, as scikit-learn's r2_score
        y = np.asarray(y_val, dtype=np.float64).reshape(n, -1)
        sums = comm.allreduce(np.concatenate([[loss_sum, count, n], np.sum(y, axis=0)]))
        mean = sums[3:] / sums[2]
        num_den = comm.allreduce(np.concatenate([np.sum((y - Y) ** 2, axis=0), np.sum((y - mean) ** 2, axis=0)]))
        num, den = num_den[: y.shape[1]], num_den[y.shape[1] :]
        scores = np.where(den != 0, 1 - num / np.where(den != 0, den, 1), np.where(num != 0, 0.0, 1.0))
        return float(np.average(scores)), float(sums[0] / sums[1])

    return validate


class CallbackError(RuntimeError):
    """A callback raised on another rank; every rank stops with an exception."""


def _agreed_callback(comm, callbacks):
    """One callback that runs this rank's callbacks (maybe none) and agrees with the other ranks.

    Every rank calls it after every epoch, so every rank makes the same collective call. Training
    stops on every rank when a callback on any rank asks to stop; when a callback raises on any
    rank (``KeyboardInterrupt`` included), that rank re-raises its exception and every other rank
    raises ``CallbackError`` naming it, so no rank is left waiting.
    """

    def callback(estimator, record):
        error, stop = None, False
        try:
            stop = any([bool(cb(estimator, record)) for cb in callbacks])
        except BaseException as e:  # noqa: BLE001 - re-raised below, on every rank
            error = e
        votes = comm.allgather((stop, None if error is None else f"{type(error).__name__}: {error}"))
        failed = [(rank, message) for rank, (_, message) in enumerate(votes) if message is not None]
        if failed:
            if error is None:
                rank, message = failed[0]
                error = CallbackError(f"a callback on rank {rank} raised {message}; every rank stops")
            error._nbmlp_every_rank = True  # raised on every rank: no MPI.Abort needed
            raise error
        return any(vote for vote, _ in votes)

    return callback


def _threads_per_rank(node):
    """Cores of this node over the ranks on it, or None when the user chose the thread count."""
    mine = os.sched_getaffinity(0) if hasattr(os, "sched_getaffinity") else set(range(os.cpu_count() or 1))
    cores = set().union(*node.allgather(mine))  # collective: every rank calls it
    if "NUMBA_NUM_THREADS" in os.environ or _threads.chosen:
        return None
    return max(1, min(len(mine), len(cores) // node.Get_size(), numba.config.NUMBA_NUM_THREADS))


def _abort_on_sigint(comm):
    """Ctrl-C during a fit ends the whole job (a rank that stopped alone would hang the others)."""
    if threading.current_thread() is not threading.main_thread():
        return None

    def handler(signum, frame):
        sys.stderr.write("nbmlp.distributed: interrupted; aborting every rank\n")
        sys.stderr.flush()
        comm.Abort(130)

    return signal.signal(signal.SIGINT, handler)
