"""The host CPU's vector shapes, read once at import: lanes per vector and vector registers.

Both the compiled kernels (``kernels/lanes.py`` builds its vector type from ``LANES32``, and
``kernels/tiles.py`` sizes its tiles from ``REGISTERS``) and the Numba options (``_config``: the
on-disk cache only for the host's own shapes, ``NATIVE``) depend on these choices, so they live
below both. See ``kernels/lanes.py`` for what the lanes and registers are used for.
"""

import os

import llvmlite.binding as llvm

LANES_VARIABLE = "NBMLP_LANES"
WIDTHS = (4, 8, 16)


HOST_FEATURES = llvm.get_host_cpu_features()  # read once, at import: each reading queries LLVM again


def host_lanes():
    """float32 lanes of the host CPU's widest vector registers: 16 (AVX-512), 8 (AVX, AVX2) or 4."""
    features = HOST_FEATURES
    if features.get("avx512f", False):
        return 16
    if features.get("avx2", False) or features.get("avx", False):
        return 8
    return 4


def chosen_lanes():
    """float32 lanes the kernels use: ``NBMLP_LANES`` if set, else ``host_lanes()``."""
    forced = os.environ.get(LANES_VARIABLE, "").strip()
    if not forced:
        return host_lanes()
    if forced not in {str(w) for w in WIDTHS}:
        raise ValueError(f"{LANES_VARIABLE} must be one of 4, 8, 16 (float32 lanes), got {forced!r}")
    return int(forced)


REGISTERS_VARIABLE = "NBMLP_REGISTERS"
REGISTER_COUNTS = (16, 32)


# CPUs with AVX-512 whose tiles are sized as for 16 registers: AMD's Zen 4 (LLVM's ``znver4``)
# executes each 512-bit operation as two 256-bit halves, and there the 6-row tile measured faster
# than the 14-row one (docs/register_tiles.md)
TILES_AS_16 = ("znver4",)


def host_registers():
    """Vector registers the tiles are sized for on the host CPU: 32 with AVX-512 (zmm0–31), else 16
    (AVX, AVX2: ymm0–15; SSE), and 16 on the CPUs of ``TILES_AS_16``."""
    if HOST_FEATURES.get("avx512f", False) and llvm.get_host_cpu_name() not in TILES_AS_16:
        return 32
    return 16


def chosen_registers():
    """Vector registers the tiles are sized for: ``NBMLP_REGISTERS`` if set, else ``host_registers()``."""
    forced = os.environ.get(REGISTERS_VARIABLE, "").strip()
    if not forced:
        return host_registers()
    if forced not in {str(n) for n in REGISTER_COUNTS}:
        raise ValueError(f"{REGISTERS_VARIABLE} must be one of 16, 32 (vector registers), got {forced!r}")
    return int(forced)


LANES32 = chosen_lanes()  # float32 lanes of a vector
LANES64 = LANES32 // 2  # float64 lanes
REGISTERS = chosen_registers()  # vector registers a tile may fill
# the host's own shapes: the only ones compiled with the on-disk cache (``_config``)
NATIVE = LANES32 == host_lanes() and REGISTERS == host_registers()
