"""``benchmarks/dense_parts.py``: each part it times runs the kernel's own code on the operands a
training step gives it, so the parts add up to the kernel (the tiles alone give the same bits)."""

import os
import sys

import numpy as np
import pytest
from conftest import DTYPES, tol

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "benchmarks"))
dense_parts = pytest.importorskip("dense_parts")


@pytest.mark.parametrize("dtype", DTYPES)
def test_the_parts_compute_what_the_whole_kernels_compute(dtype):
    # 70 neurons, 37 samples: tails in tiles and panels, and ∂w packs every tile of y
    a, steps = dense_parts.parts(dtype, 70, 37)
    y, w, b, delta = (a[k].astype(np.float64) for k in ("y", "w", "b", "delta"))
    expected = {"forward": ("u", y @ w + b), "dy": ("dy", delta @ w.T), "dw": ("dw", y.T @ delta / 37)}
    for step, fns in steps.items():
        name, value = expected[step]
        out = a[name]
        fns["whole"]()
        whole = out.copy()
        np.testing.assert_allclose(whole, value, **tol(dtype), err_msg=step)
        for part in ("blocks", "tile", "packed"):  # the same sums in the same order: the same bits
            if part in fns:
                out[:] = np.nan
                fns["pack"]()
                fns[part]()
                np.testing.assert_array_equal(out, whole, err_msg=f"{step}: {part}")
        for part in fns:  # the rest (BLAS, the epilogue, ∂w's bias) runs
            fns[part]()
