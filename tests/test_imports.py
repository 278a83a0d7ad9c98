"""The import arrows point down: the modules the kernels are built on import no kernel module,
and no module of the package reaches up into the package's ``__init__`` for a name."""

import ast
import pathlib

import nbmlp

SRC = pathlib.Path(nbmlp.__file__).parent

# a benchmark program (``python -m nbmlp.bench``) that uses the library as its users do; nothing
# in the library imports it
USES_THE_PUBLIC_API = {"nbmlp.bench"}


def module_name(path):
    parts = path.relative_to(SRC.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(p): p for p in sorted(SRC.rglob("*.py"))}


def is_module(name):
    return name in MODULES


def imports(name, top_level_only=False):
    """(module imported, name imported from it or None) for every import in module ``name``;
    ``top_level_only``: the imports run at import time (not those inside a function)."""
    path = MODULES[name]
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    nodes = tree.body if top_level_only else ast.walk(tree)
    found = []
    for node in nodes:
        if isinstance(node, ast.Import):
            found += [(alias.name, None) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = package.split(".")
            base = base[: len(base) - node.level + 1] if node.level else []
            source = ".".join(base + ([node.module] if node.module else []))
            found += [(source, alias.name) for alias in node.names]
    return found


def test_no_module_takes_a_name_from_the_package_init():
    upward = []
    for name in MODULES:
        if name == "nbmlp" or name in USES_THE_PUBLIC_API:
            continue
        for source, imported in imports(name):
            if source == "nbmlp" and (imported is None or not is_module(f"nbmlp.{imported}")):
                upward.append(f"{name}: {'import nbmlp' if imported is None else 'nbmlp.' + imported}")
    assert not upward, upward


def below_the_kernels():
    """The nbmlp modules outside ``nbmlp.kernels`` that the kernels import (at import time), and
    everything those import in turn."""
    todo = [
        source
        for name in MODULES
        if name.startswith("nbmlp.kernels")
        for source, _ in imports(name, top_level_only=True)
        if source.startswith("nbmlp") and not source.startswith("nbmlp.kernels")
    ]
    seen = set()
    while todo:
        name = todo.pop()
        if name in seen or not is_module(name):
            continue
        seen.add(name)
        todo += [s for s, _ in imports(name, top_level_only=True) if s.startswith("nbmlp")]
    return seen


def test_the_modules_below_the_kernels_import_no_kernel_module():
    below = below_the_kernels()
    assert {"nbmlp._config", "nbmlp._cpu"} <= below
    upward = [
        f"{name} imports {source}"
        for name in sorted(below)
        for source, _ in imports(name, top_level_only=True)
        if source.startswith("nbmlp.kernels") or source == "nbmlp"
    ]
    assert not upward, upward


def test_the_checks_see_an_upward_arrow(tmp_path, monkeypatch):
    """Both checks fail on the arrows they were written against."""
    config = tmp_path / "_config.py"
    config.write_text("from .kernels.lanes import NATIVE\n", encoding="utf-8")
    threads = tmp_path / "_threads.py"
    threads.write_text("def version():\n    from . import __version__\n", encoding="utf-8")
    monkeypatch.setitem(MODULES, "nbmlp._config", config)
    monkeypatch.setitem(MODULES, "nbmlp._threads", threads)
    assert ("nbmlp.kernels.lanes", "NATIVE") in imports("nbmlp._config", top_level_only=True)
    for check in (
        test_no_module_takes_a_name_from_the_package_init,
        test_the_modules_below_the_kernels_import_no_kernel_module,
    ):
        try:
            check()
        except AssertionError:
            continue
        raise AssertionError(f"{check.__name__} passed with an upward arrow")
