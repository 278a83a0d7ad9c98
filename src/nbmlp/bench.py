"""Side-by-side training benchmark: nbmlp against NumPy, scikit-learn and PyTorch.

Run ``python -m nbmlp.bench`` (``--help`` for the options). Every library trains the same
network (ReLU hidden layers, softmax output, cross-entropy) with the same mini-batch size, plain
SGD (no momentum, no L2 penalty, constant learning rate), the same number of epochs and the same
number of threads, on the same data, in one process; one table is printed.

- time per epoch: the median over the timed epochs (nbmlp is compiled before any timing);
- samples per second: training samples / time per epoch;
- GFLOP/s: ``6 · (Σ_L l_L · m_L) · N / time per epoch``: per sample and weight, 2 flops for the
  forward sum ``u_j = Σ_i y_i w_ij``, 2 for ``∂w_ij = y_i δ_j`` and 2 for ``∂y_i = Σ_j δ_j w_ij``
  (biases, activations and the update are left out; they are O(m) per sample);
- accuracy: on a held-out test split after the last epoch;
- speed-up: the library's time per epoch divided by nbmlp's (above 1: nbmlp is faster).

This is a benchmark module: its NumPy reference uses BLAS (``@``) on purpose. The asv suite
(``asv_benchmarks/``) imports the trainers below for its same-process ratios.
"""

import argparse
import contextlib
import os
import platform
import sys
import time
from dataclasses import dataclass

import numpy as np

import nbmlp
from nbmlp.datasets import load_digits

# name: (layers, batch size, training samples or None for the digits, learning rate)
SIZES = {
    "small": ((64, 64, 10), 32, None, 0.1),
    "mid": ((784, 256, 128, 10), 128, 10_000, 0.03),
    "large": ((784, 1024, 1024, 10), 256, 4_096, 0.02),
}
LIBRARIES = ("nbmlp", "numpy", "scikit-learn", "pytorch")


@dataclass
class Problem:
    """A classification task and the network that learns it."""

    name: str
    layers: tuple
    batch: int
    lr: float
    X: np.ndarray  # training inputs (N, l)
    y: np.ndarray  # training labels (N,)
    X_test: np.ndarray
    y_test: np.ndarray

    @property
    def flops_per_epoch(self):
        """``6 · Σ_L l_L m_L · N``: 2 forward + 4 backward flops per weight and sample."""
        return 6 * sum(l * m for l, m in zip(self.layers[:-1], self.layers[1:])) * self.X.shape[0]


def synthetic(n_samples, n_features, n_classes, seed=0):
    """Noisy class prototypes in [0, 1]: each sample is 20 % its class's pattern, 80 % noise."""
    rng = np.random.default_rng(seed)
    prototypes = rng.random((n_classes, n_features))
    y = rng.integers(0, n_classes, n_samples)
    X = 0.2 * prototypes[y] + 0.8 * rng.random((n_samples, n_features))
    return X.astype(np.float32), y.astype(np.int64)


