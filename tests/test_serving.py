"""A model trained by the command, used from Python and ONNX on raw rows; Pipelines saved without pickle."""

import warnings

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.pipeline import Pipeline as SkPipeline
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import nbmlp
from nbmlp import MLPClassifier, MLPRegressor, TableEncoder
from nbmlp.cli import main

pd = pytest.importorskip("pandas")

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


def penguin_rows(n, seed):
    """Columns as in the penguins data: two numbers (some missing), two text columns (some
    missing), and the species, which depends on the island and the first number."""
    rng = np.random.default_rng(seed)
    island = rng.choice(["Biscoe", "Dream", "Torgersen"], n)
    sex = rng.choice(["male", "female"], n)
    bill = rng.normal(44, 5, n)
    mass = rng.normal(4200, 800, n)
    species = np.where(island == "Biscoe", "Gentoo", np.where(bill > 44, "Chinstrap", "Adelie"))
    frame = pd.DataFrame(
        {
            "island": island.astype(object),
            "bill_length_mm": bill.round(1),
            "body_mass_g": mass.round(0),
            "sex": sex.astype(object),
            "species": species,
        }
    )
    frame.loc[frame.index % 9 == 4, "bill_length_mm"] = np.nan
    frame.loc[frame.index % 11 == 7, "sex"] = None
    return frame


@pytest.fixture(scope="module")
def command_model(tmp_path_factory):
    d = tmp_path_factory.mktemp("penguins")
    data, model = d / "penguins.csv", d / "penguins.npz"
    penguin_rows(200, 0).to_csv(data, index=False)
    argv = ["train", str(data), "--target", "species", "--na", "mean", "--hidden", "8", "--epochs", "60"]
    assert main(argv + ["--seed", "1", "--out", str(model), "--quiet"]) == 0
    return model


def test_a_command_model_loads_as_a_pipeline_taking_raw_rows(command_model):
    from nbmlp.persistence import load_with_inputs
    from nbmlp.tabular import read_table

    pipe = nbmlp.load(command_model)
    assert isinstance(pipe, SkPipeline) and isinstance(pipe, nbmlp.Pipeline)
    assert isinstance(pipe[0], TableEncoder) and isinstance(pipe[-1], MLPClassifier)
    new = penguin_rows(40, 5)
    X = new.drop(columns="species")
    est, enc = load_with_inputs(command_model)
    path = command_model.parent / "new.csv"
    X.to_csv(path, index=False)
    encoded, ok = enc.transform(read_table(str(path)))
    assert ok.all()
    vars(est).pop("feature_names_in_")  # the command's input names: the plain array has none
    expected, expected_proba = est.predict(encoded), est.predict_proba(encoded)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no feature-name warning on the way through the pipeline
        np.testing.assert_array_equal(pipe.predict(X), expected)
        np.testing.assert_allclose(pipe.predict_proba(X), expected_proba, rtol=1e-6)
        np.testing.assert_array_equal(pipe.predict(X.to_numpy(dtype=object)), pipe.predict(X))
        np.testing.assert_array_equal(pipe.predict(new), pipe.predict(X))  # extra columns: ignored
    assert pipe.score(X, new["species"]) > 0.6
    assert list(pipe[0].get_feature_names_out())[:4] == [
        "island=Biscoe",
        "island=Dream",
        "island=Torgersen",
        "bill_length_mm",
    ]


def test_the_encoder_is_a_scikit_learn_transformer(command_model):
    pipe = nbmlp.load(command_model)
    assert pipe[0].get_params() == {"na": "mean", "text_columns": None}
    frame = penguin_rows(120, 3)
    X, y = frame.drop(columns="species"), frame["species"]
    fresh = clone(pipe).set_params(estimator__max_iter=20, estimator__random_state=0).fit(X, y)
    assert fresh[0].kinds_ == ["text", "number", "number", "text"]
    assert list(fresh[0].categories_[3]) == ["female", "male"]
    assert fresh[-1].n_features_in_ == len(fresh[0].get_feature_names_out()) == 7
    assert set(fresh.predict(X)) <= set(y)
    assert not hasattr(clone(pipe[0]), "columns_")


def test_encoder_errors_name_the_column_and_row():
    frame = penguin_rows(30, 1).drop(columns="species")
    enc = TableEncoder(na="error")
    with pytest.raises(ValueError, match=r"row 4, column 'bill_length_mm': a missing value"):
        enc.fit(frame)
    enc = TableEncoder(na="median").fit(frame)
    with pytest.raises(ValueError, match=r"column\(s\) 'sex' missing"):
        enc.transform(frame.drop(columns="sex"))
    with pytest.raises(ValueError, match="X has 3 features, but TableEncoder is expecting 4 features"):
        enc.transform(frame.to_numpy(dtype=object)[:, :3])
    bad = frame.copy()
    bad["bill_length_mm"] = bad["bill_length_mm"].astype(object)
    bad.loc[2, "bill_length_mm"] = "long"
    with pytest.raises(ValueError, match=r"row 2, column 'bill_length_mm': 'long' is not a finite number"):
        enc.transform(bad)
    odd = frame.copy()
    odd.loc[0, "island"] = "Atlantis"
    with pytest.warns(UserWarning, match=r"column 'island': 1 row\(s\) hold categories not seen"):
        out = enc.transform(odd)
    assert out[0, :3].sum() == 0
    with pytest.raises(ValueError, match="na must be one of"):
        TableEncoder(na="zero").fit(frame)
    with pytest.raises(ValueError, match="text_columns"):
        TableEncoder(text_columns=["nope"]).fit(frame)
    dropped = TableEncoder(na="drop").fit(frame)
    with pytest.raises(ValueError, match="na='drop'"):
        dropped.transform(frame)


