"""What the first ``fit`` compiles, in a fresh process with an empty cache: each kernel once, no
copy for a literal argument, and the inlined drivers not on their own (see ``_config``); a small
network's epoch without any parallel kernel, a larger one's with them (``training.serial_steps``)."""

import json
import os
import sys

import background

FIRST_FIT = """
import json, numpy as np, nbmlp
from test_cache import _kernel_dispatchers
rng = np.random.default_rng(0)
X, y = rng.standard_normal((70, 9)).astype(np.float32), rng.integers(0, 3, 70)
def compiled():
    return {name: [str(s) for s in d.signatures] for name, d in _kernel_dispatchers()}
nbmlp.MLP([9, 30, 3], dtype="float32", seed=0).fit(X, y, epochs=1, batch_size=16, lr=0.1)
small = compiled()
X = rng.standard_normal((300, 300)).astype(np.float32)
nbmlp.MLP([300, 64, 3], dtype="float32", seed=0).fit(X, y[:60].repeat(5), epochs=1, batch_size=150, lr=0.1)
print(json.dumps([small, compiled()]))
"""

PARALLEL = ["dense.dense_forward_parallel", "dense.dense_backward_dy_parallel", "dense.dense_backward_dw_parallel"]
PARALLEL += ["optim.optimizer_step", "optim.l2_gradient"]

INLINED = ["passes.forward_pass", "passes.loss_sum", "passes.backward_pass", "passes.forward_layers"]
INLINED += ["passes.backward_layers", "step.train_step", "step.add_batch_loss", "step.apply_update"]


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
    small, compiled = json.loads(out.strip().splitlines()[-1])
    # the small network: every step serial, the epoch compiled without the parallel kernels
    assert len(small["nbmlp.kernels.epoch.train_epoch_opt"]) == 1
    for name in PARALLEL:
        assert small[f"nbmlp.kernels.{name}"] == [], f"the small network's epoch compiled {name}"
    for step in ("dense_backward_dy_tiles", "dense_backward_dw_tiles"):
        assert small[f"nbmlp.kernels.dense.{step}"], f"the vector kernel {step} was not compiled"
    # then a layer of 150·300·64 multiply-adds: the epoch's second copy, with the parallel kernels
    assert len(compiled["nbmlp.kernels.epoch.train_epoch_opt"]) == 2
    for name in PARALLEL[:3] + ["dense.dense_forward_tiles"]:
        assert compiled[f"nbmlp.kernels.{name}"], f"the larger network's epoch did not compile {name}"
    literal = {name: sigs for name, sigs in compiled.items() if any("Literal" in s for s in sigs)}
    assert literal == {}, "a literal argument compiled a second copy"
    twice = {name: sigs for name, sigs in compiled.items() if len(sigs) > 1}
    del twice["nbmlp.kernels.epoch.train_epoch_opt"]
    assert twice == {}, "a kernel was compiled for two signatures in a float32 fit"
    for name in INLINED:
        assert compiled[f"nbmlp.kernels.{name}"] == [], f"{name} was compiled on its own, not inlined"


# The register-tile bodies of ``dense.py`` and their epilogue take the bounds of their block of
# tiles and panels (t0, t1, p0, p1; s0, s1, j0, j1) beside their arrays: the only kernels above 8.
WIDE_BY_DESIGN = {
    "dense.dense_forward_tiles",
    "dense.dense_backward_dy_tiles",
    "dense.dense_backward_dw_tiles",
    "activations.derivative_block",
}


def compiled_kernels():
    """Every compiled function defined in a module of ``nbmlp.kernels``, as ``module.name``."""
    import importlib
    import pkgutil

    import nbmlp.kernels

    found = {}
    for info in pkgutil.iter_modules(nbmlp.kernels.__path__):
        module = importlib.import_module(f"nbmlp.kernels.{info.name}")
        for name, obj in vars(module).items():
            if hasattr(obj, "py_func") and obj.py_func.__module__ == module.__name__:
                found[f"{info.name}.{name}"] = obj
    return found


def test_every_kernel_takes_at_most_eight_arguments():
    # the arrays go in named bundles (passes.Network, Work, Batch, Dropout; sparse.Csr; optim.Rule;
    # step.Optimizer; epoch.Data, Order), so that a new kernel of 9 arguments fails here
    import inspect

    kernels = compiled_kernels()
    arguments = {name: len(inspect.signature(k.py_func).parameters) for name, k in kernels.items()}
    wide = {name: n for name, n in arguments.items() if n > 8 and name not in WIDE_BY_DESIGN}
    assert wide == {}, "a compiled kernel takes more than 8 arguments"
    assert all(arguments[name] > 8 for name in WIDE_BY_DESIGN), "an exception that is no longer needed"
    # the search sees the kernels of every module, the drivers and the epoch among them
    for name in ("passes.backward_pass", "passes.backward_pass_scaled", "sparse.sparse_forward_pass"):
        assert arguments[name] <= 4
    assert arguments["epoch.train_epoch_opt"] == 8 and arguments["step.train_step"] == 8


def test_a_driver_inlined_into_a_driver_is_inlined_into_the_outermost_caller(monkeypatch):
    # _config.inline_outermost: the inner driver is not inlined into the middle one while the middle
    # one is prepared for inlining (its IR would then be copied with the inner one's), but into
    # the compiled caller after it; nothing is compiled on its own and the result is the same
    from numba import njit
    from numba.core.inline_closurecall import InlineWorker

    from nbmlp._config import inline_outermost

    @njit(inline=inline_outermost)
    def inner(x):
        return x * 2.0 + 1.0

    @njit(inline=inline_outermost)
    def middle(x):
        return inner(x) - 3.0

    @njit
    def outer(x):
        return middle(x) * middle(x + 1.0)

    inlined = []
    inline_function = InlineWorker.inline_function

    def spy(self, caller_ir, block, i, function, *args, **kwargs):
        inlined.append((caller_ir.func_id.func_name, function.__name__))
        return inline_function(self, caller_ir, block, i, function, *args, **kwargs)

    monkeypatch.setattr(InlineWorker, "inline_function", spy)
    assert outer(2.0) == (2.0 * 2.0 + 1.0 - 3.0) * (3.0 * 2.0 + 1.0 - 3.0)
    assert sorted(inlined) == [("outer", "inner"), ("outer", "inner"), ("outer", "middle"), ("outer", "middle")]
    assert middle.signatures == [] and inner.signatures == []
