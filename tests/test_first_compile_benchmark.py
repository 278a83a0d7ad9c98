"""``benchmarks/first_compile.py``: its cases are valid code and its per-function table adds up
(the timings themselves are the benchmark's, not a test's)."""

import ast
import importlib.util
import os

import pytest

PATH = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "benchmarks", "first_compile.py")


@pytest.fixture(scope="module")
def first_compile():
    spec = importlib.util.spec_from_file_location("first_compile", PATH)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_nested_compiles_count_once_in_exclusive_time(first_compile):
    # epoch (0 → 10) compiles dense (2 → 6, which compiles tiles 3 → 4) and, again, tiles (7 → 8)
    events = [
        (0.0, "epoch", True),
        (2.0, "dense", True),
        (3.0, "tiles", True),
        (4.0, "tiles", False),
        (6.0, "dense", False),
        (7.0, "tiles", True),
        (8.0, "tiles", False),
        (10.0, "epoch", False),
    ]
    t = first_compile.tally(events)
    assert t["inclusive"] == {"epoch": 10.0, "dense": 4.0, "tiles": 2.0}
    assert t["exclusive"] == {"epoch": 5.0, "dense": 3.0, "tiles": 2.0}
    assert t["count"] == {"epoch": 1, "dense": 1, "tiles": 2}
    assert sum(t["exclusive"].values()) == t["inclusive"]["epoch"]


def test_events_out_of_order_are_an_error(first_compile):
    with pytest.raises(ValueError, match="out of order"):
        first_compile.tally([(0.0, "a", True), (1.0, "b", True), (2.0, "a", False), (3.0, "b", False)])


def test_every_case_is_valid_code_in_the_child(first_compile):
    assert {"digits64", "digits32", "mid", "trace", "sparse", "lbfgs", "cli", "session"} <= set(first_compile.CASES)
    for name, (_, body) in first_compile.CASES.items():
        code = first_compile.child_code(body, "digits.csv")
        ast.parse(code)  # a SyntaxError names the case below
        assert "import nbmlp" in code or "from nbmlp" in code, name


def test_list_names_the_cases(first_compile, capsys):
    first_compile.main(["--list"])
    out = capsys.readouterr().out
    assert [line.split()[0] for line in out.splitlines()] == list(first_compile.CASES)
