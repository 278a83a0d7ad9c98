"""What the first ``fit`` compiles, in a fresh process with an empty cache: each kernel once, no
copy for a literal argument, and the inlined drivers not on their own (see ``_config``)."""

import json
import os
import sys

import background

FIRST_FIT = """
import json, numpy as np, nbmlp
from test_cache import _kernel_dispatchers
rng = np.random.default_rng(0)
X, y = rng.standard_normal((70, 9)).astype(np.float32), rng.integers(0, 3, 70)
nbmlp.MLP([9, 30, 3], dtype="float32", seed=0).fit(X, y, epochs=1, batch_size=16, lr=0.1)
print(json.dumps({name: [str(s) for s in d.signatures] for name, d in _kernel_dispatchers()}))
"""

INLINED = ["passes.forward_pass", "passes.loss_sum", "passes.backward_pass", "epoch.apply_update"]


def _start_first_fit():
    env = dict(os.environ, NUMBA_CACHE_DIR=background.scratch("first-fit"))
    # run from tests/, so that ``python -c`` finds test_cache's helper on its path
    background.launch(
        "first-fit", [sys.executable, "-c", FIRST_FIT], env=env, cwd=os.path.dirname(os.path.abspath(__file__))
    )


@background.child(_start_first_fit)
def test_first_fit_compiles_each_kernel_once():
    returncode, out, err = background.result("first-fit", _start_first_fit)
    assert returncode == 0, err[-2000:]
    compiled = json.loads(out.strip().splitlines()[-1])
    assert len(compiled["nbmlp.kernels.epoch.train_epoch_opt"]) == 1
    for step in ("dense_forward_tiles", "dense_backward_dy_tiles", "dense_backward_dw_tiles"):
        assert compiled[f"nbmlp.kernels.dense.{step}"], f"the vector kernel {step} was not compiled"
    literal = {name: sigs for name, sigs in compiled.items() if any("Literal" in s for s in sigs)}
    assert literal == {}, "a literal argument compiled a second copy"
    twice = {name: sigs for name, sigs in compiled.items() if len(sigs) > 1}
    assert twice == {}, "a kernel was compiled for two signatures in a float32 fit"
    for name in INLINED:
        assert compiled[f"nbmlp.kernels.{name}"] == [], f"{name} was compiled on its own, not inlined"
