"""Each kernel on its own: time, GFLOP/s, and time ratio to the NumPy (BLAS) version of the step.

The dense kernels run on the first layer of each size (small 64→64 batch 32, mid 784→256
batch 128, large 784→1024 batch 256); the output delta on the output layer (softmax,
cross-entropy); the SGD update on every parameter of the network. Flops counted: 2·N·l·m for
``u_j = Σ_i y_i w_ij + b_j``, ``∂y_i = Σ_j δ_j w_ij`` and ``∂w_ij = Σ_s y_i δ_j``; N·m for
``∂b_j``; N·n for ``δ_k = y_k − t_k``; 2·P for ``w ← w − η ∂w``.
Timings of the small size include Numba's dispatch overhead (a few µs per call).
"""

import numpy as np

from . import common


def _rng_arrays(dtype, *shapes, seed=0):
    rng = np.random.default_rng(seed)
    return [rng.standard_normal(shape).astype(dtype) for shape in shapes]


class _KernelBenchmark:
    params = [common.SIZE_NAMES, common.DTYPES, common.THREADS]
    param_names = ["size", "dtype", "threads"]
    timeout = common.TIMEOUT

    def teardown(self, *args):
        self.threads.restore()

    def _gflops(self, fn, flops):
        return flops / common.seconds_per_call(fn) / 1e9

    def _ratio(self, fn, reference):
        return common.ratio_of_times(fn, reference)


class _DenseSteps(_KernelBenchmark):
    """The forward sum, ∂y and ∂w of a subclass's ``setup`` (``self.forward`` … and their NumPy
    versions ``self.np_forward`` …, ``self.flops`` per call): time, GFLOP/s, ratio to NumPy."""

    def time_forward(self, *args):
        self.forward()

    def time_backward_dy(self, *args):
        self.backward_dy()

    def time_backward_dw(self, *args):
        self.backward_dw()

    def track_forward_gflops(self, *args):
        return self._gflops(self.forward, self.flops)

    def track_backward_dy_gflops(self, *args):
        return self._gflops(self.backward_dy, self.flops)

    def track_backward_dw_gflops(self, *args):
        return self._gflops(self.backward_dw, self.flops)

    def track_forward_time_ratio_vs_numpy(self, *args):
        return self._ratio(self.forward, self.np_forward)

    def track_backward_dy_time_ratio_vs_numpy(self, *args):
        return self._ratio(self.backward_dy, self.np_backward_dy)

    def track_backward_dw_time_ratio_vs_numpy(self, *args):
        return self._ratio(self.backward_dw, self.np_backward_dw)


for _name, _fn in vars(_DenseSteps).items():
    if _name.startswith("track_"):
        _fn.unit = "GFLOP/s" if _name.endswith("_gflops") else "nbmlp time / NumPy time"


class Dense(_DenseSteps):
    """``dense_forward``, ``dense_backward_dy``, ``dense_backward_dw``, ``dense_backward_db``."""

    def setup(self, size, dtype, threads):
        from nbmlp.kernels.dense import dense_backward_db, dense_backward_dw, dense_backward_dy, dense_forward

        self.threads = common.Threads(threads)
        layers, N, _ = common.SIZES[size]
        l, m = layers[0], layers[1]
        self.y, self.w, self.b, self.delta = _rng_arrays(dtype, (N, l), (l, m), (m,), (N, m))
        self.u, self.dy = np.empty((N, m), dtype), np.empty((N, l), dtype)
        self.dw, self.db = np.empty((l, m), dtype), np.empty(m, dtype)
        self.wT = np.empty((m, l), dtype)
        self.scale = np.dtype(dtype).type(1.0 / N)
        self.flops = 2 * N * l * m
        self.flops_db = N * m
        y, w, b, u, dy, delta, dw, db, scale = (
            self.y,
            self.w,
            self.b,
            self.u,
            self.dy,
            self.delta,
            self.dw,
            self.db,
            self.scale,
        )
        self.forward = lambda: dense_forward(u, y, w, b)
        self.backward_dy = lambda: dense_backward_dy(dy, delta, w)
        self.backward_dw = lambda: dense_backward_dw(dw, y, delta, scale)
        self.backward_db = lambda: dense_backward_db(db, delta, scale)
        # the same steps with NumPy (BLAS), writing into the same preallocated outputs
        self.np_forward = lambda: np.add(np.matmul(y, w, out=u), b, out=u)
        self.np_backward_dy = lambda: np.matmul(delta, w.T, out=dy)
        self.np_backward_dw = lambda: np.multiply(np.matmul(y.T, delta, out=dw), scale, out=dw)
        self.np_backward_db = lambda: np.multiply(delta.sum(axis=0), scale, out=db)
        for fn in (self.forward, self.backward_dy, self.backward_dw, self.backward_db):
            fn()  # compile, or load from Numba's cache

    def time_backward_db(self, *args):
        self.backward_db()

    def track_backward_db_gflops(self, *args):
        return self._gflops(self.backward_db, self.flops_db)

    def track_backward_db_time_ratio_vs_numpy(self, *args):
        return self._ratio(self.backward_db, self.np_backward_db)


