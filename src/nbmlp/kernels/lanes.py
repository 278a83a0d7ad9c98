"""Vector registers for the kernels: a lane type and the intrinsics that work on it.

Why: LLVM vectorizes a loop that Numba compiles only where it can prove the loop is a plain
reduction or map; it will not keep a tile of sums such as ``u_s,j…`` for six samples and two
vectors of neurons j in registers while the summed index i runs (the register blocking that
BLAS kernels are made of). Numba has no vector type, so this module gives it one:

- ``Lanes(dtype, count)`` is a Numba type whose data model is LLVM's ``<count x float>`` (or
  ``double``): a value of it lives in one vector register (``ymm`` on AVX2, ``zmm`` on AVX-512).
- The intrinsics emit the LLVM instructions directly: ``vload``/``vstore`` (a vector of
  consecutive elements of an array's row), ``vload_part``/``vstore_part`` (the first n lanes only,
  for the last neurons of a row: a masked load; a masked store on AVX-512, else plain stores of
  W/2, W/4, …, 1 lanes, as AVX2's masked store is slow on AMD), ``vbroadcast`` (one value in every lane;
  ``vbroadcast_at`` one element of an array),
  ``vzero``, ``vfma`` (``a·b + c`` lane-wise, ``llvm.fma``: one rounding), ``vadd``, ``vsub``,
  ``vmul``, ``vdiv``, ``vlane`` (one lane as a scalar), ``vsum`` (the horizontal sum, lanes added
  in order; ``vsum_part`` of the first n lanes), ``vwhere_greater`` (``a if x > y else b`` per
  lane: the ReLU family) and ``vtranspose`` (a W × W block copied transposed, through log₂ W
  rounds of lane interleaves).
- Numba's fastmath flags (``_config``) reach these instructions too, so LLVM may contract a
  product and a sum, or reorder a chain of products, and not always in the same way on a full
  vector and a partial one: a formula whose bits must not depend on the lane count is written
  with no such freedom left (a chain as one explicit ``vfma``, e.g. the derivatives of σ and tanh).
- ``vexp`` and ``vtanh`` compute ``e^x`` and ``tanh x`` in every lane at once (Cephes' polynomials,
  within 2 ulp of NumPy's): the activations and the softmax would otherwise call the C library
  once per value, which costs more than the layer's sums at small widths (docs/performance.md).

The lane count is chosen once, at import, from the host CPU: 16 float32 (8 float64) lanes with
AVX-512, 8 (4) with AVX or AVX2, otherwise 4 (2). ``NBMLP_LANES=4|8|16`` forces the float32 count
(float64 gets half), so the tests can run every width on any machine (LLVM splits a vector wider
than the machine's registers into several). Every lane of a kernel computes its own element's
sum in the same order, so the width changes the speed, not the result.

The number of vector registers is chosen the same way: 32 with AVX-512, otherwise 16 (and 16 on
AMD's Zen 4, where the larger tile measured slower); ``NBMLP_REGISTERS=16|32`` forces it. It sizes
the register tiles (``tiles.ROWS``): how many sums a tile keeps in registers while its summed
index runs.
"""

import numpy as np
from llvmlite import ir
from numba import types
from numba.core import cgutils
from numba.extending import intrinsic, models, register_model

from .._cpu import (  # noqa: F401 - the shapes the kernels are compiled for, chosen in _cpu
    HOST_FEATURES,
    LANES32,
    LANES64,
    LANES_VARIABLE,
    NATIVE,
    REGISTER_COUNTS,
    REGISTERS,
    REGISTERS_VARIABLE,
    TILES_AS_16,
    WIDTHS,
    chosen_lanes,
    chosen_registers,
    host_lanes,
    host_registers,
)

# a partial vector is stored with a mask register only on AVX-512 (``vstore_part``)
MASKED_STORES = bool(HOST_FEATURES.get("avx512f", False))


def lanes_for(dtype):
    """Lanes of a vector of ``dtype`` (NumPy float32 or float64), for sizing buffers in Python."""
    return LANES32 if np.dtype(dtype) == np.float32 else LANES64


