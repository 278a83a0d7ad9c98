"""Every public name has a docstring (with its formula where it computes one) and a place in the
API reference; the version is one, and the changelog follows it."""

import importlib
import inspect
import pathlib
import re
import subprocess
import sys

import pytest

import nbmlp
import nbmlp.datasets
import nbmlp.distributed

ROOT = pathlib.Path(__file__).resolve().parents[1]
API_PAGE = (ROOT / "docs" / "api.md").read_text(encoding="utf-8")

# the public API: what the package exports, the distributed functions and the demos' data sets
MODULES = {
    "nbmlp": nbmlp.__all__,
    "nbmlp.distributed": nbmlp.distributed.__all__,
    "nbmlp.datasets": ["load_digits", "load_iris", "make_xor", "make_spirals", "make_moons", "load"],
}
# the public methods and properties of the public classes (scikit-learn's inherited get_params,
# score, set_*_request ... are documented by scikit-learn)
MEMBERS = {
    "nbmlp.MLP": [
        "fit",
        "forward",
        "predict",
        "gradients",
        "trace",
        "init_weights",
        "summary",
        "to_onnx",
        "weights",
        "biases",
        "n_params",
        "views",
        "check_inputs",
        "check_targets",
        "work_buffers",
        "dropout_buffers",
        "forward_checked",
        "loss_code",
        "rng",
    ],
    "nbmlp.MLPClassifier": [
        "fit",
        "partial_fit",
        "predict",
        "predict_proba",
        "predict_log_proba",
        "trace",
        "summary",
        "to_onnx",
        "save",
    ],
    "nbmlp.MLPRegressor": ["fit", "partial_fit", "predict", "trace", "summary", "to_onnx", "save"],
}
# a name that computes a formula states it: a piece of the formula its docstring must hold
FORMULAS = {
    "nbmlp.MLP.forward": "u_j = Σ_i y_i w_ij + b_j",
    "nbmlp.MLP.gradients": "∂E/∂w_ij = (1/N) Σ_s y_si δ_sj",
    "nbmlp.MLP.fit": "w ← w − η ∂E/∂w",
    "nbmlp.MLP.trace": "δ_j = ∂E_s/∂u_j",
    "nbmlp.MLP.weights": "w_ij",
    "nbmlp.MLP.biases": "b_j",
    "nbmlp.MLPClassifier.fit": "θ ← θ − η g",
    "nbmlp.MLPClassifier.predict_proba": "y_k = e^{u_k} / Σ_r e^{u_r}",
    "nbmlp.MLPRegressor.fit": "E_s = ½ · (1/K) Σ_k (y_k − t_k)²",
    "nbmlp.MLPRegressor.predict": "y_k = u_k = Σ_j y_j w_jk + b_k",
    "nbmlp.distributed.fit_mpi": "g = (Σ_ranks",
}


def resolve(dotted):
    module, _, name = dotted.rpartition(".")
    try:
        return getattr(importlib.import_module(module), name)
    except ModuleNotFoundError:  # a member: nbmlp.MLP.fit
        return getattr(resolve(module), name)


def public_names():
    names = [f"{module}.{name}" for module, names in MODULES.items() for name in names]
    return names + [f"{cls}.{member}" for cls, members in MEMBERS.items() for member in members]


def test_the_lists_cover_every_public_member():
    for cls, members in MEMBERS.items():
        own = {m for m in vars(resolve(cls)) if not m.startswith("_")}
        sklearn_api = {m for m in own if m.startswith("set_") and m.endswith("_request")}
        assert own - sklearn_api <= set(members) | {"n_params"}, cls
        for base in resolve(cls).__mro__[1:]:
            if base.__module__.startswith("nbmlp"):
                own_base = {m for m in vars(base) if not m.startswith("_")}
                assert own_base <= set(members), (cls, base)


@pytest.mark.parametrize("name", public_names())
def test_public_name_has_a_docstring(name):
    doc = inspect.getdoc(resolve(name))
    assert doc and len(doc.split()) >= 3, f"{name} has no docstring"


@pytest.mark.parametrize("name", sorted(FORMULAS))
def test_public_name_states_its_formula(name):
    assert FORMULAS[name] in inspect.getdoc(resolve(name))


@pytest.mark.parametrize("name", public_names())
def test_api_reference_documents_every_public_name(name):
    module, _, last = name.rpartition(".")
    if module in MEMBERS:  # a member: listed under its class's :members:
        block = API_PAGE.split(f"autoclass:: {module}\n")[1].split("\n\n")[0]
        assert re.search(rf"\b{last}\b", block), name
    elif module == "nbmlp.datasets":
        assert re.search(rf"\b{last}\b", API_PAGE.split("automodule:: nbmlp.datasets")[1]), name
    else:
        assert re.search(rf":: {re.escape(name)}\n", API_PAGE), name


def test_one_version_everywhere():
    from nbmlp._version import __version__

    assert re.fullmatch(r"\d+\.\d+\.\d+", __version__)
    assert nbmlp.__version__ == __version__
    assert 'dynamic = ["version"]' in (ROOT / "pyproject.toml").read_text()
    shown = subprocess.run([sys.executable, "-m", "nbmlp", "--version"], capture_output=True, text=True, timeout=120)
    assert shown.stdout.strip() == f"nbmlp {__version__}"


def test_changelog_sections_follow_the_version():
    text = (ROOT / "CHANGELOG.md").read_text(encoding="utf-8")
    sections = re.findall(r"^## \[([^\]]+)\](.*)$", text, re.M)
    assert sections[0][0] == "Unreleased"
    released = sections[1:]
    assert released and released[0][0] == nbmlp.__version__  # the newest release is this version
    for version, rest in released:
        assert re.fullmatch(r"\d+\.\d+\.\d+", version) and re.fullmatch(r" - \d{4}-\d{2}-\d{2}", rest)
    as_tuples = [tuple(int(p) for p in v.split(".")) for v, _ in released]
    assert as_tuples == sorted(as_tuples, reverse=True)  # newest first
