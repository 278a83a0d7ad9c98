"""``nbmlp.bench``: every library trains the same thing, and the table is well formed.

No timing is asserted (the machine may be busy); only structure, finiteness and agreement.
"""

import numpy as np
import pytest

from nbmlp import bench

TINY = (8, 5, 3)
INSTALLED = [lib for lib in ("numpy", "scikit-learn", "pytorch") if bench.available(lib)]


def tiny_problem(dtype=np.float64, n_samples=40):
    return bench.make_problem(TINY, n_samples=n_samples, dtype=dtype)


def test_make_problem_sizes_and_split():
    p = tiny_problem(np.float32)
    assert p.layers == TINY and p.X.dtype == np.float32
    assert p.X.shape == (40, 8) and p.X_test.shape[0] >= 1 and p.y.shape == (40,)
    assert p.flops_per_epoch == 6 * (8 * 5 + 5 * 3) * 40
    small = bench.make_problem("small")
    assert small.layers == (64, 64, 10) and small.X.shape[0] + small.X_test.shape[0] == 1797
    with pytest.raises(ValueError, match="size"):
        bench.make_problem("huge")


@pytest.mark.parametrize("library", INSTALLED)
def test_peers_train_the_same_network(library):
    """One full-batch epoch (so the order of samples does not matter) from the same weights."""
    p = tiny_problem()
    p.batch = p.X.shape[0]
    runs = bench.trainers(p, ["nbmlp", library], np.float64)
    nb, peer = runs
    before = nb.initial_weights()[0]
    for t in runs:
        t.epoch()
    if library == "numpy":
        weights = peer.W
    elif library == "scikit-learn":
        weights = peer.clf.coefs_
    else:
        weights = [lin.weight.detach().numpy().T for lin in peer.model[::2]]
    assert not np.allclose(nb.net.weights[0], before[0])  # the epoch did train
    for w_nb, w_peer in zip(nb.net.weights, weights):
        np.testing.assert_allclose(w_nb, w_peer, rtol=1e-10, atol=1e-10)
    np.testing.assert_array_equal(nb.predict(p.X_test), peer.predict(p.X_test))


def test_compare_rows_are_finite_and_consistent():
    p = tiny_problem(np.float32)
    libraries = ["nbmlp"] + INSTALLED
    rows = bench.compare(p, libraries, epochs=2, dtype=np.float32, n_threads=1)
    assert [r["library"] for r in rows] == libraries
    for r in rows:
        for key in ("seconds", "samples_per_s", "gflops", "speedup"):
            assert np.isfinite(r[key]) and r[key] > 0, (r["library"], key)
        assert 0 <= r["accuracy"] <= 1
        assert r["samples_per_s"] == pytest.approx(p.X.shape[0] / r["seconds"])
        assert r["gflops"] == pytest.approx(p.flops_per_epoch / r["seconds"] / 1e9)
    assert rows[0]["speedup"] == 1.0
    table = bench.format_table(p, rows, np.float32, 1, 2).splitlines()
    assert table[0].startswith("8-5-3: 8-5-3, batch 32, 40 training samples")
    body = [line for line in table if line.startswith("| ")]
    assert len(body) == 1 + len(libraries)  # the header and one row per library
    assert all(line.count("|") == 7 for line in body)


def test_compare_rejects_bad_arguments():
    p = tiny_problem()
    with pytest.raises(ValueError, match="epochs"):
        bench.compare(p, ["nbmlp"], epochs=0)
    with pytest.raises(ValueError, match="libraries"):
        bench.compare(p, ["nbmlp", "tensorflow"], epochs=1)


def test_main_prints_the_machine_and_one_table(capsys):
    bench.main(["--sizes", "small", "--epochs", "1", "--libraries", "numpy", "--threads", "1", "--samples", "64"])
    out = capsys.readouterr().out
    assert out.startswith("CPU: ") and "versions: nbmlp" in out
    assert "command: python -m nbmlp.bench --sizes small" in out
    rows = [line for line in out.splitlines() if line.startswith("| nbmlp") or line.startswith("| numpy")]
    assert len(rows) == 2
