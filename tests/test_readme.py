"""The README's set-up commands are the ones CI runs, its examples print what it shows, and the
commands and links it names exist."""

import contextlib
import io
import pathlib
import re
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")


def bash_blocks():
    return re.findall(r"```bash\n(.*?)```", README, re.S)


def examples():
    """Each Python block with the ``text`` block that follows it: the output it prints."""
    return re.findall(r"```python\n(.*?)```\n\n```text\n(.*?)```", README, re.S)


def test_ci_runs_the_readme_test_command():
    test_command = bash_blocks()[1].strip()
    assert "pytest" in test_command
    assert test_command in (ROOT / ".ci" / "run").read_text().splitlines()


def test_every_python_block_shows_its_output():
    assert len(examples()) == len(re.findall(r"```python\n", README)) >= 2


@pytest.mark.parametrize("number", range(len(examples())))
def test_readme_example_prints_what_the_readme_shows(number, tmp_path, monkeypatch):
    code, shown = examples()[number]
    monkeypatch.chdir(tmp_path)  # the examples may write files (the model file)
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(code, "README.md", "exec"), {})
    assert out.getvalue() == shown


def test_readme_commands_are_real_commands_and_options():
    commands = [line.split("#")[0].split() for line in bash_blocks()[2].splitlines() if line.strip()]
    assert {c[1] for c in commands} == {"demo", "train", "predict", "explain", "bench", "warmup"}
    for command in commands:
        assert command[0] == "nbmlp"
        if command[1] == "bench":  # nbmlp.bench's own parser
            continue
        helped = subprocess.run(
            [sys.executable, "-m", "nbmlp", command[1], "--help"], capture_output=True, text=True, timeout=120
        )
        assert helped.returncode == 0, helped.stderr
        for word in command[2:]:
            if word.startswith("--"):
                assert word in helped.stdout, (command[1], word)
    from nbmlp.datasets import DATASETS
    from nbmlp.derivation import STEP_NAMES

    assert {"spirals", "digits"} <= set(DATASETS) and "hidden-gradients" in STEP_NAMES


def test_readme_links_point_to_files():
    for target in re.findall(r"\]\(([^)#]+)(?:#[^)]*)?\)", README):
        if "://" not in target:
            assert (ROOT / target).exists(), target
