"""What a careless user meets: decimal commas, comment lines, one epoch, a constant target,
callbacks with L-BFGS, a callback that fits its own estimator."""

import os
import subprocess
import sys
import warnings

import numpy as np
import pytest

from nbmlp import MLPClassifier, MLPRegressor, tabular


def run(*args, timeout=600):
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    env.pop("NBMLP_DEBUG", None)
    return subprocess.run(
        [sys.executable, "-m", "nbmlp", *args], capture_output=True, text=True, timeout=timeout, env=env
    )


def european_csv(path, n=300, seed=0):
    """``;``-delimited, decimal commas: x1, x2 (numbers), label."""
    rng = np.random.default_rng(seed)
    X = rng.random((n, 2))
    label = np.where(X[:, 0] + X[:, 1] > 1, "high", "low")
    lines = ["x1;x2;label"] + [f"{a:.4f};{b:.4f};{c}".replace(".", ",") for (a, b), c in zip(X, label)]
    path.write_text("\n".join(lines) + "\n")
    return X


@pytest.mark.parametrize("pandas", [True, False])
def test_decimal_commas_are_read_as_numbers_with_decimal_comma(tmp_path, monkeypatch, pandas):
    if not pandas:
        monkeypatch.setattr(tabular, "_pandas", lambda: None)
    path = tmp_path / "eu.csv"
    X = european_csv(path)
    plain = tabular.read_table(str(path))
    assert plain.columns["x1"].dtype == object  # as written: text
    assert tabular.decimal_comma_example(plain, "x1") is not None
    assert tabular.decimal_comma_example(plain, "label") is None
    table = tabular.read_table(str(path), decimal=",")
    assert table.delimiter == ";"
    np.testing.assert_allclose(table.columns["x1"], np.round(X[:, 0], 4))
    assert table.columns["label"].dtype == object
    with pytest.raises(tabular.UserError, match="--decimal"):
        tabular.read_table(str(path), decimal=":")


def test_train_warns_about_decimal_commas_and_reads_them_with_the_option(tmp_path):
    path = tmp_path / "eu.csv"
    european_csv(path)
    res = run("train", str(path), "--target", "label", "--epochs", "2", "--quiet")
    assert res.returncode == 0, res.stderr
    assert "decimal comma" in res.stderr and "--decimal ," in res.stderr
    res = run(
        "train", str(path), "--target", "label", "--epochs", "2", "--decimal", ",", "--out", str(tmp_path / "m.npz")
    )
    assert res.returncode == 0, res.stderr
    assert "decimal comma" not in res.stderr and "→ 2 inputs" in res.stdout
    res = run("predict", str(tmp_path / "m.npz"), str(path), "--decimal", ",")
    assert res.returncode == 0, res.stderr
    assert len(res.stdout.splitlines()) == 301
    res = run("predict", str(tmp_path / "m.npz"), str(path))  # the option forgotten: said so
    assert res.returncode == 2 and "--decimal ," in res.stderr, res.stderr


def test_a_comment_line_is_a_clear_error_without_a_pandas_warning(tmp_path):
    path = tmp_path / "c.csv"
    path.write_text("# exported from somewhere\na,b,c\n1,2,x\n3,4,y\n")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(tabular.UserError, match="remove comment lines"):
            tabular.read_table(str(path))
    res = run("train", str(path), "--target", "c")
    assert res.returncode == 2
    assert res.stderr.count("\n") == 1 and "remove comment lines" in res.stderr, res.stderr


def test_one_epoch_and_a_constant_target_report_numbers(tmp_path):
    path = tmp_path / "r.csv"
    rng = np.random.default_rng(0)
    lines = ["a,b,y"] + [f"{a:.3f},{b:.3f},5" for a, b in rng.random((100, 2))]
    path.write_text("\n".join(lines) + "\n")
    res = run("train", str(path), "--target", "y", "--task", "regress", "--epochs", "1")
    assert res.returncode == 0, res.stderr
    assert "nan" not in res.stdout.lower(), res.stdout
    assert "ms per epoch (one epoch" in res.stdout


def test_callbacks_with_lbfgs_are_refused():
    X = np.random.default_rng(0).random((40, 3))
    y = (X[:, 0] > 0.5).astype(int)
    clf = MLPClassifier(solver="lbfgs", callbacks=[lambda est, rec: False], max_iter=5)
    with pytest.raises(ValueError, match="callbacks.*lbfgs"):
        clf.fit(X, y)
    assert not hasattr(clf, "coefs_")


@pytest.mark.parametrize("again", ["fit", "partial_fit"])
def test_a_callback_cannot_fit_its_own_estimator(again):
    X = np.random.default_rng(0).random((60, 3))
    y = X[:, 0] * 2.0
    errors = []

    def refit(est, record):
        if record["epoch"] == 2:
            try:
                getattr(est, again)(X, y)
            except RuntimeError as err:
                errors.append(str(err))
        return False

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        reg = MLPRegressor(hidden_layer_sizes=(4,), max_iter=5, callbacks=[refit], random_state=0).fit(X, y)
    assert errors and "already being fitted" in errors[0]
    assert reg.n_iter_ == 5 and len(reg.loss_curve_) == 5
    reg.set_params(callbacks=None).fit(X, y)  # and fits again once the first fit is over
    assert reg.n_iter_ == 5
