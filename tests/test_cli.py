"""End-to-end tests of the ``nbmlp`` command, run in a subprocess as a user would."""

import csv
import os
import struct
import subprocess
import sys
import warnings

import numpy as np
import pytest

from nbmlp.datasets import DATASETS


def run(*args, cwd=None, timeout=600):
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    env.pop("NBMLP_DEBUG", None)
    return subprocess.run(
        [sys.executable, "-m", "nbmlp", *args], capture_output=True, text=True, cwd=cwd, timeout=timeout, env=env
    )


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
    res = run(
        "train",
        str(data),
        "--target",
        "colour",
        "--hidden",
        "16",
        "--epochs",
        "40",
        "--lr",
        "0.01",
        "--out",
        str(model),
        "--plot",
        str(plot),
        "--quiet",
    )
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
    res = run(
        "train",
        str(data),
        "--target",
        "price",
        "--task",
        "regress",
        "--epochs",
        "100",
        "--lr",
        "0.01",
        "--out",
        str(model),
        "--quiet",
    )
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
    # the line a first compile prints (a cold cache) is not part of the error
    lines = [line for line in res.stderr.strip().splitlines() if not line.startswith("nbmlp: compiling")]
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
    assert (
        run("train", str(data), "--target", "colour", "--epochs", "2", "--out", str(model), "--quiet").returncode == 0
    )
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
    res = subprocess.run(
        [sys.executable, "-m", "nbmlp", "demo", "xor", "--epochs", "2", "--quiet", "--out-dir", str(tmp_path / "out")],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )
    assert res.returncode == 0, res.stderr
    assert "plots skipped: matplotlib is not installed" in res.stdout
    assert not list((tmp_path / "out").glob("*.png"))


def test_no_command_prints_help():
    res = run()
    assert res.returncode == 2
    assert "usage: nbmlp" in res.stdout and "demo" in res.stdout


