"""Register tiles: R rows × 2 vectors of sums kept in vector registers while the summed index runs.

Why: a dense step's inner loop loads two vectors of its vector operand and multiplies each by one
value of each of the tile's R rows, ``acc_x,h += a_x · v_h`` (``dense``'s ``u_s,j… += y_si ·
w_i,j…`` for the R samples s of a tile and the two vectors of neurons j of a panel). Each vector
load then feeds R multiply-adds and each broadcast value 2, so the larger R, the fewer loads per
multiply-add; but the 2R sums must stay in registers, with the two vectors of the panel and the
broadcast value beside them (BLAS kernels are built the same way: BLIS's 6 × 16 haswell sgemm tile
on AVX2's 16 registers, its skx tiles of 24 sums on AVX-512's 32).

``ROWS = (registers − 3) // 2``: 6 rows (12 sums) for 16 vector registers (AVX, AVX2), 14 rows (28
sums) for 32 (AVX-512), ``lanes.REGISTERS`` giving the count (``NBMLP_REGISTERS`` forces it, for
the tests). The row count is a constant of the compiled code, like the lane count: one tile shape
is compiled per run, the host's.

A tile is a tuple of 2R vectors (``acc[2x + h]``, row x, vector h), written by the intrinsics
below: Numba passes the tuple from one step of the loop to the next as one value, which LLVM splits
into its 2R registers (no memory: the inner loop has no stack loads or stores). The formula is
written once, in the kernel, as a call: ``u = tile_fma_rows(u, y, rows, i, w0, w1)`` is
``u_s,j… += y_si · w_i,j…`` for every sample s of the tile; the R rows are unrolled here, when the
intrinsic is compiled.

Every sum is the same chain of multiply-adds (one rounding each, ``llvm.fma``) in the order of its
summed index, whatever R is: the tile shape changes the speed, not the result.
"""

from llvmlite import ir
from numba import types
from numba.core import cgutils
from numba.extending import intrinsic

from .lanes import REGISTERS, Lanes, _row_array, _splat, _store_part, lanes_of


def rows_for(registers):
    """Rows of a tile for ``registers`` vector registers: 2R sums, 2 vectors of the panel and the
    broadcast value fit, ``R = (registers − 3) // 2`` (6 for 16, 14 for 32)."""
    return (registers - 3) // 2


ROWS = rows_for(REGISTERS)


def _tile(vt):
    """The Numba type of a tile of ``vt`` vectors: a tuple of 2R of them."""
    return types.UniTuple(vt, 2 * ROWS)


def _index(context, builder, ty, value):
    return context.cast(builder, value, ty, types.intp)


def _element(context, builder, aryty, ary, r, c):
    """Pointer to ``ary[r, c]`` (``r, c`` intp values)."""
    return cgutils.get_item_pointer(context, builder, aryty, context.make_array(aryty)(context, builder, ary), [r, c])


@intrinsic
def tile_rows(typingctx, s, n):
    """The R rows of a tile that starts at row s of n: s … s+R−1, the last row repeated past n
    (a repeated row computes and stores the same values again).

    ``rows_x = min(s + x, n − 1)`` for x = 0 … R−1.
    """
    if not (isinstance(s, types.Integer) and isinstance(n, types.Integer)):
        return None

    def codegen(context, builder, sig, args):
        s, n = (_index(context, builder, t, v) for t, v in zip(sig.args, args))
        last = builder.sub(n, context.get_constant(types.intp, 1))
        rows = []
        for x in range(ROWS):
            r = builder.add(s, context.get_constant(types.intp, x))
            rows.append(builder.select(builder.icmp_signed("<", r, last), r, last))
        return context.make_tuple(builder, sig.return_type, rows)

    return types.UniTuple(types.intp, ROWS)(s, n), codegen


@intrinsic
def tile_of(typingctx, v0, v1):
    """A tile whose every row holds ``v0, v1``: ``acc_x,0 = v0``, ``acc_x,1 = v1``."""
    if not isinstance(v0, Lanes) or v0 != v1:
        return None

    def codegen(context, builder, sig, args):
        return context.make_tuple(builder, sig.return_type, list(args) * ROWS)

    return _tile(v0)(v0, v1), codegen


