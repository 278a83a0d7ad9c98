"""``nbmlp evaluate``, ``nbmlp train --test``, the warnings about identifier and date columns, and
the command's per-epoch lines in a log."""

import os
import subprocess
import sys

import numpy as np
import pytest

import nbmlp
from nbmlp.cli import main

pd = pytest.importorskip("pandas")


def cars(n, seed, name_values=None):
    """A regression file: two numbers, a text column, an identifier-like name, the target."""
    rng = np.random.default_rng(seed)
    weight = rng.normal(3000, 500, n).round(0)
    year = rng.integers(70, 83, n)
    origin = rng.choice(["usa", "europe", "japan"], n)
    mpg = 50 - weight / 150 + (year - 70) * 0.6 + np.where(origin == "usa", -2, 1) + rng.normal(0, 1, n)
    names = [f"car {seed}-{i}" for i in range(n)] if name_values is None else name_values
    return pd.DataFrame({"weight": weight, "year": year, "origin": origin, "name": names, "mpg": mpg.round(2)})


def shop(n, seed):
    rng = np.random.default_rng(seed)
    x = rng.normal(0, 1, (n, 2))
    colour = rng.choice(["red", "green", "blue"], n)
    label = np.where((colour == "red") | (x[:, 0] > 0.5), "buy", "skip")
    return pd.DataFrame({"x1": x[:, 0].round(3), "x2": x[:, 1].round(3), "colour": colour, "label": label})


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    d = tmp_path_factory.mktemp("evaluate")
    paths = {}
    for name, frame in (
        ("shop_train", shop(200, 0)),
        ("shop_test", shop(60, 1)),
        ("cars_train", cars(200, 0)),
        ("cars_test", cars(50, 1)),
    ):
        paths[name] = d / f"{name}.csv"
        frame.to_csv(paths[name], index=False)
    paths["dir"] = d
    return paths


def _train(files, kind, target, *extra):
    model = files["dir"] / f"{kind}.npz"
    argv = ["train", str(files[f"{kind}_train"]), "--target", target, "--epochs", "40", "--hidden", "8"]
    argv += ["--out", str(model), "--quiet", *extra]
    return model, main(argv)


def test_train_test_and_evaluate_print_the_same_classification_report(files, capsys):
    model, code = _train(files, "shop", "label", "--test", str(files["shop_test"]))
    out = capsys.readouterr().out
    assert code == 0
    test_part = out[out.index("test accuracy") :].split("\n1")[0]
    assert "confusion matrix (test rows" in test_part and "precision" in test_part
    assert main(["evaluate", str(model), str(files["shop_test"]), "--quiet"]) == 0
    evaluated = capsys.readouterr().out.strip()
    assert test_part.strip().startswith(evaluated.splitlines()[0])
    assert evaluated in out
    # the same accuracy as the model taken from Python on the raw rows
    frame = pd.read_csv(files["shop_test"])
    accuracy = float(evaluated.split("test accuracy ")[1].split()[0])
    pipe = nbmlp.load(model)
    assert accuracy == pytest.approx(np.mean(pipe.predict(frame) == frame["label"]), abs=1e-4)


def test_evaluate_finds_a_classification_target_in_a_stream_read_once(files, capsys, monkeypatch):
    # without --target, the labels are the one column the model does not read; from standard input
    # the file can be read only once, and the report is the one of the same file on disk
    model, code = _train(files, "shop", "label")
    assert code == 0
    capsys.readouterr()
    assert main(["evaluate", str(model), str(files["shop_test"]), "--quiet"]) == 0
    from_file = capsys.readouterr().out
    data = files["shop_test"].read_bytes()

    class Stdin:
        buffer = __import__("io").BytesIO(data)

    monkeypatch.setattr(sys, "stdin", Stdin)
    assert main(["evaluate", str(model), "-", "--quiet"]) == 0
    assert capsys.readouterr().out == from_file
    assert "test accuracy" in from_file


