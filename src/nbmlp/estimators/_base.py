"""The estimators' shared base: constructor parameters and their checks, the fit's checks and
its start, the network of the fitted weights, and the methods both estimators share."""

import numbers
import sys
import weakref

import numpy as np
from scipy import sparse
from sklearn.base import BaseEstimator, is_classifier
from sklearn.model_selection import train_test_split
from sklearn.utils import check_random_state
from sklearn.utils.validation import _check_sample_weight, check_is_fitted, column_or_1d, validate_data

from .. import _model_writer
from .. import _parameters as rules
from .._validation import check_dropout
from ..network import MLP
from ._epochs import StochasticMixin
from ._fit_plan import FitPlan, as_dtype, input_dtype
from ._lbfgs import LBFGSMixin
from ._prediction import PredictingMixin
from ._sklearn_names import CORE_OUT, HIDDEN, OUT_NAMES, SCHEDULES, SOLVERS

_FITTING = weakref.WeakSet()  # the estimators whose fit or partial_fit is running


def partial_fit_available(est):
    """``partial_fit`` exists for the stochastic solvers only, as in scikit-learn."""
    if est.solver not in ("sgd", "adam", "adamw"):
        raise AttributeError(
            f"partial_fit is only available for stochastic optimizers. {est.solver} is not stochastic."
        )
    return True


# what each constructor parameter accepts, checked in this order by ``_check_params``
# (``_parameters.check_parameters``: plain values first, then at most one rule). scikit-learn's
# ``_parameter_constraints`` in nbmlp's own form, under another name so that scikit-learn's
# ``_validate_params`` never reads it
PARAMETER_RULES = {
    "hidden_layer_sizes": [rules.HiddenSizes()],
    "activation": [rules.HiddenActivations(HIDDEN)],  # per hidden layer: after hidden_layer_sizes
    "solver": [rules.Options(*SOLVERS)],
    "max_fun": [rules.Interval(numbers.Integral, 1)],
    "learning_rate": [rules.Options(*SCHEDULES)],
    "alpha": [rules.Interval(numbers.Real, 0)],
    "learning_rate_init": [rules.Interval(numbers.Real, 0, closed="neither")],
    "power_t": [rules.Interval(numbers.Real, 0)],
    "max_iter": [rules.Interval(numbers.Integral, 1)],
    "tol": [rules.Interval(numbers.Real, 0)],
    "momentum": [rules.Interval(numbers.Real, 0, 1, closed="both")],
    "validation_fraction": [rules.Interval(numbers.Real, 0, 1, closed="neither")],
    "beta_1": [rules.Interval(numbers.Real, 0, 1, closed="left")],
    "beta_2": [rules.Interval(numbers.Real, 0, 1, closed="left")],
    "epsilon": [rules.Interval(numbers.Real, 0, closed="neither")],
    "n_iter_no_change": [np.inf, rules.Interval(numbers.Integral, 1)],
    "weight_decay": [rules.Interval(numbers.Real, 0)],
    "max_grad_norm": [None, rules.Interval(numbers.Real, 0, closed="neither")],
    "warmup_epochs": [rules.Interval(numbers.Integral, 0)],
    "dropout": [rules.Dropout()],  # per hidden layer, and not with lbfgs: after solver
    "random_state": [None, np.random.RandomState, rules.Seed()],
    "batch_size": ["auto", rules.Interval(numbers.Integral, 1)],
    "shuffle": [rules.Boolean()],
    "warm_start": [rules.Boolean()],
    "nesterovs_momentum": [rules.Boolean()],
    "early_stopping": [rules.Boolean()],
    "callbacks": [rules.Callables()],
    "dtype": [None, rules.FloatType()],
    "verbose": [object],  # any value (True or an int prints, as in scikit-learn)
}


