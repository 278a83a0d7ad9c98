"""Register-blocked dense kernels: the same formulas as ``dense.py``, ordered for speed.

Legend: s sample (N), i neuron of the layer below (l), j neuron of this layer (m),
r neuron of this layer inside a sum; ``a``, ``c``, ``q`` the row, column and summed index of
the one product every dense step reduces to (below).

Every dense step is the product ``C_ac = Σ_q A_aq B_cq`` of two row-major arrays whose summed
index q is the contiguous one:

  forward   ``u_sj = Σ_i y_si w_ij``   A = y (N, l), B = wᵀ (m, l) packed, C = u
  ∂y        ``∂y_si = Σ_r δ_sr w_ir``  A = δ (N, m), B = w (l, m) as stored, C = ∂y
  ∂w        ``∂w_ij = Σ_s y_si δ_sj``  A = yᵀ (l, N), B = δᵀ (m, N) packed, C = ∂w

``abt_rows`` computes it in tiles of 4 rows × 3 columns whose 12 sums are local scalars
(registers), with q innermost and contiguous, so LLVM vectorizes every sum over q and each
loaded value of A feeds three multiply-adds and of B four (4 × 3 beat 4 × 4, 3 × 4, 3 × 3
and 2 × 4 on an AVX2 machine, where more sums spill out of the 16 vector registers). The plain
kernels in ``dense.py`` stay the reference (tests check these against them and NumPy).

∂y below a narrow layer (``m ≤ NARROW_Q``, e.g. a 10-class output layer) is a short sum: a tile
would do one vector step and twelve horizontal sums. There ``ab_rows`` sweeps each output row
instead, ``∂y_s· += δ_sr w_r·`` with i innermost and contiguous, on the weights packed
transposed. The choice (``narrow``) depends on the shapes alone, never on threads or chunks.

Each ``*_rows`` kernel is serial and owns the output rows ``a0 ≤ a < a1``; its epilogue (bias and
activation, δ from ∂y, the 1/N of the mean) runs on those rows while they are still in cache.
The ``*_parallel`` kernels split the rows into chunks of whole tiles (``prange``); the tiles and
the order of every sum depend only on the shapes, never on the number of threads or chunks, so
results are bitwise identical for any thread count. The driver (``passes``) calls the serial
kernel directly when a step is too small to pay for a parallel launch.
"""
import numpy as np
from numba import njit, prange

from .._config import JIT_INLINE, JIT_PARALLEL, JIT_SERIAL
from .activations import IDENTITY, LEAKY_RELU, LEAKY_SLOPE, RELU, SIGMOID, SOFTMAX, TANH

TILE = 4                    # rows of a register tile (samples, or neurons i for ∂w)
TILE_COLS = 3               # columns of a register tile: 12 sums + 3 loads fit AVX2's 16 registers
BLOCK_BYTES = 1 << 17       # B rows kept in cache while every row tile of A passes over them
PARALLEL_MIN_MACS = 1 << 18  # multiply-adds below which a step runs serially (launch overhead)
NARROW_Q = 16               # ∂y sums over this few neurons r or fewer run as row sweeps (ab_rows) ...
NARROW_MIN_C = 24           # ... when the layer below has at least this many neurons i to vectorize over


