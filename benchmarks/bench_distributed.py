"""Time per training step of ``nbmlp.distributed`` and its parts (for ``docs/distributed.md``).

Run with ``mpiexec -n R python -m mpi4py benchmarks/bench_distributed.py [--threads T]
[--dtype float32|float64]``: a 784-256-128-10 classifier, global batch 128, R shards of
synthetic data. Rank 0 prints medians over the timed steps of

- ``step in fit_mpi``: one step of ``fit_mpi`` (from fits of 4 and of 1 epoch, medians of 3);
- ``step in the loop``: the same step (compute + Allreduce) timed alone, step by step;
- ``compute``: this rank's ``shard_gradient_sums`` + ``shard_update`` (the slowest rank's);
- ``update``: ``shard_update`` alone (the optimizer step over all P parameters, every rank);
- ``allreduce``: the in-place ``Allreduce`` of the step's buffer alone (after a barrier);
- ``wait``: the ``Allreduce`` as it happens in a step (includes waiting for the slower rank).

It also prints the ``Allreduce`` time of buffers of 8 B … 8 MB, to fit latency and bandwidth.
"""

import argparse
import time
import warnings

import numpy as np
from mpi4py import MPI

import nbmlp
from nbmlp.distributed import fit_mpi
from nbmlp.kernels.epoch import Data, shuffle
from nbmlp.kernels.passes import Network
from nbmlp.kernels.sharded import Shard, shard_gradient_sums, shard_update
from nbmlp.kernels.step import Optimizer, OptimizerState

LAYERS, BATCH, STEPS = (256, 128), 128, 40


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--dtype", default="float32")
    args = parser.parse_args()
    comm = MPI.COMM_WORLD
    rank, size = comm.Get_rank(), comm.Get_size()
    if args.threads:
        nbmlp.set_num_threads(args.threads)
    rng = np.random.RandomState(0)
    N = BATCH * STEPS
    X = rng.rand(N, 784)
    y = rng.randint(0, 10, N)
    mine = np.array_split(np.arange(N), size)[rank]
    Xs, ys = X[mine], y[mine]
    warnings.simplefilter("ignore")
    est = nbmlp.MLPClassifier(
        LAYERS, batch_size=BATCH, max_iter=1, random_state=0, dtype=args.dtype, tol=0.0, n_iter_no_change=1000
    )
    fit_mpi(est, Xs, ys, comm)  # compiles (or loads the cache) and sets the estimator up

    # whole steps: a fit of 4 epochs minus a fit of 1 (the set-up cancels), over 3 epochs' steps
    fits = {}
    for epochs in (1, 4, 1, 4, 1, 4):
        est.set_params(max_iter=epochs)
        comm.Barrier()
        t0 = time.perf_counter()
        fit_mpi(est, Xs, ys, comm)
        fits.setdefault(epochs, []).append(time.perf_counter() - t0)
    step = (np.median(fits[4]) - np.median(fits[1])) / (3 * STEPS)

    # the parts of a step, with the same kernels and buffers as nbmlp.distributed._epoch
    net = est._network(np.dtype(args.dtype).type)
    dtype = net.dtype
    T = est._label_binarizer.transform(ys).astype(dtype)
    work = net._work(BATCH, with_backward=True)
    data = Data(np.ascontiguousarray(Xs, dtype=dtype), T, net.params[:0], net.params[:0])
    buf = np.zeros(net.n_params + 2, dtype=dtype)
    grads = np.empty_like(net.params)
    idx = np.empty(BATCH, dtype=np.int64)
    offset = sum(comm.allgather(len(mine))[:rank])
    pos = np.full(N, -1, dtype=np.int64)
    pos[offset : offset + len(mine)] = np.arange(len(mine))
    perm = np.arange(N, dtype=np.int64)
    shuffle(perm, np.array([7], dtype=np.uint64))
    opt = est._optimizer_state
    state, hyper = OptimizerState(opt["m"], opt["s"], opt["step"]), est._hyper(dtype)
    bundle, shard = Network(net.params, grads, net.layout, net._loss_code), Shard(pos, idx)
    optimizer = Optimizer(opt["code"], state, hyper)
    compute, update, wait, alone, whole = [], [], [], [], []
    for start in range(0, N, BATCH):
        t0 = time.perf_counter()
        shard_gradient_sums(buf, bundle, work, data, shard, perm, start, BATCH)
        t1 = time.perf_counter()
        comm.Allreduce(MPI.IN_PLACE, buf, op=MPI.SUM)
        t2 = time.perf_counter()
        shard_update(bundle, optimizer, buf, BATCH, False, 0.0)
        t3 = time.perf_counter()
        compute.append((t1 - t0) + (t3 - t2))
        wait.append(t2 - t1)
        whole.append(t3 - t0)
        update.append(t3 - t2)
        comm.Barrier()
        t4 = time.perf_counter()
        comm.Allreduce(MPI.IN_PLACE, buf, op=MPI.SUM)
        alone.append(time.perf_counter() - t4)
    compute = comm.allreduce(float(np.median(compute)), op=MPI.MAX)

    sizes = [8 * 4**k for k in range(11)]  # 8 B … 8 MB
    ring = {}
    for nbytes in sizes:
        b = np.zeros(nbytes // 8)
        times = []
        for _ in range(20):
            comm.Barrier()
            t0 = time.perf_counter()
            comm.Allreduce(MPI.IN_PLACE, b, op=MPI.SUM)
            times.append(time.perf_counter() - t0)
        ring[nbytes] = comm.allreduce(float(np.median(times)), op=MPI.MAX)
    if rank == 0:
        P = net.n_params
        print(
            f"ranks {size}, threads per rank {nbmlp.get_num_threads()}, {args.dtype}, P = {P}, "
            f"buffer {(P + 2) * buf.itemsize} B"
        )
        print(
            f"step in fit_mpi {step * 1e3:.2f} ms, step in the loop {np.median(whole) * 1e3:.2f} ms, "
            f"compute {compute * 1e3:.2f} ms, allreduce {np.median(alone) * 1e3:.3f} ms, "
            f"update {np.median(update) * 1e3:.3f} ms, "
            f"wait {np.median(wait) * 1e3:.3f} ms"
        )
        print("allreduce of n bytes (ms): " + ", ".join(f"{n}: {t * 1e3:.3f}" for n, t in ring.items()))


if __name__ == "__main__":
    main()
