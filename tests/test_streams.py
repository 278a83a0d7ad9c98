"""Input read once from streams, output written through to special files, SIGTERM as Ctrl-C.

The command's inputs may be pipes, FIFOs, ``/dev/stdin`` or ``-`` (read once, whole); its outputs
may be devices, FIFOs, symlinks or ``-`` (written through, never replaced); SIGTERM stops training
after the current epoch as Ctrl-C does (``nbmlp._signals``).
"""

import io
import os
import re
import signal
import stat
import subprocess
import sys
import threading

import numpy as np
import pytest

from nbmlp import tabular
from nbmlp.cli import files

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX files and signals")


def run(*args, stdin=None, cwd=None, timeout=600):
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    env.pop("NBMLP_DEBUG", None)
    return subprocess.run(
        [sys.executable, "-m", "nbmlp", *args], input=stdin, capture_output=True, cwd=cwd, timeout=timeout, env=env
    )


def big_csv_bytes(n=20_000, seed=0):
    """A CSV of more than 64 KiB (the size ``read_table`` sniffs first): id, a, b, c, colour."""
    rng = np.random.default_rng(seed)
    y = np.arange(n) % 3
    X = rng.normal(0, 0.5, (n, 3)) + np.eye(3)[y] * 3 + 10
    colours = np.array(["red", "green", "blue"])[y]
    lines = ["id,a,b,c,colour"] + [
        f"{i},{x[0]:.4f},{x[1]:.4f},{x[2]:.4f},{c}" for i, (x, c) in enumerate(zip(X, colours))
    ]
    data = ("\n".join(lines) + "\n").encode()
    assert len(data) > tabular.HEAD
    return data


BIG = big_csv_bytes()


def feed_fifo(path, data):
    """A FIFO at ``path`` and a thread that writes ``data`` into it once a reader opens it."""
    os.mkfifo(path)

    def writer():
        with open(path, "wb") as fh:
            fh.write(data)

    t = threading.Thread(target=writer, daemon=True)
    t.start()
    return t


# -- reading ------------------------------------------------------------------------------------
def check_big_table(table, n=20_000):
    assert table.n_rows == n
    ids = table.strings("id") if table.columns["id"].dtype.kind != "f" else table.columns["id"]
    assert [float(v) for v in ids[:3]] == [0, 1, 2] and float(ids[-1]) == n - 1
    assert table.columns["a"].dtype == np.float64


@pytest.mark.parametrize("pandas", [True, False])
def test_a_fifo_of_more_than_64_kib_is_read_whole(tmp_path, monkeypatch, pandas):
    if not pandas:
        monkeypatch.setattr(tabular, "_pandas", lambda: None)
    fifo = tmp_path / "data.csv"
    t = feed_fifo(fifo, BIG)
    check_big_table(tabular.read_table(str(fifo)))
    t.join(timeout=60)


def test_standard_input_is_read_with_a_dash(monkeypatch):
    class Stdin:
        buffer = io.BytesIO(BIG)

    monkeypatch.setattr(sys, "stdin", Stdin)
    table = tabular.read_table("-")
    check_big_table(table)
    assert table.path == "standard input"


@pytest.mark.parametrize("end", [b"\r", b"\r\n"])
def test_old_mac_and_windows_line_ends(tmp_path, end):
    path = tmp_path / "mac.csv"
    path.write_bytes(BIG.replace(b"\n", end))
    check_big_table(tabular.read_table(str(path)))
    small = tmp_path / "small.csv"
    small.write_bytes(end.join([b"a;b", b"1,5;x", b"2;y", b""]))
    table = tabular.read_table(str(small))
    assert table.header == ["a", "b"] and table.n_rows == 2


@pytest.fixture(scope="module")
def model_file(tmp_path_factory):
    """A model trained by the command on the first 600 rows of the big CSV."""
    folder = tmp_path_factory.mktemp("model")
    data = folder / "train.csv"
    data.write_bytes(b"\n".join(line.split(b",", 1)[-1] for line in BIG.split(b"\n")[:601]) + b"\n")  # no id
    path = folder / "m.npz"
    res = run("train", str(data), "--target", "colour", "--epochs", "2", "--out", str(path), "--quiet")
    assert res.returncode == 0, res.stderr.decode()
    return path


@pytest.mark.parametrize("how", ["-", "/dev/stdin"])
def test_predict_reads_every_row_of_a_pipe(model_file, how):
    res = run("predict", str(model_file), how, "--id", "id", stdin=BIG)
    assert res.returncode == 0, res.stderr.decode()
    lines = res.stdout.decode().splitlines()
    assert lines[0].startswith("id,prediction")
    assert len(lines) == 1 + 20_000
    assert lines[1].split(",")[0] == "0" and lines[-1].split(",")[0] == "19999"


def test_train_reads_every_row_of_a_pipe():
    res = run("train", "-", "--target", "colour", "--ignore", "id", "--epochs", "1", stdin=BIG)
    assert res.returncode == 0, res.stderr.decode()
    found = re.search(r"(\d+) training / (\d+) validation rows", res.stdout.decode())
    assert found and int(found[1]) + int(found[2]) == 20_000, res.stdout.decode()