def make_problem(size, n_samples=None, dtype=np.float32, seed=0):
    """The data and network of a size: ``small``, ``mid``, ``large`` (or a tuple of layers).

    A fifth of the samples (at least one) is held out for the test accuracy. ``n_samples``
    overrides the size's number of training samples (the digits have 1,797 in all).
    """
    if isinstance(size, str):
        if size not in SIZES:
            raise ValueError(f"size: unknown size {size!r}; choose one of {', '.join(SIZES)}")
        layers, batch, default_n, lr = SIZES[size]
        name = size
    else:
        layers, batch, default_n, lr = tuple(size), 32, 512, 0.1
        name = "-".join(map(str, layers))
    if layers == (64, 64, 10) and n_samples is None:
        X, y = load_digits()
    else:
        n = n_samples or default_n
        X, y = synthetic(n + max(1, n // 4), layers[0], layers[-1], seed)
    n_test = max(1, X.shape[0] // 5)
    order = np.random.default_rng(seed).permutation(X.shape[0])
    X, y = X[order].astype(dtype), y[order]
    return Problem(name, tuple(layers), batch, lr, X[n_test:], y[n_test:], X[:n_test], y[:n_test])


# -- one trainer per library: same network, same initial weights, same plain SGD ----------------
class NbmlpTrainer:
    name = "nbmlp"

    def __init__(self, problem, dtype, seed=0):
        self.problem = problem
        self.net = nbmlp.MLP(problem.layers, activation="relu", output="softmax", dtype=dtype, seed=seed)
        # compile (or load from the cache) before any timing, on a copy so the weights stay
        warm = nbmlp.MLP(problem.layers, activation="relu", output="softmax", dtype=dtype, seed=seed)
        warm.fit(problem.X[:2], problem.y[:2], epochs=1, batch_size=1, lr=problem.lr)
        warm.predict(problem.X[:1])

    def initial_weights(self):
        return [w.copy() for w in self.net.weights], [b.copy() for b in self.net.biases]

    def epoch(self):
        p = self.problem
        self.net.fit(p.X, p.y, epochs=1, batch_size=p.batch, lr=p.lr, shuffle=True)

    def predict(self, X):
        return self.net.predict(X)


def _softmax_rows(u):
    z = np.exp(u - u.max(axis=1, keepdims=True))
    return z / z.sum(axis=1, keepdims=True)


class NumpyTrainer:
    """The textbook vectorised version: one ``@`` per forward sum, ∂w and ∂y."""

    name = "numpy"

    def __init__(self, problem, dtype, seed=0, weights=None):
        self.problem = problem
        self.dtype = np.dtype(dtype).type
        if weights is None:  # nbmlp's initial draw for this seed
            net = nbmlp.MLP(problem.layers, activation="relu", output="softmax", dtype=dtype, seed=seed)
            weights = net.weights, net.biases
        self.W, self.b = [[a.astype(dtype, copy=True) for a in part] for part in weights]
        self.T = np.eye(problem.layers[-1], dtype=dtype)[problem.y]
        self.rng = np.random.default_rng(seed)

    def _forward(self, x):
        ys = [x]
        for L, (w, b) in enumerate(zip(self.W, self.b)):
            u = ys[-1] @ w + b
            ys.append(_softmax_rows(u) if L == len(self.W) - 1 else np.maximum(u, 0))
        return ys

    def epoch(self):
        p = self.problem
        eta = self.dtype(p.lr)
        order = self.rng.permutation(p.X.shape[0])
        for start in range(0, order.size, p.batch):
            rows = order[start : start + p.batch]
            ys = self._forward(p.X[rows])
            delta = (ys[-1] - self.T[rows]) / self.dtype(rows.size)  # δ_k of the batch mean
            for L in range(len(self.W) - 1, -1, -1):
                dw = ys[L].T @ delta  # ∂w_ij = Σ_s y_i δ_j
                db = delta.sum(axis=0)
                if L > 0:
                    delta = (delta @ self.W[L].T) * (ys[L] > 0)  # δ_i = ∂y_i f'(u_i)
                self.W[L] -= eta * dw
                self.b[L] -= eta * db

    def predict(self, X):
        return self._forward(X)[-1].argmax(axis=1)


class SklearnTrainer:
    """``MLPClassifier`` with plain SGD; one ``partial_fit`` call is one epoch."""

    name = "scikit-learn"

    def __init__(self, problem, dtype, seed=0, weights=None):
        from sklearn.neural_network import MLPClassifier

        self.problem = problem
        self.clf = MLPClassifier(
            hidden_layer_sizes=problem.layers[1:-1],
            activation="relu",
            solver="sgd",
            alpha=0.0,
            batch_size=problem.batch,
            learning_rate="constant",
            learning_rate_init=problem.lr,
            momentum=0.0,
            nesterovs_momentum=False,
            shuffle=True,
            random_state=seed,
        )
        self.classes = np.arange(problem.layers[-1])
        self.weights = weights
        self.started = False

    def epoch(self):
        import warnings

        from sklearn.exceptions import ConvergenceWarning

        p = self.problem
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            if not self.started:
                warnings.simplefilter("ignore", UserWarning)  # "batch_size larger than sample size"
                # the first call initialises (its own Glorot weights), then we copy nbmlp's in
                self.clf.partial_fit(p.X[:1], p.y[:1], classes=self.classes)
                if self.weights is not None:
                    for mine, theirs in zip(self.clf.coefs_ + self.clf.intercepts_, self.weights[0] + self.weights[1]):
                        mine[...] = theirs
                self.started = True
            self.clf.partial_fit(p.X, p.y)

    def predict(self, X):
        return self.clf.predict(X)


class TorchTrainer:
    """``torch.nn.Sequential`` of ``Linear``/``ReLU``, ``CrossEntropyLoss`` and ``optim.SGD``."""

    name = "pytorch"

    def __init__(self, problem, dtype, seed=0, weights=None):
        import torch

        self.torch = torch
        self.problem = problem
        torch_dtype = {np.float32: torch.float32, np.float64: torch.float64}[np.dtype(dtype).type]
        modules = []
        for L, (l, m) in enumerate(zip(problem.layers[:-1], problem.layers[1:])):
            modules.append(torch.nn.Linear(l, m, dtype=torch_dtype))
            if L < len(problem.layers) - 2:
                modules.append(torch.nn.ReLU())
        self.model = torch.nn.Sequential(*modules)
        if weights is not None:
            with torch.no_grad():
                for lin, w, b in zip(self.model[::2], *weights):
                    lin.weight.copy_(torch.from_numpy(np.ascontiguousarray(w.T)))
                    lin.bias.copy_(torch.from_numpy(b))
        self.X = torch.from_numpy(problem.X)
        self.y = torch.from_numpy(problem.y)
        self.loss = torch.nn.CrossEntropyLoss()
        self.opt = torch.optim.SGD(self.model.parameters(), lr=problem.lr, momentum=0.0, weight_decay=0.0)
        self.gen = torch.Generator().manual_seed(seed)

    def epoch(self):
        torch, p = self.torch, self.problem
        order = torch.randperm(self.X.shape[0], generator=self.gen)
        for start in range(0, order.numel(), p.batch):
            rows = order[start : start + p.batch]
            self.opt.zero_grad(set_to_none=True)
            self.loss(self.model(self.X[rows]), self.y[rows]).backward()
            self.opt.step()

    def predict(self, X):
        with self.torch.no_grad():
            return self.model(self.torch.from_numpy(np.ascontiguousarray(X))).argmax(dim=1).numpy()


TRAINERS = {"numpy": NumpyTrainer, "scikit-learn": SklearnTrainer, "pytorch": TorchTrainer}


def available(library):
    """Whether a library of ``LIBRARIES`` can be imported here."""
    module = {"nbmlp": "nbmlp", "numpy": "numpy", "scikit-learn": "sklearn", "pytorch": "torch"}[library]
    try:
        __import__(module)
    except ImportError:
        return False
    return True


@contextlib.contextmanager
def threads(n):
    """Run nbmlp, the BLAS of NumPy/scikit-learn (threadpoolctl) and PyTorch on ``n`` threads."""
    before = nbmlp.get_num_threads()
    nbmlp.set_num_threads(n, adaptive=False)  # exactly n threads, as the other libraries
    torch_before = None
    if "torch" in sys.modules:  # only if in use: importing it takes seconds
        import torch

        torch_before = torch.get_num_threads()
        torch.set_num_threads(n)
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # then BLAS uses its own default (OMP_NUM_THREADS etc.)
        limits = contextlib.nullcontext()
    else:
        limits = threadpool_limits(limits=n)
    try:
        with limits:
            yield
    finally:
        nbmlp.set_num_threads(before)
        if torch_before is not None:
            import torch

            torch.set_num_threads(torch_before)


def trainers(problem, libraries, dtype, seed=0):
    """nbmlp's trainer and those of ``libraries``, every one starting from nbmlp's weights."""
    first = NbmlpTrainer(problem, dtype, seed)
    weights = first.initial_weights()
    return [first] + [TRAINERS[lib](problem, dtype, seed, weights) for lib in libraries if lib != "nbmlp"]


def epoch_seconds(trainer):
    t0 = time.perf_counter()
    trainer.epoch()
    return time.perf_counter() - t0


def compare(problem, libraries=LIBRARIES, epochs=3, dtype=np.float32, n_threads=None, seed=0):
    """Train ``problem`` for ``epochs`` epochs with each library; one result dict per library.

    The libraries take turns epoch by epoch, so that a slow-down of the machine hits them all.
    Keys: library, seconds (median time per epoch), samples_per_s, gflops, accuracy, speedup
    (library's median time / nbmlp's).
    """
    if epochs < 1:
        raise ValueError(f"epochs must be at least 1, got {epochs}")
    unknown = [lib for lib in libraries if lib not in LIBRARIES]
    if unknown:
        raise ValueError(f"libraries: unknown {unknown}; choose from {', '.join(LIBRARIES)}")
    missing = [lib for lib in libraries if not available(lib)]
    if missing:
        raise ValueError(f"libraries: {', '.join(missing)} not installed")
    n_threads = n_threads or nbmlp.get_num_threads()
    with threads(n_threads):
        runs = trainers(problem, libraries, dtype, seed)
        times = {t.name: [] for t in runs}
        for _ in range(epochs):
            for t in runs:
                times[t.name].append(epoch_seconds(t))
        rows = []
        for t in runs:
            seconds = float(np.median(times[t.name]))
            rows.append(
                dict(
                    library=t.name,
                    seconds=seconds,
                    samples_per_s=problem.X.shape[0] / seconds,
                    gflops=problem.flops_per_epoch / seconds / 1e9,
                    accuracy=float(np.mean(t.predict(problem.X_test) == problem.y_test)),
                )
            )
    for row in rows:
        row["speedup"] = row["seconds"] / rows[0]["seconds"]
    return rows


def machine_description():
    """CPU, cores, threads and versions, one line each."""
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as fh:
            cpu = next(line.split(":", 1)[1].strip() for line in fh if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    import numba

    versions = [f"nbmlp {nbmlp.__version__}", f"numba {numba.__version__}", f"numpy {np.__version__}"]
    for module, label in (("sklearn", "scikit-learn"), ("torch", "torch")):
        try:
            versions.append(f"{label} {__import__(module).__version__}")
        except ImportError:
            pass
    lines = [
        f"CPU: {cpu}, {os.cpu_count()} logical cores; Python {platform.python_version()}, {platform.system()}",
        "versions: " + ", ".join(versions),
    ]
    blas = [
        (k, os.environ[k])
        for k in (
            "OPENBLAS_CORETYPE",
            "OMP_NUM_THREADS",
            "OPENBLAS_NUM_THREADS",
            "MKL_NUM_THREADS",
            "NUMBA_NUM_THREADS",
        )
        if k in os.environ
    ]
    if blas:
        lines.append("environment: " + ", ".join(f"{k}={v}" for k, v in blas))
    if hasattr(os, "getloadavg"):
        lines.append("load average (1, 5, 15 min) before the run: " + ", ".join(f"{x:.2f}" for x in os.getloadavg()))
    return lines


def format_table(problem, rows, dtype, n_threads, epochs):
    """The results of ``compare`` as a Markdown table with a heading line."""
    layers = "-".join(map(str, problem.layers))
    head = (
        f"{problem.name}: {layers}, batch {problem.batch}, {problem.X.shape[0]} training samples, "
        f"lr {problem.lr}, {np.dtype(dtype).name}, {n_threads} thread(s), median of {epochs} epochs"
    )
    lines = [
        head,
        "",
        "| library | ms/epoch | samples/s | GFLOP/s | test accuracy | nbmlp speed-up |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        lines.append(
            f"| {r['library']} | {r['seconds'] * 1e3:.1f} | {r['samples_per_s']:,.0f} | "
            f"{r['gflops']:.2f} | {r['accuracy']:.3f} | {r['speedup']:.2f}× |"
        )
    return "\n".join(lines)


def main(argv=None, prog="python -m nbmlp.bench"):
    parser = argparse.ArgumentParser(
        prog=prog,
        description=__doc__.splitlines()[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=f"examples:\n  {prog} --sizes small --epochs 3\n"
        f"  {prog} --sizes small,mid --libraries nbmlp,scikit-learn --threads 2\n",
    )
    parser.add_argument(
        "--sizes", default="small,mid,large", help="comma-separated sizes among " + ", ".join(SIZES) + " (default: all)"
    )
    parser.add_argument(
        "--libraries",
        default=None,
        help="comma-separated among " + ", ".join(LIBRARIES) + " (default: every installed one)",
    )
    parser.add_argument("--epochs", type=int, default=5, help="timed epochs per library (default 5)")
    parser.add_argument("--threads", type=int, default=None, help="threads for every library (default: all)")
    parser.add_argument("--dtype", default="float32", choices=("float32", "float64"))
    parser.add_argument("--samples", type=int, default=None, help="training samples (default: per size)")
    args = parser.parse_args(argv)
    libraries = args.libraries.split(",") if args.libraries else [lib for lib in LIBRARIES if available(lib)]
    if "nbmlp" not in libraries:
        libraries = ["nbmlp"] + libraries
    dtype = np.dtype(args.dtype).type
    n_threads = args.threads or nbmlp.get_num_threads()
    print("\n".join(machine_description()))
    print("command: " + " ".join(["python -m nbmlp.bench"] + list(sys.argv[1:] if argv is None else argv)))
    for size in args.sizes.split(","):
        problem = make_problem(size, n_samples=args.samples, dtype=dtype)
        rows = compare(problem, libraries, epochs=args.epochs, dtype=dtype, n_threads=n_threads)
        print()
        print(format_table(problem, rows, dtype, n_threads, args.epochs))


if __name__ == "__main__":
    main()
