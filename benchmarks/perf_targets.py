"""nbmlp's performance targets (docs/performance.md), measured side by side in one run (medians of --repeats;
each ratio is the median of the ratios within a round, so that a slow phase of a shared machine
counts once for both contenders rather than for whichever it happened to hit).

Run: python benchmarks/perf_targets.py [--repeats 5] [--threads 2] [--skip startup,memory]

Rows: small (digits 64-64-10, batch 32, one epoch) against scikit-learn, a PyTorch eager loop
and a hand-written NumPy SGD (matrix products through its BLAS), then with a tanh hidden layer
against scikit-learn and PyTorch; small batches (784-30-10, batch
10, sigmoid and squared error) in µs per step beside the time of its arithmetic at 50 GFLOP/s;
mid (784-256-128-10, batch 128, 10,000 samples) and large (784-1024-1024-10, batch 256) in samples per second; the dense
kernels at 1024×1024, batch 1024, in GFLOP/s against NumPy's gemm on the same shapes; 1 → 2
thread scaling; start-up (import + first fit, warm cache; first compile into an empty cache);
peak RSS of fit after 1 and 5 epochs. Everything float32 unless stated, ReLU hidden layers,
softmax + cross-entropy, plain SGD. PyTorch is optional (rows are skipped without it).
"""

import argparse
import os
import platform
import subprocess
import sys
import tempfile
import time
import warnings

import numpy as np
from numba import njit
from threadpoolctl import threadpool_limits

import nbmlp
from nbmlp._config import JIT_SERIAL
from nbmlp.datasets import load_digits
from nbmlp.kernels import activations, dense, lanes

try:
    import torch
except ImportError:  # optional peer
    torch = None


PAUSE = 0.2  # seconds between two contenders' calls: the last one's idle threads stop spinning


def in_turns(fns, repeats):
    """Median seconds of each function, timed in turns (one call of each per round), so that a slow
    moment of a shared machine hits every contender rather than one block of repeats.

    Each call waits ``PAUSE`` first: after a call, OpenBLAS's and OpenMP's worker threads keep
    spinning for a while (OpenBLAS up to about 0.1 s), and would take a core from the next
    contender (measured: nbmlp's kernels right after a NumPy matmul ran at half speed)."""
    times = {k: [] for k in fns}
    for _ in range(repeats):
        for k, fn in fns.items():
            time.sleep(PAUSE)
            t0 = time.perf_counter()
            fn()
            times[k].append(time.perf_counter() - t0)
    return Turns(times)


class Turns(dict):
    """Median seconds of each contender (the dict), and ``ratio(a, b)``: the median over the rounds
    of a's time over b's in the same round."""

    def __init__(self, times):
        super().__init__({k: float(np.median(v)) for k, v in times.items()})
        self.times = times

    def ratio(self, a, b):
        return float(np.median(np.asarray(self.times[a]) / np.asarray(self.times[b])))


# -- peers ---------------------------------------------------------------------------------
class NumpySGD:
    """Mini-batch SGD as a NumPy user writes it: ReLU hidden layers, softmax + cross-entropy."""

    def __init__(self, layers, dtype, seed=0):
        rng = np.random.default_rng(seed)
        self.w = [
            rng.uniform(-1, 1, (l, m)).astype(dtype) * dtype(np.sqrt(6 / l)) for l, m in zip(layers[:-1], layers[1:])
        ]
        self.b = [np.zeros(m, dtype) for m in layers[1:]]
        self.rng = rng

    def epoch(self, X, T, batch, lr):
        order = self.rng.permutation(X.shape[0])
        for start in range(0, X.shape[0], batch):
            idx = order[start : start + batch]
            x, t = X[idx], T[idx]
            ys = [x]
            for w, b in zip(self.w[:-1], self.b[:-1]):
                ys.append(np.maximum(ys[-1] @ w + b, 0))
            u = ys[-1] @ self.w[-1] + self.b[-1]
            z = np.exp(u - u.max(axis=1, keepdims=True))
            delta = (z / z.sum(axis=1, keepdims=True) - t) / len(idx)
            for L in range(len(self.w) - 1, -1, -1):
                dw, db = ys[L].T @ delta, delta.sum(axis=0)
                if L > 0:
                    delta = (delta @ self.w[L].T) * (ys[L] > 0)
                self.w[L] -= lr * dw
                self.b[L] -= lr * db


