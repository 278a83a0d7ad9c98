"""The generated pages in docs/ are what scripts/make_docs.py produces from the code today."""

import importlib.util
import pathlib
import re

import numpy as np
import pytest

from nbmlp import derivation as D

ROOT = pathlib.Path(__file__).resolve().parents[1]


def load_generator():
    spec = importlib.util.spec_from_file_location("make_docs", ROOT / "scripts" / "make_docs.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


make_docs = load_generator()


@pytest.mark.parametrize("page", sorted(make_docs.PAGES))
def test_committed_page_matches_its_generator(page):
    committed = (ROOT / "docs" / page).read_text(encoding="utf-8")
    assert committed == make_docs.PAGES[page](), f"docs/{page} is out of date: run python scripts/make_docs.py"


def test_derivation_page_shows_every_step_and_every_kernel():
    page = make_docs.derivation_page()
    positions = [page.index(f'<a id="{st.name}"></a>') for st in D.STEPS]
    assert positions == sorted(positions)
    for st in D.STEPS:
        assert st.formulas in page
    for kernel in D.all_kernels():  # every compiled function, steps or appendix
        assert D.kernel_source(kernel).rstrip() in page
        path, line = D.kernel_location(kernel)
        assert f"(../src/{path}#L{line})" in page
    assert "mean over the batch" in page and "softmax" in page and "sample index s" in page


def test_worked_example_numbers_are_the_trace_and_the_update():
    space = make_docs.worked_example_run()
    tr, net, eta = space["tr"], space["net"], space["eta"]
    for L, layer in enumerate(tr["layers"]):  # fit's update is w − η ∂w of trace
        np.testing.assert_allclose(net.weights[L], layer["w"] - eta * layer["dw"], rtol=0, atol=1e-15)
        np.testing.assert_allclose(net.biases[L], layer["b"] - eta * layer["db"], rtol=0, atol=1e-15)
    page = make_docs.worked_example_page()
    out = tr["layers"][1]
    assert "δ_5 = (y_5 − t_5) y_5 (1 − y_5) = " in page
    assert page.count(f"= {make_docs.num(out['delta'][0, 0])}\n") >= 2  # δ_5 and ∂b_5
    assert f"] = {make_docs.num(tr['loss'])}\n" in page
    # every "a = … = value" line whose arithmetic is plain numbers evaluates to its value
    checked = 0
    for line in re.findall(r"^.* = ([-−0-9.()·+ ]+) = (-?[0-9.]+)$", page, re.M):
        expr, value = line
        got = eval(expr.replace("·", "*").replace("−", "-"), {})
        assert abs(got - float(value)) < 5e-6, (expr, value)
        checked += 1
    assert checked >= 30
