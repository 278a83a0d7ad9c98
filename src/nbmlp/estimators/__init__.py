"""scikit-learn estimators on top of ``network.py``: ``MLPClassifier`` and ``MLPRegressor``.

They take scikit-learn's parameters with scikit-learn's meanings and train with the compiled
epoch of ``kernels.epoch.train_epoch_opt`` (SGD, momentum, Nesterov, Adam or AdamW; L2 penalty,
sample weights, gradient clipping and dropout inside the kernels), or with scipy's L-BFGS-B over
the loss and gradient of the whole data set (``kernels.fullbatch``, ``solver="lbfgs"``).
``import nbmlp`` does not import scikit-learn: this module and ``persistence`` (their model
file) load it when the estimators are first used, and
``distributed``, ``tabular``, ``datasets``, ``cli`` and ``bench`` import it inside the functions
that need it.

This package is the estimators' public home (``nbmlp.estimators.MLPClassifier`` is the name that
pickles and saved pipelines record); the code lives in its modules of one idea each:
``_base`` (parameters, the fit's checks and start, the shared methods), ``_epochs``
(the stochastic solvers' run), ``_lbfgs`` (the L-BFGS solver), ``_prediction`` (``predict``'s
checks and cached network), ``_fit_plan`` (what a fit trains on), ``_classifier`` and
``_regressor``; ``_model_writer`` and ``persistence`` write and read the model file.

Conventions matched with scikit-learn (``sklearn/neural_network/_multilayer_perceptron.py``):
initial weights and biases uniform in ``±√(6/(fan_in+fan_out))`` (``√(2/…)`` before a logistic
layer); the gradient of a batch is ``(Σ_s c_s ∂E_s + α w) / Σ_s c_s``; ``loss_`` is the mean of
the batch losses weighted by batch size, each ``Σ_s c_s E_s / Σ_s c_s + (α/2) Σ w² / Σ_s c_s``
with ``E`` the half squared error averaged over outputs (regression), the cross-entropy
(multiclass) or the binary cross-entropy summed over outputs (binary, multilabel); schedules,
tolerance tests and early stopping as in scikit-learn. Intended differences: the shuffle order
comes from nbmlp's own generator (seeded from ``random_state``), so runs are not bitwise equal
to scikit-learn's; the log-loss is computed from the sums ``u`` without clipping the
probabilities; early stopping stratifies multiclass targets too (scikit-learn stratifies only
binary ones). ``dtype=None`` (the default) follows scikit-learn's rule: float32 input trains and
predicts in float32, any other input in float64; ``dtype="float32"`` asks for float32 whatever
the input (faster: the figures are in docs/performance.md).
"""

from ..training import DivergenceError
from ._classifier import MLPClassifier
from ._epochs import DivergenceWarning
from ._regressor import MLPRegressor

_FROM_PERSISTENCE = ("load", "load_with_inputs", "FORMAT_NAME", "FORMAT_VERSION")

__all__ = [
    "MLPClassifier",
    "MLPRegressor",
    "DivergenceWarning",
    "DivergenceError",
    "load",
    "load_with_inputs",
    "FORMAT_NAME",
    "FORMAT_VERSION",
]

# pickles and saved pipelines name the classes by the module users import them from
for _public in (MLPClassifier, MLPRegressor, DivergenceWarning):
    _public.__module__ = __name__
del _public


def __getattr__(name):
    # the model file's names, kept here for code that imports them from this module; taken on
    # first use because persistence imports the estimators (an import at the top would be a cycle)
    if name in _FROM_PERSISTENCE:
        from .. import persistence

        return getattr(persistence, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
