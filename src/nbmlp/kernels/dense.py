"""A dense layer: the forward sum ``u_j = Σ_i y_i w_ij + b_j`` and its backward steps.

Legend: s sample (N), i neuron of the layer below (l), j neuron of this layer (m),
r neuron of this layer inside a sum. ``w`` is (l, m): ``w[i, j] = w_ij``. W is the number of
lanes of a vector register (``lanes``); ``j…`` is a vector of W consecutive neurons j.

Each step comes twice, the plain loop and then the same formula on vector registers, side by
side (llm.c's ``matmul_forward_naive`` beside ``matmul_forward``); tests hold one against the other.

- plain: ``dense_forward``, ``dense_backward_dy``, ``dense_backward_dw``, ``dense_backward_db``:
  each loop nest is the formula for one sample or one neuron, and the reference for the rest.
- fast: ``dense_forward_tiles``, ``dense_backward_dy_tiles``, ``dense_backward_dw_tiles``. Each
  keeps a tile of R × 2 vectors of sums in 2R registers while its summed index runs
  (``kernels/tiles.py``: R = 6 for 16 vector registers, 14 for AVX-512's 32, 6 on Zen 4), and its
  loop body is the formula for a block of neurons, one call written once for every R:

  forward  for each i:  ``u_s,j… += y_si · w_i,j…``   (R samples s, 2 vectors of neurons j)
  ∂y       for each r:  ``∂y_s,i… += δ_sr · w_i…,r``  (R samples s, 2 vectors of neurons i)
  ∂w       for each s:  ``∂w_i,j… += y_si · δ_s,j…``  (R neurons i, 2 vectors of neurons j)

  Each vector load feeds R multiply-adds and each broadcast value 2 (BLIS's 6 × 16 sgemm tile on
  AVX2). Packing decides as much as the registers: the vector operand is copied into panels of
  2W neurons (``pack_w``, ``pack_wt``, ``pack_delta``: one contiguous block per panel, that
  the tiles stream through while it stays in cache, zeros past the last neuron); a row's panels
  are copied with masked loads (``lanes.vload_part``). The broadcast operand of the forward and
  ∂y steps (y, δ) is read in place by the 6-row tile, R rows side by side, each read in order:
  copying it into tiles cost more than it saved at the widths networks have, and about as much at
  1024² (the figures: docs/performance.md, "How the kernels reach these figures"). The 14-row
  tile reads it packed in tiles of R samples (``PACK_BROADCAST``, ``pack_tiles``): 14 rows read in
  place cost it a quarter of its speed (docs/register_tiles.md).
  ∂w's broadcast operand, y, is read across its rows (one value of each of N rows per step of
  the sum) and is copied into tiles of R neurons (``pack_y``: the R values of one step side by
  side) unless the step has few samples or few panels of j (``direct_tiles``).
  A serial forward step (``dense_forward_serial``) runs the same tile on w and b in place too, with
  masked loads past a row's last neuron: its few samples make each panel feed so few tiles that
  copying it would cost as much as using it. The epilogue works on the tile: the bias comes
  first (the panel's last row, the weight of a constant input 1), f (forward) or f′ (∂y) is
  applied on vector registers to the block just stored (``activations``), and ∂w's tile is
  multiplied by 1/N before it is stored.

The ``*_serial`` drivers run every tile on one thread (a small step); the ``*_parallel``
drivers pack with threads owning rows, then give each thread blocks of tiles × panels (``blocks``).
Every element's sum runs over its summed index in order, whatever the tile, block, thread or lane
count that computes it (a tile past the last row repeats that row and stores the same values
twice), so results are bitwise identical for any number of threads and any lane count.
"""

import numpy as np
from numba import njit, prange

from .._config import JIT_PARALLEL, JIT_SERIAL
from .activations import SOFTMAX, activation_block, derivative_block, softmax_rows
from .lanes import (
    lane_count,
    vadd,
    vbroadcast,
    vload,
    vload_part,
    vmul,
    vstore,
    vstore_part,
    vtranspose,
    vzero,
)
from .tiles import ROWS, rows_for, tile_fma_cols, tile_fma_rows, tile_of, tile_rows, tile_store, tile_times

TILE = ROWS  # rows of a register tile: samples (forward, ∂y) or neurons i (∂w), from the register count
# the forward and ∂y steps copy their broadcast operand (y, δ) into tiles of R samples when the tile
# has more rows than AVX2's: R rows read in place, a row's length apart, crowd the cache's sets and the
# row pointers outgrow the general registers, which costs the larger tile more than it gains
PACK_BROADCAST = TILE > rows_for(16)
BLOCK_TILES = 8  # tiles a thread packs at a time
CHUNK_TILES = 32  # tiles in one parallel block of a step, at most (and ...
CHUNK_PANELS = 4  # ... panels): each block runs its panels one by one over its tiles
MIN_BLOCKS = 8  # blocks a parallel step is cut into, at least (when it has that many tiles)
PARALLEL_MIN_MACS = 1 << 18  # multiply-adds below which a step runs serially (launch overhead)
DIRECT_SAMPLES = 32  # samples at most of a ∂w step that reads y in place, unpacked ...
DIRECT_PANELS = 2  # ... or panels of neurons j at most (each tile of y would feed so few panels)
PACKED = np.int64(1)  # ∂w's tiles read y packed (an int64, not a literal: one compiled copy for both)


