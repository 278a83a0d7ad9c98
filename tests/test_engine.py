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