class BaseMLP(PredictingMixin, StochasticMixin, LBFGSMixin, BaseEstimator):
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
    _parameter_rules = PARAMETER_RULES  # scikit-learn's _validate_params never reads this name

    def _check_params(self):
        """Every constructor parameter checked (ValueError/TypeError naming it, the estimator
        unchanged) against ``_parameter_rules``; returns the resolved hidden layer sizes,
        hidden activations (nbmlp's names), dtype (None or a NumPy type) and callbacks (a list)."""
        p = rules.check_parameters(self, self._parameter_rules)
        return p["hidden_layer_sizes"], p["activation"], p["dtype"], p["callbacks"]

    # -- the network -----------------------------------------------------------------------
    def _network(self, dtype):
        """An ``MLP`` holding the fitted weights (built from ``coefs_`` and ``intercepts_``)."""
        units = [coef.shape[0] for coef in self.coefs_] + [self.coefs_[-1].shape[1]]
        # the fitted output (not the loss parameter, which set_params may have changed since);
        # its loss is the one MLP pairs with it
        acts, out = self._activations_, CORE_OUT[self.out_activation_]
        net = MLP(units, activation=acts, output=out, dtype=dtype, seed=0)
        weights, biases = net.views(net.params)
        for w, b, coef, intercept in zip(weights, biases, self.coefs_, self.intercepts_):
            w[...] = coef
            b[...] = intercept
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
        X, T, c, validation = plan.X, plan.T, plan.c, None
        # scikit-learn draws the initial weights from random_state's generator, then the split:
        # the same order gives the same weights and validation rows for the same random_state
        initial = self._initial_weights(plan.units, plan.acts, rs) if plan.first_pass else None
        if early_stopping:
            X, T, c, *validation = self._split(X, plan.y, T, c, rs, plan.lb)
        X = as_dtype(X, plan.dtype, "X")
        if sparse.issparse(X) and (len(plan.units) == 2 or self.solver == "lbfgs"):
            X = X.toarray()  # no hidden layer, or L-BFGS (all samples at once): the dense kernels
        if sparse.issparse(X) and any(check_dropout(self.dropout, len(plan.units) - 2)):
            raise ValueError(f"dropout={self.dropout!r} is not available with sparse input X (use dropout=0.0)")
        T = as_dtype(T, plan.dtype, "y")
        return plan.training_set(X, T, c, rs, initial, validation)

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
            dtype = input_dtype(X) if first_pass else self.coefs_[0].dtype.type
        T, c, lb = self._targets(y, first_pass, incremental, classes, dtype)
        if sample_weight is not None:
            sample_weight = _check_sample_weight(sample_weight, X, dtype=np.float64, ensure_non_negative=True)
            c = sample_weight if c is None else c * sample_weight
        if c is not None:
            as_dtype(c, dtype, "sample_weight")
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
        return self._network(dtype).trace(X, as_dtype(T, dtype, "y"))

    def to_onnx(self, path=None):
        """The fitted network's forward pass as an ONNX model (float32; ``pip install
        "nbmlp[onnx]"``), saved to ``path`` when given. Its output ``y`` is the network's: class
        probabilities (softmax) or per-output probabilities (logistic) for the classifier, the
        predicted values for the regressor. Returns the ``onnx.ModelProto``."""
        check_is_fitted(self, "coefs_")
        from ..onnx_export import to_onnx

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
        _model_writer.write(EstimatorEngine(self), path, inputs)


# the fitted attributes that the model file keeps (scikit-learn's, then the estimators' own)
FITTED_ATTRS = (
    "n_iter_",
    "t_",
    "loss_",
    "loss_curve_",
    "best_loss_",
    "validation_scores_",
    "best_validation_score_",
    "validation_loss_curve_",
    "n_features_in_",
    "n_layers_",
    "n_outputs_",
    "out_activation_",
    "_activations_",
    "_no_improvement_count",
)


