"""Thread counts and Python threads: ``set_num_threads`` is process-wide, and with Numba's
workqueue threading layer (not thread-safe) fits in several Python threads are serialized
instead of aborting the process."""

import os
import subprocess
import sys
import threading

import numba
import numpy as np
import pytest

import nbmlp
from nbmlp import _governor, _runs, _threads


@pytest.mark.skipif(numba.config.NUMBA_NUM_THREADS < 2, reason="needs Numba with 2 threads or more")
def test_set_num_threads_applies_in_other_python_threads(monkeypatch):
    monkeypatch.setattr(_threads, "_count", None)
    monkeypatch.setattr(_threads, "chosen", False)
    before = numba.get_num_threads()
    seen = {}

    def other_thread():
        seen["default"] = numba.get_num_threads()  # Numba's own count in a new thread: the maximum
        seen["reported"] = nbmlp.get_num_threads()
        with _threads.use_chosen():
            seen["forward"] = numba.get_num_threads()
        with _governor.training_threads([1000, 1000, 10], 1000, 1000):  # a large step: not made serial
            seen["training"] = numba.get_num_threads()
        seen["after"] = numba.get_num_threads()

    try:
        nbmlp.set_num_threads(1)
        t = threading.Thread(target=other_thread)
        t.start()
        t.join()
    finally:
        numba.set_num_threads(before)
    assert seen["default"] == numba.config.NUMBA_NUM_THREADS > 1
    assert seen["reported"] == seen["forward"] == seen["training"] == 1
    assert seen["after"] == seen["default"]  # the thread's own setting is restored


CONCURRENT = """
import threading, numpy as np, nbmlp, numba
rng = np.random.default_rng(0)
X = rng.random((1000, 100)); T = np.eye(3)[np.arange(1000) % 3]

def work(out, i):
    net = nbmlp.MLP([100, 256, 3], activation="relu", output="softmax", seed=i)
    out[i] = (net.fit(X, T, epochs=3, batch_size=256, lr=0.05)[-1], float(net.forward(X).sum()))

alone, together = {}, {}
for i in range(3):
    work(alone, i)
threads = [threading.Thread(target=work, args=(together, i)) for i in range(3)]
for t in threads: t.start()
for t in threads: t.join()
print(numba.threading_layer(), alone == together)
"""


def test_workqueue_layer_serializes_fits_in_python_threads():
    env = dict(os.environ, NUMBA_THREADING_LAYER="workqueue")
    res = subprocess.run([sys.executable, "-c", CONCURRENT], capture_output=True, text=True, env=env, timeout=600)
    assert res.returncode == 0, res.stderr[-3000:]  # the layer aborts (SIGABRT) on concurrent access
    assert res.stdout.split() == ["workqueue", "True"]


# -- the governor: what it decides from what it is told (no timing) ---------------------------

K = ((30, 100, 2), 200)  # a shape and batch: the key of a fit's windows


class FakeIdle:
    """The machine's idle core-seconds, as ``_idle_ticks`` reports them, with a fake clock."""

    def __init__(self):
        self.now, self.idle, self.idle_cores = 0.0, 0.0, 0.0

    def clock(self):
        return self.now

    def ticks(self):
        return self.idle

    def advance(self, seconds):
        self.now += seconds
        self.idle += self.idle_cores * seconds


def window(gov, fake, n, u, rate, key=K):
    """Report one window of ``Governor.WINDOW`` seconds on ``n`` threads, busy fraction u."""
    wall = gov.WINDOW
    fake.advance(wall)
    gov.record(key, n, wall, u * n * wall, rate * wall)


def test_governor_keeps_all_threads_while_they_run():
    fake = FakeIdle()
    gov = _governor.Governor(clock=fake.clock, idle=fake.ticks)
    for _ in range(20):
        n = gov.choose(2, K)
        assert n == 2
        window(gov, fake, n, u=0.97, rate=1000)
    assert gov.n is None and gov.trial is None