for _name, _fn in vars(Dense).items():
    if _name.startswith("track_"):
        _fn.unit = "GFLOP/s" if _name.endswith("_gflops") else "nbmlp time / NumPy time"


class Blocked(_DenseSteps):
    """The vector-register kernels training runs (``dense.*_tiles`` through their parallel
    drivers), on the same layers, each with the packing it does in training.

    forward: ``dense_forward_parallel`` packs w and b in panels (y is read in place), then
    ``u_j = Σ_i y_i w_ij + b_j`` and ``y_j = f(u_j)`` (ReLU); ∂y: ``dense_backward_dy_parallel``
    packs wᵀ (δ is read in place), then ``∂y_i = Σ_j δ_j w_ij`` and ``δ_i = ∂y_i f'(u_i)``; ∂w:
    ``dense_backward_dw_parallel`` packs y and δ, then ``∂b_j = (1/N) Σ_s δ_sj`` and
    ``∂w_ij = (1/N) Σ_s y_si δ_sj``. The full profile adds ``square``: 1024 → 1024, batch 1024,
    the dense-kernel case of the performance targets (≥ 85 % of sgemm, ≥ 80 % of dgemm), and
    ``output``: the mid case's output layer 128 → 10, batch 128 (a short ∂y sum over 10 neurons).
    """

    params = [common.SIZE_NAMES + ([] if common.QUICK else ["square", "output"]), common.DTYPES, common.THREADS]

    def setup(self, size, dtype, threads):
        from nbmlp.kernels import dense
        from nbmlp.kernels.activations import RELU
        from nbmlp.kernels.lanes import lanes_for

        self.threads = common.Threads(threads)
        if size == "square":
            N, l, m = 1024, 1024, 1024
        elif size == "output":
            N, l, m = 128, 128, 10
        else:
            layers, N, _ = common.SIZES[size]
            l, m = layers[0], layers[1]
        y, w, b, delta = _rng_arrays(dtype, (N, l), (l, m), (m,), (N, m))
        nr = 2 * lanes_for(dtype)
        P = np.empty(dense.pack_elements(l, m, N, nr), dtype)
        wp, wtp, (yp, dp) = dense.forward_packing(P, l, m), dense.dy_packing(P, l, m), dense.dw_packing(P, N, l, m)
        u, y_out = np.empty((N, m), dtype), np.empty((N, m), dtype)
        dy, delta_in = np.empty((N, l), dtype), np.empty((N, l), dtype)
        dw, db = np.empty((l, m), dtype), np.empty(m, dtype)
        scale = np.dtype(dtype).type(1.0 / N)
        self.flops = 2 * N * l * m
        self.forward = lambda: dense.dense_forward_parallel(y_out, u, y, w, b, wp, RELU)
        self.backward_dy = lambda: dense.dense_backward_dy_parallel(delta_in, dy, delta, w, wtp, y, y, RELU)
        self.backward_dw = lambda: dense.dense_backward_dw_parallel(dw, db, y, delta, yp, dp, scale)
        self.np_forward = lambda: np.maximum(np.add(np.matmul(y, w, out=u), b, out=u), 0, out=y_out)
        self.np_backward_dy = lambda: np.matmul(delta, w.T, out=dy)
        self.np_backward_dw = lambda: (
            np.multiply(np.matmul(y.T, delta, out=dw), scale, out=dw),
            np.multiply(delta.sum(axis=0), scale, out=db),
        )
        for fn in (self.forward, self.backward_dy, self.backward_dw):
            fn()  # compile, or load from Numba's cache