class EstimatorEngine:
    """An estimator's interface to the modules that train, save and load it: ``distributed``
    (a fit step by step, over MPI), the model file's writer and ``persistence``. They use these
    names and nothing private of the estimator.

    A fit runs, in this order: ``check`` the call (a ``FitPlan``), draw the ``initial_weights``
    and ``split`` off the validation rows (``FitPlan.training_set``), ``begin`` (the fit's first
    attributes, the network to train, the ``optimizer_state`` and the ``shuffle_rng``), then
    ``run_epochs`` over a step; the estimators' own ``fit`` runs the same methods.
    """

    def __init__(self, estimator):
        self.estimator = estimator

    # -- a fit, step by step
    def check(self, X, y, sample_weight, incremental, classes):
        """The ``FitPlan`` of a call before any split (``BaseMLP._check_fit``); nothing changes."""
        return self.estimator._check_fit(X, y, sample_weight, incremental, classes)

    def fitted_features(self):
        """The ``n_features_in_`` and ``feature_names_in_`` that ``check`` resets, to put back
        with ``put_back_features`` when a later check fails."""
        return {k: v for k, v in vars(self.estimator).items() if k in ("n_features_in_", "feature_names_in_")}

    def put_back_features(self, saved):
        """Undo ``check``'s setting of the feature attributes (``saved`` from ``fitted_features``)."""
        self.estimator._put_back_features(saved)

    def initial_weights(self, units, acts, rs):
        """A new network's ``[w0, b0, w1, b1, …]`` (float64), drawn from ``rs`` as scikit-learn draws them."""
        return self.estimator._initial_weights(units, acts, rs)

    def split(self, X, y, T, c, rs, lb):
        """``validation_fraction`` of the rows apart (stratified for classes):
        ``X, T, c, X_val, y_val, T_val``."""
        return self.estimator._split(X, y, T, c, rs, lb)

    def begin(self, plan):
        """Set the attributes a fit starts with; return the ``MLP`` to train. The optimizer state
        and the shuffle generator are ready after it."""
        return self.estimator._begin_fit(plan)

    def batch_size(self, n):
        """The mini-batch size for ``n`` training rows (``batch_size``, ``"auto"``: min(200, n))."""
        return self.estimator._batch_size(n)

    def run_epochs(self, plan, net, step, validate, catch_interrupt=True):
        """Train with a ``training.Trainer`` over ``step`` and keep the estimator's record of it
        (``StochasticMixin._run_epochs``, which documents the step and ``validate``)."""
        self.estimator._run_epochs(plan, net, step, validate, catch_interrupt)

    @property
    def optimizer_state(self):
        """The optimizer's state: a dict of ``code`` (``kernels.optim``), ``m`` (velocity or Adam's
        first moment), ``s`` (Adam's second moment), ``step`` and ``learning_rate``."""
        return self.estimator._optimizer_state

    @optimizer_state.setter
    def optimizer_state(self, state):
        self.estimator._optimizer_state = state

    @property
    def shuffle_rng(self):
        """The shuffle generator's state, a (1,) uint64 array."""
        return self.estimator._shuffle_rng

    @shuffle_rng.setter
    def shuffle_rng(self, state):
        self.estimator._shuffle_rng = state

    @property
    def loss(self):
        """The network's loss (``MLP``'s name: ``cross_entropy``, ``squared_error``, …)."""
        return self.estimator._loss_core

    @property
    def output(self):
        """The network's output activation (``MLP``'s name: ``softmax``, ``sigmoid``, ``identity``, ``exp``)."""
        return self.estimator._out_activation_core

    def labels(self, Y):
        """A classifier's labels of the network's outputs Y."""
        return self.estimator._labels(Y)

    def network(self):
        """A new ``MLP`` holding the fitted weights, in their dtype (``to_onnx``, ``trace``)."""
        est = self.estimator
        return est._network(est.coefs_[0].dtype.type)

    # -- the model file
    def check_params(self):
        """Check every constructor parameter as ``fit`` does (ValueError/TypeError naming it)."""
        self.estimator._check_params()

    def fitted_state(self):
        """The fitted attributes the model file keeps (``FITTED_ATTRS``), by name."""
        return {name: getattr(self.estimator, name) for name in FITTED_ATTRS}

    @property
    def label_type(self):
        """A fitted classifier's label type: ``binary``, ``multiclass`` or ``multilabel-indicator``."""
        return self.estimator._label_binarizer.y_type_

    def restore(self, attrs, units, flat, label_binarizer=None):
        """Set a fitted state read from a model file: the ``FITTED_ATTRS`` of ``attrs``, the
        label binarizer (classifier) and the weights, ``flat`` laid out as ``MLP.params`` for the
        layer sizes ``units``."""
        est = self.estimator
        for name in FITTED_ATTRS:
            setattr(est, name, attrs[name])
        if label_binarizer is not None:
            est._label_binarizer, est.classes_ = label_binarizer, label_binarizer.classes_
        net = MLP(units, est._activations_, self.output, self.loss, dtype=flat.dtype, seed=0)
        net.params[...] = flat
        est._set_weights(net)