# -- failure paths: no file lost or left half written ----------------------------------------------
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
        res = run(
            "train", str(data), "--target", "colour", "--epochs", "1", "--out", str(tmp_path / "m.npz"), "--quiet"
        )
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
    bad(
        "train",
        str(data),
        "--target",
        "colour",
        "--solver",
        "sgd",
        "--lr",
        "1e6",
        "--epochs",
        "20",
        "--quiet",
        "--out",
        str(tmp_path / "m.npz"),
        match="training diverged",
    )
    bad(
        "train",
        str(data),
        "--target",
        "colour",
        "--hidden",
        "1000000,1000000",
        "--quiet",
        "--out",
        str(tmp_path / "m.npz"),
        match="not enough memory",
    )
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
    proc = subprocess.Popen(
        [sys.executable, "-m", "nbmlp", "predict", str(model), str(big)], stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
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
    cmd = [
        sys.executable,
        "-m",
        "nbmlp",
        "train",
        str(data),
        "--target",
        "colour",
        "--epochs",
        "1000000",
        "--out",
        str(model),
    ] + (["--save-interrupted"] if keep else [])
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    line = proc.stderr.readline()  # the progress line of the first epoch: training is under way
    while line.startswith("nbmlp: compiling"):  # a cold cache says so first
        line = proc.stderr.readline()
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


# -- real CSV files: delimiters, missing values, text columns, ids, controls, reports ----
def write_rows(path, header, rows, delimiter):
    with open(path, "w", newline="") as fh:
        w = csv.writer(fh, delimiter=delimiter)
        w.writerow(header)
        w.writerows(rows)


def shop_rows(n, seed):
    """Rows of a small classification file: an id, two numbers (some missing), a text column
    (some missing) and the class, which depends on the text column and the first number."""
    rng = np.random.default_rng(seed)
    colour = rng.choice(["red", "green", "blue"], n)
    x1 = rng.normal(0, 1, n)
    x2 = rng.normal(0, 1, n)
    label = np.where((colour == "red") | (x1 > 1), "buy", "skip")
    rows = []
    for i in range(n):
        rows.append(
            [
                f"c{1000 + i}",
                "" if i % 7 == 3 else f"{x1[i]:.3f}",
                "NA" if i % 11 == 5 else f"{x2[i]:.3f}",
                "" if i % 13 == 6 else colour[i],
                label[i],
            ]
        )
    return rows


@pytest.fixture(scope="module")
def shop(tmp_path_factory):
    """A model trained by the command on a semicolon file with missing values, a text column and
    an id column, with most training controls set (one subprocess, shared by the tests below)."""
    d = tmp_path_factory.mktemp("shop")
    data, model = d / "shop.csv", d / "shop.npz"
    write_rows(data, ["id", "x1", "x2", "colour", "label"], shop_rows(160, 0), ";")
    res = run(
        "train",
        str(data),
        "--target",
        "label",
        "--ignore",
        "id",
        "--na",
        "median",
        "--hidden",
        "16",
        "--epochs",
        "40",
        "--early-stopping",
        "5",
        "--alpha",
        "0.001",
        "--batch-size",
        "16",
        "--lr",
        "0.01",
        "--solver",
        "adam",
        "--activation",
        "tanh",
        "--dtype",
        "float32",
        "--out",
        str(model),
        "--quiet",
    )
    assert res.returncode == 0, res.stderr
    return data, model, res.stdout


def test_train_on_semicolons_with_missing_values_and_a_text_column(shop):
    import nbmlp
    from nbmlp.persistence import load_with_inputs
    from nbmlp.tabular import TEXT, read_table

    data, model, out = shop
    # reports: accuracy, the confusion matrix, the per-class report, the times, early stopping
    assert float(out.split("validation accuracy")[1].split()[0]) >= 0.8
    assert "confusion matrix (validation rows" in out
    assert "precision" in out and "recall" in out and "buy" in out and "skip" in out
    assert "ms per epoch" in out and "epoch(s) in" in out
    assert "early stopping: the lowest validation loss was at epoch" in out
    est, enc = load_with_inputs(model)
    assert enc.columns == ["x1", "x2", "colour"] and enc.na == "median"
    assert enc.kinds[2] == TEXT and list(enc.categories[2]) == ["blue", "green", "red"]
    assert est.n_features_in_ == 5 and est.activation == "tanh" and est.alpha == 0.001 and est.batch_size == 16
    assert est.coefs_[0].dtype == np.float32
    assert list(est.feature_names_in_) == ["x1", "x2", "colour=blue", "colour=green", "colour=red"]
    loaded = nbmlp.load(model)  # the encoder and the estimator: it takes the file's columns
    assert isinstance(loaded, nbmlp.Pipeline) and isinstance(loaded[-1], type(est))
    # the fill values are the training rows' medians: within the range of the data, not 0 or NaN
    table = read_table(str(data))
    x1 = table.numbers("x1", allow_missing=True)
    assert np.nanmin(x1) < enc.fill[0] < np.nanmax(x1) and enc.text_fill[2] in ("blue", "green", "red")


def test_predict_with_ids_probabilities_tabs_and_unseen_categories(shop, tmp_path):
    from nbmlp.persistence import load_with_inputs
    from nbmlp.tabular import read_table

    _, model, _ = shop
    rows = [r[:4] for r in shop_rows(30, 1)]  # no label column
    rows[0][3] = "purple"  # a category the model never saw
    new = tmp_path / "new.tsv"
    write_rows(new, ["id", "x1", "x2", "colour"], rows, "\t")
    out = tmp_path / "pred.csv"
    res = run("predict", str(model), str(new), "--delimiter", "tab", "--id", "id", "--proba", "--out", str(out))
    assert res.returncode == 0, res.stderr
    assert "column 'colour': 1 row(s) hold categories not seen in training ('purple')" in res.stderr
    with open(out) as fh:
        got = list(csv.reader(fh))
    assert got[0] == ["id", "prediction", "proba_buy", "proba_skip"]
    assert [r[0] for r in got[1:]] == [r[0] for r in rows]  # ids carried through, in order
    proba = np.array([[float(v) for v in r[2:]] for r in got[1:]])
    np.testing.assert_allclose(proba.sum(axis=1), 1, rtol=1e-5)
    # the same predictions as the loaded model on the encoded columns, unseen category as zeros
    est, enc = load_with_inputs(model)
    X, ok = enc.transform(read_table(str(new)))
    assert ok.all() and X[0, 2:].sum() == 0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # fitted with feature names, given an array
        assert [r[1] for r in got[1:]] == list(est.predict(X))
    assert [r[1] for r in got[1:]] == [["buy", "skip"][int(p[1] > p[0])] for p in proba]


def test_csv_module_reader_without_pandas_gives_the_same_model(shop, tmp_path):
    """With pandas hidden the command says how to get it and trains the very same model."""
    import nbmlp

    data, model, _ = shop
    fake = tmp_path / "fake"
    (fake / "pandas").mkdir(parents=True)
    (fake / "pandas" / "__init__.py").write_text("raise ImportError('no pandas here')\n")
    env = dict(os.environ, PYTHONPATH=str(fake) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    again = tmp_path / "again.npz"
    res = subprocess.run(
        [
            sys.executable,
            "-m",
            "nbmlp",
            "train",
            str(data),
            "--target",
            "label",
            "--ignore",
            "id",
            "--na",
            "median",
            "--hidden",
            "16",
            "--epochs",
            "40",
            "--early-stopping",
            "5",
            "--alpha",
            "0.001",
            "--batch-size",
            "16",
            "--lr",
            "0.01",
            "--activation",
            "tanh",
            "--out",
            str(again),
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )
    assert res.returncode == 0, res.stderr
    assert "pip install 'nbmlp[csv]'" in res.stderr
    a, b = nbmlp.load(model)[-1], nbmlp.load(again)[-1]
    for w, v in zip(a.coefs_ + a.intercepts_, b.coefs_ + b.intercepts_):
        np.testing.assert_array_equal(w, v)


def test_regression_reports_rmse_and_mae_and_drops_rows_with_gaps(tmp_path):
    rng = np.random.default_rng(2)
    X = rng.uniform(-1, 1, (120, 2))
    y = 500 + 100 * X[:, 0] - 50 * X[:, 1]
    rows = [[f"{a:.4f}", f"{b:.4f}", f"{t:.3f}"] for a, b, t in zip(*X.T, y)]
    rows[4][0] = ""  # left out by --na drop (training), an empty prediction (predict)
    data = tmp_path / "reg.csv"
    write_rows(data, ["x1", "x2", "price"], rows, "|")
    model = tmp_path / "reg.npz"
    res = run(
        "train",
        str(data),
        "--target",
        "price",
        "--na",
        "drop",
        "--epochs",
        "60",
        "--lr",
        "0.01",
        "--dtype",
        "float64",
        "--out",
        str(model),
    )
    assert res.returncode == 0, res.stderr
    assert "left out 1 row(s) with a missing value" in res.stdout
    line = [s for s in res.stdout.splitlines() if s.startswith("training R²")][0]
    val = line.split("validation")[1]
    r2, rmse, mae = (float(val.split(k)[1].split()[0].rstrip(",)")) for k in ("R² ", "RMSE ", "MAE "))
    assert r2 > 0.8 and 0 < mae <= rmse < 0.5 * y.std()
    res = run("predict", str(model), str(data), "--quiet")
    assert res.returncode == 0, res.stderr
    pred = [r[0] for r in csv.reader(res.stdout.splitlines()[1:])]
    assert len(pred) == 120 and pred[4] == "" and all(pred[i] for i in range(120) if i != 4)
    import nbmlp

    assert nbmlp.load(model)[-1].coefs_[0].dtype == np.float64
    res = run("train", str(data), "--target", "price", "--epochs", "1", "--proba", "--quiet")
    assert res.returncode != 0 and "unrecognized arguments: --proba" in res.stderr


def test_missing_values_are_an_error_by_default_and_options_are_checked(tmp_path):
    data = tmp_path / "gaps.csv"
    write_rows(data, ["a", "b", "y"], [[1, 2, 0], [3, 4, 1], [5, "", 0], [7, 8, 1]], ";")
    bad("train", str(data), "--target", "y", match="line 4, column 'b': '' is a missing value (--na drop")
    bad("train", str(data), "--target", "y", "--ignore", "zz", match="--ignore: column(s) 'zz' not in")
    bad(
        "train",
        str(data),
        "--target",
        "y",
        "--na",
        "mean",
        "--validation",
        "0",
        "--early-stopping",
        match="--early-stopping needs validation rows",
    )
    res = run("train", str(data), "--target", "y", "--na", "sometimes")
    assert res.returncode == 2 and "invalid choice: 'sometimes'" in res.stderr
    res = run("--version")
    assert res.returncode == 0 and res.stdout.startswith("nbmlp ")


def test_help_names_real_files_and_steps_and_bench_shows_its_options():
    res = run("--help")
    assert "digits_loss.png" in res.stdout and "loss_curve.png" not in res.stdout
    from nbmlp.derivation import STEP_NAMES

    step = res.stdout.split("nbmlp explain ")[1].split()[0]
    assert step in STEP_NAMES
    res = run("bench", "--help")
    assert res.returncode == 0 and "usage: nbmlp bench" in res.stdout
    assert "--sizes" in res.stdout and "--libraries" in res.stdout


@pytest.mark.parametrize(
    "change, member",
    [
        (lambda a: a.pop("input_fill"), "input_fill"),
        (lambda a: a.update(input_fill=np.array([np.nan, 0.0, 0.0])), "input_fill"),
        (lambda a: a.update(input_category_counts=np.array([0, 0, 4])), "input_category_counts"),
        (lambda a: a.update(input_category_counts=np.array([1, 0, 2])), "input_category_counts"),
        (lambda a: a.update(input_categories=np.array(["red", "green", "blue"])), "input_categories"),
        (lambda a: a.update(input_text_fill=np.array(["", "", "purple"])), "input_text_fill"),
        (lambda a: a.update(input_kinds=np.array([0, 0, 7], dtype=np.int8)), "input_kinds"),
        (lambda a: a.update(input_na=np.array("sometimes")), "input_na"),
        (lambda a: a.update(input_columns=np.array(["x1", "x1", "colour"])), "input_columns"),
        (lambda a: a.update(input_columns=np.array(["x"] * 9)), "input_columns"),
        (lambda a: a.update(input_categories=np.array([b"blue", b"green", b"red"], dtype=object)), "input_categories"),
    ],
)
def test_crafted_column_encodings_are_refused(shop, tmp_path, change, member):
    import nbmlp

    _, model, _ = shop
    with np.load(model) as f:
        arrays = {k: f[k] for k in f.files}
    change(arrays)
    path = tmp_path / "crafted.npz"
    np.savez(path, **arrays)
    with pytest.raises(ValueError, match=f"member '{member}'"):
        nbmlp.load(path)


def test_reader_details(tmp_path):
    """Delimiter detection, line numbers past blank lines and quoted newlines, field counts,
    a byte-order mark, padded missing markers: the pandas reader and the csv-module reader agree."""
    from nbmlp import tabular

    cases = {
        "semi.csv": ("a;b;c\n1,5;2;x\n3;4;y\n", None),
        "quoted.csv": ('a,b,c\n"1",2,"two\nlines"\n\n,,\n3,abc,y\n', "line 6, column 'b': 'abc' is not a number"),
        "short.csv": ("a|b|c\n1|2|x\n\n3|4\n", "line 4: 2 values but the header has 3 columns"),
        "long.csv": ("a,b,c\n1,2,x\n3,4,y,z\n", "line 3: 4 values but the header has 3 columns"),
        "bom.csv": ("\ufeffa\tb\tc\n1\t NA \tx\n2\t3\t?\n", None),
    }
    for name, (text, error) in cases.items():
        path = tmp_path / name
        path.write_text(text, encoding="utf-8")
        results = []
        for pandas in (tabular._pandas, lambda: None):
            saved, tabular._pandas = tabular._pandas, pandas
            try:
                if error:
                    with pytest.raises(tabular.UserError, match=error.replace("(", r"\(")):
                        t = tabular.read_table(str(path))
                        t.numbers("b")
                    continue
                t = tabular.read_table(str(path))
                results.append(
                    (
                        t.delimiter,
                        t.header,
                        t.n_rows,
                        t.strings("a").tolist(),
                        t.numbers("b", allow_missing=True).tolist(),
                        t.strings("c").tolist(),
                    )
                )
            finally:
                tabular._pandas = saved
        if not error:
            assert repr(results[0]) == repr(results[1]), name
    flags = tmp_path / "flags.csv"  # pandas reads these as booleans: the text is kept as written
    flags.write_text("a,b\n1,true\n2,FALSE\n3,\n")
    assert tabular.read_table(str(flags)).strings("b").tolist() == ["true", "FALSE", None]
    semi = tabular.read_table(str(tmp_path / "semi.csv"))
    assert semi.delimiter == ";" and semi.strings("a").tolist() == ["1,5", "3"]
    bom = tabular.read_table(str(tmp_path / "bom.csv"))
    assert bom.header == ["a", "b", "c"] and np.isnan(bom.numbers("b", allow_missing=True)[0])
    assert bom.strings("c").tolist() == ["x", None]
