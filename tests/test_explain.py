"""``nbmlp.explain`` and ``python -m nbmlp explain``: every step's formulas beside its loops."""

import io
import os
import subprocess
import sys

import pytest

import nbmlp
from nbmlp import derivation as D


def run_cli(*args, env=None):
    return subprocess.run([sys.executable, "-m", "nbmlp", *args], capture_output=True, text=True, timeout=300, env=env)


@pytest.mark.parametrize("step", D.STEP_NAMES)
def test_explain_prints_the_formulas_and_the_loops_of_each_step(step):
    out = io.StringIO()
    nbmlp.explain(step, file=out)
    text = out.getvalue()
    st = D.find_step(step)
    assert text.startswith(f"{st.name}: {st.title}")
    for line in st.formulas.splitlines():
        assert line in text
    kernels = D.step_kernels(st)
    assert kernels
    for kernel in kernels:
        source = D.kernel_source(kernel)
        assert f"def {D.kernel_name(kernel)}(" in source
        assert '"""' not in source  # the docstring is left out
        path, line = D.kernel_location(kernel)
        assert f"{D.kernel_name(kernel)}  ({path}:{line})" in text
        with open(kernel.py_func.__code__.co_filename, encoding="utf-8") as f:
            assert f.read().splitlines()[line - 1].lstrip().startswith(f"def {D.kernel_name(kernel)}(")
        for src_line in source.splitlines():
            assert "    " + src_line in text
    assert "\033[" not in text  # a StringIO is not a terminal
    for other in D.STEPS:
        if other.name != step:
            assert f"{other.name}: {other.title}" not in text


def test_explain_without_a_step_prints_every_step_in_order():
    out = io.StringIO()
    nbmlp.explain(file=out)
    text = out.getvalue()
    positions = [text.index(f"{st.name}: {st.title}") for st in D.STEPS]
    assert positions == sorted(positions)
    assert D.STEP_NAMES[:6] == (
        "forward",
        "loss",
        "output-gradients",
        "output-input-gradient",
        "hidden-gradients",
        "deeper-layers",
    )


def test_the_steps_show_the_kernels_of_the_derivation():
    names = {st.name: [D.kernel_name(k) for k in D.step_kernels(st)] for st in D.STEPS}
    assert "dense_forward" in names["forward"] and "activation_forward" in names["forward"]
    assert "output_delta" in names["output-gradients"] and "dense_backward_dw" in names["output-gradients"]
    assert names["output-input-gradient"] == ["dense_backward_dy", "dense_backward_dy_tiles"]
    # each plain loop beside the vector-register kernel that training runs for the same step
    assert names["forward"].index("dense_forward_tiles") == names["forward"].index("dense_forward") + 1
    assert "dense_backward_dw_tiles" in names["output-gradients"]
    assert "activation_backward" in names["hidden-gradients"]
    assert "backward_layers" in names["deeper-layers"]  # the walk that backward_pass runs
    assert names["epoch"][:2] == ["train_epoch_opt", "train_step"]  # the epoch, then its batch step
    assert "sgd_update" in names["update"]


@pytest.mark.parametrize("bad", ["nope", "", "output", "sgd"])
def test_unknown_step_lists_the_valid_ones(bad):
    with pytest.raises(ValueError, match="step") as err:
        nbmlp.explain(bad, file=io.StringIO())
    for name in D.STEP_NAMES:
        assert name in str(err.value)


def test_step_names_accept_a_unique_prefix_and_underscores():
    assert D.find_step("hidden").name == "hidden-gradients"
    assert D.find_step("output_input_gradient").name == "output-input-gradient"
    with pytest.raises(ValueError, match="ambiguous"):
        D.find_step("output")
    with pytest.raises(TypeError, match="step"):
        D.find_step(3)


class FakeTerminal(io.StringIO):
    def isatty(self):
        return True


def test_colour_only_on_a_terminal_without_no_color(monkeypatch):
    monkeypatch.delenv("NO_COLOR", raising=False)
    tty = FakeTerminal()
    nbmlp.explain("update", file=tty)
    assert "\033[1m" in tty.getvalue()
    plain = io.StringIO()
    nbmlp.explain("update", file=plain)
    assert "\033[" not in plain.getvalue()
    # stripping the colour codes gives the plain text back
    stripped = tty.getvalue()
    for code in ("\033[0m", "\033[1m", "\033[2m", "\033[32m", "\033[36m"):
        stripped = stripped.replace(code, "")
    assert stripped == plain.getvalue()
    monkeypatch.setenv("NO_COLOR", "1")
    tty = FakeTerminal()
    nbmlp.explain("update", file=tty)
    assert "\033[" not in tty.getvalue()


def test_cli_explain_one_step_and_every_step():
    env = dict(os.environ)
    env.pop("NO_COLOR", None)
    one = run_cli("explain", "hidden-gradients", env=env)
    assert one.returncode == 0, one.stderr
    assert one.stdout == D.explain_text("hidden-gradients")  # a pipe: no colour
    every = run_cli("explain", env=env)
    assert every.returncode == 0, every.stderr
    assert every.stdout == D.explain_text()


def test_cli_unknown_step_fails_and_lists_the_steps():
    result = run_cli("explain", "backprop")
    assert result.returncode != 0
    assert result.stdout == ""
    assert "unknown step 'backprop'" in result.stderr
    for name in D.STEP_NAMES:
        assert name in result.stderr


def test_docs_reading_the_loops_examples_run(capsys):
    import pathlib
    import re

    page = (pathlib.Path(__file__).resolve().parents[1] / "docs" / "reading_the_loops.md").read_text()
    commands = re.findall(r"```bash\n(.*?)```", page, re.S)[0]
    for line in commands.splitlines():
        step = line.split("#")[0].split()[2:]
        assert line.startswith("nbmlp explain") and all(s in D.STEP_NAMES for s in step)
    code = re.findall(r"```python\n(.*?)```", page, re.S)[0]
    exec(compile(code, "reading_the_loops.md", "exec"), {})
    assert capsys.readouterr().out == D.explain_text("output-gradients")