@njit(**JIT_SERIAL)
def abt_rows(C, A, B, a0, a1):
    """Rows ``a0 ≤ a < a1`` of ``C = A Bᵀ``, in register tiles.

    Parameters
    ----------
    C : (nA, nB) array, out
    A : (nA, nq) array
    B : (nB, nq) array
    a0, a1 : int
        Row range (``a1 > a0``).

    Notes
    -----
    ``C_ac = Σ_q A_aq B_cq`` (see the module docstring for what A, B, C are in each step).
    Every element is computed by the same 4×3 tile code: a tile that sticks out past the last
    row or column repeats that row or column (its indices are clamped), and the repeated sums,
    identical, are stored to the same element. So an element's sum never depends on where it
    falls in a tile: a sample's outputs are the same whatever batch or chunk it is in.
    """
    nq = A.shape[1]
    nb = B.shape[0]
    zero = A.dtype.type(0)
    # columns per cache block: as many rows of B as fit in BLOCK_BYTES, whole tiles
    cb = max(TILE_COLS, (BLOCK_BYTES // max(1, nq * A.itemsize)) // TILE_COLS * TILE_COLS)
    # C_ac = Σ_q A_aq B_cq, one cache block of columns c at a time
    for cs in range(0, nb, cb):
        ce = min(cs + cb, nb)
        for a in range(a0, a1, TILE):
            x0, x1, x2, x3 = a, min(a + 1, a1 - 1), min(a + 2, a1 - 1), min(a + 3, a1 - 1)
            for c in range(cs, ce, TILE_COLS):
                z0, z1, z2 = c, min(c + 1, ce - 1), min(c + 2, ce - 1)
                # 4×3 tile: C_{x, z} = Σ_q A_{x, q} B_{z, q}  for rows x0..x3, columns z0..z2
                c00 = c01 = c02 = zero
                c10 = c11 = c12 = zero
                c20 = c21 = c22 = zero
                c30 = c31 = c32 = zero
                for q in range(nq):
                    a_0, a_1, a_2, a_3 = A[x0, q], A[x1, q], A[x2, q], A[x3, q]
                    b_0, b_1, b_2 = B[z0, q], B[z1, q], B[z2, q]
                    c00 += a_0 * b_0
                    c01 += a_0 * b_1
                    c02 += a_0 * b_2
                    c10 += a_1 * b_0
                    c11 += a_1 * b_1
                    c12 += a_1 * b_2
                    c20 += a_2 * b_0
                    c21 += a_2 * b_1
                    c22 += a_2 * b_2
                    c30 += a_3 * b_0
                    c31 += a_3 * b_1
                    c32 += a_3 * b_2
                C[x3, z0], C[x3, z1], C[x3, z2] = c30, c31, c32
                C[x2, z0], C[x2, z1], C[x2, z2] = c20, c21, c22
                C[x1, z0], C[x1, z1], C[x1, z2] = c10, c11, c12
                C[x0, z0], C[x0, z1], C[x0, z2] = c00, c01, c02


@njit(**JIT_INLINE)
def narrow(nq, nc):
    """Whether a product with a sum over ``nq`` and ``nc`` output columns runs as row sweeps (``ab_rows``).

    Notes
    -----
    ``narrow = (nq ≤ NARROW_Q) and (nc ≥ NARROW_MIN_C)`` (measured: there a row sweep beats the
    4×3 tiles).
    """
    return nq <= NARROW_Q and nc >= NARROW_MIN_C


@njit(**JIT_SERIAL)
def ab_rows(C, A, B, a0, a1):
    """Rows ``a0 ≤ a < a1`` of ``C = A B`` for a short sum, one row of C at a time.

    Parameters
    ----------
    C : (nA, nc) array, out
    A : (nA, nq) array
    B : (nq, nc) array
    a0, a1 : int
        Row range.

    Notes
    -----
    ``C_ac = Σ_q A_aq B_qc``, added over q in order, two terms at a time: the row ``C_a·`` stays in
    cache and c, innermost and contiguous, is vectorized.
    """
    nq, nc = A.shape[1], C.shape[1]
    zero = C.dtype.type(0)
    # C_ac = Σ_q A_aq B_qc, one row a at a time
    for a in range(a0, a1):
        # C_ac = 0
        for c in range(nc):
            C[a, c] = zero
        # C_ac += A_aq B_qc + A_a,q+1 B_q+1,c   for q = 0, 2, 4, …
        for q in range(0, nq - 1, 2):
            x0, x1 = A[a, q], A[a, q + 1]
            for c in range(nc):
                C[a, c] += x0 * B[q, c] + x1 * B[q + 1, c]
        # C_ac += A_aq B_qc   for the last q when nq is odd
        if nq % 2 == 1:
            x = A[a, nq - 1]
            for c in range(nc):
                C[a, c] += x * B[nq - 1, c]


@njit(**JIT_SERIAL)
def chunk_rows(n):
    """Rows per parallel chunk: 8 tiles (B's cache blocks serve 32 rows), or 1 tile if ``n`` is small.

    Notes
    -----
    ``step = TILE · 8`` if ``n ≥ 16 · TILE``, else ``step = TILE``.
    """
    return TILE * (8 if n >= 16 * TILE else 1)


@njit(**JIT_SERIAL)
def transpose_rows(dst, src, c0, c1):
    """Rows ``c0 ≤ c < c1`` of ``dst = srcᵀ`` (packing for ``abt_rows``).

    Notes
    -----
    ``dst_cr = src_rc``: for the forward sum ``wt_ji = w_ij``, for ∂w ``yt_is = y_si``.
    """
    n = src.shape[0]
    # dst_cr = src_rc, four rows r at a time (four adjacent values written per row c)
    for r in range(0, n - 3, 4):
        for c in range(c0, c1):
            dst[c, r] = src[r, c]
            dst[c, r + 1] = src[r + 1, c]
            dst[c, r + 2] = src[r + 2, c]
            dst[c, r + 3] = src[r + 3, c]
    # dst_cr = src_rc for the last n mod 4 rows r
    for r in range(n - n % 4, n):
        for c in range(c0, c1):
            dst[c, r] = src[r, c]


@njit(**JIT_PARALLEL)
def transpose_parallel(dst, src):
    """``dst = srcᵀ`` with threads owning rows of ``dst`` (see ``transpose_rows``).

    Notes
    -----
    ``dst_cr = src_rc``.
    """
    n = dst.shape[0]
    step = chunk_rows(n)
    # dst_cr = src_rc   (threads own rows c of dst)
    for k in prange((n + step - 1) // step):
        transpose_rows(dst, src, k * step, min(n, (k + 1) * step))


@njit(**JIT_SERIAL)
def activation_rows(y, u, code, s0, s1):
    """The activation of samples ``s0 ≤ s < s1``.

    Notes
    -----
    ``y_j = f(u_j)``, with the formulas of ``activations.activation_forward``.
    """
    m = u.shape[1]
    zero, one, a = u.dtype.type(0), u.dtype.type(1), u.dtype.type(LEAKY_SLOPE)
    # y_j = f(u_j) for each sample s
    for s in range(s0, s1):
        if code == IDENTITY:
            # y_j = u_j
            for j in range(m):
                y[s, j] = u[s, j]
        elif code == SIGMOID:
            # y_j = 1 / (1 + e^(−u_j))
            for j in range(m):
                y[s, j] = one / (one + np.exp(-u[s, j]))
        elif code == TANH:
            # y_j = tanh(u_j)
            for j in range(m):
                y[s, j] = np.tanh(u[s, j])
        elif code == RELU:
            # y_j = max(0, u_j)
            for j in range(m):
                y[s, j] = max(u[s, j], zero)
        elif code == LEAKY_RELU:
            # y_j = u_j if u_j > 0 else a·u_j
            for j in range(m):
                y[s, j] = u[s, j] if u[s, j] > zero else a * u[s, j]
        elif code == SOFTMAX:
            # y_k = e^(u_k − max) / Σ_r e^(u_r − max)
            umax = u[s, 0]
            for r in range(1, m):
                umax = max(umax, u[s, r])
            total = zero
            for r in range(m):
                y[s, r] = np.exp(u[s, r] - umax)
                total += y[s, r]
            for k in range(m):
                y[s, k] = y[s, k] / total


@njit(**JIT_SERIAL)
def forward_rows(y_out, u, y, wt, b, code, s0, s1):
    """Samples ``s0 ≤ s < s1`` of a layer's forward step, bias and activation fused.

    Parameters
    ----------
    y_out : (N, m) array, out
        Outputs ``y_j``.
    u : (N, m) array, out
        Weighted sums ``u_j``.
    y : (N, l) array
        Outputs ``y_i`` of the layer below.
    wt : (m, l) array
        The weights packed transposed: ``wt[j, i] = w_ij``.
    b : (m,) array
        Biases ``b_j``.
    code : int
        Activation code.
    s0, s1 : int
        Sample range.

    Notes
    -----
    ``u_j = Σ_i y_i w_ij + b_j`` (tiles of ``abt_rows``), then ``y_j = f(u_j)``.
    """
    abt_rows(u, y, wt, s0, s1)
    m = u.shape[1]
    # u_j += b_j, then y_j = f(u_j), on the rows just computed
    for s in range(s0, s1):
        for j in range(m):
            u[s, j] += b[j]
    activation_rows(y_out, u, code, s0, s1)


@njit(**JIT_PARALLEL)
def forward_parallel(y_out, u, y, wt, b, code):
    """``forward_rows`` over every sample, threads owning chunks of samples.

    Notes
    -----
    ``u_j = Σ_i y_i w_ij + b_j`` and ``y_j = f(u_j)``, with ``wt_ji = w_ij`` packed.
    """
    N = u.shape[0]
    step = chunk_rows(N)
    # u_j = Σ_i y_i w_ij + b_j, y_j = f(u_j)   (threads own samples s)
    for k in prange((N + step - 1) // step):
        forward_rows(y_out, u, y, wt, b, code, k * step, min(N, (k + 1) * step))


@njit(**JIT_SERIAL)
def backward_dy_rows(delta_in, dy, delta, w, wt, u_in, y_in, code, s0, s1):
    """Samples ``s0 ≤ s < s1`` of ``∂y`` of the layer below and its deltas, fused.

    Parameters
    ----------
    delta_in : (N, l) array, out
        Deltas ``δ_i`` of the layer below.
    dy : (N, l) array, out
        ``∂y_i`` of the layer below.
    delta : (N, m) array
        Deltas ``δ_r`` of this layer.
    w : (l, m) array
        Weights ``w_ir`` as stored (r is already contiguous), read unless ``narrow(m, l)``.
    wt : (m, l) array
        ``wt[r, i] = w_ir``, read when ``narrow(m, l)`` (a narrow layer, such as the output).
    u_in, y_in : (N, l) arrays
        Sums and outputs of the layer below.
    code : int
        Activation code of the layer below (not softmax).
    s0, s1 : int
        Sample range.

    Notes
    -----
    ``∂y_i = Σ_r δ_r w_ir`` (row sweeps of ``ab_rows`` on ``wt`` if ``narrow(m, l)``, else tiles
    of ``abt_rows`` on ``w``), then ``δ_i = ∂y_i · ∂y_i/∂u_i`` with the derivatives of
    ``activations.activation_backward``.
    """
    if narrow(delta.shape[1], dy.shape[1]):
        ab_rows(dy, delta, wt, s0, s1)
    else:
        abt_rows(dy, delta, w, s0, s1)
    l = dy.shape[1]
    zero, one, a = dy.dtype.type(0), dy.dtype.type(1), dy.dtype.type(LEAKY_SLOPE)
    # δ_i = ∂y_i f'(u_i) for each sample s
    for s in range(s0, s1):
        if code == IDENTITY:
            # δ_i = ∂y_i · 1
            for i in range(l):
                delta_in[s, i] = dy[s, i]
        elif code == SIGMOID:
            # δ_i = ∂y_i · y_i (1 − y_i)
            for i in range(l):
                delta_in[s, i] = dy[s, i] * y_in[s, i] * (one - y_in[s, i])
        elif code == TANH:
            # δ_i = ∂y_i · (1 − y_i²)
            for i in range(l):
                delta_in[s, i] = dy[s, i] * (one - y_in[s, i] * y_in[s, i])
        elif code == RELU:
            # δ_i = ∂y_i · (1 if u_i > 0 else 0)
            for i in range(l):
                delta_in[s, i] = dy[s, i] if u_in[s, i] > zero else zero
        elif code == LEAKY_RELU:
            # δ_i = ∂y_i · (1 if u_i > 0 else a)
            for i in range(l):
                delta_in[s, i] = dy[s, i] if u_in[s, i] > zero else a * dy[s, i]


@njit(**JIT_PARALLEL)
def backward_dy_parallel(delta_in, dy, delta, w, wt, u_in, y_in, code):
    """``backward_dy_rows`` over every sample, threads owning chunks of samples.

    Notes
    -----
    ``∂y_i = Σ_r δ_r w_ir`` then ``δ_i = ∂y_i · ∂y_i/∂u_i``.
    """
    N = dy.shape[0]
    step = chunk_rows(N)
    # ∂y_i = Σ_r δ_r w_ir, δ_i = ∂y_i f'(u_i)   (threads own samples s)
    for k in prange((N + step - 1) // step):
        backward_dy_rows(delta_in, dy, delta, w, wt, u_in, y_in, code, k * step, min(N, (k + 1) * step))


@njit(**JIT_SERIAL)
def bias_gradient(db, dt, scale):
    """The bias gradients from the deltas packed transposed.

    Parameters
    ----------
    db : (m,) array, out
        ``∂b_j``.
    dt : (m, N) array
        ``dt[j, s] = δ_sj``.
    scale : float
        ``1/N``, of the arrays' dtype.

    Notes
    -----
    ``∂b_j = (1/N) Σ_s δ_sj`` (the same sum, in the same order, as ``dense.dense_backward_db``).
    """
    m, N = dt.shape
    zero = dt.dtype.type(0)
    # ∂b_j = (1/N) Σ_s δ_j
    for j in range(m):
        acc = zero
        for s in range(N):
            acc += dt[j, s]
        db[j] = acc * scale


@njit(**JIT_SERIAL)
def pack_delta(dt, db, delta, scale):
    """Pack the deltas transposed and take the bias gradients on the way (one thread).

    Parameters
    ----------
    dt : (m, N) array, out
        ``dt[j, s] = δ_sj`` (s contiguous, for the ∂w tiles).
    db : (m,) array, out
        ``∂b_j``.
    delta : (N, m) array
        Deltas ``δ_j``.
    scale : float
        ``1/N``, of the arrays' dtype.

    Notes
    -----
    ``dt_js = δ_sj``, then ``∂b_j = (1/N) Σ_s δ_sj`` (``bias_gradient``). A larger step packs
    with ``transpose_parallel`` and then calls ``bias_gradient``: the same values.
    """
    transpose_rows(dt, delta, np.int64(0), delta.shape[1])
    bias_gradient(db, dt, scale)


@njit(**JIT_SERIAL)
def backward_dw_rows(dw, yt, dt, scale, i0, i1):
    """Rows ``i0 ≤ i < i1`` of the weight gradients, the mean over the batch.

    Parameters
    ----------
    dw : (l, m) array, out
        ``∂w_ij``.
    yt : (l, N) array
        Outputs of the layer below, packed transposed: ``yt[i, s] = y_si``.
    dt : (m, N) array
        Deltas packed transposed: ``dt[j, s] = δ_sj``.
    scale : float
        ``1/N``, of the arrays' dtype.
    i0, i1 : int
        Row range.

    Notes
    -----
    ``∂w_ij = (1/N) Σ_s y_si δ_sj`` (tiles of ``abt_rows``).
    """
    abt_rows(dw, yt, dt, i0, i1)
    m = dw.shape[1]
    # ∂w_ij ← (1/N) ∂w_ij on the rows just computed
    for i in range(i0, i1):
        for j in range(m):
            dw[i, j] *= scale


@njit(**JIT_PARALLEL)
def backward_dw_parallel(dw, yt, dt, scale):
    """``backward_dw_rows`` over every row i, threads owning chunks of rows of ``∂w``.

    Notes
    -----
    ``∂w_ij = (1/N) Σ_s y_si δ_sj``, with ``yt_is = y_si`` and ``dt_js = δ_sj`` packed.
    """
    l = dw.shape[0]
    step = chunk_rows(l)
    # ∂w_ij = (1/N) Σ_s y_i δ_j   (threads own rows i)
    for k in prange((l + step - 1) // step):
        backward_dw_rows(dw, yt, dt, scale, k * step, min(l, (k + 1) * step))
