"""The network's engine: the public names on which the estimators, trace, the model file and
distributed training build."""

import numpy as np
import pytest

from nbmlp import MLP
from nbmlp.kernels import losses


def test_views_write_into_the_flat_buffer():
    net = MLP([3, 4, 2], seed=0, dtype="float64")
    flat = np.zeros(net.n_params)
    weights, biases = net.views(flat)
    assert [w.shape for w in weights] == [(3, 4), (4, 2)] and [b.shape for b in biases] == [(4,), (2,)]
    weights[1][2, 1] = 5.0
    biases[0][3] = 7.0
    assert np.count_nonzero(flat) == 2 and 5.0 in flat and 7.0 in flat
    assert all(np.shares_memory(w, net.params) for w in net.views(net.params)[0])


def test_forward_checked_reads_the_given_parameters():
    net = MLP([3, 5, 2], activation="tanh", output="identity", seed=1, dtype="float64")
    other = MLP([3, 5, 2], activation="tanh", output="identity", seed=2, dtype="float64")
    X = net.check_inputs(np.random.default_rng(0).normal(size=(6, 3)))
    assert np.array_equal(net.forward_checked(X), net.forward(X))
    assert np.array_equal(net.forward_checked(X, other.params), other.forward(X))


def test_checks_name_the_argument_and_convert():
    net = MLP([2, 3], output="softmax", dtype="float32")
    X = net.check_inputs([[1, 2]])
    assert X.dtype == np.float32 and X.flags.c_contiguous
    with pytest.raises(ValueError, match="X_val has 3 features"):
        net.check_inputs(np.ones((1, 3)), "X_val")
    T = net.check_targets(np.array([2]), 1)
    assert T.dtype == np.float32 and T.tolist() == [[0, 0, 1]]
    with pytest.raises(ValueError, match="y: class labels"):
        net.check_targets(np.array([3]), 1, "y")


def test_buffers_loss_code_and_generator():
    net = MLP([4, 3, 2], dropout=0.5, seed=0, dtype="float64")
    Y, U = net.work_buffers(5, with_backward=False)
    assert U.size == 5 * sum(net.layers) and Y.size >= U.size and Y.dtype == np.float64
    work = net.work_buffers(5, with_backward=True)
    assert len(work) == 6 and work.e.size == 5
    rates, M, Yk = net.dropout_buffers(5)
    assert rates.tolist() == [0.5, 0.0] and M.size == Yk.size == 5 * sum(net.layers)
    assert MLP([4, 2]).dropout_buffers(5).rates.size == 0
    assert net.loss_code == losses.CODES["cross_entropy"]
    before = net.rng.copy()
    assert net.rng.dtype == np.uint64 and net.rng.shape == (1,)
    net.fit(np.ones((4, 4)), np.array([0, 1, 0, 1]), epochs=1, batch_size=2)
    assert net.rng[0] != before[0]  # the live state: fit advances it in place


# -- the estimators' modules -----------------------------------------------------------------------
ESTIMATOR_MODULES = [
    "nbmlp.estimators",
    "nbmlp.persistence",
    "nbmlp.pipeline",
    "nbmlp._model_writer",
    "nbmlp.estimators._base",
    "nbmlp.estimators._classifier",
    "nbmlp.estimators._regressor",
    "nbmlp.estimators._epochs",
    "nbmlp.estimators._lbfgs",
    "nbmlp.estimators._prediction",
    "nbmlp.estimators._fit_plan",
    "nbmlp.distributed",
]


@pytest.mark.parametrize("module", ESTIMATOR_MODULES)
def test_each_module_imports_first(module):
    # a cycle of imports shows as an ImportError (a partly initialised module) for one of them
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-c", f"import {module}"], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr


def test_estimators_module_keeps_its_public_names_and_pickles():
    import pickle

    from nbmlp import estimators

    for name in estimators.__all__:
        assert getattr(estimators, name) is not None
    for cls in (estimators.MLPClassifier, estimators.MLPRegressor, estimators.DivergenceWarning):
        assert cls.__module__ == "nbmlp.estimators"
    data = pickle.dumps(estimators.MLPRegressor(hidden_layer_sizes=(3,)))
    assert b"nbmlp.estimators" in data
    assert pickle.loads(data).get_params()["hidden_layer_sizes"] == (3,)


def test_a_plan_has_a_validation_set_exactly_with_early_stopping():
    from nbmlp.estimators._fit_plan import FitPlan

    plan = FitPlan(X=None, y=None, T=None, c=None, lb=None, units=[2, 1], acts=[], dtype=np.float64)
    X, T = np.ones((4, 2)), np.ones((4, 1))
    plain = plan.training_set(X, T, None, "rs", None)
    assert not plain.early_stopping and plain.X_val is None and plain.X is X and plain.rs == "rs"
    split = plan.training_set(X[:3], T[:3], None, "rs", [1], (X[3:], [0], T[3:]))
    assert split.early_stopping and split.X_val.shape == (1, 2) and split.y_val == [0] and split.initial == [1]
    assert plan.X is None  # a new plan; the first is unchanged


def test_the_engine_page_example_gives_the_networks_gradients():
    import pathlib
    import re

    page = (pathlib.Path(__file__).resolve().parents[1] / "docs" / "engine.md").read_text(encoding="utf-8")
    space = {}
    exec(compile(re.findall(r"```python\n(.*?)```", page, re.S)[0], "engine.md", "exec"), space)
    net, X, T = space["net"], space["X"], space["T"]
    _, dW, db = net.gradients(X, T)
    for mine, theirs in zip(space["dW"] + space["db"], dW + db):
        assert np.array_equal(mine, theirs)  # the same kernels, the same bits
