"""Where a dense kernel's time goes, part by part, next to OpenBLAS's gemm on the same shapes.

Run: python benchmarks/dense_parts.py [--repeats 5] [--threads 1,2] [--dtypes float32,float64] [--n 1024]
[--batch 256] [--steps forward,dy,dw] [--chunksize 1]

For each step (forward, ∂y, ∂w), each dtype and each thread count, at n × n weights and a batch
of n (or ``--batch``), the script times in turns (one call of each per round, ``perf_targets.in_turns``):

- ``blas``: NumPy's matrix product of the same shapes (``y @ w``, ``δ @ wᵀ``, ``yᵀ @ δ``);
- ``whole``: the driver a training step calls (``dense_*_parallel``), packing included;
- ``pack``: its packing loop alone (``pack_w``, ``pack_wt``, ``pack_y`` + ``pack_delta``; and
  ``pack_tiles`` of y or δ where the host packs the broadcast operand, ``dense.PACK_BROADCAST``),
  and ∂w's bias gradient (``bias_gradient``, as ``bias``);
- ``blocks``: its compute loop alone over the packed operands, the driver's blocks of tiles ×
  panels on the threads, with the epilogue (forward and ∂y: the activation pass of each block,
  identity here; ∂w: the scaling by 1/N, in the tile);
- ``epilogue``: forward's and ∂y's activation pass alone, over the same blocks (identity: one
  load and one store per element, the cheapest; ReLU costs about as much);
- ``tile``: the tile loop alone, no epilogue, on the same blocks (the register tile with the
  kernel's packed panels, as ``docs/register_tiles.md`` describes it); forward and ∂y read their
  broadcast operand (y, δ) in place here, R rows side by side;
- ``packed``: forward and ∂y, the same tile loop with the broadcast operand packed beforehand
  into tiles of R samples (``ys[t l + i, x] = y_Rt+x,i``, ``dense.pack_tiles``), read with
  ``tile_fma_cols``.

Each part is printed in ms and as a share of BLAS's time (BLAS's time over the part's, as
``perf_targets`` prints the kernels: 100 % is as fast as OpenBLAS), with the CPU and the load.
``whole − pack − blocks`` is the cost of the driver's thread launches and of the parts' order.
"""

import argparse
import os
import platform

import llvmlite.binding as llvm
import numba
import numpy as np
from numba import njit, prange
from perf_targets import in_turns, set_threads
from threadpoolctl import threadpool_limits

from nbmlp._config import JIT_PARALLEL
from nbmlp.kernels import activations, dense, lanes, tiles
from nbmlp.kernels.lanes import lane_count, vbroadcast, vload, vzero
from nbmlp.kernels.tiles import tile_fma_cols, tile_fma_rows, tile_of, tile_rows, tile_store, tile_times


@njit
def cut(k, T, P, KT, KP):
    """Tiles and panels of block k of a driver's ``blocks(T, P)`` cut."""
    c, a = k // KT, k % KT
    return (T * a) // KT, (T * (a + 1)) // KT, (P * c) // KP, (P * (c + 1)) // KP