class Serial(_DenseSteps):
    """The one-thread steps of a small batch, as training runs them below ``PARALLEL_MIN_MACS``.

    forward: ``dense_forward_serial``, the forward tile on y, w and b in place (nothing packed),
    then ``y_j = f(u_j)`` (sigmoid); ∂y: ``dense_backward_dy_serial`` (wᵀ packed, δ in place), then
    ``δ_i = ∂y_i f'(u_i)``; ∂w: ``dense_backward_dw_serial`` (y read in place, δ packed),
    ``∂w_ij = (1/N) Σ_s y_si δ_sj`` and ``∂b_j``. Sizes: ``b10``, the first layer of the
    small-batch target (784 → 30, batch 10, 0.47 MFLOP a step), and ``small``'s first layer (64 →
    64, batch 32). Their cost is the overhead around the sums: a step takes microseconds.
    """

    params = [["b10"] if common.QUICK else ["b10", "small"], common.DTYPES]
    param_names = ["size", "dtype"]

    def setup(self, size, dtype):
        from nbmlp.kernels import dense
        from nbmlp.kernels.activations import SIGMOID
        from nbmlp.kernels.lanes import lanes_for

        self.threads = common.Threads(1)
        N, l, m = (10, 784, 30) if size == "b10" else (32, 64, 64)
        y, w, b, delta = _rng_arrays(dtype, (N, l), (l, m), (m,), (N, m))
        P = np.empty(dense.pack_elements(l, m, N, 2 * lanes_for(dtype)), dtype)
        wtp, (yp, dp) = dense.dy_packing(P, l, m), dense.dw_packing(P, N, l, m)
        u, y_out = np.empty((N, m), dtype), np.empty((N, m), dtype)
        dy, delta_in = np.empty((N, l), dtype), np.empty((N, l), dtype)
        dw, db = np.empty((l, m), dtype), np.empty(m, dtype)
        scale = np.dtype(dtype).type(1.0 / N)
        self.flops = 2 * N * l * m
        self.forward = lambda: dense.dense_forward_serial(y_out, u, y, w, b, SIGMOID)
        self.backward_dy = lambda: dense.dense_backward_dy_serial(delta_in, dy, delta, w, wtp, y, y, SIGMOID)
        self.backward_dw = lambda: dense.dense_backward_dw_serial(dw, db, y, delta, yp, dp, scale)
        self.np_forward = lambda: np.divide(1, 1 + np.exp(-np.add(np.matmul(y, w, out=u), b, out=u)), out=y_out)
        self.np_backward_dy = lambda: np.multiply(np.matmul(delta, w.T, out=dy), y * (1 - y), out=delta_in)
        self.np_backward_dw = lambda: (
            np.multiply(np.matmul(y.T, delta, out=dw), scale, out=dw),
            np.multiply(delta.sum(axis=0), scale, out=db),
        )
        for fn in (self.forward, self.backward_dy, self.backward_dw):
            fn()  # compile, or load from Numba's cache


class OutputDelta(_KernelBenchmark):
    """``output_delta`` for a softmax output with cross-entropy: ``δ_k = y_k − t_k``."""

    def setup(self, size, dtype, threads):
        from nbmlp.kernels.activations import CODES as ACTS
        from nbmlp.kernels.losses import CODES as LOSSES
        from nbmlp.kernels.losses import output_delta

        self.threads = common.Threads(threads)
        layers, N, _ = common.SIZES[size]
        n = layers[-1]
        y, u, t = _rng_arrays(dtype, (N, n), (N, n), (N, n))
        delta = np.empty((N, n), dtype)
        loss, act = LOSSES["cross_entropy"], ACTS["softmax"]
        self.flops = N * n
        self.kernel = lambda: output_delta(delta, y, u, t, loss, act)
        self.reference = lambda: np.subtract(y, t, out=delta)
        self.kernel()

    def time_output_delta(self, *args):
        self.kernel()

    def track_output_delta_gflops(self, *args):
        return self._gflops(self.kernel, self.flops)

    track_output_delta_gflops.unit = "GFLOP/s"

    def track_output_delta_time_ratio_vs_numpy(self, *args):
        return self._ratio(self.kernel, self.reference)

    track_output_delta_time_ratio_vs_numpy.unit = "nbmlp time / NumPy time"


class SGDUpdate(_KernelBenchmark):
    """``sgd_update`` over the flat buffer of every weight and bias: ``w ← w − η ∂w``."""

    def setup(self, size, dtype, threads):
        from nbmlp.kernels.optim import sgd_update

        self.threads = common.Threads(threads)
        layers = common.SIZES[size][0]
        P = sum(l * m + m for l, m in zip(layers[:-1], layers[1:]))
        theta, dtheta = _rng_arrays(dtype, (P,), (P,))
        step = np.empty(P, dtype)
        eta = np.dtype(dtype).type(0.01)
        self.flops = 2 * P
        self.kernel = lambda: sgd_update(theta, dtheta, eta)
        self.reference = lambda: np.subtract(theta, np.multiply(dtheta, eta, out=step), out=theta)
        self.kernel()

    def time_sgd_update(self, *args):
        self.kernel()

    def track_sgd_update_gflops(self, *args):
        return self._gflops(self.kernel, self.flops)

    track_sgd_update_gflops.unit = "GFLOP/s"

    def track_sgd_update_time_ratio_vs_numpy(self, *args):
        return self._ratio(self.kernel, self.reference)

    track_sgd_update_time_ratio_vs_numpy.unit = "nbmlp time / NumPy time"
