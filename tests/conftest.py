import os

import background
import numpy as np
import pytest

import nbmlp
from nbmlp import _governor

# whether a test's fit compiles depends on what ran before it: the tests' own output stays free of
# the first-compile line (tests/test_first_compile.py turns it on where it is checked)
os.environ.setdefault("NBMLP_COMPILE_NOTICE", "0")

DTYPES = [np.float32, np.float64]
ACTIVATIONS = ["identity", "sigmoid", "tanh", "relu", "leaky_relu"]


def tol(dtype):
    """Tolerances for comparing a kernel against the float64 reference."""
    return dict(rtol=2e-5, atol=2e-5) if dtype == np.float32 else dict(rtol=1e-12, atol=1e-12)


@pytest.fixture(autouse=True)
def _restore_threads():
    n = nbmlp.get_num_threads()
    yield
    nbmlp.set_num_threads(n)
    _governor.GOVERNOR.reset()  # each test starts from the full thread count


def pytest_collection_modifyitems(session, config, items):
    """The tests that read a background child run last, so that their children compile while
    the rest of the suite runs (the order of the others is kept)."""
    items.sort(key=lambda item: hasattr(getattr(item, "function", None), "start_in_background"))


def pytest_collection_finish(session):
    """Start the child processes of the selected tests that run one in the background (``background``)."""
    for item in session.items:
        start = getattr(getattr(item, "function", None), "start_in_background", None)
        if start is not None:
            start()


def pytest_sessionfinish(session, exitstatus):
    background.stop_all()