def torch_epoch_fn(layers, X, y, batch, lr, activation="relu"):
    mods = []
    for l, m in zip(layers[:-2], layers[1:-1]):
        mods += [torch.nn.Linear(l, m), torch.nn.ReLU() if activation == "relu" else torch.nn.Tanh()]
    model = torch.nn.Sequential(*mods, torch.nn.Linear(layers[-2], layers[-1]))
    opt = torch.optim.SGD(model.parameters(), lr=lr)
    loss_fn = torch.nn.CrossEntropyLoss()
    Xt, yt = torch.from_numpy(X), torch.from_numpy(y.astype(np.int64))

    def epoch():
        perm = torch.randperm(Xt.shape[0])
        for start in range(0, Xt.shape[0], batch):
            idx = perm[start : start + batch]
            opt.zero_grad()
            loss_fn(model(Xt[idx]), yt[idx]).backward()
            opt.step()

    return epoch


def sklearn_epoch_fn(X, y, hidden, batch, lr, activation="relu"):
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.neural_network import MLPClassifier

    clf = MLPClassifier(
        hidden_layer_sizes=hidden,
        activation=activation,
        solver="sgd",
        alpha=0.0,
        batch_size=batch,
        learning_rate_init=lr,
        momentum=0.0,
        max_iter=1,
        shuffle=True,
        random_state=0,
        tol=0,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.partial_fit(X, y, classes=np.unique(y))

    def epoch():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            clf.partial_fit(X, y)

    return epoch


# -- cases ---------------------------------------------------------------------------------
def synthetic(N, l, n, seed=0):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((N, l)).astype(np.float32), rng.integers(0, n, N)


def time_case(layers, X, y, batch, lr, repeats, peers, activation="relu"):
    """Median seconds per epoch of nbmlp and each peer, epochs taken in turns (the NumPy peer: ReLU)."""
    fns = {}
    net = nbmlp.MLP(layers, activation=activation, dtype="float32", seed=0)
    fns["nbmlp"] = lambda: net.fit(X, y, epochs=1, batch_size=batch, lr=lr)
    T = np.eye(layers[-1], dtype=np.float32)[y]
    if "numpy" in peers:
        ref = NumpySGD(layers, np.float32)
        fns["numpy"] = lambda: ref.epoch(X, T, batch, lr)
    if "torch" in peers and torch is not None:
        fns["torch"] = torch_epoch_fn(layers, X, y, batch, lr, activation)
    if "sklearn" in peers:
        fns["sklearn"] = sklearn_epoch_fn(X, y, tuple(layers[1:-1]), batch, lr, activation)
    for fn in fns.values():
        fn()  # compile (nbmlp), first-call set-up (the others)
    return in_turns(fns, repeats)


@njit(**JIT_SERIAL)
def step_kernels(X, w0, b0, w1, b1, work, delta2, scale, batch, code):
    """The dense kernels of every step of a 2-layer small-batch epoch, nothing else: forward
    ``u = y w + b, y = f(u)`` of both layers, ∂y (with ``δ = ∂y f′(u)``) of the hidden layer, ∂w and
    ∂b of both; consecutive rows of X as the batches, ``delta2`` as the output's δ."""
    y1, u1, y2, u2, dy1, delta1, dw0, db0, dw1, db1, P = work
    l, m = w0.shape
    for start in range(0, X.shape[0] - batch + 1, batch):
        y0 = X[start : start + batch]
        dense.dense_forward_serial(y1, u1, y0, w0, b0, code)
        dense.dense_forward_serial(y2, u2, y1, w1, b1, code)
        dense.dense_backward_dy_serial(delta1, dy1, delta2, w1, dense.dy_packing(P, m, w1.shape[1]), u1, y1, code)
        yp, dp = dense.dw_packing(P, batch, m, w1.shape[1])
        dense.dense_backward_dw_serial(dw1, db1, y1, delta2, yp, dp, scale)
        yp, dp = dense.dw_packing(P, batch, l, m)
        dense.dense_backward_dw_serial(dw0, db0, y0, delta1, yp, dp, scale)


def small_batches(repeats, layers=(784, 30, 10), batch=10, N=3000):
    """µs per step of a small-batch epoch (sigmoid, squared error, SGD) next to its pure compute:
    the step's dense kernels alone (``step_kernels``, taken in turns with the epochs), and its
    arithmetic, forward and ∂w ``2·b·Σ lm`` flops each, ∂y ``2·b·Σ lm`` over the layers above the
    first. The overhead is the rest of the epoch: gathering the batch, loss and output δ, the
    update, the driver's work between kernels and the call of ``fit``."""
    X, y = synthetic(N, layers[0], layers[-1])
    T = np.eye(layers[-1], dtype=np.float32)[y]
    net = nbmlp.MLP(list(layers), activation="sigmoid", output="sigmoid", loss="squared_error", dtype="float32", seed=0)
    fns = {"nbmlp": lambda: net.fit(X, T, epochs=1, batch_size=batch, lr=0.5)}
    (w0, w1), (b0, b1) = net._views(net.params)
    l, m, n = layers
    f32 = np.float32
    work = tuple(np.zeros(shape, f32) for shape in [(batch, m), (batch, m), (batch, n), (batch, n), (batch, m)])
    work += (np.zeros((batch, m), f32), np.zeros((l, m), f32), np.zeros(m, f32), np.zeros((m, n), f32))
    nr = 2 * lanes.lanes_for(f32)  # a panel's width, as the kernels choose it
    work += (np.zeros(n, f32), np.zeros(max(dense.pack_elements(a, b, batch, nr) for a, b in [(l, m), (m, n)]), f32))
    delta2 = np.random.default_rng(1).standard_normal((batch, n)).astype(f32)
    args = (X, w0, b0, w1, b1, work, delta2, f32(1 / batch), batch, activations.SIGMOID)
    fns["dense kernels alone"] = lambda: step_kernels(*args)
    ref = NumpySGD(list(layers), np.float32)
    fns["numpy (ReLU, softmax)"] = lambda: ref.epoch(X, T, batch, 0.5)
    for fn in fns.values():
        fn()
    t = in_turns(fns, repeats)
    steps = -(-N // batch)
    lm = [l * m for l, m in zip(layers[:-1], layers[1:])]
    flop = 2.0 * batch * (2 * sum(lm) + sum(lm[1:]))
    step, alone = (np.asarray(t.times[k]) / steps for k in ("nbmlp", "dense kernels alone"))
    print(
        f"\nsmall batches {'-'.join(map(str, layers))} b{batch} (sigmoid, squared error), µs per step: "
        + ", ".join(f"{k} {v / steps * 1e6:.1f}" for k, v in t.items())
        + f"; its arithmetic, {flop / 1e6:.2f} MFLOP, takes {flop / 50e9 * 1e6:.1f} µs at 50 GFLOP/s"
    )
    print(
        f"  overhead (epoch − kernels alone) {np.median(step - alone) * 1e6:.1f} µs per step, "
        f"{np.median((step - alone) / alone):.2f}x the kernels' time (target: under 1x)"
    )


def set_threads(n):
    nbmlp.set_num_threads(n, adaptive=False)  # exactly n threads, as the peers
    if torch is not None:
        torch.set_num_threads(n)


def dense_gflops(dtype, repeats, n=1024):
    """GFLOP/s of the vector-register forward, ∂y and ∂w steps (each with the packing it does in
    training) and of NumPy's gemm on the same shapes."""
    rng = np.random.default_rng(0)
    y, w, delta = (rng.standard_normal((n, n)).astype(dtype) for _ in range(3))
    b, scale = np.zeros(n, dtype), dtype(1) / dtype(n)
    u, y_out, dy, d_in, dw = (np.empty((n, n), dtype) for _ in range(5))
    db = np.empty(n, dtype)
    nr = 2 * lanes.lanes_for(dtype)
    P = np.empty(dense.pack_elements(n, n, n, nr), dtype)
    wp, wtp, (yp, dp) = dense.forward_packing(P, n, n), dense.dy_packing(P, n, n), dense.dw_packing(P, n, n, n)
    ident = activations.IDENTITY
    fwd = lambda: dense.dense_forward_parallel(y_out, u, y, w, b, wp, ident)  # noqa: E731
    bdy = lambda: dense.dense_backward_dy_parallel(d_in, dy, delta, w, wtp, y, y, ident)  # noqa: E731
    bdw = lambda: dense.dense_backward_dw_parallel(dw, db, y, delta, yp, dp, scale)  # noqa: E731
    flops = 2.0 * n**3
    res = {}
    for name, fn, blas in (
        ("forward", fwd, lambda: y @ w),
        ("dy", bdy, lambda: delta @ w.T),
        ("dw", bdw, lambda: y.T @ delta),
    ):
        fn()
        blas()
        t = in_turns({"ours": fn, "blas": blas}, repeats)
        res[name] = (flops / t["ours"] / 1e9, flops / t["blas"] / 1e9, t.ratio("blas", "ours"))
    return res


STARTUP = """
import time; t0 = time.perf_counter()
import nbmlp
from nbmlp.datasets import load_digits
X, y = load_digits()
nbmlp.MLP([64, 64, 10], seed=0, dtype="{dtype}").fit(X, y, epochs=1, batch_size=32, lr=0.1)
print(time.perf_counter() - t0)
"""

MEMORY = """
import resource, sys, numpy as np, nbmlp
rng = np.random.default_rng(0)
X, y = rng.standard_normal((10000, 784)).astype(np.float32), rng.integers(0, 10, 10000)
net = nbmlp.MLP([784, 256, 128, 10], seed=0)
net.fit(X[:256], y[:256], epochs=1, batch_size=128, lr=0.01)
base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
net.fit(X, y, epochs=1, batch_size=128, lr=0.01)
one = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
net.fit(X, y, epochs=5, batch_size=128, lr=0.01)
five = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(base / 1024, one / 1024, five / 1024)
"""


def run_python(code, env=None):
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
    return out.stdout.split()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument(
        "--skip", default="", help="comma-separated: small,batch10,mid,large,dense,scaling,startup,memory"
    )
    args = parser.parse_args()
    skip = set(args.skip.split(",")) - {""}
    r = args.repeats
    print(
        f"machine: {platform.machine()} {os.cpu_count()} cpus, load {os.getloadavg()[0]:.2f}; numpy {np.__version__}, "
        f"torch {getattr(torch, '__version__', '-')}, threads {args.threads}, repeats {r} (medians)"
    )
    with threadpool_limits(args.threads):
        set_threads(args.threads)
        if "small" not in skip:
            X, y = load_digits()
            X = (X / 16).astype(np.float32)  # pixels 0 … 16 scaled to [0, 1] (unscaled, the NumPy peer diverges)
            t = time_case([64, 64, 10], X, y, 32, 0.1, r, ("numpy", "torch", "sklearn"))
            print("\nsmall digits 64-64-10 b32, ms/epoch: " + ", ".join(f"{k} {v * 1e3:.2f}" for k, v in t.items()))
            for k in ("sklearn", "torch", "numpy"):
                if k in t:
                    print(f"  nbmlp time / {k} time = 1/{t.ratio(k, 'nbmlp'):.1f}")
            t = time_case([64, 64, 10], X, y, 32, 0.1, r, ("torch", "sklearn"), activation="tanh")
            print("small digits, tanh hidden layer, ms/epoch: " + ", ".join(f"{k} {v * 1e3:.2f}" for k, v in t.items()))
            for k in ("sklearn", "torch"):
                if k in t:
                    print(f"  nbmlp time / {k} time = 1/{t.ratio(k, 'nbmlp'):.1f}")
        if "batch10" not in skip:
            small_batches(r)
        cases = {"mid": ([784, 256, 128, 10], 10000, 128), "large": ([784, 1024, 1024, 10], 4096, 256)}
        for name, (layers, N, batch) in cases.items():
            if name in skip:
                continue
            X, y = synthetic(N, layers[0], layers[-1])
            t = time_case(layers, X, y, batch, 0.01, r, ("numpy", "torch"))
            flop = 6.0 * N * sum(l * m for l, m in zip(layers[:-1], layers[1:]))
            print(
                f"\n{name} {'-'.join(map(str, layers))} b{batch}, {N} samples, samples/s (GFLOP/s): "
                + ", ".join(f"{k} {N / v:.0f} ({flop / v / 1e9:.1f})" for k, v in t.items())
            )
            for k in ("numpy", "torch"):
                if k in t:
                    print(f"  nbmlp speed / {k} speed = {t.ratio(k, 'nbmlp'):.2f}x")
        if "dense" not in skip:
            for dtype in (np.float32, np.float64):
                res = dense_gflops(dtype, r)
                print(f"\ndense kernels 1024x1024, batch 1024, {np.dtype(dtype).name}: GFLOP/s nbmlp / numpy gemm")
                for k, (ours, blas, share) in res.items():
                    print(f"  {k:<8}{ours:8.1f} /{blas:7.1f}: {share:.0%}")
    if "scaling" not in skip:
        print("\n1 -> 2 threads (nbmlp epoch time ratio):")
        for name, (layers, N, batch) in cases.items():
            X, y = synthetic(N, layers[0], layers[-1])
            net = nbmlp.MLP(layers, activation="relu", dtype="float32", seed=0)

            def epoch_on(th):
                def run():
                    nbmlp.set_num_threads(th, adaptive=False)
                    net.fit(X, y, epochs=1, batch_size=batch, lr=0.01)

                return run

            fns = {th: epoch_on(th) for th in (1, 2)}
            for fn in fns.values():
                fn()
            ts = in_turns(fns, r)
            print(f"  {name}: {ts[1] * 1e3:.0f} ms -> {ts[2] * 1e3:.0f} ms, speed-up {ts.ratio(1, 2):.2f}x")
    if "startup" not in skip:
        warm = [float(run_python(STARTUP.format(dtype="float32"))[0]) for _ in range(max(3, r // 2))]
        print(f"\nstart-up, import + first fit of the small case, warm cache: {np.median(warm):.2f} s")
        with tempfile.TemporaryDirectory() as cache:
            env = dict(os.environ, NUMBA_CACHE_DIR=cache)
            cold = [float(run_python(STARTUP.format(dtype=dt), env)[0]) for dt in ("float32", "float64")]
        print(f"first compile (empty cache), import + fit: float32 {cold[0]:.1f} s, then float64 {cold[1]:.1f} s")
    if "memory" not in skip:
        base, one, five = (float(v) for v in run_python(MEMORY))
        print(
            f"\npeak RSS, mid case: after compile {base:.0f} MB, 1 epoch {one:.0f} MB, 5 more epochs {five:.0f} MB "
            f"(data {10000 * 784 * 4 / 2**20:.0f} MB)"
        )
    print(f"\nload at end: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
