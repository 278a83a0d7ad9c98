"""Sphinx configuration of nbmlp's documentation site.

Build: ``pip install -e ".[docs]" && sphinx-build -W --keep-going -b html docs docs/_build/html``
(CI runs the same; ``-W`` makes a broken reference, a page outside every toctree or a public
name without a docstring fail the build).
"""

import pathlib
import re
import sys

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))  # the source tree being documented, not an older install

from nbmlp._version import __version__  # noqa: E402 - after the path is set

project = "nbmlp"
author = "the nbmlp developers"
copyright = "the nbmlp developers"
version = release = __version__

extensions = [
    "myst_parser",  # the pages are Markdown (they also read as plain files on a code host)
    "sphinx.ext.autodoc",
    "numpydoc",  # the docstrings are numpy-style
]

source_suffix = {".md": "markdown", ".rst": "restructuredtext"}
exclude_patterns = ["_build", "README.md"]

myst_heading_anchors = 3  # links such as performance.md#threads-on-a-shared-machine
myst_enable_extensions = ["colon_fence", "substitution"]
myst_substitutions = {"version": __version__}

autodoc_default_options = {"undoc-members": True}  # a member without a docstring shows, and GL08 flags it
autodoc_member_order = "bysource"
# nbmlp.distributed imports mpi4py only when called; nothing else needs mocking
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
# GL08: an object without a docstring (every public name needs one; tests/test_api_docs.py too)
numpydoc_validation_checks = {"GL08"}
numpydoc_xref_param_type = False

html_theme = "alabaster"
html_title = f"nbmlp {__version__}"
html_theme_options = {"description": f"version {__version__}", "fixed_sidebar": True}

# user-guide pages that other work adds: listed in index.md's toctree, left out of it until they exist
OPTIONAL_PAGES = ("threads_and_processes", "models_and_serving", "sklearn_compatibility", "first_compile")
ANCHOR = re.compile(r'^<a id="([a-z0-9-]+)"></a>$', re.M)


def _read_source(app, docname, source):
    text = source[0]
    if docname == "index":
        missing = [p for p in OPTIONAL_PAGES if not (pathlib.Path(app.srcdir) / f"{p}.md").exists()]
        text = "".join(line for line in text.splitlines(True) if line.strip() not in missing)
    # the generated pages mark their steps with HTML anchors (which a code host renders); Sphinx
    # needs them as MyST targets for the links to them to resolve
    source[0] = ANCHOR.sub(r"(\1)=", text)


def setup(app):
    app.connect("source-read", _read_source)