class Lanes(types.Type):
    """A vector of ``count`` values of ``dtype`` (float32 or float64), held in one register."""

    def __init__(self, dtype, count):
        self.dtype, self.count = dtype, count
        super().__init__(name=f"Lanes({dtype}x{count})")


@register_model(Lanes)
class LanesModel(models.PrimitiveModel):
    """``Lanes(dtype, count)`` is LLVM's ``<count x dtype>``."""

    def __init__(self, dmm, fe_type):
        super().__init__(dmm, fe_type, ir.VectorType(dmm.lookup(fe_type.dtype).get_value_type(), fe_type.count))


def lanes_of(dtype):
    """The ``Lanes`` type of a Numba float type (None for any other type)."""
    if dtype == types.float32:
        return Lanes(types.float32, LANES32)
    if dtype == types.float64:
        return Lanes(types.float64, LANES64)
    return None


def _row_array(a):
    """Whether ``a`` is a 2-D float array whose rows are contiguous (C layout, or a C view)."""
    return isinstance(a, types.Array) and a.ndim == 2 and a.layout == "C" and lanes_of(a.dtype) is not None


def _item(context, builder, sig, args):
    """Pointer to ``a[r, c]`` (``a, r, c`` the intrinsic's first three arguments)."""
    aryty, ary = sig.args[0], context.make_array(sig.args[0])(context, builder, args[0])
    r, c = (context.cast(builder, args[k], sig.args[k], types.intp) for k in (1, 2))
    return cgutils.get_item_pointer(context, builder, aryty, ary, [r, c])


def _pointer(context, builder, sig, args):
    """Pointer to ``a[r, c]`` as a pointer to the lane vector."""
    vt = context.get_value_type(lanes_of(sig.args[0].dtype))
    return builder.bitcast(_item(context, builder, sig, args), vt.as_pointer())


@intrinsic
def lane_count(typingctx, a):
    """Lanes of a vector of ``a``'s dtype (``a`` an array or a scalar): a compile-time constant."""
    dtype = a.dtype if isinstance(a, types.Array) else a
    vt = lanes_of(dtype)
    if vt is None:
        return None

    def codegen(context, builder, sig, args):
        return context.get_constant(types.intp, vt.count)

    return types.intp(a), codegen