def test_a_small_pipe_is_read_too(model_file):
    small = b"\n".join(BIG.split(b"\n")[:50]) + b"\n"
    res = run("predict", str(model_file), "-", "--id", "id", stdin=small)
    assert res.returncode == 0, res.stderr.decode()
    assert len(res.stdout.decode().splitlines()) == 1 + 49


# -- writing ------------------------------------------------------------------------------------
def write_hello(path):
    files.write_atomically(str(path), lambda fh: fh.write(b"hello\n"))


def test_a_symlink_is_followed_and_its_target_replaced(tmp_path):
    target = tmp_path / "real.csv"
    target.write_text("old\n")
    link = tmp_path / "link.csv"
    link.symlink_to(target)
    write_hello(link)
    assert link.is_symlink() and target.read_text() == "hello\n"
    dangling = tmp_path / "dangling.csv"
    dangling.symlink_to(tmp_path / "new.csv")
    write_hello(dangling)
    assert dangling.is_symlink() and (tmp_path / "new.csv").read_text() == "hello\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["dangling.csv", "link.csv", "new.csv", "real.csv"]


def test_a_fifo_is_written_through_not_replaced(tmp_path):
    fifo = tmp_path / "out"
    os.mkfifo(fifo)
    got = {}

    def reader():
        with open(fifo, "rb") as fh:
            got["data"] = fh.read()

    t = threading.Thread(target=reader, daemon=True)
    t.start()
    write_hello(fifo)
    t.join(timeout=60)
    assert got["data"] == b"hello\n"
    assert stat.S_ISFIFO(os.stat(fifo).st_mode)
    assert os.listdir(tmp_path) == ["out"]  # no temporary left


def test_dev_null_stays_a_device():
    before = os.stat(os.devnull)
    write_hello(os.devnull)
    after = os.stat(os.devnull)
    assert stat.S_ISCHR(after.st_mode) and after.st_ino == before.st_ino


def test_out_dash_is_standard_output(model_file, tmp_path):
    data = tmp_path / "new.csv"
    data.write_bytes(b"\n".join(BIG.split(b"\n")[:11]) + b"\n")
    res = run("predict", str(model_file), str(data), "--out", "-", cwd=tmp_path)
    assert res.returncode == 0, res.stderr.decode()
    assert res.stdout.decode().splitlines()[0] == "prediction" and len(res.stdout.decode().splitlines()) == 11
    res = run("predict", str(model_file), str(data), "--out", "/dev/stdout", cwd=tmp_path)
    assert res.returncode == 0, res.stderr.decode()
    assert len(res.stdout.decode().splitlines()) == 11
    train = tmp_path / "train.csv"
    train.write_bytes(b"\n".join(BIG.split(b"\n")[:301]) + b"\n")
    res = run("train", str(train), "--target", "colour", "--epochs", "1", "--out", "-", cwd=tmp_path)
    assert res.returncode == 0, res.stderr.decode()
    assert res.stdout[:2] == b"PK"  # the model file (a zip), alone on standard output
    assert b"training accuracy" in res.stderr  # the report went to standard error
    (tmp_path / "piped.npz").write_bytes(res.stdout)
    assert run("predict", str(tmp_path / "piped.npz"), str(data), "--quiet").returncode == 0
    assert not (tmp_path / "-").exists()


# -- SIGTERM ------------------------------------------------------------------------------------
@pytest.mark.parametrize("keep", [False, True])
def test_sigterm_during_train_stops_like_ctrl_c_and_exits_143(tmp_path, keep):
    data = tmp_path / "train.csv"
    data.write_bytes(b"\n".join(BIG.split(b"\n")[:301]) + b"\n")
    model = tmp_path / "m.npz"
    cmd = [sys.executable, "-m", "nbmlp", "train", str(data), "--target", "colour", "--epochs", "1000000"]
    cmd += ["--out", str(model)] + (["--save-interrupted"] if keep else [])
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    line = proc.stderr.readline()  # the first epoch's progress line: training is under way
    assert line.startswith("epoch"), line
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=600)
    assert proc.returncode == 143, err
    assert "nbmlp: interrupted after" in err and "Traceback" not in err
    assert model.exists() == keep
    assert not [p for p in os.listdir(tmp_path) if p.startswith(".nbmlp-")]


FIT_SIGTERM = """
import os, signal, warnings
import numpy as np
from nbmlp import MLPClassifier
rng = np.random.default_rng(0)
X = rng.random((200, 4)); y = (X[:, 0] > 0.5).astype(int)
def stop_at_3(est, record):
    if record["epoch"] == 3:
        os.kill(os.getpid(), signal.SIGTERM)
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    clf = MLPClassifier(hidden_layer_sizes=(8,), max_iter=50, callbacks=[stop_at_3], random_state=0).fit(X, y)
assert clf.n_iter_ == 3 and len(clf.loss_curve_) == 3, (clf.n_iter_, len(clf.loss_curve_))
assert any("stopped by SIGTERM" in str(w.message) for w in caught), [str(w.message) for w in caught]
assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL
clf.predict(X)
print("ok")
"""


def test_sigterm_during_fit_keeps_the_last_finished_epoch():
    res = subprocess.run([sys.executable, "-c", FIT_SIGTERM], capture_output=True, text=True, timeout=600)
    assert res.returncode == 0, res.stderr[-3000:]
    assert res.stdout.split() == ["ok"]