def test_evaluate_a_regressor_names_the_target_itself(files, capsys):
    model, code = _train(files, "cars", "mpg", "--ignore", "name")
    assert code == 0
    capsys.readouterr()
    assert main(["evaluate", str(model), str(files["cars_test"])]) != 0  # two columns it does not read
    assert "--target: name the target column" in capsys.readouterr().err
    assert main(["evaluate", str(model), str(files["cars_test"]), "--target", "mpg", "--quiet"]) == 0
    out = capsys.readouterr().out
    frame = pd.read_csv(files["cars_test"])
    pred = nbmlp.load(model).predict(frame)
    err = pred - frame["mpg"].to_numpy()
    r2 = 1 - (err**2).sum() / ((frame["mpg"] - frame["mpg"].mean()) ** 2).sum()
    assert out.startswith(f"test R² {r2:.4f} (RMSE {np.sqrt((err**2).mean()):.6g}, MAE {np.abs(err).mean():.6g})")


def test_evaluate_errors(files, tmp_path, capsys):
    model, code = _train(files, "shop", "label")
    assert code == 0
    capsys.readouterr()
    frame = shop(20, 3)
    frame.drop(columns="colour").to_csv(tmp_path / "no_colour.csv", index=False)
    assert main(["evaluate", str(model), str(tmp_path / "no_colour.csv")]) == 2
    assert "lacks the model's feature column(s) 'colour'" in capsys.readouterr().err
    frame.assign(label="maybe").to_csv(tmp_path / "new_label.csv", index=False)
    assert main(["evaluate", str(model), str(tmp_path / "new_label.csv")]) == 2
    assert "label(s) 'maybe' are not classes of the model" in capsys.readouterr().err
    assert main(["evaluate", str(tmp_path / "nope.npz"), str(tmp_path / "new_label.csv")]) == 2
    assert "does not exist" in capsys.readouterr().err
    assert main(["train", str(files["shop_train"]), "--target", "label", "--test", str(tmp_path / "no.csv")]) == 2
    assert "does not exist" in capsys.readouterr().err


def test_identifier_and_date_columns_are_named_with_ignore(files, tmp_path, capsys):
    frame = cars(120, 2)
    frame["sold"] = [f"2024-{1 + i % 12:02d}-{1 + i % 28:02d}" for i in range(120)]
    frame.to_csv(tmp_path / "cars.csv", index=False)
    assert main(["train", str(tmp_path / "cars.csv"), "--target", "mpg", "--epochs", "2", "--quiet"]) == 0
    err = capsys.readouterr().err
    assert "column 'name' has 120 distinct values in 120 rows and looks like an identifier" in err
    assert "--ignore name" in err
    assert "column 'sold' looks like a date" in err and "--ignore sold" in err
    assert "'origin'" not in err  # three categories: no warning
    argv = ["train", str(tmp_path / "cars.csv"), "--target", "mpg", "--epochs", "2", "--quiet"]
    assert main(argv + ["--ignore", "name,sold"]) == 0
    assert "warning" not in capsys.readouterr().err


def test_every_epoch_gets_a_line_in_a_log(files):
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    res = subprocess.run(
        [sys.executable, "-m", "nbmlp", "train", str(files["shop_train"]), "--target", "label", "--epochs", "25"],
        capture_output=True,
        text=True,
        timeout=600,
        env=env,
    )
    assert res.returncode == 0, res.stderr
    assert [line.split("/")[0].split()[-1] for line in res.stderr.splitlines() if line.startswith("epoch")] == [
        str(e) for e in range(1, 26)
    ]
    assert "\r" not in res.stderr


def test_evaluate_reads_decimal_commas_as_train_does(files, capsys):
    model, code = _train(files, "shop", "label")
    assert code == 0
    capsys.readouterr()
    assert main(["evaluate", str(model), str(files["shop_test"]), "--quiet"]) == 0
    plain = capsys.readouterr().out
    comma = files["dir"] / "shop_test_comma.csv"
    shop(60, 1).to_csv(comma, index=False, sep=";", decimal=",")
    assert main(["evaluate", str(model), str(comma), "--decimal", ",", "--quiet"]) == 0
    assert capsys.readouterr().out == plain  # the same numbers, the same report