def _onnx_inputs(X, encoder):
    """One (N, 1) input per column: strings ('' where missing) or float32 (NaN where missing)."""
    feeds = {}
    for name, kind in zip(encoder.columns_, encoder.kinds_):
        col = X[name].to_numpy(dtype=object)
        if kind == "text":
            feeds[name] = np.array([["" if pd.isna(v) else str(v)] for v in col], dtype=object)
        else:
            feeds[name] = col.astype(np.float32).reshape(-1, 1)
    return feeds


def test_to_onnx_includes_the_encoding(command_model, tmp_path):
    ort = pytest.importorskip("onnxruntime")
    pytest.importorskip("onnx")
    pipe = nbmlp.load(command_model)
    path = tmp_path / "penguins.onnx"
    model = pipe.to_onnx(path)
    assert {o.domain for o in model.opset_import} >= {"", "ai.onnx.ml"}
    assert {n.op_type for n in model.graph.node} >= {"Imputer", "OneHotEncoder", "Concat"}
    X = penguin_rows(50, 7).drop(columns="species")
    X.loc[0, "island"] = "Atlantis"  # unseen: all zeros in both
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    (y,) = session.run(None, _onnx_inputs(X, pipe[0]))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        np.testing.assert_allclose(y, pipe.predict_proba(X), rtol=1e-4, atol=1e-5)


def test_to_onnx_of_a_regressor_pipeline_without_imputation(tmp_path):
    ort = pytest.importorskip("onnxruntime")
    pytest.importorskip("onnx")
    frame = penguin_rows(80, 2).dropna()
    X, y = frame.drop(columns=["species", "body_mass_g"]), frame["body_mass_g"]
    pipe = nbmlp.Pipeline(
        [("encoder", TableEncoder()), ("estimator", MLPRegressor((6,), max_iter=30, random_state=0))]
    ).fit(X, (y - y.mean()) / y.std())
    session = ort.InferenceSession(pipe.to_onnx().SerializeToString(), providers=["CPUExecutionProvider"])
    (out,) = session.run(None, _onnx_inputs(X, pipe[0]))
    assert "Imputer" not in {n.op_type for n in pipe.to_onnx().graph.node}
    np.testing.assert_allclose(out[:, 0], pipe.predict(X), rtol=1e-4, atol=1e-4)


def test_a_users_pipeline_saves_and_loads_without_pickle(tmp_path):
    frame = penguin_rows(100, 4)
    X, y = frame.drop(columns="species"), frame["species"]
    pipe = SkPipeline(
        [("prep", TableEncoder(na="most_frequent")), ("clf", MLPClassifier((5,), max_iter=20, random_state=0))]
    ).fit(X, y)
    path = tmp_path / "pipe.npz"
    nbmlp.save(pipe, path)
    with np.load(path, allow_pickle=False) as f:
        assert "input_columns" in f.files
    back = nbmlp.load(path)
    assert isinstance(back, nbmlp.Pipeline)
    np.testing.assert_array_equal(back.predict_proba(X), pipe.predict_proba(X))
    back.save(tmp_path / "again.npz")
    np.testing.assert_array_equal(nbmlp.load(tmp_path / "again.npz").predict(X), pipe.predict(X))
    numeric = X[["bill_length_mm", "body_mass_g"]].fillna(0)
    other = make_pipeline(StandardScaler(), MLPClassifier((3,), max_iter=5, random_state=0)).fit(numeric, y)
    with pytest.raises(TypeError, match="skops.*joblib"):
        nbmlp.save(other, tmp_path / "other.npz")
    with pytest.raises(TypeError, match="skops.*joblib"):
        nbmlp.save(StandardScaler(), tmp_path / "other.npz")
    assert not (tmp_path / "other.npz").exists()
    est = MLPClassifier((3,), max_iter=5, random_state=0).fit(numeric, y)
    nbmlp.save(est, tmp_path / "est.npz")
    assert isinstance(nbmlp.load(tmp_path / "est.npz"), MLPClassifier)


@pytest.mark.filterwarnings("ignore")
@pytest.mark.parametrize("na", ["mean", "error"])
def test_the_encoder_passes_scikit_learns_estimator_checks(na):
    from sklearn.utils.estimator_checks import check_estimator

    results = check_estimator(TableEncoder(na=na), on_fail=None)
    assert [r["check_name"] for r in results if r["status"] == "failed"] == []
