"""What every benchmark shares: the profile, the sizes, the data, thread control, timing helpers.

The profile comes from the environment variable ``NBMLP_ASV_PROFILE``:

- ``full`` (default): sizes small, mid and large; float32 and float64; 1 thread and
  ``NUMBA_NUM_THREADS`` threads (fixed in ``asv.conf.json``);
- ``quick``: the small size, float32, all threads; for checking that every benchmark runs
  (CI runs ``NBMLP_ASV_PROFILE=quick asv run --python=same --quick``).

Nothing here compiles: importing a benchmark module must stay cheap (asv imports every module
to discover the benchmarks). Compilation happens in each benchmark's ``setup``.
"""

import os
import time

import numpy as np

PROFILE = os.environ.get("NBMLP_ASV_PROFILE", "full")
if PROFILE not in ("quick", "full"):
    raise ValueError(f"NBMLP_ASV_PROFILE must be 'quick' or 'full', got {PROFILE!r}")
QUICK = PROFILE == "quick"

MAX_THREADS = int(os.environ.get("NUMBA_NUM_THREADS", os.cpu_count() or 1))

# name: (layers, batch size, training samples; None = the 1,797 bundled digits)
SIZES = {
    "small": ((64, 64, 10), 32, None),
    "mid": ((784, 256, 128, 10), 128, 10_000),
    "large": ((784, 1024, 1024, 10), 256, 1_024),
}

SIZE_NAMES = ["small"] if QUICK else list(SIZES)
DTYPES = ["float32"] if QUICK else ["float32", "float64"]
THREADS = [MAX_THREADS] if QUICK else sorted({1, MAX_THREADS})
# timing samples inside one track_ call (medians of these are reported)
SAMPLES = 3 if QUICK else 7
# seconds per benchmark, setup included: in a new environment the first setup compiles the
# kernels (about half a minute per dtype on one core; later setups load Numba's cache)
TIMEOUT = 600


def data(size, dtype, seed=0):
    """Training inputs X (N, l) in [0, 1] and integer labels y (N,) of a size."""
    layers, _, n = SIZES[size]
    if n is None:
        from nbmlp.datasets import load_digits

        X, y = load_digits()
        return X.astype(dtype), y
    rng = np.random.default_rng(seed)
    prototypes = rng.random((layers[-1], layers[0]))
    y = rng.integers(0, layers[-1], n)
    X = 0.2 * prototypes[y] + 0.8 * rng.random((n, layers[0]))
    return X.astype(dtype), y


def flops_per_epoch(layers, n_samples):
    """``6 · Σ_L l_L m_L · N``: per weight and sample, 2 flops forward, 2 for ∂w, 2 for ∂y."""
    return 6 * sum(l * m for l, m in zip(layers[:-1], layers[1:])) * n_samples


class Threads:
    """Use ``n`` threads in nbmlp and in the BLAS of NumPy (threadpoolctl), until ``restore``."""

    def __init__(self, n):
        import nbmlp

        self.before = nbmlp.get_num_threads()
        nbmlp.set_num_threads(n)
        try:
            from threadpoolctl import threadpool_limits
        except ImportError:
            self.limits = None
        else:
            self.limits = threadpool_limits(limits=n)

    def restore(self):
        import nbmlp

        nbmlp.set_num_threads(self.before)
        if self.limits is not None:
            self.limits.restore_original_limits()


def calls_per_sample(fn, target=2e-3):
    """How many calls of ``fn`` take about ``target`` seconds (at least 1)."""
    t0 = time.perf_counter()
    fn()
    once = time.perf_counter() - t0
    return max(1, int(target / max(once, 1e-9)))


def seconds_per_call(fn, samples=SAMPLES):
    """Median over ``samples`` of the time of one call of ``fn``."""
    n = calls_per_sample(fn)
    times = []
    for _ in range(samples):
        t0 = time.perf_counter()
        for _ in range(n):
            fn()
        times.append((time.perf_counter() - t0) / n)
    return float(np.median(times))


# seconds between the two contenders of a ratio: after a call, OpenBLAS's and OpenMP's idle worker
# threads keep spinning for a while (OpenBLAS up to about 0.1 s) and would slow the other one
PAUSE = 0.12


def ratio_of_times(fn, reference, samples=SAMPLES):
    """``time(fn) / time(reference)``: the median of the ratios of back-to-back samples.

    Both run in this one process, each sample of ``fn`` right before one of ``reference``, so
    that a slow moment of a noisy machine hits both, with a pause before each (``PAUSE``).
    Below 1, ``fn`` (nbmlp) is faster.
    """
    n_fn, n_ref = calls_per_sample(fn), calls_per_sample(reference)
    ratios = []
    for _ in range(samples):
        time.sleep(PAUSE)
        t0 = time.perf_counter()
        for _ in range(n_fn):
            fn()
        t1 = time.perf_counter()
        time.sleep(PAUSE)
        t2 = time.perf_counter()
        for _ in range(n_ref):
            reference()
        t3 = time.perf_counter()
        ratios.append(((t1 - t0) / n_fn) / ((t3 - t2) / n_ref))
    return float(np.median(ratios))