# -- the packing loops of the drivers, alone ------------------------------------------------
@njit(**JIT_PARALLEL)
def forward_pack(wp, ys, w, b, y):
    l = w.shape[0]
    rows, T = dense.TILE * dense.BLOCK_TILES, dense.tiles(y.shape[0])
    G = (l + rows) // rows
    for k in prange(G):
        dense.pack_w(wp, w, b, k * rows, min(l + 1, (k + 1) * rows), np.int64(0))
        if dense.PACK_BROADCAST:
            dense.pack_tiles(ys, y, (T * k) // G, (T * (k + 1)) // G)


@njit(**JIT_PARALLEL)
def dy_pack(wtp, deltas, w, delta):
    P, T = dense.panels(w.shape[0], 2 * lane_count(w)), dense.tiles(delta.shape[0])
    for k in prange(P):
        dense.pack_wt(wtp, w, np.int64(k), k + 1)
        if dense.PACK_BROADCAST:
            dense.pack_tiles(deltas, delta, (T * k) // P, (T * (k + 1)) // P)


@njit(**JIT_PARALLEL)
def dw_pack(yp, dp, y, delta):
    N, l = y.shape
    rows = dense.TILE * dense.BLOCK_TILES
    td = dense.direct_tiles(N, l, dense.panels(delta.shape[1], 2 * lane_count(y)))
    for c in prange((N + rows - 1) // rows):
        dense.pack_y(yp, y, c * rows, min(N, (c + 1) * rows), td)
        dense.pack_delta(dp, delta, c * rows, min(N, (c + 1) * rows))


@njit(**JIT_PARALLEL)
def dw_bias(db, dp, scale):
    P = dense.panels(db.shape[0], 2 * lane_count(dp))
    for p in prange(P):
        dense.bias_gradient(db, dp, scale, np.int64(p), p + 1)


# -- the compute loops of the drivers over packed operands, alone ----------------------------
@njit(**JIT_PARALLEL)
def forward_blocks(y_out, u, y, wp, code):
    N, m = u.shape
    T, P = dense.tiles(N), dense.panels(m, 2 * lane_count(u))
    KT, KP = dense.blocks(T, P)
    for k in prange(KT * KP):
        t0, t1, p0, p1 = cut(k, T, P, KT, KP)
        dense.dense_forward_tiles(y_out, u, y, wp, code, t0, t1, p0, p1)


@njit(**JIT_PARALLEL)
def dy_blocks(delta_in, dy, delta, wtp, code):
    N, l = dy.shape
    T, P = dense.tiles(N), dense.panels(l, 2 * lane_count(dy))
    KT, KP = dense.blocks(T, P)
    for k in prange(KT * KP):
        t0, t1, p0, p1 = cut(k, T, P, KT, KP)
        dense.dense_backward_dy_tiles(delta_in, dy, delta, wtp, dy, dy, code, t0, t1, p0, p1)


@njit(**JIT_PARALLEL)
def dw_blocks(dw, y, yp, dp, scale):
    N, (l, m) = y.shape[0], dw.shape
    T, P = dense.tiles(l), dense.panels(m, 2 * lane_count(dw))
    td = dense.direct_tiles(N, l, P)
    KT, KP = dense.blocks(T, P)
    for k in prange(KT * KP):
        t0, t1, p0, p1 = cut(k, T, P, KT, KP)
        dense.dense_backward_dw_tiles(dw, y, dp, scale, np.int64(0), t0, min(t1, td), p0, p1)
        dense.dense_backward_dw_tiles(dw, yp, dp, scale, dense.PACKED, max(t0, td), t1, p0, p1)


@njit(**JIT_PARALLEL)
def forward_epilogue(y_out, u, code):
    N, m = u.shape
    T, P, W = dense.tiles(N), dense.panels(m, 2 * lane_count(u)), lane_count(u)
    KT, KP = dense.blocks(T, P)
    for k in prange(KT * KP):
        t0, t1, p0, p1 = cut(k, T, P, KT, KP)
        activations.activation_block(
            y_out, u, code, t0 * dense.TILE, min(t1 * dense.TILE, N), p0 * 2 * W, min(p1 * 2 * W, m)
        )


# -- the tile loops alone: the kernels' loops without their epilogue -------------------------
@njit(**JIT_PARALLEL)
def forward_tile(u, y, wp):
    (N, m), l = u.shape, y.shape[1]
    T, P, W = dense.tiles(N), dense.panels(m, 2 * lane_count(u)), lane_count(u)
    KT, KP = dense.blocks(T, P)
    for k in prange(KT * KP):
        t0, t1, p0, p1 = cut(k, T, P, KT, KP)
        for p in range(p0, p1):
            j, o = p * 2 * W, p * (l + 1)
            for t in range(t0, t1):
                rows = tile_rows(t * dense.TILE, N)
                u_t = tile_of(vload(wp, o + l, 0), vload(wp, o + l, W))
                for i in range(l):
                    u_t = tile_fma_rows(u_t, y, rows, i, vload(wp, o + i, 0), vload(wp, o + i, W))
                tile_store(u, rows, j, m, u_t)


@njit(**JIT_PARALLEL)
def dy_tile(dy, delta, wtp):
    (N, l), m = dy.shape, delta.shape[1]
    T, P, W = dense.tiles(N), dense.panels(l, 2 * lane_count(dy)), lane_count(dy)
    KT, KP = dense.blocks(T, P)
    for k in prange(KT * KP):
        t0, t1, p0, p1 = cut(k, T, P, KT, KP)
        for p in range(p0, p1):
            i, o = p * 2 * W, p * m
            for t in range(t0, t1):
                rows = tile_rows(t * dense.TILE, N)
                dy_t = tile_of(vzero(dy), vzero(dy))
                for r in range(m):
                    dy_t = tile_fma_rows(dy_t, delta, rows, r, vload(wtp, o + r, 0), vload(wtp, o + r, W))
                tile_store(dy, rows, i, l, dy_t)


@njit(**JIT_PARALLEL)
def dy_tile_packed(dy, dt, wtp):
    N, l = dy.shape
    T, P, W = dense.tiles(N), dense.panels(l, 2 * lane_count(dy)), lane_count(dy)
    m = dt.shape[0] // T
    KT, KP = dense.blocks(T, P)
    for k in prange(KT * KP):
        t0, t1, p0, p1 = cut(k, T, P, KT, KP)
        for p in range(p0, p1):
            i, o = p * 2 * W, p * m
            for t in range(t0, t1):
                dy_t = tile_of(vzero(dy), vzero(dy))
                for r in range(m):
                    dy_t = tile_fma_cols(dy_t, dt, t * m + r, np.int64(0), vload(wtp, o + r, 0), vload(wtp, o + r, W))
                tile_store(dy, tile_rows(t * dense.TILE, N), i, l, dy_t)


@njit(**JIT_PARALLEL)
def dw_tile(dw, yp, dp, scale):
    # every tile of y packed: a batch over 32 samples and more than 2 panels (``dense.direct_tiles``)
    l, m = dw.shape
    N = yp.shape[0] // dense.tiles(l)
    T, P, W = dense.tiles(l), dense.panels(m, 2 * lane_count(dw)), lane_count(dw)
    KT, KP = dense.blocks(T, P)
    for k in prange(KT * KP):
        t0, t1, p0, p1 = cut(k, T, P, KT, KP)
        for p in range(p0, p1):
            j, o = p * 2 * W, p * N
            for t in range(t0, t1):
                dw_t = tile_of(vzero(dw), vzero(dw))
                for s in range(N):
                    dw_t = tile_fma_cols(dw_t, yp, t * N + s, np.int64(0), vload(dp, o + s, 0), vload(dp, o + s, W))
                tile_store(dw, tile_rows(t * dense.TILE, l), j, m, tile_times(dw_t, vbroadcast(scale)))


@njit(**JIT_PARALLEL)
def forward_tile_packed(u, yt, wp):
    N, m = u.shape
    T, P, W = dense.tiles(N), dense.panels(m, 2 * lane_count(u)), lane_count(u)
    l = yt.shape[0] // T
    KT, KP = dense.blocks(T, P)
    for k in prange(KT * KP):
        t0, t1, p0, p1 = cut(k, T, P, KT, KP)
        for p in range(p0, p1):
            j, o = p * 2 * W, p * (l + 1)
            for t in range(t0, t1):
                u_t = tile_of(vload(wp, o + l, 0), vload(wp, o + l, W))
                for i in range(l):
                    u_t = tile_fma_cols(u_t, yt, t * l + i, np.int64(0), vload(wp, o + i, 0), vload(wp, o + i, W))
                tile_store(u, tile_rows(t * dense.TILE, N), j, m, u_t)


def tiles_of_samples(y):
    """``yt[t l + i, x] = y_min(Rt+x, N−1),i``: y in tiles of R samples, R values side by side."""
    yt = np.empty((dense.tiles(y.shape[0]) * y.shape[1], dense.TILE), y.dtype)
    dense.pack_tiles(yt, y, 0, dense.tiles(y.shape[0]))
    return yt


def parts(dtype, n, N):
    """The contenders of each step (n × n weights, a batch of N): name → {part: function}, and the
    arrays they read and write (by name)."""
    rng = np.random.default_rng(0)
    w = rng.standard_normal((n, n)).astype(dtype)
    y, delta = (rng.standard_normal((N, n)).astype(dtype) for _ in range(2))
    b, scale = np.zeros(n, dtype), dtype(1) / dtype(N)
    u, y_out, dy, d_in = (np.empty((N, n), dtype) for _ in range(4))
    dw, db = np.empty((n, n), dtype), np.empty(n, dtype)
    nr = 2 * lanes.lanes_for(dtype)
    P = np.empty(dense.pack_elements(n, n, N, nr), dtype)
    wp, wtp, (yp, dp) = dense.forward_packing(P, n, n), dense.dy_packing(P, n, n), dense.dw_packing(P, N, n, n)
    ident = activations.IDENTITY
    yt, dt = tiles_of_samples(y), tiles_of_samples(delta)
    # the operands the kernels' tiles read: y and δ in place, or in tiles of samples in the packed space
    packed = dense.PACK_BROADCAST
    pn = dense.panels(n, nr)
    ys = dense.tiles_after(wp, pn * (n + 1), N, n) if packed else y
    deltas = dense.tiles_after(wtp, pn * n, N, n) if packed else delta
    arrays = dict(y=y, w=w, b=b, delta=delta, u=u, dy=dy, dw=dw)
    # each step's packed operands hold the packing of that step when its parts run (they share P)
    return arrays, {
        "forward": {
            "blas": lambda: y @ w,
            "whole": lambda: dense.dense_forward_parallel(y_out, u, y, w, b, wp, ident),
            "pack": lambda: forward_pack(wp, ys, w, b, y),
            "blocks": lambda: forward_blocks(y_out, u, ys, wp, ident),
            "epilogue": lambda: forward_epilogue(y_out, u, ident),
            "tile": lambda: forward_tile(u, y, wp),
            "packed": lambda: forward_tile_packed(u, yt, wp),
        },
        "dy": {
            "blas": lambda: delta @ w.T,
            "whole": lambda: dense.dense_backward_dy_parallel(d_in, dy, delta, w, wtp, y, y, ident),
            "pack": lambda: dy_pack(wtp, deltas, w, delta),
            "blocks": lambda: dy_blocks(d_in, dy, deltas, wtp, ident),
            "epilogue": lambda: forward_epilogue(d_in, dy, ident),
            "tile": lambda: dy_tile(dy, delta, wtp),
            "packed": lambda: dy_tile_packed(dy, dt, wtp),
        },
        "dw": {
            "blas": lambda: y.T @ delta,
            "whole": lambda: dense.dense_backward_dw_parallel(dw, db, y, delta, yp, dp, scale),
            "pack": lambda: dw_pack(yp, dp, y, delta),
            "bias": lambda: dw_bias(db, dp, scale),
            "blocks": lambda: dw_blocks(dw, y, yp, dp, scale),
            "tile": lambda: dw_tile(dw, yp, dp, scale),
        },
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", default="1,2")
    parser.add_argument("--dtypes", default="float32,float64")
    parser.add_argument("--n", type=int, default=1024, help="neurons of both layers")
    parser.add_argument("--batch", type=int, default=0, help="samples (default: n)")
    parser.add_argument("--steps", default="forward,dy,dw")
    parser.add_argument(
        "--chunksize", type=int, default=0, help="numba.set_parallel_chunksize (0: Numba's static split)"
    )
    args = parser.parse_args()
    numba.set_parallel_chunksize(args.chunksize)
    cpu = platform.processor() or platform.machine()
    print(
        f"cpu: {cpu}, LLVM {llvm.get_host_cpu_name()}, {os.cpu_count()} cpus, float32 lanes {lanes.LANES32}, "
        f"tile rows {tiles.ROWS}, broadcast operand packed {dense.PACK_BROADCAST}; numpy {np.__version__}; "
        f"load {os.getloadavg()[0]:.2f}; parallel chunk size {args.chunksize}; "
        f"n = {args.n}, batch {args.batch or args.n}, repeats {args.repeats} (medians)"
    )
    print("ms, and BLAS's time over the part's (100 % = as fast as OpenBLAS's whole product)")
    for th in (int(t) for t in args.threads.split(",")):
        with threadpool_limits(th):
            set_threads(th)
            for dt in args.dtypes.split(","):
                _, steps = parts(np.dtype(dt).type, args.n, args.batch or args.n)
                for step, fns in steps.items():
                    if step not in args.steps.split(","):
                        continue
                    for fn in fns.values():  # compile, and warm the caches
                        fn()
                    t = in_turns(fns, args.repeats)
                    cells = [f"{k} {t[k] * 1e3:.2f} ({t.ratio('blas', k):.0%})" for k in fns if k != "blas"]
                    print(f"{th} thread(s) {dt:<8}{step:<8} blas {t['blas'] * 1e3:.2f}: " + ", ".join(cells))
    print(f"threading layer {numba.threading_layer()}; load at end: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
