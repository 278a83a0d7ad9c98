"""Run scikit-learn's own MLP tests against nbmlp's estimators.

Copies the installed ``sklearn/neural_network/tests/test_mlp.py`` into a temporary folder with
its import of ``MLPClassifier`` and ``MLPRegressor`` pointed at ``nbmlp``, runs it with pytest
(scikit-learn's fixtures loaded from ``sklearn.conftest``) and prints pytest's summary. The
tests that fail by design are listed in ``docs/sklearn_compatibility.md``.

    python scripts/sklearn_mlp_tests.py [-k EXPRESSION] [pytest options…]
"""

import os
import pathlib
import subprocess
import sys
import tempfile

SK_IMPORT = "from sklearn.neural_network import MLPClassifier, MLPRegressor"
# the four tests that read or set private state of scikit-learn's implementation
BY_DESIGN = (
    "test_fit",  # sets _coef_velocity, _intercept_velocity, … by hand, then partial_fit
    "test_gradient",  # calls _loss_grad_lbfgs
    "test_learning_rate_warmstart",  # reads _optimizer.learning_rate
    "test_adaptive_learning_rate",  # reads _optimizer.learning_rate
)


def patched_test_file(folder):
    """scikit-learn's test_mlp.py, importing nbmlp's estimators, written into ``folder``."""
    import sklearn.neural_network

    source = pathlib.Path(sklearn.neural_network.__file__).parent / "tests" / "test_mlp.py"
    text = source.read_text()
    if SK_IMPORT not in text:
        raise SystemExit(f"{source}: the import of the estimators changed; update SK_IMPORT")
    path = pathlib.Path(folder) / "test_sklearn_mlp.py"
    path.write_text(text.replace(SK_IMPORT, "from nbmlp import MLPClassifier, MLPRegressor"))
    return path


def run(args=(), capture=False):
    with tempfile.TemporaryDirectory() as folder:
        path = patched_test_file(folder)
        command = [sys.executable, "-m", "pytest", "-p", "sklearn.conftest", "-q", "-p", "no:cacheprovider"]
        command += ["--rootdir", folder, str(path), *args]
        return subprocess.run(command, cwd=folder, capture_output=capture, text=True, env=dict(os.environ))


if __name__ == "__main__":
    sys.exit(run(sys.argv[1:]).returncode)