def test_governor_drops_a_thread_when_threads_are_put_aside_and_comes_back():
    fake = FakeIdle()
    gov = _governor.Governor(clock=fake.clock, idle=fake.ticks)
    window(gov, fake, gov.choose(2, K), u=0.55, rate=100)  # another process holds a core
    assert gov.choose(2, K) == 2  # one window could be a dip
    window(gov, fake, gov.choose(2, K), u=0.6, rate=100)
    assert gov.choose(2, K) == 1  # two in a row: tried next
    window(gov, fake, 1, u=0.99, rate=900)
    assert gov.n == 1 and gov.choose(2, K) == 1  # kept: faster
    # the core stays busy: no idle core, no try of 2 threads
    for _ in range(10):
        window(gov, fake, gov.choose(2, K), u=0.99, rate=900)
    assert gov.choose(2, K) == 1
    # the other process ends: an idle core shows, 2 threads are tried and kept (faster)
    fake.idle_cores = 1.0
    for _ in range(3):
        n = gov.choose(2, K)
        window(gov, fake, n, u=0.99 if n == 1 else 0.98, rate=900 if n == 1 else 1700)
    assert gov.n == 2 and gov.choose(2, K) == 2


def test_governor_keeps_threads_that_are_faster_though_not_busy_and_waits_longer_each_time():
    fake = FakeIdle()
    gov = _governor.Governor(clock=fake.clock, idle=fake.ticks)
    tries = 0
    for _ in range(200):
        n = gov.choose(2, K)
        tries += n == 1
        # threads often asleep (a layer with long serial parts), yet 2 threads train faster
        window(gov, fake, n, u=0.6, rate=1500 if n == 2 else 1000)
    assert gov.n is None and gov.choose(2, K) == 2
    assert 3 <= tries <= 8  # a try after 2, 4, 8, ... windows, at most every 64


def test_governor_ignores_a_single_short_dip():
    fake = FakeIdle()
    gov = _governor.Governor(clock=fake.clock, idle=fake.ticks)
    for i in range(40):
        n = gov.choose(2, K)
        assert n == 2
        window(gov, fake, n, u=0.5 if i % 8 == 7 else 1.0, rate=1000)  # each epoch's last window dips


def test_governor_stays_within_the_budget_and_forgets_other_shapes():
    fake = FakeIdle()
    gov = _governor.Governor(clock=fake.clock, idle=fake.ticks)
    assert gov.choose(2, K) == 2
    window(gov, fake, 2, u=0.5, rate=100)
    window(gov, fake, 2, u=0.5, rate=100)
    assert gov.trial == 1 and gov.choose(1, K) == 1  # a trial never goes above the budget
    other = ((64, 64, 10), 500)
    assert gov.choose(2, other) == 2 and gov.trial is None  # a new shape: its own windows
    gov.record(K, 1, 1.0, 1.0, 900)  # a late report for another shape is ignored
    assert gov.rate == {}


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_adaptive_fit_is_bitwise_identical_to_one_thread(monkeypatch):
    """Whatever counts the governor picks, epoch by epoch, the fit is the one of one thread."""
    if numba.config.NUMBA_NUM_THREADS < 2:
        pytest.skip("needs at least 2 threads")
    rng = np.random.default_rng(3)
    X, y = rng.standard_normal((300, 30)), rng.integers(0, 2, 300)
    kw = dict(hidden_layer_sizes=(100,), batch_size=200, max_iter=6, random_state=0, dtype="float32")
    nbmlp.set_num_threads(1, adaptive=False)
    fixed = nbmlp.MLPClassifier(**kw).fit(X, y)
    nbmlp.set_num_threads(2)
    used = []
    counts = iter([2, 1, 2, 2, 1, 2])
    monkeypatch.setattr(_governor.GOVERNOR, "choose", lambda budget, key: next(counts))
    real = _governor.running_on

    def spy(n):
        used.append((n, numba.get_num_threads()))
        return real(n)

    monkeypatch.setattr(_governor, "running_on", spy)
    adaptive = nbmlp.MLPClassifier(**kw).fit(X, y)
    assert [n for n, _ in used] == [2, 1, 2, 2, 1, 2]
    for a, b in zip(fixed.coefs_ + fixed.intercepts_, adaptive.coefs_ + adaptive.intercepts_):
        assert a.tobytes() == b.tobytes()


def test_threadpool_limits_limits_nbmlp():
    threadpoolctl = pytest.importorskip("threadpoolctl")
    if not hasattr(threadpoolctl, "register"):
        pytest.skip("threadpoolctl < 3.2 has no custom controllers")
    if numba.config.NUMBA_NUM_THREADS < 2:
        pytest.skip("needs at least 2 threads")
    nbmlp.set_num_threads(2)
    assert any(lib["internal_api"] == "nbmlp" for lib in threadpoolctl.threadpool_info())
    seen = []
    with threadpoolctl.threadpool_limits(limits=1):
        assert nbmlp.get_num_threads() == 1
        with _governor.training_threads([1000, 1000, 10], 1000, 1000):  # a large step
            seen.append(numba.get_num_threads())
        with _threads.use_chosen():
            seen.append(numba.get_num_threads())
    assert seen == [1, 1]
    assert nbmlp.get_num_threads() == 2  # the limit ends with the block
    with threadpoolctl.threadpool_limits(limits=1, user_api="blas"):
        assert nbmlp.get_num_threads() == 2  # a BLAS limit is not nbmlp's