def _fma_tile(context, builder, sig, args, at):
    """IR of ``acc_x,h = a_x · v_h + acc_x,h`` (one FMA each), ``a_x`` the value at the pointer
    ``at(x)`` in every lane: row by row, the broadcast next to its two multiply-adds."""
    acc, v0, v1 = args[0], args[4], args[5]
    vt = sig.args[4]
    ty = context.get_value_type(vt)
    fn = cgutils.get_or_insert_function(
        builder.module, ir.FunctionType(ty, [ty] * 3), f"llvm.fma.v{vt.count}f{vt.dtype.bitwidth}"
    )
    out = []
    for x in range(ROWS):
        a_x = _splat(builder, ty, builder.load(at(x)))
        for h, v in enumerate((v0, v1)):
            out.append(builder.call(fn, [a_x, v, builder.extract_value(acc, 2 * x + h)]))
    return context.make_tuple(builder, sig.return_type, out)


def _fma_types(acc, a, v0, v1):
    vt = lanes_of(a.dtype) if _row_array(a) else None
    return vt is not None and v0 == v1 == vt and acc == _tile(vt)


@intrinsic
def tile_fma_rows(typingctx, acc, a, rows, c, v0, v1):
    """``acc_x,h += a[rows_x, c] · v_h``: one step of a tile's sums, a value of each of its rows
    (``rows`` from ``tile_rows``) in column c of ``a`` times each of the two vectors."""
    if not (_fma_types(acc, a, v0, v1) and rows == types.UniTuple(types.intp, ROWS) and isinstance(c, types.Integer)):
        return None

    def codegen(context, builder, sig, args):
        c = _index(context, builder, sig.args[3], args[3])

        def at(x):
            return _element(context, builder, sig.args[1], args[1], builder.extract_value(args[2], x), c)

        return _fma_tile(context, builder, sig, args, at)

    return acc(acc, a, rows, c, v0, v1), codegen


@intrinsic
def tile_fma_cols(typingctx, acc, a, r, c, v0, v1):
    """``acc_x,h += a[r, c + x] · v_h``: one step of a tile's sums, the R values of its rows side
    by side in row r of ``a`` from column c (a packed tile, or R consecutive neurons)."""
    if not (_fma_types(acc, a, v0, v1) and isinstance(r, types.Integer) and isinstance(c, types.Integer)):
        return None

    def codegen(context, builder, sig, args):
        r = _index(context, builder, sig.args[2], args[2])
        c = _index(context, builder, sig.args[3], args[3])

        def at(x):
            cx = builder.add(c, context.get_constant(types.intp, x))
            return _element(context, builder, sig.args[1], args[1], r, cx)

        return _fma_tile(context, builder, sig, args, at)

    return acc(acc, a, r, c, v0, v1), codegen


@intrinsic
def tile_times(typingctx, acc, k):
    """``acc_x,h · k`` for every vector of the tile (``k`` a vector)."""
    if not (isinstance(k, Lanes) and acc == _tile(k)):
        return None

    def codegen(context, builder, sig, args):
        out = [builder.fmul(builder.extract_value(args[0], q), args[1]) for q in range(2 * ROWS)]
        return context.make_tuple(builder, sig.return_type, out)

    return acc(acc, k), codegen


@intrinsic
def tile_store(typingctx, a, rows, c, n, acc):
    """``a[rows_x, c…] = acc_x,0`` and ``a[rows_x, c+W…] = acc_x,1``, the columns before n only
    (``lanes.vstore_part``), the last row first: a row repeated past the end stores the values of
    the first of its copies last, which are the same."""
    if not (
        _row_array(a)
        and acc == _tile(lanes_of(a.dtype))
        and rows == types.UniTuple(types.intp, ROWS)
        and isinstance(c, types.Integer)
        and isinstance(n, types.Integer)
    ):
        return None
    W = lanes_of(a.dtype).count

    def codegen(context, builder, sig, args):
        aryty, ary = sig.args[0], args[0]
        c = _index(context, builder, sig.args[2], args[2])
        k = builder.sub(_index(context, builder, sig.args[3], args[3]), c)
        for x in reversed(range(ROWS)):
            r = builder.extract_value(args[1], x)
            for h in (0, 1):
                hw = context.get_constant(types.intp, h * W)  # vector h starts h·W columns on
                at = _element(context, builder, aryty, ary, r, builder.add(c, hw))
                _store_part(context, builder, aryty, at, builder.extract_value(args[4], 2 * x + h), builder.sub(k, hw))
        return context.get_dummy_value()

    return types.none(a, rows, c, n, acc), codegen
