"""nbmlp: multilayer perceptrons whose kernels are the loops of the backpropagation derivation."""

from . import _compile_notice, _threadpool
from ._threads import get_num_threads, set_num_threads
from ._version import __version__  # noqa: F401 - the one version (nbmlp --version, the docs)
from .derivation import explain
from .network import MLP, DivergenceError

_threadpool.register()  # threadpoolctl.threadpool_limits limits nbmlp's threads too
_compile_notice.install()  # a line on stderr when a kernel set compiles (NBMLP_COMPILE_NOTICE=0: none)

__all__ = ["MLP", "DivergenceError", "get_num_threads", "set_num_threads", "explain"]

__all__ += ["MLPClassifier", "MLPRegressor", "DivergenceWarning", "load", "save", "TableEncoder", "Pipeline"]
_LAZY = {
    "MLPClassifier": "estimators",
    "MLPRegressor": "estimators",
    "DivergenceWarning": "estimators",
    "load": "estimators",
    "save": "pipeline",
    "Pipeline": "pipeline",
    "TableEncoder": "encoder",
}


def __getattr__(name):
    # the scikit-learn estimators load on first use, so that ``import nbmlp`` (kernels, MLP)
    # does not import scikit-learn
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
    raise AttributeError(f"module 'nbmlp' has no attribute {name!r}")