@intrinsic
def vload(typingctx, a, r, c):
    """``a[r, c : c + W]`` as a vector (the row's elements must exist)."""
    if not _row_array(a):
        return None
    vt = lanes_of(a.dtype)

    def codegen(context, builder, sig, args):
        ptr = _pointer(context, builder, sig, args)
        return builder.load(ptr, align=sig.args[0].dtype.bitwidth // 8)

    return vt(a, r, c), codegen


def _first_lanes(context, builder, n, W):
    """The mask ``q < n`` of the lanes q = 0 … W−1 (``n`` an intp value)."""
    i64 = ir.IntType(64)
    lanes = ir.Constant(ir.VectorType(i64, W), list(range(W)))
    bound = builder.insert_element(
        ir.Constant(ir.VectorType(i64, W), ir.Undefined),
        builder.sext(n, i64) if n.type != i64 else n,
        ir.Constant(ir.IntType(32), 0),
    )
    bound = builder.shuffle_vector(
        bound, ir.Constant(ir.VectorType(i64, W), ir.Undefined), ir.Constant(ir.VectorType(ir.IntType(32), W), [0] * W)
    )
    return builder.icmp_signed("<", lanes, bound)


@intrinsic
def vload_part(typingctx, a, r, c, n):
    """``a[r, c + q]`` in the lanes ``q < min(n, W)`` and 0 in the others: the whole vector if
    ``n ≥ W``, the first n elements if fewer (the last neurons of a row: a masked load,
    ``llvm.masked.load``, which reads nothing past them), zeros if ``n ≤ 0``."""
    if not _row_array(a) or not isinstance(n, types.Integer):
        return None
    vt = lanes_of(a.dtype)
    W = vt.count

    def codegen(context, builder, sig, args):
        ty = context.get_value_type(vt)
        n = context.cast(builder, args[3], sig.args[3], types.intp)
        align = sig.args[0].dtype.bitwidth // 8
        ptr = _pointer(context, builder, sig, args)
        full = builder.icmp_signed(">=", n, context.get_constant(types.intp, W))
        with builder.if_else(full, likely=True) as (whole, part):
            with whole:
                bb_whole = builder.block
                v_whole = builder.load(ptr, align=align)
            with part:
                bb_part = builder.block
                mask = _first_lanes(context, builder, n, W)
                fnty = ir.FunctionType(ty, [ptr.type, ir.IntType(32), mask.type, ty])
                name = f"llvm.masked.load.v{W}f{sig.args[0].dtype.bitwidth}.p0"
                fn = cgutils.get_or_insert_function(builder.module, fnty, name)
                v_part = builder.call(fn, [ptr, ir.Constant(ir.IntType(32), align), mask, ir.Constant(ty, None)])
        v = builder.phi(ty)
        v.add_incoming(v_whole, bb_whole)
        v.add_incoming(v_part, bb_part)
        return v

    return vt(a, r, c, n), codegen


@intrinsic
def vstore(typingctx, a, r, c, v):
    """``a[r, c : c + W] = v``."""
    if not _row_array(a) or v != lanes_of(a.dtype):
        return None

    def codegen(context, builder, sig, args):
        ptr = _pointer(context, builder, sig, args)
        builder.store(args[3], ptr, align=sig.args[0].dtype.bitwidth // 8)
        return context.get_dummy_value()

    return types.none(a, r, c, v), codegen


@intrinsic
def vstore_part(typingctx, a, r, c, v, n):
    """``a[r, c + q] = v_q`` for the lanes ``q < min(n, W)``: the whole vector if ``n ≥ W``, the
    first n lanes if fewer (the last neurons of a row), nothing if ``n ≤ 0``.

    The first n lanes go as one masked store (``llvm.masked.store``) where the CPU has AVX-512's
    mask registers (``MASKED_STORES``), else as at most log₂ W plain stores of W/2, W/4, …, 1
    lanes (``_store_first``): AVX2's ``vmaskmovps`` store takes about 20 cycles on AMD's Zen."""
    if not _row_array(a) or v != lanes_of(a.dtype) or not isinstance(n, types.Integer):
        return None

    def codegen(context, builder, sig, args):
        n = context.cast(builder, args[4], sig.args[4], types.intp)
        _store_part(context, builder, sig.args[0], _item(context, builder, sig, args), args[3], n)
        return context.get_dummy_value()

    return types.none(a, r, c, v, n), codegen


def _store_part(context, builder, aryty, item, vec, n):
    """IR of ``vstore_part``: the lanes ``q < min(n, W)`` of ``vec`` at ``item`` (a pointer to an
    element of an array of type ``aryty``; ``n`` an intp value)."""
    W = vec.type.count
    align = aryty.dtype.bitwidth // 8
    ptr = builder.bitcast(item, vec.type.as_pointer())
    full = builder.icmp_signed(">=", n, context.get_constant(types.intp, W))
    with builder.if_else(full, likely=True) as (whole, part):
        with whole:
            builder.store(vec, ptr, align=align)
        with part:
            if MASKED_STORES:
                mask = _first_lanes(context, builder, n, W)
                fnty = ir.FunctionType(ir.VoidType(), [vec.type, ptr.type, ir.IntType(32), mask.type])
                name = f"llvm.masked.store.v{W}f{aryty.dtype.bitwidth}.p0"
                fn = cgutils.get_or_insert_function(builder.module, fnty, name)
                builder.call(fn, [vec, ptr, ir.Constant(ir.IntType(32), align), mask])
            else:
                zero = context.get_constant(types.intp, 0)
                n = builder.select(builder.icmp_signed(">", n, zero), n, zero)
                _store_first(builder, vec, item, n, align)


def _store_first(builder, vec, ptr, n, align):
    """IR storing the lanes ``q < n`` of ``vec`` at ``ptr`` (a scalar pointer; ``n < W``): for
    h = W/2, W/4, …, 1, the next h lanes as one plain store when n's bit h is set."""
    i32 = ir.IntType(32)
    h = vec.type.count // 2
    while h >= 1:
        lo, hi = (ir.Constant(ir.VectorType(i32, h), list(range(k, k + h))) for k in (0, h))
        low = builder.shuffle_vector(vec, ir.Constant(vec.type, ir.Undefined), lo)
        high = builder.shuffle_vector(vec, ir.Constant(vec.type, ir.Undefined), hi)
        taken = builder.icmp_signed("!=", builder.and_(n, ir.Constant(n.type, h)), ir.Constant(n.type, 0))
        before = builder.block
        with builder.if_then(taken):
            builder.store(low, builder.bitcast(ptr, low.type.as_pointer()), align=align)
            moved = builder.gep(ptr, [ir.Constant(ir.IntType(64), h)])
            block = builder.block
        # what is left: the upper h lanes from h on if they were stored, else the lower h lanes
        vec = builder.phi(low.type)
        vec.add_incoming(high, block)
        vec.add_incoming(low, before)
        at = builder.phi(ptr.type)
        at.add_incoming(moved, block)
        at.add_incoming(ptr, before)
        ptr, h = at, h // 2


def _splat(builder, ty, x):
    """IR of the scalar ``x`` in every lane of the vector type ``ty``."""
    one = builder.insert_element(ir.Constant(ty, ir.Undefined), x, ir.Constant(ir.IntType(32), 0))
    return builder.shuffle_vector(
        one, ir.Constant(ty, ir.Undefined), ir.Constant(ir.VectorType(ir.IntType(32), ty.count), [0] * ty.count)
    )


def _llvm(builder, vt, name, *args):
    """A call of LLVM's lane-wise intrinsic ``llvm.<name>`` on vectors of the lane type ``vt``."""
    ty = ir.VectorType(ir.FloatType() if vt.dtype == types.float32 else ir.DoubleType(), vt.count)
    fn = cgutils.get_or_insert_function(
        builder.module, ir.FunctionType(ty, [ty] * len(args)), f"llvm.{name}.v{vt.count}f{vt.dtype.bitwidth}"
    )
    return builder.call(fn, list(args))


@intrinsic
def vbroadcast(typingctx, x):
    """``x`` in every lane."""
    vt = lanes_of(x)
    if vt is None:
        return None

    def codegen(context, builder, sig, args):
        return _splat(builder, context.get_value_type(vt), args[0])

    return vt(x), codegen


@intrinsic
def vbroadcast_at(typingctx, a, r, c):
    """``a[r, c]`` in every lane, read through a pointer (indices never negative: no wrap-around
    test per read, which ``a[r, c]`` pays for a column index only known at run time)."""
    if not _row_array(a):
        return None
    vt = lanes_of(a.dtype)

    def codegen(context, builder, sig, args):
        return _splat(builder, context.get_value_type(vt), builder.load(_item(context, builder, sig, args)))

    return vt(a, r, c), codegen


@intrinsic
def vzero(typingctx, a):
    """A vector of zeros of ``a``'s dtype (``a`` an array)."""
    vt = lanes_of(a.dtype) if isinstance(a, types.Array) else None
    if vt is None:
        return None

    def codegen(context, builder, sig, args):
        return ir.Constant(context.get_value_type(vt), None)

    return vt(a), codegen


def _binary(name):
    """A lane-wise intrinsic of two vectors from the builder method ``name``."""

    def typer(typingctx, x, y):
        if not isinstance(x, Lanes) or x != y:
            return None

        def codegen(context, builder, sig, args):
            return getattr(builder, name)(args[0], args[1])

        return x(x, y), codegen

    return typer


vadd = intrinsic(_binary("fadd"))
vadd.__doc__ = "``x + y`` lane-wise."
vsub = intrinsic(_binary("fsub"))
vsub.__doc__ = "``x − y`` lane-wise."
vmul = intrinsic(_binary("fmul"))
vmul.__doc__ = "``x · y`` lane-wise."
vdiv = intrinsic(_binary("fdiv"))
vdiv.__doc__ = "``x / y`` lane-wise (correctly rounded, as ``/`` on scalars)."


@intrinsic
def vfma(typingctx, a, b, c):
    """``a·b + c`` lane-wise with one rounding (LLVM's ``llvm.fma``: the FMA instruction)."""
    if not isinstance(a, Lanes) or not (a == b == c):
        return None

    def codegen(context, builder, sig, args):
        return _llvm(builder, a, "fma", *args)

    return a(a, b, c), codegen


@intrinsic
def vwhere_greater(typingctx, x, y, a, b):
    """``a`` in the lanes where ``x > y`` and ``b`` in the others (NaN is greater than nothing), as the
    scalar ``a if x > y else b`` (LLVM's ``fcmp ogt`` and ``select``): the ReLU family's branches on
    every lane."""
    if not isinstance(x, Lanes) or not (x == y == a == b):
        return None

    def codegen(context, builder, sig, args):
        return builder.select(builder.fcmp_ordered(">", args[0], args[1]), args[2], args[3])

    return x(x, y, a, b), codegen


@intrinsic
def vlane(typingctx, v, q):
    """Lane ``q`` of ``v`` as a scalar."""
    if not isinstance(v, Lanes) or not isinstance(q, types.Integer):
        return None

    def codegen(context, builder, sig, args):
        return builder.extract_element(args[0], context.cast(builder, args[1], sig.args[1], types.int32))

    return v.dtype(v, q), codegen


@intrinsic
def vsum(typingctx, v):
    """``Σ_q v_q``, the lanes added in order q = 0, 1, … (the same bits on any machine)."""
    if not isinstance(v, Lanes):
        return None

    def codegen(context, builder, sig, args):
        total = builder.extract_element(args[0], context.get_constant(types.int32, 0))
        for q in range(1, v.count):
            total = builder.fadd(total, builder.extract_element(args[0], context.get_constant(types.int32, q)))
        return total

    return v.dtype(v), codegen


@intrinsic
def vsum_part(typingctx, v, n):
    """``Σ_q v_q`` over the lanes ``q < min(n, W)``, added in order (0 if ``n ≤ 0``): ``vsum`` of a
    row's last, partial vector."""
    if not isinstance(v, Lanes) or not isinstance(n, types.Integer):
        return None

    def codegen(context, builder, sig, args):
        n = context.cast(builder, args[1], sig.args[1], types.intp)
        first = builder.extract_element(args[0], context.get_constant(types.int32, 0))
        zero = context.get_constant(v.dtype, 0)
        total = builder.select(builder.icmp_signed(">", n, context.get_constant(types.intp, 0)), first, zero)
        for q in range(1, v.count):
            more = builder.fadd(total, builder.extract_element(args[0], context.get_constant(types.int32, q)))
            total = builder.select(builder.icmp_signed(">", n, context.get_constant(types.intp, q)), more, total)
        return total

    return v.dtype(v, n), codegen


@intrinsic
def vtranspose(typingctx, dst, r, c, src, s, q):
    """``dst[r + a, c + b] = src[s + b, q + a]`` for ``a, b < W``: a W × W block, transposed.

    W rows of src are loaded as vectors and interleaved in log₂ W rounds (round k pairs vector
    x with x + W/2 and keeps the low and the high halves interleaved: after the last round
    vector a holds column a of the block), then stored as W rows of dst.
    """
    if not (_row_array(dst) and _row_array(src)) or dst.dtype != src.dtype:
        return None
    vt = lanes_of(src.dtype)
    W = vt.count

    def codegen(context, builder, sig, args):
        ty = context.get_value_type(vt)
        align = sig.args[3].dtype.bitwidth // 8
        i32 = ir.IntType(32)

        def row_pointer(k, row, col, delta):
            ary = context.make_array(sig.args[k])(context, builder, args[k])
            rr = builder.add(
                context.cast(builder, args[row], sig.args[row], types.intp), context.get_constant(types.intp, delta)
            )
            cc = context.cast(builder, args[col], sig.args[col], types.intp)
            p = cgutils.get_item_pointer(context, builder, sig.args[k], ary, [rr, cc])
            return builder.bitcast(p, ty.as_pointer())

        rows = [builder.load(row_pointer(3, 4, 5, b), align=align) for b in range(W)]
        lo = ir.Constant(ir.VectorType(i32, W), [x for k in range(W // 2) for x in (k, W + k)])
        hi = ir.Constant(ir.VectorType(i32, W), [x for k in range(W // 2, W) for x in (k, W + k)])
        for _ in range(W.bit_length() - 1):
            half = W // 2
            nxt = []
            for x in range(half):
                nxt.append(builder.shuffle_vector(rows[x], rows[x + half], lo))
                nxt.append(builder.shuffle_vector(rows[x], rows[x + half], hi))
            rows = nxt
        for a in range(W):
            builder.store(rows[a], row_pointer(0, 1, 2, a), align=align)
        return context.get_dummy_value()

    return types.none(dst, r, c, src, s, q), codegen


# -- e^x and tanh x on every lane ----------------------------------------------------------------
# Cephes (S. L. Moshier): expf.c and exp.c (e^x = 2^n e^r, r = x − n ln 2 with ln 2 in two parts
# C1 + C2, e^r by a polynomial, float32, or a Padé form, float64), tanhf.c and tanh.c (a
# polynomial or Padé form in x² for |x| < 0.625, 1 − 2/(e^2|x| + 1) above).
_EXP = {
    32: dict(
        lo=-104.0,  # e^x < 2^-150 below: 0 after rounding; e^x > 2^128 above hi: inf
        hi=89.0,
        c1=0.693359375,
        c2=-2.12194440e-4,
        poly=(1.9875691500e-4, 1.3981999507e-3, 8.3334519073e-3, 4.1665795894e-2, 1.6666665459e-1, 5.0000001201e-1),
        bias=127,
        mantissa=23,
    ),
    64: dict(
        lo=-746.0,
        hi=710.0,
        c1=6.93145751953125e-1,
        c2=1.42860682030941723212e-6,
        p=(1.26177193074810590878e-4, 3.02994407707441961300e-2, 9.99999999999999999910e-1),
        q=(3.00198505138664455042e-6, 2.52448340349684104192e-3, 2.27265548208155028766e-1, 2.00000000000000000009e0),
        bias=1023,
        mantissa=52,
    ),
}
_TANH = {
    32: dict(poly=(-5.70498872745e-3, 2.06390887954e-2, -5.37397155531e-2, 1.33314422036e-1, -3.33332819422e-1)),
    64: dict(
        p=(-9.64399179425052238628e-1, -9.92877231001918586564e1, -1.61468768441708447952e3),
        q=(1.0, 1.12811678491632931402e2, 2.23548839060100448583e3, 4.84406305325125486048e3),
    ),
}
TANH_SMALL = 0.625  # |x| below: tanh x = x + x³ P(x²) (no cancellation in 1 − 2/(e^2x + 1))


def _math(builder, vt):
    """Small IR helpers for one lane type: constants, FMA and Horner's rule."""
    ty = ir.VectorType(ir.FloatType() if vt.dtype == types.float32 else ir.DoubleType(), vt.count)

    def const(value):
        return ir.Constant(ty, [float(value)] * vt.count)

    def call(name, *args):
        return _llvm(builder, vt, name, *args)

    def horner(x, coefficients):
        """``c₀ xᵏ + c₁ xᵏ⁻¹ + … + cₖ`` with one FMA per coefficient."""
        acc = const(coefficients[0])
        for c in coefficients[1:]:
            acc = call("fma", acc, x, const(c))
        return acc

    return ty, const, call, horner


def _exp_ir(builder, vt, x):
    """IR of ``e^x`` lane-wise (``vexp``)."""
    k = _EXP[vt.dtype.bitwidth]
    ty, const, call, horner = _math(builder, vt)
    ity = ir.VectorType(ir.IntType(vt.dtype.bitwidth), vt.count)
    number = builder.fcmp_ordered("==", x, x)  # not NaN
    xc = builder.select(builder.fcmp_ordered(">", x, const(k["hi"])), const(k["hi"]), x)
    xc = builder.select(builder.fcmp_ordered("<", xc, const(k["lo"])), const(k["lo"]), xc)
    xc = builder.select(number, xc, const(0))
    # n = round(x / ln 2), r = x − n ln 2
    n = call("rint", builder.fmul(xc, const(1.4426950408889634)))
    r = call("fma", n, const(-k["c1"]), xc)
    r = call("fma", n, const(-k["c2"]), r)
    if vt.dtype.bitwidth == 32:
        # e^r = 1 + r + r² P(r)
        e_r = builder.fadd(call("fma", horner(r, k["poly"]), builder.fmul(r, r), r), const(1))
    else:
        # e^r = 1 + 2 r P(r²) / (Q(r²) − r P(r²))
        rr = builder.fmul(r, r)
        rp = builder.fmul(r, horner(rr, k["p"]))
        e_r = call("fma", const(2), builder.fdiv(rp, builder.fsub(horner(rr, k["q"]), rp)), const(1))
    # e^x = e^r · 2^⌊n/2⌋ · 2^(n − ⌊n/2⌋): each factor a normal number (its exponent bits), so the
    # product overflows to inf and underflows through the subnormals to 0 as e^x itself does
    ni = builder.fptosi(n, ity)
    n1 = builder.ashr(ni, ir.Constant(ity, [1] * vt.count))
    n2 = builder.sub(ni, n1)

    def power_of_two(m):
        return builder.bitcast(
            builder.shl(
                builder.add(m, ir.Constant(ity, [k["bias"]] * vt.count)), ir.Constant(ity, [k["mantissa"]] * vt.count)
            ),
            ty,
        )

    y = builder.fmul(builder.fmul(e_r, power_of_two(n1)), power_of_two(n2))
    return builder.select(number, y, x)  # NaN stays NaN


def _tanh_ir(builder, vt, x):
    """IR of ``tanh x`` lane-wise (``vtanh``)."""
    k = _TANH[vt.dtype.bitwidth]
    ty, const, call, horner = _math(builder, vt)
    ax = call("fabs", x)
    # |x| ≥ 0.625: tanh |x| = 1 − 2 / (e^2|x| + 1), with x's sign
    big = builder.fsub(
        const(1), builder.fdiv(const(2), builder.fadd(_exp_ir(builder, vt, builder.fadd(ax, ax)), const(1)))
    )
    big = call("copysign", big, x)
    # |x| < 0.625: tanh x = x + x · x² P(x²)  (float64: P(x²)/Q(x²))
    xx = builder.fmul(x, x)
    if vt.dtype.bitwidth == 32:
        ratio = horner(xx, k["poly"])
    else:
        ratio = builder.fdiv(horner(xx, k["p"]), horner(xx, k["q"]))
    small = call("fma", builder.fmul(x, xx), ratio, x)
    return builder.select(builder.fcmp_ordered("<", ax, const(TANH_SMALL)), small, big)


@intrinsic
def vexp(typingctx, x):
    """``e^x`` lane-wise, within 2 ulp (inf above the largest float, 0 below the smallest, NaN
    kept): e^x = 2^n e^r with n = round(x / ln 2) and Cephes' polynomial for e^r."""
    if not isinstance(x, Lanes):
        return None

    def codegen(context, builder, sig, args):
        return _exp_ir(builder, x, args[0])

    return x(x), codegen


@intrinsic
def vtanh(typingctx, x):
    """``tanh x`` lane-wise, within 2 ulp (NaN kept): Cephes' odd polynomial for |x| < 0.625,
    ``1 − 2 / (e^2|x| + 1)`` with x's sign above."""
    if not isinstance(x, Lanes):
        return None

    def codegen(context, builder, sig, args):
        return _tanh_ir(builder, x, args[0])

    return x(x), codegen