def _budget_in_worker():
    import numba as nb

    import nbmlp as nm

    return nb.config.NUMBA_NUM_THREADS, nm.get_num_threads()


def test_joblib_workers_get_their_share_of_the_cores():
    """joblib's workers start with NUMBA_NUM_THREADS = cores // n_jobs: nbmlp uses that many."""
    joblib = pytest.importorskip("joblib")
    cores = joblib.cpu_count()
    if cores < 2:
        pytest.skip("needs 2 cores")
    fn = _budget_in_worker
    fn.__module__ = "__main__"  # sent by value: the workers cannot import the tests
    got = joblib.Parallel(n_jobs=2)(joblib.delayed(fn)() for _ in range(2))
    assert got == [(cores // 2, cores // 2)] * 2


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_grid_search_in_parallel_workers_matches_one_process():
    from sklearn.model_selection import GridSearchCV

    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((120, 8)).astype(np.float32), rng.integers(0, 3, 120)
    grid = dict(alpha=[1e-4, 1e-2])
    est = nbmlp.MLPClassifier((16,), max_iter=5, random_state=0, dtype="float32")
    one = GridSearchCV(est, grid, cv=2, n_jobs=1).fit(X, y)
    two = GridSearchCV(est, grid, cv=2, n_jobs=2).fit(X, y)
    np.testing.assert_array_equal(one.cv_results_["mean_test_score"], two.cv_results_["mean_test_score"])
    assert one.best_params_ == two.best_params_


@pytest.mark.parametrize("solver", ["sgd", "adam"])
@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_epochs_in_runs_train_the_same_batches(monkeypatch, solver):
    """An epoch cut into runs of batches (one compiled call each) trains exactly as in one call."""
    rng = np.random.default_rng(4)
    X, y = rng.standard_normal((203, 9)), rng.integers(0, 3, 203)
    kw = dict(hidden_layer_sizes=(7,), batch_size=20, max_iter=3, random_state=0, solver=solver, dtype="float64")
    whole = nbmlp.MLPClassifier(**kw).fit(X, y)
    monkeypatch.setattr(_runs, "RUN_MACS", 1)  # every batch a run of its own
    assert len(_runs.epoch_runs([9, 7, 3], 20, 203)) == 11
    runs = nbmlp.MLPClassifier(**kw).fit(X, y)
    for a, b in zip(whole.coefs_ + whole.intercepts_, runs.coefs_ + runs.intercepts_):
        assert a.tobytes() == b.tobytes()
    np.testing.assert_allclose(whole.loss_curve_, runs.loss_curve_, rtol=1e-13)
    net1 = nbmlp.MLP([9, 7, 3], seed=0)
    net2 = nbmlp.MLP([9, 7, 3], seed=0)
    monkeypatch.setattr(_runs, "RUN_MACS", 2**60)
    h1 = net1.fit(X, y, epochs=2, batch_size=20, lr=0.1)
    monkeypatch.setattr(_runs, "RUN_MACS", 1)
    h2 = net2.fit(X, y, epochs=2, batch_size=20, lr=0.1)
    assert net1.params.tobytes() == net2.params.tobytes()
    np.testing.assert_allclose(h1, h2, rtol=1e-13)


def test_governor_counts_idle_cores_during_its_windows_only():
    """A pause between fits, when the other core is idle, is not a sign that it is free."""
    fake = FakeIdle()
    gov = _governor.Governor(clock=fake.clock, idle=fake.ticks)
    for u in (0.5, 0.5):
        window(gov, fake, gov.choose(2, K), u=u, rate=100)
    window(gov, fake, gov.choose(2, K), u=1.0, rate=900)
    assert gov.n == 1
    for _ in range(20):
        fake.idle_cores = 1.0
        fake.advance(0.5)  # between fits: idle
        fake.idle_cores = 0.0
        n = gov.choose(2, K)  # during training: the other process holds the core
        assert n == 1
        window(gov, fake, n, u=1.0, rate=900)
