"""scikit-learn estimators on top of ``network.py``: ``MLPClassifier`` and ``MLPRegressor``.

They take scikit-learn's parameters with scikit-learn's meanings and train with the compiled
epoch of ``kernels.epoch.train_epoch_opt`` (SGD, momentum, Nesterov, Adam or AdamW; L2 penalty,
sample weights, gradient clipping and dropout inside the kernels), or with scipy's L-BFGS-B over
the loss and gradient of the whole data set (``kernels.fullbatch``, ``solver="lbfgs"``).
``import nbmlp`` does not import scikit-learn: this module and ``persistence`` (their model
file) load it when the estimators are first used, and
``distributed``, ``tabular``, ``datasets``, ``cli`` and ``bench`` import it inside the functions
that need it.

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

import numbers
import sys
import warnings
import weakref
from dataclasses import dataclass, field, replace

import numpy as np
from scipy import sparse
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin, is_classifier
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import accuracy_score, r2_score
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import LabelBinarizer
from sklearn.utils import check_random_state, compute_sample_weight
from sklearn.utils.metaestimators import available_if
from sklearn.utils.multiclass import check_classification_targets, type_of_target
from sklearn.utils.validation import _check_sample_weight, check_is_fitted, column_or_1d, validate_data

from . import _aligned as aligned
from . import _parameters as P
from . import persistence
from ._compile_notice import watch as watch_compiles
from ._signals import sigterm_as_interrupt
from ._threads import training_threads
from ._validation import check_dropout
from .kernels.optim import ADAM, ADAMW, MOMENTUM, NESTEROV, SGD
from .network import MLP, DivergenceError
from .persistence import FORMAT_NAME, FORMAT_VERSION, load, load_with_inputs  # noqa: F401 (re-exported)
from .training import (
    NON_FINITE,
    Adaptive,
    Constant,
    Cosine,
    DenseStep,
    Hyper,
    InvScaling,
    NoImprovement,
    SparseStep,
    Trainer,
    optimizer_arrays,
    validation_loss_sum,
)
from .training import upper_work as _upper_work

try:  # optional: the progress bar of ``verbose`` (pip install "nbmlp[progress]")
    from tqdm.auto import tqdm
except ImportError:  # pragma: no cover - exercised only without tqdm
    tqdm = None


class DivergenceWarning(ConvergenceWarning):
    """Training with ``early_stopping`` diverged and stopped; the best validation weights are kept.

    Without early stopping a divergence raises ``nbmlp.DivergenceError`` instead: there is no
    validation score to choose other weights by.
    """


def _terminal(stream):
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):  # no isatty, or a closed stream
        return False


HIDDEN = {
    "identity": "identity",
    "logistic": "sigmoid",
    "tanh": "tanh",
    "relu": "relu",
    "leaky_relu": "leaky_relu",
    "gelu": "gelu",
    "gelu_tanh": "gelu_tanh",
    "silu": "silu",
}
SCHEDULES = ("constant", "invscaling", "adaptive", "cosine")
SOLVERS = ("sgd", "adam", "adamw", "lbfgs")
# scikit-learn's names of the output activations
OUT_NAMES = {"sigmoid": "logistic", "softmax": "softmax", "identity": "identity", "exp": "exp"}
CORE_OUT = {v: k for k, v in OUT_NAMES.items()}
# estimator → (coefs_ and intercepts_ arrays, activations, output, MLP, flat parameters or None):
# the network that predict reuses while the fitted weights are the same (_predicting_network)
_PREDICTING = weakref.WeakKeyDictionary()
_FITTING = weakref.WeakSet()  # the estimators whose fit or partial_fit is running


@dataclass
class FitPlan:
    """What a checked fit trains on, and how: ``_check_fit`` fills the data and the network's
    shape, ``_check_fit_input`` the split and the conversions (``distributed``: its own split).
    """

    X: object  # inputs (N, l): an array, or a sparse matrix; of ``dtype`` once split
    y: object  # the validated targets, as given (labels for a classifier)
    T: object  # encoded targets (N, n): one-hot, label indicators, or values
    c: object  # sample weights c_s (N,), float64, or None
    lb: object  # the classifier's LabelBinarizer, or None
    units: list  # neurons per layer, input first
    acts: list  # hidden activations (``MLP``'s names)
    dtype: type  # np.float32 or np.float64
    callbacks: list = field(default_factory=list)
    first_pass: bool = True  # a new network (not a warm start, not partial_fit continuing)
    incremental: bool = False  # partial_fit: one epoch
    rs: object = None  # the RandomState of random_state (initial weights, split, shuffle seed)
    early_stopping: bool = False
    X_val: object = None  # the validation set (early stopping)
    y_val: object = None
    T_val: object = None
    initial: list = None  # a new network's weights and biases [w0, b0, w1, …], drawn before the split


def _stochastic(est):
    """``partial_fit`` exists for the stochastic solvers only, as in scikit-learn."""
    if est.solver not in ("sgd", "adam", "adamw"):
        raise AttributeError(
            f"partial_fit is only available for stochastic optimizers. {est.solver} is not stochastic."
        )
    return True


class _BaseMLP(BaseEstimator):
    """Shared parameters, training loop and persistence of the two estimators."""

    def __init__(
        self,
        hidden_layer_sizes=(100,),
        activation="relu",
        *,
        solver="adam",
        alpha=0.0001,
        batch_size="auto",
        learning_rate="constant",
        learning_rate_init=0.001,
        power_t=0.5,
        max_iter=200,
        shuffle=True,
        random_state=None,
        tol=1e-4,
        verbose=False,
        warm_start=False,
        momentum=0.9,
        nesterovs_momentum=True,
        early_stopping=False,
        validation_fraction=0.1,
        beta_1=0.9,
        beta_2=0.999,
        epsilon=1e-8,
        n_iter_no_change=10,
        max_fun=15000,
        dtype=None,
        callbacks=None,
        weight_decay=0.01,
        max_grad_norm=None,
        warmup_epochs=0,
        dropout=0.0,
    ):
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.solver = solver
        self.alpha = alpha
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.learning_rate_init = learning_rate_init
        self.power_t = power_t
        self.max_iter = max_iter
        self.shuffle = shuffle
        self.random_state = random_state
        self.tol = tol
        self.verbose = verbose
        self.warm_start = warm_start
        self.momentum = momentum
        self.nesterovs_momentum = nesterovs_momentum
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.n_iter_no_change = n_iter_no_change
        self.max_fun = max_fun
        self.dtype = dtype
        self.callbacks = callbacks
        self.weight_decay = weight_decay
        self.max_grad_norm = max_grad_norm
        self.warmup_epochs = warmup_epochs
        self.dropout = dropout

    # -- parameters ----------------------------------------------------------------------
    # what each constructor parameter accepts, checked in this order by ``_check_params``
    # (``_parameters.check_parameters``: plain values first, then at most one rule). scikit-learn's
    # ``_parameter_constraints`` in nbmlp's own form, under another name so that scikit-learn's
    # ``_validate_params`` never reads it
    _parameter_rules = {
        "hidden_layer_sizes": [P.HiddenSizes()],
        "activation": [P.HiddenActivations(HIDDEN)],  # per hidden layer: after hidden_layer_sizes
        "solver": [P.Options(*SOLVERS)],
        "max_fun": [P.Interval(numbers.Integral, 1)],
        "learning_rate": [P.Options(*SCHEDULES)],
        "alpha": [P.Interval(numbers.Real, 0)],
        "learning_rate_init": [P.Interval(numbers.Real, 0, closed="neither")],
        "power_t": [P.Interval(numbers.Real, 0)],
        "max_iter": [P.Interval(numbers.Integral, 1)],
        "tol": [P.Interval(numbers.Real, 0)],
        "momentum": [P.Interval(numbers.Real, 0, 1, closed="both")],
        "validation_fraction": [P.Interval(numbers.Real, 0, 1, closed="neither")],
        "beta_1": [P.Interval(numbers.Real, 0, 1, closed="left")],
        "beta_2": [P.Interval(numbers.Real, 0, 1, closed="left")],
        "epsilon": [P.Interval(numbers.Real, 0, closed="neither")],
        "n_iter_no_change": [np.inf, P.Interval(numbers.Integral, 1)],
        "weight_decay": [P.Interval(numbers.Real, 0)],
        "max_grad_norm": [None, P.Interval(numbers.Real, 0, closed="neither")],
        "warmup_epochs": [P.Interval(numbers.Integral, 0)],
        "dropout": [P.Dropout()],  # per hidden layer, and not with lbfgs: after solver
        "random_state": [None, np.random.RandomState, P.Seed()],
        "batch_size": ["auto", P.Interval(numbers.Integral, 1)],
        "shuffle": [P.Boolean()],
        "warm_start": [P.Boolean()],
        "nesterovs_momentum": [P.Boolean()],
        "early_stopping": [P.Boolean()],
        "callbacks": [P.Callables()],
        "dtype": [None, P.FloatType()],
        "verbose": [object],  # any value (True or an int prints, as in scikit-learn)
    }

    def _check_params(self):
        """Every constructor parameter checked (ValueError/TypeError naming it, the estimator
        unchanged) against ``_parameter_rules``; returns the resolved hidden layer sizes,
        hidden activations (nbmlp's names), dtype (None or a NumPy type) and callbacks (a list)."""
        p = P.check_parameters(self, self._parameter_rules)
        return p["hidden_layer_sizes"], p["activation"], p["dtype"], p["callbacks"]

    # -- the network -----------------------------------------------------------------------
    def _network(self, dtype):
        """An ``MLP`` holding the fitted weights (built from ``coefs_`` and ``intercepts_``)."""
        units = [c.shape[0] for c in self.coefs_] + [self.coefs_[-1].shape[1]]
        # the fitted output (not the loss parameter, which set_params may have changed since);
        # its loss is the one MLP pairs with it
        acts, out = self._activations_, CORE_OUT[self.out_activation_]
        net = MLP(units, activation=acts, output=out, dtype=dtype, seed=0)
        weights, biases = net.views(net.params)
        for w, b, c, i in zip(weights, biases, self.coefs_, self.intercepts_):
            w[...] = c
            b[...] = i
        return net

    def _set_weights(self, net):
        """``coefs_`` and ``intercepts_`` as views into a copy of the network's flat parameters."""
        weights, biases = net.views(net.params.copy())
        self.coefs_, self.intercepts_ = weights, biases

    def _initial_weights(self, units, acts, rs):
        """A new network's weights and biases ``[w0, b0, w1, b1, …]`` (float64), drawn from ``rs``."""
        drawn = []
        for L, (fan_in, fan_out) in enumerate(zip(units[:-1], units[1:])):
            # scikit-learn picks the bound from the hidden activation, for every layer
            only = HIDDEN.get(self.activation) if isinstance(self.activation, str) else None
            logistic = (acts[min(L, len(acts) - 1)] if acts else only) == "sigmoid"
            bound = np.sqrt((2.0 if logistic else 6.0) / (fan_in + fan_out))
            drawn += [rs.uniform(-bound, bound, (fan_in, fan_out)), rs.uniform(-bound, bound, fan_out)]
        return drawn

    def _init_network(self, units, acts, dtype, initial):
        net = MLP(units, activation=acts, output=self._out_activation_core, loss=self._loss_core, dtype=dtype, seed=0)
        weights, biases = net.views(net.params)
        for L, (w, b) in enumerate(zip(weights, biases)):
            w[...] = initial[2 * L]
            b[...] = initial[2 * L + 1]
        return net

    def _forward(self, X):
        """The network's outputs for X, after scikit-learn's checks of X (``_validate_X``)."""
        check_is_fitted(self, "coefs_")
        X = self._validate_X(X, self.coefs_[0].dtype.type)
        net, params = self._predicting_network()
        if X.shape[1] != net.layers[0]:  # n_features_in_ set apart from coefs_: refused as MLP.forward does
            raise ValueError(f"X has {X.shape[1]} features but the network takes {net.layers[0]}")
        return _net_forward(net, X, params)

    def _validate_X(self, X, dtype):
        """X checked as scikit-learn checks it (``validate_data``), then as a C-contiguous array
        of ``dtype`` (``_as_dtype``).

        A NumPy float64 or float32 array of ``n_features_in_`` columns and at least one row,
        with no feature names fitted and every value finite, passes every one of those checks
        and comes out converted: it takes that shortcut (``validate_data`` costs most of a
        one-row prediction). Anything else, including a non-finite value, goes through
        ``validate_data``, which gives scikit-learn's warnings and errors.
        """
        if (
            type(X) is np.ndarray
            and X.ndim == 2
            and (X.dtype == np.float64 or X.dtype == np.float32)
            and X.shape[0] > 0
            and X.shape[1] == getattr(self, "n_features_in_", None)
            and not hasattr(self, "feature_names_in_")
        ):
            with np.errstate(over="ignore"):
                Xc = np.ascontiguousarray(X, dtype=dtype)
            if np.isfinite(Xc).all():
                return Xc
        X = validate_data(self, X, reset=False, dtype=(np.float64, np.float32), accept_sparse=["csr", "csc"])
        return _as_dtype(X, dtype, "X")

    def _predicting_network(self):
        """The network of the fitted weights and the flat parameters to run it with, for ``predict``.

        The network (layout, activations) is built once and kept beside the estimator (in
        ``_PREDICTING``, so the estimator itself does not change) while ``coefs_`` and
        ``intercepts_`` hold the same arrays and the fitted activations are the same: ``fit``,
        ``partial_fit`` and ``load`` set new arrays, which builds it again. The parameters are
        the buffer that ``coefs_`` and ``intercepts_`` are views into (as ``fit`` and ``load``
        leave them), so that writes into them are seen; arrays set another way (by hand,
        unpickled) are copied into a new buffer on every call, for the same reason.
        """
        arrays = (*self.coefs_, *self.intercepts_)
        entry = _PREDICTING.get(self)
        if (
            entry is None
            or len(entry[0]) != len(arrays)
            or any(a is not b for a, b in zip(entry[0], arrays))
            or entry[1] != self._activations_
            or entry[2] != self.out_activation_
        ):
            net = self._network(self.coefs_[0].dtype.type)
            shared = _flat_base(arrays, net)
            # the cache holds no copy of the weights: the shared buffer, or nothing
            net.params = shared if shared is not None else net.params[:0]
            entry = (arrays, list(self._activations_), self.out_activation_, net, shared)
            _PREDICTING[self] = entry
        net, params = entry[3], entry[4]
        if params is None:
            params = np.empty(net.n_params, net.dtype)
            weights, biases = net.views(params)
            for w, b, coef, intercept in zip(weights, biases, self.coefs_, self.intercepts_):
                w[...] = coef
                b[...] = intercept
        return net, params

    # -- training --------------------------------------------------------------------------
    def _batch_size(self, n):
        if isinstance(self.batch_size, str):
            return min(200, n)
        if self.batch_size > n:
            warnings.warn("Got `batch_size` larger than sample size. It is going to be clipped", stacklevel=2)
        return int(min(self.batch_size, n))

    def _fit(self, X, y, sample_weight=None, incremental=False, classes=None):
        if self in _FITTING:  # a callback fitting its own estimator would mix two runs' records
            raise RuntimeError(
                f"{type(self).__name__} is already being fitted (fit or partial_fit called from a "
                "callback of its own fit, or from another thread); fit a clone instead"
            )
        # validate_data(reset=True) sets n_features_in_ (and feature_names_in_) as it checks:
        # put them back if any later check fails, so that a failed call changes nothing
        saved = {k: v for k, v in vars(self).items() if k in ("n_features_in_", "feature_names_in_")}
        try:
            plan = self._check_fit_input(X, y, sample_weight, incremental, classes)
        except BaseException:
            self._put_back_features(saved)
            raise
        _FITTING.add(self)
        try:
            self._fit_checked(plan)
        finally:
            _FITTING.discard(self)
        return self

    def _put_back_features(self, saved):
        for k in ("n_features_in_", "feature_names_in_"):
            vars(self).pop(k, None)
        vars(self).update(saved)

    def _check_fit_input(self, X, y, sample_weight, incremental, classes):
        """``_check_fit``, then the early-stopping split and the conversions: the fit's ``FitPlan``."""
        plan = self._check_fit(X, y, sample_weight, incremental, classes)
        rs = check_random_state(self.random_state)
        # as scikit-learn: early stopping is for the stochastic solvers only
        early_stopping = self.early_stopping and not incremental and self.solver != "lbfgs"
        X, T, c, X_val, y_val, T_val = plan.X, plan.T, plan.c, None, None, None
        # scikit-learn draws the initial weights from random_state's generator, then the split:
        # the same order gives the same weights and validation rows for the same random_state
        initial = self._initial_weights(plan.units, plan.acts, rs) if plan.first_pass else None
        if early_stopping:
            X, T, c, X_val, y_val, T_val = self._split(X, plan.y, T, c, rs, plan.lb)
        X = _as_dtype(X, plan.dtype, "X")
        if sparse.issparse(X) and (len(plan.units) == 2 or self.solver == "lbfgs"):
            X = X.toarray()  # no hidden layer, or L-BFGS (all samples at once): the dense kernels
        if sparse.issparse(X) and any(check_dropout(self.dropout, len(plan.units) - 2)):
            raise ValueError(f"dropout={self.dropout!r} is not available with sparse input X (use dropout=0.0)")
        T = _as_dtype(T, plan.dtype, "y")
        return replace(
            plan,
            X=X,
            T=T,
            c=c,
            rs=rs,
            early_stopping=early_stopping,
            X_val=X_val,
            y_val=y_val,
            T_val=T_val,
            initial=initial,
        )

    def _check_fit(self, X, y, sample_weight, incremental, classes):
        """The checks of ``_check_fit_input`` before the split (also used by ``distributed``).

        Returns a ``FitPlan`` without the split (``rs`` None, no validation set): the validated
        data, the encoded targets, the sample weights (or None), the label binarizer
        (classifier), the layer sizes and hidden activations. ``classes`` (when given) fixes
        the classes.
        """
        sizes, acts, dtype, callbacks = self._check_params()
        if incremental and self.early_stopping:
            raise ValueError("partial_fit does not support early_stopping=True")
        first_pass = not hasattr(self, "coefs_") or (not self.warm_start and not incremental)
        if callable(getattr(y, "isna", None)) and np.asarray(y.isna()).any():  # pandas NA (pd.NA, NaN, None)
            raise ValueError("Input y contains missing values (NA)")
        X, y = validate_data(
            self,
            X,
            y,
            reset=first_pass,
            multi_output=True,
            dtype=(np.float64, np.float32),
            accept_sparse=["csr", "csc"],
            y_numeric=not is_classifier(self),
        )
        if not first_pass and X.shape[1] != self.n_features_in_:
            raise ValueError(
                f"X has {X.shape[1]} features, but {type(self).__name__} is expecting "
                f"{self.n_features_in_} features as input"
            )
        if y.ndim == 2 and y.shape[1] == 1:
            y = column_or_1d(y, warn=True)
        if dtype is None:  # scikit-learn's rule: float32 stays float32, anything else is float64
            dtype = _input_dtype(X) if first_pass else self.coefs_[0].dtype.type
        T, c, lb = self._targets(y, first_pass, incremental, classes, dtype)
        if sample_weight is not None:
            sample_weight = _check_sample_weight(sample_weight, X, dtype=np.float64, ensure_non_negative=True)
            c = sample_weight if c is None else c * sample_weight
        if c is not None:
            _as_dtype(c, dtype, "sample_weight")
        if not first_pass and self.out_activation_ != OUT_NAMES[self._out_activation_core]:
            raise ValueError("loss cannot change between warm-started fits")
        if not first_pass and self._activations_ != acts:
            raise ValueError("activation and hidden_layer_sizes cannot change between warm-started fits")
        if not first_pass and self.coefs_[0].dtype != dtype:
            raise ValueError("dtype cannot change between warm-started fits")
        units = [X.shape[1]] + sizes + [T.shape[1]]
        if not first_pass and [w.shape[0] for w in self.coefs_] + [self.coefs_[-1].shape[1]] != units:
            raise ValueError(
                f"the network's layers {units} differ from the fitted ones; "
                "hidden_layer_sizes and the targets cannot change between warm-started fits"
            )
        return FitPlan(
            X=X,
            y=y,
            T=T,
            c=c,
            lb=lb,
            units=units,
            acts=acts,
            dtype=dtype,
            callbacks=callbacks,
            first_pass=first_pass,
            incremental=incremental,
        )

    def _fit_checked(self, plan):
        """Train on checked input (a ``FitPlan``); from here on the estimator changes."""
        net = self._begin_fit(plan)
        if self.solver == "lbfgs":
            self._train_lbfgs(net, plan.X, plan.T, plan.c)
            return
        self._train(net, plan)

    def _begin_fit(self, plan):
        """Set the attributes a fit starts with (``distributed`` too); return the network to train
        (new or fitted). The optimizer state and the shuffle generator are ready after it."""
        if plan.lb is not None:
            self._label_binarizer, self.classes_ = plan.lb, plan.lb.classes_
        if plan.first_pass:
            self._activations_ = plan.acts
            self.n_outputs_ = plan.units[-1]
            self.n_layers_ = len(plan.units)
            self.out_activation_ = OUT_NAMES[self._out_activation_core]
            initial = plan.initial
            if initial is None:  # a plan made elsewhere, without them
                initial = self._initial_weights(plan.units, plan.acts, plan.rs)
            net = self._init_network(plan.units, plan.acts, plan.dtype, initial)
            self.n_iter_, self.t_ = 0, 0
            self.loss_curve_ = []
            self._no_improvement_count = 0
            if plan.early_stopping:
                self.validation_scores_, self.validation_loss_curve_ = [], []
                self.best_validation_score_, self.best_loss_ = -np.inf, None
            else:
                self.validation_scores_ = self.validation_loss_curve_ = self.best_validation_score_ = None
                self.best_loss_ = np.inf
        else:
            net = self._network(plan.dtype)
            if plan.early_stopping and self.validation_scores_ is None:  # warm start, now with early stopping
                self.validation_scores_, self.validation_loss_curve_ = [], []
                self.best_validation_score_, self.best_loss_ = -np.inf, None
        if not plan.incremental or not hasattr(self, "_optimizer_state"):
            self._new_optimizer(net.n_params, plan.dtype)
        self._shuffle_rng = np.array([plan.rs.randint(0, 2**62)], dtype=np.uint64)
        return net

    def _new_optimizer(self, P, dtype):
        code = {"adam": ADAM, "adamw": ADAMW}.get(self.solver, SGD)
        if self.solver == "sgd" and self.momentum > 0:
            code = NESTEROV if self.nesterovs_momentum else MOMENTUM
        # m: the velocity v (momentum, Nesterov) or Adam's first moment; s: Adam's second moment
        m = aligned.zeros(P if code != SGD else 0, dtype)
        s = aligned.zeros(P if code in (ADAM, ADAMW) else 0, dtype)
        self._optimizer_state = {
            "code": code,
            "m": m,
            "s": s,
            "step": np.zeros(1, np.int64),
            "learning_rate": float(self.learning_rate_init),
        }

    def _split(self, X, y, T, c, rs, lb):
        # the user's labels name the classes of a split error; binary targets as scikit-learn's
        # column of booleans (its message says ['True']): the same split either way
        stratify = None
        if lb is not None and lb.y_type_ == "binary":
            stratify = (y == lb.classes_[-1]).reshape(-1, 1)
        elif lb is not None and lb.y_type_ == "multiclass":
            stratify = y
        idx_train, idx_val = train_test_split(
            np.arange(X.shape[0]), random_state=rs, test_size=self.validation_fraction, stratify=stratify
        )
        if len(idx_train) == 0 or len(idx_val) == 0:
            raise ValueError(
                f"validation_fraction={self.validation_fraction} leaves no training or no "
                f"validation sample out of {X.shape[0]}"
            )
        if len(idx_val) < 2:  # as scikit-learn: one sample gives no R² and a meaningless score
            raise ValueError(
                "The validation set is too small. Increase 'validation_fraction' or the size of your dataset."
            )
        cw = None if c is None else c[idx_train]
        return X[idx_train], T[idx_train], cw, X[idx_val], y[idx_val], T[idx_val]

    def _train(self, net, plan):
        """A stochastic solver's fit on this process: a ``DenseStep`` (or ``SparseStep``) and ``_run_epochs``."""
        N, dtype, state = plan.X.shape[0], net.dtype, self._optimizer_state
        batch = self._batch_size(N)
        weighted = plan.c is not None and not np.all(plan.c == 1)
        c = np.ascontiguousarray(plan.c, dtype=dtype) if weighted else None
        net.dropout = check_dropout(self.dropout, len(net.layers) - 2)
        parts = (batch, state["code"], optimizer_arrays(state), self._shuffle_rng, self.shuffle)
        if sparse.issparse(plan.X):  # CSR rows read in place; the first layer over the non-zeros only
            if any(net.dropout):
                raise ValueError(f"dropout={self.dropout!r} is not available with sparse input (use dropout=0.0)")
            step = SparseStep(net, _csr_arrays(plan.X, dtype), plan.T, c, *parts)
        else:
            step = DenseStep(net, plan.X, plan.T, c, *parts)

        def validate():
            return self._validate(net, plan.X_val, plan.y_val, plan.T_val)

        self._run_epochs(plan, net, step, validate if plan.early_stopping else None)

    def _train_lbfgs(self, net, X, T, c):
        """scipy's L-BFGS-B over the flat parameters; each evaluation of the loss and its gradient
        over the whole data is one compiled call (``kernels.fullbatch.full_loss_gradient``)."""
        import scipy.optimize
        from sklearn.utils.optimize import _check_optimize_result

        from .kernels.fullbatch import full_loss_gradient

        N, l, dtype = X.shape[0], X.shape[1], net.dtype
        work = net.work_buffers(N, with_backward=True)
        work[0][: N * l] = X.ravel()  # block 0 of Y: the inputs, read by every evaluation
        grads = aligned.empty(net.n_params, net.dtype)
        weighted = c is not None and not np.all(c == 1)
        cs = np.ascontiguousarray(c, dtype=dtype) if weighted else net.params[:0]
        alpha, kappa = dtype(self.alpha), self._hyper(dtype)[6]
        start = net.params.copy()

        def loss_and_gradient(theta):
            net.params[...] = theta
            with training_threads(net.layers, N, N):  # one evaluation: a step of N samples
                loss = full_loss_gradient(
                    net.params, grads, work, T, cs, net.layout, net.loss_code, alpha, float(kappa)
                )
            return loss, grads.astype(np.float64)

        def record(intermediate_result):
            self.loss_curve_.append(float(intermediate_result.fun))

        try:
            result = scipy.optimize.minimize(
                loss_and_gradient,
                start.astype(np.float64),
                method="L-BFGS-B",
                jac=True,
                callback=record,
                options={"maxfun": self.max_fun, "maxiter": self.max_iter, "gtol": self.tol},
            )
        except BaseException:  # Ctrl-C or an error inside scipy: the weights the fit started from
            net.params[...] = start
            self._set_weights(net)
            raise
        if not (np.isfinite(result.fun) and np.isfinite(result.x).all() and np.isfinite(result.x.astype(dtype)).all()):
            net.params[...] = start
            self._set_weights(net)
            raise DivergenceError(
                f"L-BFGS produced a non-finite loss or weights (loss {result.fun}); the "
                f"starting weights were kept. {NON_FINITE}"
            )
        self.n_iter_ = _check_optimize_result("lbfgs", result, self.max_iter)
        self.loss_ = float(result.fun)
        net.params[...] = result.x
        self._set_weights(net)

    def _hyper_constants(self):
        """The optimizer's constants (``training.Hyper``); the rate comes from the schedule."""
        kappa = 1.0 / self.n_outputs_ if self._loss_core == "squared_error" else 1.0
        clip = 0.0 if self.max_grad_norm is None else self.max_grad_norm
        return Hyper(
            alpha=self.alpha,
            mu=self.momentum,
            beta1=self.beta_1,
            beta2=self.beta_2,
            eps=self.epsilon,
            kappa=kappa,
            weight_decay=self.weight_decay,
            max_norm=clip,
        )

    def _hyper(self, dtype):
        """The ``hyper`` tuple of ``train_epoch_opt`` for the current learning rate."""
        return self._hyper_constants().at(self._optimizer_state["learning_rate"], dtype)

    def _schedule(self):
        """The learning-rate schedule (``training``): ``invscaling`` and ``adaptive`` act on SGD only."""
        if self.learning_rate == "cosine":
            return Cosine(self.learning_rate_init, self.warmup_epochs, self.max_iter)
        if self.solver == "sgd" and self.learning_rate == "invscaling":
            return InvScaling(float(self.learning_rate_init), self.power_t)
        if self.solver == "sgd" and self.learning_rate == "adaptive":
            return Adaptive()
        return Constant()

    def _run_epochs(self, plan, net, step, validate, catch_interrupt=True):
        """Run a ``training.Trainer`` over ``step`` and keep the estimator's record of it.

        The interface of ``distributed`` too: ``step(hyper)`` trains one epoch over its
        ``n_samples`` and returns the summed loss; ``validate()`` (None without early stopping)
        returns the validation score and loss; ``plan.callbacks`` run after every epoch.
        ``KeyboardInterrupt`` (and SIGTERM in the main thread, ``_signals``) keeps the last
        finished epoch and then ends training with a warning, or is re-raised when
        ``catch_interrupt`` is False (``distributed``: one rank must not return alone).
        """
        state, N, incremental = self._optimizer_state, step.n_samples, plan.incremental
        if validate is not None:
            stopping = NoImprovement(
                self.tol, self.n_iter_no_change, True, self.best_validation_score_, self._no_improvement_count
            )
        else:  # best_loss_ is None after a fit with early stopping (partial_fit or warm start without it)
            stopping = NoImprovement(
                self.tol,
                self.n_iter_no_change,
                False,
                np.inf if self.best_loss_ is None else self.best_loss_,
                self._no_improvement_count,
            )
        bar = None
        compiling = []  # the kernel sets that began compiling during this fit (the bar says so)
        if self._progress_bar():
            bar = tqdm(total=1 if incremental else self.max_iter, desc=type(self).__name__, leave=False)
        # the parameters, optimizer state and shuffle state: put back after a divergence or Ctrl-C
        live = (net.params, state["m"], state["s"], state["step"], self._shuffle_rng)
        trainer = Trainer(
            step,
            N,
            live,
            state,
            self._hyper_constants,
            net.dtype,
            schedule=self._schedule(),
            stopping=stopping,
            validate=validate,
            say=lambda msg: self._say(bar, msg),
            hint=f"Try a smaller learning_rate_init (now {self.learning_rate_init}).",
        )

        def keep_record():
            self._no_improvement_count = stopping.count
            if validate is not None:
                self.best_validation_score_ = stopping.best
            else:
                self.best_loss_ = stopping.best

        def on_epoch(record):
            self.n_iter_ = record["epoch"]
            self.loss_ = record["loss"]
            self.t_ += N
            self.loss_curve_.append(self.loss_)
            keep_record()
            if validate is not None:
                self.validation_scores_.append(record["validation_score"])
                self.validation_loss_curve_.append(record["validation_loss"])
            if bar is not None and compiling:
                # the first epoch's time was mostly compiling: no rate or estimate from it
                compiling.clear()
                bar.set_description(type(self).__name__)
                bar.unpause()
            self._report(bar, record)
            if plan.callbacks:
                self._set_weights(net)  # callbacks see this epoch's coefs_ and intercepts_
            return any([bool(cb(self, record)) for cb in plan.callbacks])

        def on_compile(label):
            if bar is not None:
                compiling.append(label)
                bar.set_description(f"{type(self).__name__}: compiling the {label}")
                bar.refresh()

        self.n_iter_ = 0  # epochs of this call, as in scikit-learn (t_ and loss_curve_ accumulate)
        try:
            # SIGTERM ends training as Ctrl-C does; a first compile is shown on the progress bar
            with sigterm_as_interrupt() as signalled, watch_compiles(on_compile):
                try:
                    ended = trainer.run(
                        1 if incremental else self.max_iter,
                        first=len(self.loss_curve_) if incremental else 0,
                        t=self.t_,
                        on_epoch=on_epoch,
                        catch_interrupt=catch_interrupt,
                    )
                except DivergenceError as err:
                    if validate is None or err.epoch is None:
                        raise
                    ended = "diverged"
                    self._record_divergence(err, N)
            if ended == "interrupted":
                warnings.warn(
                    f"Training {'stopped by SIGTERM' if signalled.terminated else 'interrupted by user'}; "
                    f"{trainer.kept() or 'the weights of the last finished epoch are kept'}.",
                    stacklevel=2,
                )
            elif ended == "max_epochs" and not incremental:
                warnings.warn(
                    f"Stochastic Optimizer: Maximum iterations ({self.max_iter}) reached and "
                    "the optimization hasn't converged yet.",
                    ConvergenceWarning,
                    stacklevel=2,
                )
        finally:
            if bar is not None:
                bar.close()
            if trainer.epochs > 0:
                keep_record()
            self._set_weights(net)

    def _record_divergence(self, err, N):
        """Early stopping and a diverged epoch: scikit-learn's record of it (a NaN validation
        score), then the end of training with a ``DivergenceWarning``. The epoch's weights are
        not kept (the trainer put back the best ones); ``loss_`` stays the last finite loss."""
        self.n_iter_ = err.epoch
        self.t_ += N
        self.loss_curve_.append(err.loss)
        self.validation_scores_.append(float("nan"))
        self.validation_loss_curve_.append(float("nan"))
        self._say(None, f"{err} Stopping.")
        warnings.warn(str(err), DivergenceWarning, stacklevel=4)

    def _progress_bar(self):
        """``verbose``: tqdm's bar when stdout and stderr are terminals and ``verbose`` is True
        (or 1); else scikit-learn's printed lines (``Iteration 1, loss = …``), so that a log
        file gets one line per epoch."""
        return (
            tqdm is not None
            and (self.verbose is True or (isinstance(self.verbose, int) and self.verbose == 1))
            and _terminal(sys.stdout)
            and _terminal(sys.stderr)
        )

    def _validate(self, net, X_val, y_val, T_val):
        """Score (accuracy or R²) and data loss (no penalty) of the live network on the validation set."""
        Y = _net_forward(net, _as_dtype(X_val, net.dtype, "X")).astype(np.float64)
        if not np.isfinite(Y).all():  # outputs overflowed: scikit-learn's NaN score (no improvement)
            return float("nan"), float("nan")
        loss_sum, count = validation_loss_sum(self._loss_core, Y, T_val, net.dtype)
        return float(self._score_outputs(Y, y_val)), float(loss_sum / count)

    def _report(self, bar, record):
        if not self.verbose:
            return
        if bar is not None:
            post = {"loss": f"{record['loss']:.6g}"}
            if record["validation_score"] is not None:
                post["val_score"] = f"{record['validation_score']:.4f}"
            bar.set_postfix(post)
            bar.update(1)
        else:  # scikit-learn's lines, word for word
            print(f"Iteration {record['epoch']}, loss = {record['loss']:.8f}")
            if record["validation_score"] is not None:
                print(f"Validation score: {record['validation_score']:f}")

    def _say(self, bar, msg):
        if self.verbose:
            (bar.write if bar is not None else print)(msg)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        tags.input_tags.sparse = True
        return tags

    def summary(self, file=None):
        """Print the fitted network's layers, activations, parameter counts, dtype and memory (as
        Keras's ``model.summary()``), then the solver, to ``file`` (default ``sys.stdout``), and
        return the same text (without the final newline)."""
        import io

        check_is_fitted(self, "coefs_")
        net = self._network(self.coefs_[0].dtype.type)
        net.dropout = check_dropout(self.dropout, len(net.layers) - 2)
        buffer = io.StringIO()
        net.summary(file=buffer, title=type(self).__name__)
        extra = f", weight_decay={self.weight_decay}" if self.solver == "adamw" else ""
        clip = f", max_grad_norm={self.max_grad_norm}" if self.max_grad_norm is not None else ""
        text = buffer.getvalue() + (
            f"Solver: {self.solver} (learning_rate={self.learning_rate!r}, "
            f"learning_rate_init={self.learning_rate_init}{extra}{clip}, alpha={self.alpha})"
        )
        print(text, file=sys.stdout if file is None else file)
        return text

    def trace(self, X, y):
        """One forward and backward pass of the fitted network on (X, y), every quantity of the
        derivation by its name: the dict of ``nbmlp.MLP.trace`` (``loss``, ``e``, ``x``, ``t``,
        ``layers`` with ``w``, ``b``, ``u``, ``y``, ``delta``, ``dy``, ``dw``, ``db`` per layer).

        X is checked as ``predict`` checks it (a DataFrame with the fitted feature names
        too); y is encoded as ``fit`` encodes it (one-hot or 0/1 columns for the classifier's
        labels, a column per output for the regressor). The pass is the one ``predict`` runs:
        without dropout, and ``loss`` is the network's E without the ``alpha`` penalty. The
        estimator is not changed.
        """
        check_is_fitted(self, "coefs_")
        dtype = self.coefs_[0].dtype.type
        X = self._validate_X(X, dtype)
        if sparse.issparse(X):
            X = X.toarray()
        T = self._trace_targets(y, X.shape[0])
        return self._network(dtype).trace(X, _as_dtype(T, dtype, "y"))

    def to_onnx(self, path=None):
        """The fitted network's forward pass as an ONNX model (float32; ``pip install
        "nbmlp[onnx]"``), saved to ``path`` when given. Its output ``y`` is the network's: class
        probabilities (softmax) or per-output probabilities (logistic) for the classifier, the
        predicted values for the regressor. Returns the ``onnx.ModelProto``."""
        check_is_fitted(self, "coefs_")
        from .onnx_export import to_onnx

        return to_onnx(self._network(self.coefs_[0].dtype.type), path, name=type(self).__name__)

    # -- persistence -----------------------------------------------------------------------
    def save(self, path, inputs=None):
        """Write the fitted estimator to a ``.npz`` file that ``nbmlp.load`` reads without pickle.

        Parameters
        ----------
        path : str or path-like or file object
            Destination (NumPy adds ``.npz`` to a file name without it).
        inputs : dict, optional
            The ``input_*`` arrays of the command's column encoding (``nbmlp.tabular``).

        Notes
        -----
        File format (version 1), one NumPy ``.npz`` archive (uncompressed zip of ``.npy``
        arrays, none of them object arrays, so it loads with ``allow_pickle=False``):

        - ``format``: the string ``"nbmlp-estimator"``; ``format_version``: int, 1;
          ``estimator``: ``"MLPClassifier"`` or ``"MLPRegressor"``.
        - ``params_json``: the constructor parameters as JSON (tuples as
          ``{"__tuple__": [...]}``, dicts with non-string keys as ``{"__dict__": [[k, v], …]}``;
          ``callbacks`` is not saved and comes back as ``None``).
        - ``attrs_json``: the scalar and list fitted attributes as JSON (``n_iter_``, ``t_``,
          ``loss_``, ``loss_curve_``, ``best_loss_``, ``validation_scores_``,
          ``best_validation_score_``, ``validation_loss_curve_``, ``n_features_in_``,
          ``n_layers_``, ``n_outputs_``, ``out_activation_``, hidden activations, label type).
        - ``layer_units`` (int64): neurons per layer, input first; ``parameters``: every weight
          and bias in one flat array of the model's dtype, layer by layer, each layer's
          weights ``w[i, j]`` (C order, shape (in, out)) followed by its biases.
        - Classifier: ``classes`` (``classes_``; strings stored as a unicode array),
          ``classes_are_objects`` (bool: ``classes_`` was an object array) and ``label_type``
          (``binary``, ``multiclass`` or ``multilabel-indicator``).
        - ``feature_names_in`` when fitted on a DataFrame.
        - ``optimizer_a``, ``optimizer_b``, ``optimizer_step``: the optimizer's state (velocity or
          Adam's moments and step count), so that ``partial_fit`` continues as it would have;
          ``shuffle_rng``: the shuffle generator's state (uint64).
        """
        persistence.save(self, path, inputs)


def _csr_arrays(X, dtype):
    """``(indptr, indices, data)`` of a sparse matrix as CSR, int64 indices, data of ``dtype``."""
    X = X.tocsr()
    return (
        np.ascontiguousarray(X.indptr, dtype=np.int64),
        np.ascontiguousarray(X.indices, dtype=np.int64),
        np.ascontiguousarray(X.data, dtype=dtype),
    )


def _net_forward(net, X, params=None):
    """``net.forward(X)``, for a sparse X through ``kernels.sparse`` (chunks of rows, never densified).

    With ``params`` (a flat buffer of the network's layout: ``_predicting_network``) X is taken
    as checked (``_as_dtype``, the network's feature count) and the kernels read ``params``.
    """
    if not sparse.issparse(X):
        return net.forward(X) if params is None else net.forward_checked(X, params)
    if len(net.layers) == 2:
        return net.forward(X.toarray()) if params is None else net.forward_checked(X.toarray(), params)
    params = net.params if params is None else params
    from ._threads import use_chosen
    from .kernels.sparse import sparse_forward_pass, upper_layout
    from .network import PREDICT_CHUNK

    csr = _csr_arrays(X, net.dtype)
    N, n_out = X.shape[0], net.layers[-1]
    cap = max(1, min(N, PREDICT_CHUNK))
    up, (Y, U) = upper_layout(net.layout), _upper_work(net, cap, with_backward=False)
    out = np.empty((N, n_out), dtype=net.dtype)
    start_out = cap * (sum(net.layers[1:]) - n_out)
    with use_chosen():
        for start in range(0, N, cap):
            nb = min(cap, N - start)
            rows = np.arange(start, start + nb, dtype=np.int64)
            sparse_forward_pass(Y, U, params, net.layout, up, csr, rows, cap, nb)
            out[start : start + nb] = Y[start_out : start_out + nb * n_out].reshape(nb, n_out)
    return out


def _flat_base(arrays, net):
    """The flat buffer that ``arrays`` (``coefs_`` then ``intercepts_``) are views into, exactly
    where ``net.views`` puts each layer's weights and biases, or None."""
    base = arrays[0].base
    if not (
        isinstance(base, np.ndarray)
        and base.ndim == 1
        and base.dtype == net.dtype
        and base.size == net.n_params
        and base.flags.c_contiguous
    ):
        return None
    weights, biases = net.views(base)
    for a, v in zip(arrays, (*weights, *biases)):
        if not (
            a.base is base
            and a.dtype == v.dtype
            and a.shape == v.shape
            and a.strides == v.strides
            and a.__array_interface__["data"][0] == v.__array_interface__["data"][0]
        ):
            return None
    return base


def _input_dtype(X):
    """The dtype of ``dtype=None``: float32 for float32 input, float64 for anything else."""
    return np.float32 if X.dtype == np.float32 else np.float64


def _as_dtype(a, dtype, name):
    """``a`` as a C-contiguous array of the model's dtype (a sparse ``a`` as CSR); ValueError if that overflows."""
    if sparse.issparse(a):
        with np.errstate(over="ignore"):
            out = a.tocsr().astype(dtype)
        if not np.isfinite(out.data).all():
            raise ValueError(f"{name} has values too large for {np.dtype(dtype).name} (use dtype='float64')")
        return out
    with np.errstate(over="ignore"):
        out = np.ascontiguousarray(a, dtype=dtype)
    if not np.isfinite(out).all():
        raise ValueError(f"{name} has values too large for {np.dtype(dtype).name} (use dtype='float64')")
    return out


class MLPClassifier(ClassifierMixin, _BaseMLP):
    """Multilayer perceptron classifier, a drop-in for scikit-learn's ``MLPClassifier``.

    Binary targets get one logistic output (binary cross-entropy), multiclass targets a softmax
    output (cross-entropy), multilabel indicator matrices one logistic output per label.

    Parameters
    ----------
    hidden_layer_sizes, activation, solver, alpha, batch_size, learning_rate,
    learning_rate_init, power_t, max_iter, shuffle, random_state, tol, verbose, warm_start,
    momentum, nesterovs_momentum, early_stopping, validation_fraction, beta_1, beta_2, epsilon,
    n_iter_no_change
        As in scikit-learn's ``MLPClassifier`` (``solver`` is ``"sgd"``, ``"adam"``, ``"adamw"``
        or ``"lbfgs"``). ``activation`` also takes ``"leaky_relu"``, ``"gelu"``,
        ``"gelu_tanh"`` and ``"silu"`` and may be a list with one name per hidden layer.
        ``learning_rate`` also takes ``"cosine"`` (every solver); ``"invscaling"`` and
        ``"adaptive"`` act on ``solver="sgd"`` only and leave Adam's rate constant, as in
        scikit-learn.
    class_weight : dict, "balanced" or None
        Weights of the classes, multiplied into the sample weights (not for multilabel targets).
    dtype : {None, "float32", "float64"}
        Type of the weights and of every computation. None (default): float32 for float32 input,
        else float64 (scikit-learn's rule); a warm start or ``partial_fit`` keeps the fitted type.
    callbacks : list of callables, optional
        Each is called after every epoch as ``cb(estimator, record)``, with ``record`` a dict
        holding ``epoch``, ``loss``, ``validation_score``, ``validation_loss`` and
        ``learning_rate``; returning True stops training after that epoch. During the call the
        estimator's ``coefs_`` and ``intercepts_`` hold that epoch's weights.
    weight_decay : float >= 0
        ``solver="adamw"``: the decoupled weight decay λ, ``θ ← (1 − η λ) θ`` before each Adam
        step, on every weight and bias (PyTorch's ``AdamW`` and its default 0.01); ``alpha``'s
        L2 penalty still applies (set ``alpha=0`` for PyTorch's AdamW). Ignored by other solvers.
    max_grad_norm : float > 0 or None
        Clip each batch gradient (the penalty's included) to this global norm over every weight
        and bias: ``∂θ ← ∂θ · c / ‖∂θ‖`` when ``‖∂θ‖ > c``. None: no clipping.
    warmup_epochs : int >= 0
        ``learning_rate="cosine"``: epochs of linear warm-up ``η₀ (e + 1) / W`` before the cosine
        decay ``½ η₀ (1 + cos(π (e − W) / (max_iter − W)))`` over the remaining epochs.
    dropout : float or list of float, each in [0, 1)
        Inverted dropout on the hidden outputs during training, one rate for every hidden layer
        or one per hidden layer (``nbmlp.MLP``'s ``dropout``); never in ``predict`` or in the
        validation score.

    Attributes
    ----------
    coefs_, intercepts_, loss_, loss_curve_, best_loss_, validation_scores_,
    best_validation_score_, n_iter_, t_, classes_, n_features_in_, feature_names_in_,
    n_layers_, n_outputs_, out_activation_
        As in scikit-learn.
    validation_loss_curve_ : list of float or None
        With ``early_stopping``, the validation loss (without the penalty) after every epoch.

    Notes
    -----
    ``verbose`` shows a tqdm progress bar when stdout and stderr are terminals and tqdm is
    installed (``pip install "nbmlp[progress]"``); otherwise, and for ``verbose >= 2``,
    scikit-learn's lines (``Iteration 1, loss = …``). Ctrl-C during ``fit`` stops training with
    a warning and keeps the weights of the last finished epoch. A diverging epoch raises
    ``nbmlp.DivergenceError`` (a ``ValueError``) and keeps the weights from before it; with
    ``early_stopping`` it is recorded as a NaN validation score instead, training stops, the
    best weights are kept and an ``nbmlp.DivergenceWarning`` says so. ``trace(X, y)`` gives
    every quantity of one forward and backward pass of the fitted network (``MLP.trace``).
    """

    def __init__(
        self,
        hidden_layer_sizes=(100,),
        activation="relu",
        *,
        solver="adam",
        alpha=0.0001,
        batch_size="auto",
        learning_rate="constant",
        learning_rate_init=0.001,
        power_t=0.5,
        max_iter=200,
        shuffle=True,
        random_state=None,
        tol=1e-4,
        verbose=False,
        warm_start=False,
        momentum=0.9,
        nesterovs_momentum=True,
        early_stopping=False,
        validation_fraction=0.1,
        beta_1=0.9,
        beta_2=0.999,
        epsilon=1e-8,
        n_iter_no_change=10,
        max_fun=15000,
        class_weight=None,
        dtype=None,
        callbacks=None,
        weight_decay=0.01,
        max_grad_norm=None,
        warmup_epochs=0,
        dropout=0.0,
    ):
        super().__init__(
            hidden_layer_sizes,
            activation,
            solver=solver,
            alpha=alpha,
            batch_size=batch_size,
            learning_rate=learning_rate,
            learning_rate_init=learning_rate_init,
            power_t=power_t,
            max_iter=max_iter,
            shuffle=shuffle,
            random_state=random_state,
            tol=tol,
            verbose=verbose,
            warm_start=warm_start,
            momentum=momentum,
            nesterovs_momentum=nesterovs_momentum,
            early_stopping=early_stopping,
            validation_fraction=validation_fraction,
            beta_1=beta_1,
            beta_2=beta_2,
            epsilon=epsilon,
            n_iter_no_change=n_iter_no_change,
            max_fun=max_fun,
            dtype=dtype,
            callbacks=callbacks,
            weight_decay=weight_decay,
            max_grad_norm=max_grad_norm,
            warmup_epochs=warmup_epochs,
            dropout=dropout,
        )
        self.class_weight = class_weight

    _parameter_rules = {
        **_BaseMLP._parameter_rules,
        "class_weight": [None, dict, P.Options("balanced", text="a dict, 'balanced' or None")],
    }

    @property
    def _out_activation_core(self):
        return "softmax" if self._label_binarizer.y_type_ == "multiclass" else "sigmoid"

    @property
    def _loss_core(self):
        return "cross_entropy" if self._out_activation_core == "softmax" else "binary_cross_entropy"

    def _targets(self, y, first_pass, incremental, classes, dtype):
        check_classification_targets(y)
        if first_pass:
            lb = LabelBinarizer()
            if classes is not None and not type_of_target(y).startswith("multilabel"):
                lb.fit(np.asarray(classes))
                unseen = np.setdiff1d(np.unique(y), lb.classes_)
                if len(unseen):
                    raise ValueError(f"y: labels {unseen.tolist()} are not in classes={lb.classes_.tolist()}")
            else:
                lb.fit(y)
            new_lb = lb
        else:
            new_lb = self._label_binarizer
            if type_of_target(y).startswith("multilabel"):
                if new_lb.y_type_ != "multilabel-indicator" or y.shape[1] != len(self.classes_):
                    raise ValueError("y: the labels differ from the ones of the first fit")
            else:
                unseen = np.setdiff1d(np.unique(y), self.classes_)
                if not incremental and not np.array_equal(np.unique(y), self.classes_):
                    raise ValueError(
                        "warm_start can only be used where `y` has the same classes as in the "
                        f"previous call to fit. Previously got {self.classes_}, `y` has {np.unique(y)}"
                    )
                if len(unseen):
                    what = "partial_fit" if incremental else "warm_start"
                    raise ValueError(
                        f"y: {what} got labels {unseen.tolist()} that are not in classes_ = {self.classes_.tolist()}"
                    )
        if self.class_weight is not None and new_lb.y_type_ == "multilabel-indicator":
            raise ValueError("class_weight is not supported for multilabel targets")
        T = new_lb.transform(y).astype(dtype)
        c = None
        if self.class_weight is not None:
            c = compute_sample_weight(self.class_weight, y).astype(np.float64)
        return T, c, new_lb

    def _score_outputs(self, Y, y):
        return accuracy_score(y, self._labels(Y))

    def _trace_targets(self, y, n):
        """The label columns of ``y`` (``trace``): the encoding ``fit`` trains on."""
        y = np.asarray(y)
        if y.ndim == 2 and y.shape[1] == 1 and self._label_binarizer.y_type_ != "multilabel-indicator":
            y = y.ravel()
        if y.shape[0] != n:
            raise ValueError(f"y: {y.shape[0]} labels for {n} rows of X")
        unseen = np.setdiff1d(np.unique(y), self.classes_) if y.ndim == 1 else []
        if len(unseen):
            raise ValueError(f"y: labels {unseen.tolist()} are not in classes_ = {self.classes_.tolist()}")
        return self._label_binarizer.transform(y)

    def _labels(self, Y):
        if self.n_outputs_ == 1:
            Y = Y.ravel()
        return self._label_binarizer.inverse_transform(Y)

    def fit(self, X, y, sample_weight=None):
        """Train on (X, y); returns self.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : array-like of shape (n_samples,) or (n_samples, n_labels)
            Class labels, or a label indicator matrix (multilabel).
        sample_weight : array-like of shape (n_samples,), optional
            Non-negative weights ``c_s`` of the samples.

        Notes
        -----
        Each mini-batch B takes the gradient ``g = (Σ_{s∈B} c_s ∂E_s/∂θ + α w) / Σ_{s∈B} c_s``
        (``c_s = 1`` without weights; the penalty on the weights w, not the biases) and one step of
        the solver: ``θ ← θ − η g`` for plain SGD; with momentum ``v ← μ v − η g``, ``θ ← θ + v``
        (Nesterov: ``θ ← θ + μ v − η g``); Adam and AdamW as scikit-learn and PyTorch write them.
        ``E_s`` is the cross-entropy of the softmax output (multiclass) or the binary
        cross-entropy summed over the logistic outputs (binary, multilabel).
        """
        return self._fit(X, y, sample_weight)

    @available_if(_stochastic)
    def partial_fit(self, X, y, sample_weight=None, classes=None):
        """One epoch on (X, y), continuing from the current weights; ``classes`` on the first call."""
        if not hasattr(self, "coefs_"):
            if classes is None and not type_of_target(y).startswith("multilabel"):
                raise ValueError("classes must be passed on the first call to partial_fit")
        elif classes is not None and not np.array_equal(np.unique(classes), self.classes_):
            raise ValueError(
                f"classes={classes!r} is not the same as on the first call to partial_fit "
                f"(classes_ = {self.classes_.tolist()})"
            )
        return self._fit(X, y, sample_weight, incremental=True, classes=classes)

    def predict(self, X):
        """Predicted class of each row (label indicator rows for multilabel targets)."""
        return self._labels(self._forward(X))

    def predict_proba(self, X):
        """Class probabilities, shape (n_samples, n_classes).

        The softmax output ``y_k = e^{u_k} / Σ_r e^{u_r}`` for several classes; for two classes
        (and per label, multilabel) the logistic output ``y = 1 / (1 + e^{−u})``, as the columns
        ``[1 − y, y]``. ``u_k = Σ_j y_j w_jk + b_k`` is the output layer's sum.
        """
        Y = self._forward(X)
        if len(self.classes_) == 1:  # one class seen: it has probability 1
            return np.ones_like(Y)
        if self.n_outputs_ == 1 and self._label_binarizer.y_type_ != "multilabel-indicator":
            return np.hstack([1 - Y, Y])
        return Y

    def predict_log_proba(self, X):
        """Logarithm of ``predict_proba``."""
        with np.errstate(divide="ignore"):
            return np.log(self.predict_proba(X))

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_label = True
        return tags


class MLPRegressor(RegressorMixin, _BaseMLP):
    """Multilayer perceptron regressor, a drop-in for scikit-learn's ``MLPRegressor``.

    Identity output and the half squared error, averaged over outputs as in scikit-learn, or
    (``loss="poisson"``) an exponential output ``y = e^u`` and half the Poisson deviance
    ``Σ_k [t log(t/y) − t + y]``, summed over outputs as in scikit-learn ≥ 1.7; one or several
    outputs.

    Parameters
    ----------
    hidden_layer_sizes, activation, solver, alpha, batch_size, learning_rate,
    learning_rate_init, power_t, max_iter, shuffle, random_state, tol, verbose, warm_start,
    momentum, nesterovs_momentum, early_stopping, validation_fraction, beta_1, beta_2, epsilon,
    n_iter_no_change, dtype, callbacks, weight_decay, max_grad_norm, warmup_epochs, dropout
        As in ``MLPClassifier``.
    loss : {"squared_error", "poisson"}
        Half squared error (identity output) or half Poisson deviance (exponential output,
        targets >= 0).

    Attributes
    ----------
    coefs_, intercepts_, loss_, loss_curve_, best_loss_, validation_scores_,
    best_validation_score_, validation_loss_curve_, n_iter_, t_, n_features_in_,
    feature_names_in_, n_layers_, n_outputs_, out_activation_
        As in ``MLPClassifier``; the validation score is R².
    """

    @property
    def _out_activation_core(self):
        return "exp" if self.loss == "poisson" else "identity"

    @property
    def _loss_core(self):
        return "poisson" if self.loss == "poisson" else "squared_error"

    def __init__(
        self,
        hidden_layer_sizes=(100,),
        activation="relu",
        *,
        loss="squared_error",
        solver="adam",
        alpha=0.0001,
        batch_size="auto",
        learning_rate="constant",
        learning_rate_init=0.001,
        power_t=0.5,
        max_iter=200,
        shuffle=True,
        random_state=None,
        tol=1e-4,
        verbose=False,
        warm_start=False,
        momentum=0.9,
        nesterovs_momentum=True,
        early_stopping=False,
        validation_fraction=0.1,
        beta_1=0.9,
        beta_2=0.999,
        epsilon=1e-8,
        n_iter_no_change=10,
        max_fun=15000,
        dtype=None,
        callbacks=None,
        weight_decay=0.01,
        max_grad_norm=None,
        warmup_epochs=0,
        dropout=0.0,
    ):
        super().__init__(
            hidden_layer_sizes,
            activation,
            solver=solver,
            alpha=alpha,
            batch_size=batch_size,
            learning_rate=learning_rate,
            learning_rate_init=learning_rate_init,
            power_t=power_t,
            max_iter=max_iter,
            shuffle=shuffle,
            random_state=random_state,
            tol=tol,
            verbose=verbose,
            warm_start=warm_start,
            momentum=momentum,
            nesterovs_momentum=nesterovs_momentum,
            early_stopping=early_stopping,
            validation_fraction=validation_fraction,
            beta_1=beta_1,
            beta_2=beta_2,
            epsilon=epsilon,
            n_iter_no_change=n_iter_no_change,
            max_fun=max_fun,
            dtype=dtype,
            callbacks=callbacks,
            weight_decay=weight_decay,
            max_grad_norm=max_grad_norm,
            warmup_epochs=warmup_epochs,
            dropout=dropout,
        )
        self.loss = loss

    _parameter_rules = {
        **_BaseMLP._parameter_rules,
        "loss": [P.Options("squared_error", "poisson", text="'squared_error' or 'poisson'")],
    }

    def _targets(self, y, first_pass, incremental, classes, dtype):
        y = np.asarray(y)
        if self.loss == "poisson" and np.any(y < 0):
            raise ValueError("y: loss='poisson' needs targets >= 0 (counts or rates)")
        return (y.reshape(-1, 1) if y.ndim == 1 else y), None, None

    def _trace_targets(self, y, n):
        """The targets of ``y`` as a column per output (``trace``)."""
        try:
            T = np.asarray(y, dtype=np.float64)
        except (TypeError, ValueError):
            raise ValueError("y: the regressor's targets must be numbers") from None
        T = T.reshape(-1, 1) if T.ndim == 1 else T
        if T.ndim != 2 or T.shape != (n, self.n_outputs_):
            raise ValueError(f"y: shape {np.shape(y)}, expected ({n},) or ({n}, {self.n_outputs_})")
        if not np.isfinite(T).all():
            raise ValueError("y: NaN or infinite targets")
        return T

    def _score_outputs(self, Y, y):
        return r2_score(y, Y.ravel() if Y.shape[1] == 1 else Y)

    def fit(self, X, y, sample_weight=None):
        """Train on (X, y); returns self. ``y``: (n_samples,) or (n_samples, n_outputs).

        As ``MLPClassifier.fit``, with ``E_s = ½ · (1/K) Σ_k (y_k − t_k)²``, the half squared
        error averaged over the K outputs (``loss="poisson"``: half the Poisson deviance summed
        over the outputs, ``E_s = Σ_k [t_k log(t_k / y_k) − t_k + y_k]`` with ``y_k = e^{u_k}``).
        """
        return self._fit(X, y, sample_weight)

    @available_if(_stochastic)
    def partial_fit(self, X, y, sample_weight=None):
        """One epoch on (X, y), continuing from the current weights."""
        return self._fit(X, y, sample_weight, incremental=True)

    def predict(self, X):
        """Predicted targets, shape (n_samples,) or (n_samples, n_outputs).

        The identity output ``y_k = u_k = Σ_j y_j w_jk + b_k`` (``loss="poisson"``: ``y_k = e^{u_k}``).
        """
        Y = self._forward(X)
        return Y.ravel() if self.n_outputs_ == 1 else Y
