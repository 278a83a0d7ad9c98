"""The version of nbmlp, in one place: the package metadata (pyproject.toml), ``nbmlp.__version__``,
``nbmlp --version``, the documentation and the sections of CHANGELOG.md all read it from here."""

__version__ = "0.1.0"
