"""End-to-end tests of the ``nbmlp`` command, run in a subprocess as a user would."""
import csv
import os
import struct
import subprocess
import sys

import numpy as np
import pytest

from nbmlp.datasets import DATASETS


def run(*args, cwd=None, timeout=600):
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    env.pop("NBMLP_DEBUG", None)
    return subprocess.run([sys.executable, "-m", "nbmlp", *args], capture_output=True, text=True,
                          cwd=cwd, timeout=timeout, env=env)


def png_size(path):
    """Width and height of a PNG file, read from its header (fails if it is not a PNG)."""
    with open(path, "rb") as fh:
        head = fh.read(24)
    assert head[:8] == b"\x89PNG\r\n\x1a\n", f"{path} is not a PNG"
    return struct.unpack(">II", head[16:24])


def have_matplotlib():
    try:
        import matplotlib  # noqa: F401
        return True
    except ImportError:
        return False


def write_csv(path, header, rows):
    with open(path, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(header)
        w.writerows(rows)


@pytest.fixture(scope="module")
def blobs_csv(tmp_path_factory):
    rng = np.random.default_rng(0)
    n = 120
    y = np.arange(n) % 3
    X = rng.normal(0, 0.5, (n, 3)) + np.eye(3)[y] * 3 + 10
    names = np.array(["red", "green", "blue"])[y]
    path = tmp_path_factory.mktemp("data") / "blobs.csv"
    write_csv(path, ["a", "b", "c", "colour"], [[*map(float, x), c] for x, c in zip(X, names)])
    return path, names


@pytest.mark.parametrize("dataset", DATASETS)
def test_demo(dataset, tmp_path):
    res = run("demo", dataset, "--epochs", "3", "--out-dir", str(tmp_path), "--quiet")
    assert res.returncode == 0, res.stderr
    assert "test accuracy" in res.stdout
    acc = float(res.stdout.split("test accuracy")[1].split(";")[0])
    assert 0 <= acc <= 1
    assert "Traceback" not in res.stderr
    if have_matplotlib():
        w, h = png_size(tmp_path / f"{dataset}_loss.png")
        assert 300 <= w <= 2000 and 200 <= h <= 2000
        if dataset in ("xor", "spirals", "moons"):
            w, h = png_size(tmp_path / f"{dataset}_regions.png")
            assert 300 <= w <= 2000 and 300 <= h <= 2000
        else:
            assert not (tmp_path / f"{dataset}_regions.png").exists()
    else:
        assert "plots skipped" in res.stdout


def test_demo_learns_moons(tmp_path):
    res = run("demo", "moons", "--out-dir", str(tmp_path), "--quiet")
    assert res.returncode == 0, res.stderr
    assert float(res.stdout.split("test accuracy")[1].split(";")[0]) >= 0.9


def test_demo_shows_progress(tmp_path):
    res = run("demo", "iris", "--epochs", "5", "--out-dir", str(tmp_path))
    assert res.returncode == 0, res.stderr
    assert "epoch    5/5" in res.stderr and "val accuracy" in res.stderr


def test_train_then_predict(blobs_csv, tmp_path):
    data, names = blobs_csv
    model, plot, out = tmp_path / "model.npz", tmp_path / "loss.png", tmp_path / "pred.csv"
    res = run("train", str(data), "--target", "colour", "--hidden", "16", "--epochs", "40", "--lr", "0.01",
              "--out", str(model), "--plot", str(plot), "--quiet")
    assert res.returncode == 0, res.stderr
    assert "training accuracy" in res.stdout and "validation accuracy" in res.stdout
    assert float(res.stdout.split("validation accuracy")[1].split()[0]) >= 0.9
    assert model.exists()
    if have_matplotlib():
        png_size(plot)
    # predict on the same file: the target column is not a feature and is ignored by name
    res = run("predict", str(model), str(data), "--out", str(out), "--quiet")
    assert res.returncode == 0, res.stderr
    with open(out) as fh:
        rows = list(csv.reader(fh))
    assert rows[0] == ["prediction"]
    pred = np.array([r[0] for r in rows[1:]])
    assert len(pred) == len(names)
    assert (pred == names).mean() >= 0.9


def test_train_regression(tmp_path):
    rng = np.random.default_rng(1)
    X = rng.uniform(-1, 1, (200, 2))
    y = 1000 + 300 * X[:, 0] - 200 * X[:, 1] ** 2
    data = tmp_path / "reg.csv"
    write_csv(data, ["x1", "x2", "price"], np.column_stack([X, y]).tolist())
    model = tmp_path / "reg.npz"
    res = run("train", str(data), "--target", "price", "--task", "regress", "--epochs", "100", "--lr", "0.01",
              "--out", str(model), "--quiet")
    assert res.returncode == 0, res.stderr
    assert float(res.stdout.split("validation R²")[1].split()[0]) >= 0.8
    res = run("predict", str(model), str(data))
    assert res.returncode == 0, res.stderr
    pred = np.array([float(v) for v in res.stdout.split()[1:]])
    assert np.corrcoef(pred, y)[0, 1] > 0.9


def test_help_for_every_command():
    for cmd in ([], ["demo"], ["train"], ["predict"], ["explain"], ["bench"]):
        res = run(*cmd, "--help")
        assert res.returncode == 0
        assert "usage: nbmlp" in res.stdout
        assert "example" in res.stdout


def bad(*args, match, cwd=None):
    res = run(*args, cwd=cwd)
    assert res.returncode != 0
    assert "Traceback" not in res.stderr
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1, res.stderr
    assert match in lines[0], lines[0]
    return res


def test_bad_inputs(blobs_csv, tmp_path):
    data, _ = blobs_csv
    out = tmp_path / "never.npz"
    bad("train", str(tmp_path / "missing.csv"), "--target", "y", "--out", str(out), match="does not exist")
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    bad("train", str(empty), "--target", "y", "--out", str(out), match="is empty")
    header_only = tmp_path / "header.csv"
    header_only.write_text("a,b,y\n")
    bad("train", str(header_only), "--target", "y", "--out", str(out), match="no data rows")
    bad("train", str(data), "--target", "nope", "--out", str(out), match="target column 'nope' is not in")
    text = tmp_path / "text.csv"
    write_csv(text, ["a", "b", "y"], [[1, 2, 0], [3, "abc", 1], [5, 6, 0]])
    bad("train", str(text), "--target", "y", "--out", str(out), match="line 3, column 'b': 'abc' is not a number")
    assert not out.exists()
    assert not [p for p in os.listdir(tmp_path) if p.startswith(".nbmlp-")]


def test_bad_model_files(blobs_csv, tmp_path):
    data, _ = blobs_csv
    pred = tmp_path / "pred.csv"
    bad("predict", str(tmp_path / "none.npz"), str(data), match="does not exist")
    junk = tmp_path / "junk.npz"
    junk.write_bytes(b"this is not a model")
    bad("predict", str(junk), str(data), "--out", str(pred), match="not a usable nbmlp model")
    other = tmp_path / "other.npz"
    np.savez(other, a=np.arange(3))
    bad("predict", str(other), str(data), "--out", str(pred), match="not a usable nbmlp model")
    assert not pred.exists()


def test_feature_count_mismatch(blobs_csv, tmp_path):
    data, _ = blobs_csv
    model = tmp_path / "m.npz"
    assert run("train", str(data), "--target", "colour", "--epochs", "2", "--out", str(model), "--quiet").returncode == 0
    two = tmp_path / "two.csv"
    write_csv(two, ["p", "q"], [[1, 2], [3, 4]])
    pred = tmp_path / "pred.csv"
    bad("predict", str(model), str(two), "--out", str(pred), match="lacks the model's feature column(s) 'a', 'b', 'c'")
    assert not pred.exists()


def test_bad_options():
    res = run("train", "x.csv", "--target", "y", "--hidden", "a,b")
    assert res.returncode != 0 and "--hidden" in res.stderr and "Traceback" not in res.stderr
    res = run("demo", "nosuchset")
    assert res.returncode != 0 and "invalid choice" in res.stderr


def test_plots_skipped_without_matplotlib(tmp_path):
    # a matplotlib that cannot be imported, ahead of the real one on the path
    fake = tmp_path / "fake"
    (fake / "matplotlib").mkdir(parents=True)
    (fake / "matplotlib" / "__init__.py").write_text("raise ImportError('no matplotlib here')\n")
    env = dict(os.environ, PYTHONPATH=str(fake) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    res = subprocess.run([sys.executable, "-m", "nbmlp", "demo", "xor", "--epochs", "2", "--quiet",
                          "--out-dir", str(tmp_path / "out")], capture_output=True, text=True, env=env, timeout=600)
    assert res.returncode == 0, res.stderr
    assert "plots skipped: matplotlib is not installed" in res.stdout
    assert not list((tmp_path / "out").glob("*.png"))


def test_no_command_prints_help():
    res = run()
    assert res.returncode == 2
    assert "usage: nbmlp" in res.stdout and "demo" in res.stdout


# -- failure paths (issue: the command loses or mangles files) ------------------------------------
def leftovers(directory):
    return sorted(p for p in os.listdir(directory) if p.startswith(".nbmlp-"))


@pytest.fixture(scope="module")
def model_file(blobs_csv, tmp_path_factory):
    """A model trained by the command on blobs.csv (features a, b, c; target colour)."""
    data, _ = blobs_csv
    path = tmp_path_factory.mktemp("model") / "m.npz"
    res = run("train", str(data), "--target", "colour", "--epochs", "2", "--out", str(path), "--quiet")
    assert res.returncode == 0, res.stderr
    return path


def test_out_without_npz_suffix_writes_that_file(blobs_csv, tmp_path):
    import nbmlp

    data, names = blobs_csv
    for name in ("mymodel", "model.bin"):
        res = run("train", str(data), "--target", "colour", "--epochs", "2", "--out", str(tmp_path / name), "--quiet")
        assert res.returncode == 0, res.stderr
        assert f"saved model to {tmp_path / name}" in res.stdout
        assert list(nbmlp.load(tmp_path / name).classes_) == sorted(set(names))
    assert sorted(os.listdir(tmp_path)) == ["model.bin", "mymodel"]


def test_output_files_respect_the_umask(blobs_csv, model_file, tmp_path):
    data, _ = blobs_csv
    (tmp_path / "kept.csv").write_text("")
    os.chmod(tmp_path / "kept.csv", 0o604)  # an existing file keeps its mode
    old = os.umask(0o027)
    try:
        res = run("train", str(data), "--target", "colour", "--epochs", "1", "--out", str(tmp_path / "m.npz"),
                  "--quiet")
        assert res.returncode == 0, res.stderr
        assert run("predict", str(model_file), str(data), "--out", str(tmp_path / "p.csv")).returncode == 0
        assert run("predict", str(model_file), str(data), "--out", str(tmp_path / "kept.csv")).returncode == 0
    finally:
        os.umask(old)
    for name in ("m.npz", "p.csv"):
        assert os.stat(tmp_path / name).st_mode & 0o777 == 0o640, name
    assert os.stat(tmp_path / "kept.csv").st_mode & 0o777 == 0o604


def test_fractional_labels_are_not_classes(tmp_path):
    data = tmp_path / "half.csv"
    write_csv(data, ["x", "y"], [[i, 0.5 + i % 3] for i in range(30)])
    out = tmp_path / "m.npz"
    bad("train", str(data), "--target", "y", "--task", "classify", "--out", str(out), match="not whole ('0.5'")
    write_csv(data, ["x", "y"], [[i, [1.1, 1.7][i % 2]] for i in range(30)])
    bad("train", str(data), "--target", "y", "--task", "classify", "--out", str(out), match="not whole")
    assert not out.exists() and not leftovers(tmp_path)


def test_user_mistakes_are_one_line_and_leave_no_file(blobs_csv, tmp_path):
    data, _ = blobs_csv
    (tmp_path / "adir").mkdir()
    bad("train", str(data), "--target", "colour", "--out", str(tmp_path / "adir"), match="is a directory")
    bad("train", str(data), "--target", "colour", "--out", str(tmp_path / "no" / "m.npz"), match="does not exist")
    bad("train", str(data), "--target", "colour", "--solver", "sgd", "--lr", "1e6", "--epochs", "20", "--quiet",
        "--out", str(tmp_path / "m.npz"), match="training diverged")
    bad("train", str(data), "--target", "colour", "--hidden", "1000000,1000000", "--quiet",
        "--out", str(tmp_path / "m.npz"), match="not enough memory")
    res = bad("demo", "xor", "--out-dir", str(data), match="is a file, not a directory")
    assert "test accuracy" not in res.stdout  # refused before training
    crafted = tmp_path / "crafted.npz"
    np.savez(crafted, format=np.array("nbmlp-estimator"), format_version=np.array(1))
    bad("predict", str(crafted), str(data), match="member 'estimator': missing")
    assert sorted(os.listdir(tmp_path)) == ["adir", "crafted.npz"]


@pytest.mark.skipif(hasattr(os, "geteuid") and os.geteuid() == 0, reason="root writes to read-only directories")
def test_read_only_output_directory(blobs_csv, tmp_path):
    data, _ = blobs_csv
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o555)
    try:
        bad("train", str(data), "--target", "colour", "--out", str(ro / "m.npz"), match="not writable")
        assert not os.listdir(ro)
    finally:
        ro.chmod(0o755)


def test_repeated_header_names_and_missing_features_are_errors(model_file, tmp_path):
    dup = tmp_path / "dup.csv"
    write_csv(dup, ["a", "a", "c", "colour"], [[1, 2, 3, "red"], [4, 5, 6, "blue"]])
    bad("train", str(dup), "--target", "colour", match="'a' more than once")
    model = model_file
    # three columns, as many as the model's features, but 'b' is missing and 'colour' is not a feature
    other = tmp_path / "other.csv"
    write_csv(other, ["a", "colour", "c"], [[1, 2, 3], [4, 5, 6]])
    bad("predict", str(model), str(other), match="lacks the model's feature column(s) 'b'")


def test_broken_pipe_is_quiet(model_file, tmp_path):
    model = model_file
    big = tmp_path / "big.csv"
    rng = np.random.default_rng(0)
    np.savetxt(big, rng.normal(size=(100_000, 3)), delimiter=",", header="a,b,c", comments="", fmt="%.3f")
    proc = subprocess.Popen([sys.executable, "-m", "nbmlp", "predict", str(model), str(big)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    head = [proc.stdout.readline() for _ in range(4)]
    proc.stdout.close()  # as `| head -4` does
    stderr = proc.stderr.read().decode()
    proc.wait(timeout=600)
    assert head[0].strip() == b"prediction"
    assert "Traceback" not in stderr and "Error" not in stderr, stderr
    assert proc.returncode in (1, 141)


@pytest.mark.skipif(sys.platform == "win32", reason="SIGINT")
@pytest.mark.parametrize("keep", [False, True])
def test_ctrl_c_during_train_says_so_and_exits_130(blobs_csv, tmp_path, keep):
    import signal

    data, _ = blobs_csv
    model = tmp_path / "m.npz"
    cmd = [sys.executable, "-m", "nbmlp", "train", str(data), "--target", "colour", "--epochs", "1000000",
           "--out", str(model)] + (["--save-interrupted"] if keep else [])
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    line = proc.stderr.readline()  # the progress line of the first epoch: training is under way
    assert line.startswith("epoch"), line
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=600)
    assert proc.returncode == 130, err
    assert "nbmlp: interrupted after" in err and "Traceback" not in err
    assert model.exists() == keep
    assert not leftovers(tmp_path)
    if keep:
        assert "holds the last finished epoch" in err
        assert run("predict", str(model), str(data), "--quiet").returncode == 0