@njit(**JIT_SERIAL)
def panels(n, nr):
    """Panels of ``nr = 2W`` neurons that cover ``n`` neurons.

    Notes
    -----
    ``panels = ⌈n / nr⌉``.
    """
    return (n + nr - 1) // nr


@njit(**JIT_SERIAL)
def tiles(n):
    """Tiles of R rows (``ROWS`` of ``kernels/tiles.py``) that cover ``n`` samples or neurons.

    Notes
    -----
    ``tiles = ⌈n / R⌉``.
    """
    return (n + TILE - 1) // TILE


@njit(**JIT_SERIAL)
def blocks(T, P):
    """How a parallel step cuts its T tiles × P panels into blocks: ``(KT, KP)`` ranges of each.

    Notes
    -----
    ``KP = ⌈P / 4⌉`` ranges of panels, ``KT = min(T, max(⌈T / 32⌉, ⌈8 / KP⌉))`` of tiles; block
    ``(a, c)`` holds tiles ``⌊Ta/KT⌋ … ⌊T(a+1)/KT⌋ − 1`` and panels ``⌊Pc/KP⌋ … ⌊P(c+1)/KP⌋ − 1``;
    blocks are numbered panel range first (``k = c·KT + a``), so that each thread gets its own
    panels when there are enough: blocks of many tiles over a few panels, threads splitting the
    panels, keep each thread's panels in its cache (twice the speed of blocks of 8 tiles × 1 panel,
    docs/performance.md). The cut changes no result: each element's sum is the same wherever it is.
    """
    KP = (P + CHUNK_PANELS - 1) // CHUNK_PANELS
    KT = min(T, max((T + CHUNK_TILES - 1) // CHUNK_TILES, (MIN_BLOCKS + KP - 1) // KP))
    return KT, KP


@njit(**JIT_SERIAL)
def pack_elements(l, m, N, nr):
    """Elements of the packed copies of a layer's three steps (the largest: they take turns).

    Notes
    -----
    With ``P(n) = ⌈n/nr⌉`` panels and ``T(n) = ⌈n/R⌉`` tiles: forward ``P(m)(l+1) nr``,
    ∂y ``P(l) m nr``, ∂w ``T(l) N R + P(m) N nr``; with ``PACK_BROADCAST``, forward
    ``+ ⌈T(N) l R / nr⌉ nr`` and ∂y ``+ ⌈T(N) m R / nr⌉ nr`` (y and δ in tiles of samples,
    ``pack_tiles``, after whole rows of nr).
    """
    pm, pl = (m + nr - 1) // nr, (l + nr - 1) // nr
    yt, dt = (tiles(N) * l * TILE, tiles(N) * m * TILE) if PACK_BROADCAST else (0, 0)
    yt, dt = (yt + nr - 1) // nr * nr, (dt + nr - 1) // nr * nr
    return max(pm * (l + 1) * nr + yt, pl * m * nr + dt, tiles(l) * N * TILE + pm * N * nr)


@njit(**JIT_SERIAL)
def forward_packing(P, l, m):
    """Where a forward step packs its weights in the space ``P``: ``wp``.

    Notes
    -----
    ``wp`` = the first ``P(m)(l+1)·2W`` elements as (P(m)(l+1), 2W) (``pack_w``); with
    ``PACK_BROADCAST``, the whole space as rows of 2W, y's tiles after the panels (``tiles_after``).
    """
    nr = 2 * lane_count(P)
    a = panels(m, nr) * (l + 1)
    a = P.shape[0] // nr if PACK_BROADCAST else a
    return P[: a * nr].reshape((a, nr))


@njit(**JIT_SERIAL)
def dy_packing(P, l, m):
    """Where a ∂y step packs the transposed weights in the space ``P``: ``wtp``.

    Notes
    -----
    ``wtp`` = the first ``P(l)·m·2W`` elements as (P(l)·m, 2W) (``pack_wt``); with
    ``PACK_BROADCAST``, the whole space as rows of 2W, δ's tiles after the panels (``tiles_after``).
    """
    nr = 2 * lane_count(P)
    a = panels(l, nr) * m
    a = P.shape[0] // nr if PACK_BROADCAST else a
    return P[: a * nr].reshape((a, nr))


@njit(**JIT_SERIAL)
def tiles_after(space, a, N, n):
    """Where a forward or ∂y step packs its broadcast operand (N × n) in tiles of R samples: after
    the first ``a`` rows of its packed space (its panels), as (T(N)·n, R).

    Notes
    -----
    ``ys`` = elements ``a·2W … a·2W + T(N)·n·R − 1`` of the space as (T(N)·n, R) (``pack_tiles``).
    """
    rest = space[a:]
    flat = rest.reshape(rest.size)
    return flat[: tiles(N) * n * TILE].reshape((tiles(N) * n, TILE))


@njit(**JIT_SERIAL)
def pack_tiles(ys, y, t0, t1):
    """Tiles ``t0 ≤ t < t1`` of R samples of ``y`` (N × n): the R values of each column side by side
    (the broadcast operand of the forward and ∂y steps, ``PACK_BROADCAST``).

    Notes
    -----
    ``ys[t n + i, x] = y_s,i`` for ``s = min(Rt + x, N − 1)`` (the last sample repeated past N).
    """
    N, n = y.shape
    # ys[t n + i, x] = y_Rt+x,i   (row s read in order, once per tile)
    for t in range(t0, t1):
        for x in range(TILE):
            s = min(t * TILE + x, N - 1)
            for i in range(n):
                ys[t * n + i, x] = y[s, i]


@njit(**JIT_SERIAL)
def dw_packing(P, N, l, m):
    """Where a ∂w step packs its operands in the space ``P``: ``(yp, dp)``.

    Notes
    -----
    ``yp`` = the first ``T(l)·N·R`` elements as (T(l)·N, R) (``pack_y``), ``dp`` = the next
    ``P(m)·N·2W`` as (P(m)·N, 2W) (``pack_delta``).
    """
    nr = 2 * lane_count(P)
    a, c = tiles(l) * N, panels(m, 2 * lane_count(P)) * N
    return P[: a * TILE].reshape((a, TILE)), P[a * TILE : a * TILE + c * nr].reshape((c, nr))


@njit(**JIT_SERIAL)
def pack_row(dst, r, stride, src, s, pf):
    """Row ``s`` of ``src`` into row ``r`` of the panels ``p ≥ pf`` of ``dst`` (panels of ``stride`` rows).

    Notes
    -----
    ``dst[p·stride + r, c] = src_s,2Wp+c``, 0 past the end of the row (src is read in order).
    """
    n = src.shape[1]
    W = lane_count(src)
    # dst[p·stride + r, c] = src_s,2Wp+c   (c < 2W; masked loads give 0 past the row's end)
    for p in range(pf, panels(n, 2 * W)):
        j = p * 2 * W
        vstore(dst, p * stride + r, 0, vload_part(src, s, j, n - j))
        vstore(dst, p * stride + r, W, vload_part(src, s, j + W, n - j - W))


@njit(**JIT_PARALLEL)
def dense_forward(u, y, w, b):
    """Weighted input sums of a layer.

    Parameters
    ----------
    u : (N, m) array, out
        Weighted sums ``u_j``.
    y : (N, l) array
        Outputs ``y_i`` of the layer below (the inputs, for the first layer).
    w : (l, m) array
        Weights ``w_ij``.
    b : (m,) array
        Biases ``b_j``.

    Notes
    -----
    ``u_j = Σ_{i=1..l} y_i w_ij + b_j``, for every sample s (threads own samples).
    """
    N, l = y.shape
    m = w.shape[1]
    # u_j = Σ_i y_i w_ij + b_j   (j innermost: w's rows are contiguous)
    for s in prange(N):
        for j in range(m):
            u[s, j] = b[j]
        for i in range(l):
            y_i = y[s, i]
            for j in range(m):
                u[s, j] += y_i * w[i, j]


@njit(**JIT_SERIAL)
def pack_w(wp, w, b, i0, i1, pf):
    """Rows ``i0 ≤ i < i1`` of the panels ``p ≥ pf`` of a layer's weights; row ``l`` holds the biases.

    Notes
    -----
    ``wp[p(l+1) + i, c] = w_ij`` and ``wp[p(l+1) + l, c] = b_j`` for ``j = 2Wp + c < m``, 0 past m.
    """
    l, m = w.shape
    # wp[p(l+1) + i, c] = w_i,2Wp+c
    for i in range(i0, min(i1, l)):
        pack_row(wp, i, l + 1, w, i, pf)
    # wp[p(l+1) + l, c] = b_2Wp+c
    if i1 > l:
        pack_row(wp, l, l + 1, b.reshape((1, m)), np.int64(0), pf)


@njit(**JIT_SERIAL)
def dense_forward_tiles(y_out, u, y, wp, code, t0, t1, p0, p1):
    """``dense_forward`` and the activation on vector registers: tiles ``t0 ≤ t < t1`` of samples,
    panels ``p0 ≤ p < p1`` of neurons j.

    Parameters
    ----------
    y_out, u : (N, m) arrays, out
        Outputs ``y_j = f(u_j)`` (not softmax: the caller applies it to whole rows), sums ``u_j``.
    y : (N, l) or (T l, R) array
        Outputs ``y_i`` of the layer below: read in place (a tile reads its R rows side by side), or
        with ``PACK_BROADCAST`` in tiles of R samples (``pack_tiles``).
    wp : (P (l+1), 2W) array
        The weights and biases in panels of neurons j (``pack_w``).
    code : int
        Activation code.
    t0, t1, p0, p1 : int
        Tiles (tile t holds samples Rt … Rt+R−1) and panels.

    Notes
    -----
    ``u_s,j… = b_j… + Σ_i y_si · w_i,j…`` for R samples and 2 vectors of neurons j at a time,
    then ``y_j = f(u_j)`` on the block.
    """
    N, m = u.shape
    l = y.shape[0] // tiles(N) if PACK_BROADCAST else y.shape[1]
    W = lane_count(u)
    # u_s,j… = b_j… + Σ_i y_si · w_i,j…, y_j = f(u_j)   for each panel of j, each tile of samples
    for p in range(p0, p1):
        j, o = p * 2 * W, p * (l + 1)  # the panel's first neuron j; w_i,j… is row o + i of wp, b_j… row o + l
        for t in range(t0, t1):
            # samples s … s+R−1 (the last one repeated past N): the tile's rows of y
            rows = tile_rows(t * TILE, N)
            # u_s,j… = b_j…
            u_t = tile_of(vload(wp, o + l, 0), vload(wp, o + l, W))
            # u_s,j… += y_si · w_i,j…   for i = 0 … l−1 (y_si of the R samples: row t·l + i of the
            # packed tiles, or column i of the R rows in place)
            if PACK_BROADCAST:
                for i in range(l):
                    u_t = tile_fma_cols(u_t, y, t * l + i, 0, vload(wp, o + i, 0), vload(wp, o + i, W))
            else:
                for i in range(l):
                    u_t = tile_fma_rows(u_t, y, rows, i, vload(wp, o + i, 0), vload(wp, o + i, W))
            # u_j for the neurons j < m
            tile_store(u, rows, j, m, u_t)
    # y_j = f(u_j) on the block just computed (one pass: per tile it would cost more than the tile)
    activation_block(y_out, u, code, t0 * TILE, min(t1 * TILE, N), p0 * 2 * W, min(p1 * 2 * W, m))


@njit(**JIT_SERIAL)
def dense_forward_serial(y_out, u, y, w, b, code):
    """A layer's forward step on one thread: ``dense_forward_tiles`` with y, w and b read in place.

    A serial step has few samples, so each panel of w feeds few tiles: copying w into panels and
    y into tiles would cost as much as the sums (docs/performance.md).

    Notes
    -----
    ``u_s,j… = b_j… + Σ_i y_si · w_i,j…`` for R samples and 2 vectors of neurons j at a time
    (masked loads past the row's last neuron), then ``y_j = f(u_j)``, softmax on whole rows.
    """
    (N, l), m = y.shape, u.shape[1]
    W = lane_count(u)
    bs = b.reshape((1, m))
    # u_s,j… = b_j… + Σ_i y_si · w_i,j…   for each panel of j, each tile of samples
    for p in range(panels(m, 2 * W)):
        j = p * 2 * W  # the panel's first neuron j; its neurons are j … min(j + 2W, m) − 1
        n = m - j
        for t in range(tiles(N)):
            rows = tile_rows(t * TILE, N)
            # u_s,j… = b_j…
            u_t = tile_of(vload_part(bs, 0, j, n), vload_part(bs, 0, j + W, n - W))
            # u_s,j… += y_si · w_i,j…   for i = 0 … l−1
            for i in range(l):
                u_t = tile_fma_rows(u_t, y, rows, i, vload_part(w, i, j, n), vload_part(w, i, j + W, n - W))
            # u_j for the neurons j < m
            tile_store(u, rows, j, m, u_t)
    # y_j = f(u_j), then softmax on whole rows
    activation_block(y_out, u, code, np.int64(0), N, np.int64(0), m)
    if code == SOFTMAX:
        softmax_rows(y_out, u, np.int64(0), N)


@njit(**JIT_PARALLEL)
def dense_forward_parallel(y_out, u, y, w, b, wp, code):
    """A layer's forward step on every thread.

    Notes
    -----
    ``u_j = Σ_i y_i w_ij + b_j``, ``y_j = f(u_j)`` (``dense_forward_tiles``).
    """
    (N, m), l = u.shape, w.shape[0]
    P, T, rows = panels(m, 2 * lane_count(u)), tiles(N), TILE * BLOCK_TILES
    groups, G = (T + BLOCK_TILES - 1) // BLOCK_TILES, (l + rows) // rows
    ys = tiles_after(wp, P * (l + 1), N, l) if PACK_BROADCAST else y
    # wp[p(l+1) + i, c] = w_i,2Wp+c, b_2Wp+c in row i = l; ys = y_s,i in tiles if packed   (threads own rows, tiles)
    for k in prange(G):
        pack_w(wp, w, b, k * rows, min(l + 1, (k + 1) * rows), np.int64(0))
        if PACK_BROADCAST:
            pack_tiles(ys, y, (T * k) // G, (T * (k + 1)) // G)
    KT, KP = blocks(T, P)
    # u_j = Σ_i y_i w_ij + b_j, y_j = f(u_j)   (threads own blocks of tiles of samples × panels)
    for k in prange(KT * KP):
        c, a = k // KT, k % KT
        dense_forward_tiles(
            y_out,
            u,
            ys,
            wp,
            code,
            (T * a) // KT,
            (T * (a + 1)) // KT,
            (P * c) // KP,
            (P * (c + 1)) // KP,
        )
    if code == SOFTMAX:
        # y_k = e^(u_k − max) / Σ_r e^(u_r − max)   (threads own samples)
        for c in prange(groups):
            softmax_rows(y_out, u, c * rows, min(N, (c + 1) * rows))


@njit(**JIT_PARALLEL)
def dense_backward_dy(dy, delta, w):
    """Gradient of the layer's inputs (the outputs of the layer below).

    Parameters
    ----------
    dy : (N, l) array, out
        ``∂y_i = ∂E/∂y_i`` of the layer below.
    delta : (N, m) array
        Deltas ``δ_r`` of this layer.
    w : (l, m) array
        Weights ``w_ir``.

    Notes
    -----
    Inverts ``u_r = Σ_i y_i w_ir + b_r``: ``∂u_r/∂y_i = w_ir``, so
    ``∂y_i = Σ_{r=1..m} δ_r w_ir`` (the notes' ``∂y_j = Σ_r δ_r w_jr``), per sample.
    """
    N, m = delta.shape
    l = w.shape[0]
    zero = delta.dtype.type(0)
    # ∂y_i = Σ_r δ_r w_ir   (threads own samples)
    for s in prange(N):
        for i in range(l):
            acc = zero
            for r in range(m):
                acc += delta[s, r] * w[i, r]
            dy[s, i] = acc


@njit(**JIT_SERIAL)
def pack_wt(wtp, w, p0, p1):
    """Panels ``p0 ≤ p < p1`` of the transposed weights, panels of neurons i (for ∂y).

    Notes
    -----
    ``wtp[p m + r, c] = w_ir`` for ``i = 2Wp + c < l``, 0 past l.
    """
    l, m = w.shape
    W = lane_count(w)
    zero = w.dtype.type(0)
    # wtp[p m + r, c] = w_2Wp+c,r   (W × W blocks transposed in registers, then the edges)
    for p in range(p0, p1):
        i0, o = p * 2 * W, p * m
        n = min(2 * W, l - i0)
        for c0 in range(0, n - W + 1, W):
            for r0 in range(0, m - W + 1, W):
                vtranspose(wtp, o + r0, c0, w, i0 + c0, r0)
            for r in range(m - m % W, m):
                for c in range(c0, c0 + W):
                    wtp[o + r, c] = w[i0 + c, r]
        for c in range(n - n % W, n):
            for r in range(m):
                wtp[o + r, c] = w[i0 + c, r]
        for c in range(n, 2 * W):
            for r in range(m):
                wtp[o + r, c] = zero


@njit(**JIT_SERIAL)
def dense_backward_dy_tiles(delta_in, dy, delta, wtp, u_in, y_in, code, t0, t1, p0, p1):
    """``dense_backward_dy`` and the layer below's δ on vector registers: tiles ``t0 ≤ t < t1`` of
    samples, panels ``p0 ≤ p < p1`` of neurons i.

    Parameters
    ----------
    delta_in, dy : (N, l) arrays, out
        ``δ_i`` and ``∂y_i`` of the layer below.
    delta : (N, m) or (T m, R) array
        ``δ_r`` of this layer: read in place (a tile reads its R rows side by side), or with
        ``PACK_BROADCAST`` in tiles of R samples (``pack_tiles``).
    wtp : (P m, 2W) array
        The weights transposed, in panels of neurons i (``pack_wt``).
    u_in, y_in : (N, l) arrays
        Sums and outputs of the layer below.
    code : int
        Activation code of the layer below (not softmax).
    t0, t1, p0, p1 : int
        Tiles and panels.

    Notes
    -----
    Inverts ``u_r = Σ_i y_i w_ir + b_r``: ``∂y_s,i… = Σ_r δ_sr · w_i…,r`` for R samples and 2
    vectors of neurons i at a time, then ``δ_i = ∂y_i f'(u_i)`` on the block.
    """
    N, l = dy.shape
    m = delta.shape[0] // tiles(N) if PACK_BROADCAST else delta.shape[1]
    W = lane_count(dy)
    # ∂y_s,i… = Σ_r δ_sr · w_i…,r, δ_i = ∂y_i f'(u_i)   for each panel of i, each tile of samples
    for p in range(p0, p1):
        i, o = p * 2 * W, p * m  # the panel's first neuron i, its first row in wtp
        for t in range(t0, t1):
            # samples s … s+R−1 (the last one repeated past N): the tile's rows of δ
            rows = tile_rows(t * TILE, N)
            # ∂y_s,i… = 0
            dy_t = tile_of(vzero(dy), vzero(dy))
            # ∂y_s,i… += δ_sr · w_i…,r   for r = 0 … m−1 (δ_sr of the R samples: row t·m + r of the
            # packed tiles, or column r of the R rows in place)
            if PACK_BROADCAST:
                for r in range(m):
                    dy_t = tile_fma_cols(dy_t, delta, t * m + r, 0, vload(wtp, o + r, 0), vload(wtp, o + r, W))
            else:
                for r in range(m):
                    dy_t = tile_fma_rows(dy_t, delta, rows, r, vload(wtp, o + r, 0), vload(wtp, o + r, W))
            # ∂y_i for the neurons i < l
            tile_store(dy, rows, i, l, dy_t)
    # δ_i = ∂y_i f'(u_i) on the block just computed (one pass: per tile it would cost more than the tile)
    derivative_block(delta_in, dy, u_in, y_in, code, t0 * TILE, min(t1 * TILE, N), p0 * 2 * W, min(p1 * 2 * W, l))


@njit(**JIT_SERIAL)
def dense_backward_dy_serial(delta_in, dy, delta, w, wtp, u_in, y_in, code):
    """∂y of the layer below and its δ on one thread: pack wᵀ, every tile.

    Notes
    -----
    ``∂y_i = Σ_r δ_r w_ir``, ``δ_i = ∂y_i f'(u_i)`` (``dense_backward_dy_tiles``).
    """
    (N, l), m = dy.shape, delta.shape[1]
    first, T, P = np.int64(0), tiles(N), panels(l, 2 * lane_count(dy))
    pack_wt(wtp, w, first, P)
    deltas = tiles_after(wtp, P * m, N, m) if PACK_BROADCAST else delta
    if PACK_BROADCAST:
        pack_tiles(deltas, delta, first, T)
    dense_backward_dy_tiles(delta_in, dy, deltas, wtp, u_in, y_in, code, first, T, first, P)


@njit(**JIT_PARALLEL)
def dense_backward_dy_parallel(delta_in, dy, delta, w, wtp, u_in, y_in, code):
    """∂y of the layer below and its δ on every thread.

    Notes
    -----
    ``∂y_i = Σ_r δ_r w_ir``, ``δ_i = ∂y_i f'(u_i)`` (``dense_backward_dy_tiles``).
    """
    (N, l), m = dy.shape, delta.shape[1]
    P, T = panels(l, 2 * lane_count(dy)), tiles(N)
    deltas = tiles_after(wtp, P * m, N, m) if PACK_BROADCAST else delta
    # wtp[p m + r, c] = w_2Wp+c,r; deltas = δ_s,r in tiles of samples if packed   (threads own panels, tiles)
    for k in prange(P):
        pack_wt(wtp, w, np.int64(k), k + 1)
        if PACK_BROADCAST:
            pack_tiles(deltas, delta, (T * k) // P, (T * (k + 1)) // P)
    KT, KP = blocks(T, P)
    # ∂y_i = Σ_r δ_r w_ir, δ_i = ∂y_i f'(u_i)   (threads own blocks of tiles of samples × panels of i)
    for k in prange(KT * KP):
        c, a = k // KT, k % KT
        dense_backward_dy_tiles(
            delta_in,
            dy,
            deltas,
            wtp,
            u_in,
            y_in,
            code,
            (T * a) // KT,
            (T * (a + 1)) // KT,
            (P * c) // KP,
            (P * (c + 1)) // KP,
        )


@njit(**JIT_PARALLEL)
def dense_backward_dw(dw, y, delta, scale):
    """Weight gradients of a layer, the mean over the batch.

    Parameters
    ----------
    dw : (l, m) array, out
        ``∂w_ij = ∂E/∂w_ij``.
    y : (N, l) array
        Outputs ``y_i`` of the layer below.
    delta : (N, m) array
        Deltas ``δ_j`` of this layer.
    scale : float
        ``1/N`` (the mean over the batch), of the arrays' dtype.

    Notes
    -----
    Inverts ``u_j = Σ_i y_i w_ij + b_j``: ``∂u_j/∂w_ij = y_i``, so ``∂w_ij = y_i δ_j``,
    here ``(1/N) Σ_s y_si δ_sj``.
    """
    N, l = y.shape
    m = delta.shape[1]
    # ∂w_ij = (1/N) Σ_s y_i δ_j   (threads own rows i of ∂w)
    for i in prange(l):
        for j in range(m):
            dw[i, j] = 0
        for s in range(N):
            y_i = y[s, i]
            for j in range(m):
                dw[i, j] += y_i * delta[s, j]
        for j in range(m):
            dw[i, j] *= scale


@njit(**JIT_SERIAL)
def pack_y(yp, y, s0, s1, tf):
    """Samples ``s0 ≤ s < s1`` of the layer below's outputs, in tiles ``t ≥ tf`` of R neurons i
    (for ∂w; the tiles before ``tf`` are read in place).

    Notes
    -----
    ``yp[t N + s, x] = y_s,i`` for ``i = min(Rt + x, l − 1)`` (the last neuron repeated past l).
    """
    N, l = y.shape
    full = l // TILE
    # yp[t N + s, x] = y_s,Rt+x   (row s read in order: R values per tile, then the last tile)
    for s in range(s0, s1):
        for t in range(tf, full):
            q, i = t * N, t * TILE
            for x in range(TILE):
                yp[q + s, x] = y[s, i + x]
        for t in range(full, tiles(l)):
            for x in range(TILE):
                yp[t * N + s, x] = y[s, min(t * TILE + x, l - 1)]


@njit(**JIT_SERIAL)
def pack_delta(dp, delta, s0, s1):
    """Samples ``s0 ≤ s < s1`` of the deltas, in panels of 2W neurons j (for ∂w).

    Notes
    -----
    ``dp[p N + s, c] = δ_s,j`` for ``j = 2Wp + c < m``, 0 past m.
    """
    N = delta.shape[0]
    # dp[p N + s, c] = δ_s,2Wp+c
    for s in range(s0, s1):
        pack_row(dp, s, N, delta, s, np.int64(0))


@njit(**JIT_SERIAL)
def bias_gradient(db, dp, scale, p0, p1):
    """The biases' gradients from the packed deltas, panels ``p0 ≤ p < p1``.

    Notes
    -----
    ``∂b_j… = scale · Σ_s δ_s,j…`` (each ∂b_j sums in sample order, as ``dense_backward_db``).
    """
    m = db.shape[0]
    N = dp.shape[0] // panels(m, 2 * lane_count(dp))
    W = lane_count(dp)
    k = vbroadcast(scale)
    # ∂b_j… = scale · Σ_s δ_s,j…   for each panel of j
    for p in range(p0, p1):
        j, o = p * 2 * W, p * N
        b0, b1 = vzero(dp), vzero(dp)
        for s in range(N):
            b0, b1 = vadd(b0, vload(dp, o + s, 0)), vadd(b1, vload(dp, o + s, W))
        vstore_part(db.reshape((1, m)), 0, j, vmul(b0, k), m - j)
        vstore_part(db.reshape((1, m)), 0, j + W, vmul(b1, k), m - j - W)


@njit(**JIT_SERIAL)
def dense_backward_dw_tiles(dw, ys, dp, scale, packed, t0, t1, p0, p1):
    """``dense_backward_dw`` on vector registers: tiles ``t0 ≤ t < t1`` of neurons i, panels
    ``p0 ≤ p < p1`` of neurons j.

    Parameters
    ----------
    dw : (l, m) array, out
        ``∂w_ij``.
    ys : (T N, R) or (N, l) array
        Outputs of the layer below: in tiles of R neurons i (``pack_y``) when ``packed``, else y
        itself (full tiles only).
    dp : (P N, 2W) array
        Deltas in panels of neurons j (``pack_delta``).
    scale : float
        ``1/N`` (or ``1/Σ_s c_s``), of the arrays' dtype.
    packed : int
        1 (``PACKED``) if ``ys`` is packed, 0 if not. A step of few samples or few panels reads y in place
        (``direct_tiles``) and packs only its last, partial tile.
    t0, t1, p0, p1 : int
        Tiles and panels.

    Notes
    -----
    Inverts ``u_j = Σ_i y_i w_ij + b_j``: ``∂w_i,j… = scale · Σ_s y_si · δ_s,j…`` for R neurons i
    and 2 vectors of neurons j at a time.
    """
    l, m = dw.shape
    N = dp.shape[0] // panels(m, 2 * lane_count(dw))
    W = lane_count(dw)
    k = vbroadcast(scale)
    # ∂w_i,j… = scale · Σ_s y_si · δ_s,j…   for each panel of j, each tile of neurons i
    for p in range(p0, p1):
        j, o = p * 2 * W, p * N  # the panel's first neuron j, its first row in dp
        for t in range(t0, t1):
            # neurons i … i+R−1 (the last one repeated past l); their y_si are row r + s of ys from column c
            i = t * TILE
            r, c = (t * N, np.int64(0)) if packed else (np.int64(0), i)
            # ∂w_i,j… = 0
            dw_t = tile_of(vzero(dw), vzero(dw))
            # ∂w_i,j… += y_si · δ_s,j…   for s = 0 … N−1
            for s in range(N):
                dw_t = tile_fma_cols(dw_t, ys, r + s, c, vload(dp, o + s, 0), vload(dp, o + s, W))
            # ∂w_ij = scale · Σ_s y_si δ_sj for the neurons j < m
            tile_store(dw, tile_rows(i, l), j, m, tile_times(dw_t, k))


@njit(**JIT_SERIAL)
def direct_tiles(N, l, P):
    """Full tiles of neurons i that a ∂w step of N samples and P panels reads in place (the rest
    it packs): all of them when N ≤ 32 or P ≤ 2, else none.

    A packed tile of y is read once per panel; with few panels, packing costs more than it saves,
    and with more panels reading in place loses: the N rows of y, a row's length apart, crowd a
    few sets of the cache. The measured pairs, in place against packed, are in
    docs/performance.md.

    Notes
    -----
    ``td = ⌊l / R⌋`` if ``N ≤ DIRECT_SAMPLES`` or ``P ≤ DIRECT_PANELS``, else 0.
    """
    return l // TILE if N <= DIRECT_SAMPLES or P <= DIRECT_PANELS else 0


@njit(**JIT_SERIAL)
def dense_backward_dw_serial(dw, db, y, delta, yp, dp, scale):
    """∂w and ∂b of a layer on one thread: pack, ∂b, every tile.

    Notes
    -----
    ``∂w_ij = scale Σ_s y_si δ_sj`` (``dense_backward_dw_tiles``), ``∂b_j = scale Σ_s δ_sj``.
    """
    N, (l, m) = y.shape[0], dw.shape
    first, P = np.int64(0), panels(m, 2 * lane_count(dw))
    td = direct_tiles(N, l, P)  # full tiles read in place
    pack_y(yp, y, first, N, td)
    pack_delta(dp, delta, first, N)
    bias_gradient(db, dp, scale, first, P)
    dense_backward_dw_tiles(dw, y, dp, scale, first, first, td, first, P)
    dense_backward_dw_tiles(dw, yp, dp, scale, PACKED, td, tiles(l), first, P)


@njit(**JIT_PARALLEL)
def dense_backward_dw_parallel(dw, db, y, delta, yp, dp, scale):
    """∂w and ∂b of a layer on every thread.

    Notes
    -----
    ``∂w_ij = scale Σ_s y_si δ_sj`` (``dense_backward_dw_tiles``), ``∂b_j = scale Σ_s δ_sj``.
    """
    N, (l, m) = y.shape[0], dw.shape
    T, P, rows = tiles(l), panels(m, 2 * lane_count(dw)), TILE * BLOCK_TILES
    td = direct_tiles(N, l, P)  # full tiles read in place
    # yp, dp = the tiles t ≥ td of y and the panels of δ   (threads own samples s)
    for c in prange((N + rows - 1) // rows):
        pack_y(yp, y, c * rows, min(N, (c + 1) * rows), td)
        pack_delta(dp, delta, c * rows, min(N, (c + 1) * rows))
    # ∂b_j = scale Σ_s δ_sj   (threads own panels of neurons j)
    for p in prange(P):
        bias_gradient(db, dp, scale, np.int64(p), p + 1)
    KT, KP = blocks(T, P)
    # ∂w_ij = scale Σ_s y_si δ_sj   (threads own blocks of tiles of neurons i × panels of j)
    for k in prange(KT * KP):
        c, a = k // KT, k % KT
        t0, t1, p0, p1 = (T * a) // KT, (T * (a + 1)) // KT, (P * c) // KP, (P * (c + 1)) // KP
        dense_backward_dw_tiles(dw, y, dp, scale, np.int64(0), t0, min(t1, td), p0, p1)
        dense_backward_dw_tiles(dw, yp, dp, scale, PACKED, max(t0, td), t1, p0, p1)


@njit(**JIT_PARALLEL)
def dense_backward_db(db, delta, scale):
    """Bias gradients of a layer, the mean over the batch.

    Parameters
    ----------
    db : (m,) array, out
        ``∂b_j = ∂E/∂b_j``.
    delta : (N, m) array
        Deltas ``δ_j`` of this layer.
    scale : float
        ``1/N``, of the arrays' dtype.

    Notes
    -----
    ``∂u_j/∂b_j = 1``, so ``∂b_j = δ_j``, here ``(1/N) Σ_s δ_sj``.
    """
    N, m = delta.shape
    zero = delta.dtype.type(0)
    # ∂b_j = (1/N) Σ_s δ_j   (threads own neurons j)
    for j in prange(m):
        acc = zero
        for s in range(N):
            acc += delta[s, j]
        db[j] = acc * scale
