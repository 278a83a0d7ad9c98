"""``MLPClassifier``: binary, multiclass and multilabel targets."""

import numpy as np
from sklearn.base import ClassifierMixin
from sklearn.metrics import accuracy_score
from sklearn.preprocessing import LabelBinarizer
from sklearn.utils import compute_sample_weight
from sklearn.utils.metaestimators import available_if
from sklearn.utils.multiclass import check_classification_targets, type_of_target

from .. import _parameters as rules
from ._base import PARAMETER_RULES, BaseMLP, partial_fit_available


class MLPClassifier(ClassifierMixin, BaseMLP):
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
        **PARAMETER_RULES,
        "class_weight": [None, dict, rules.Options("balanced", text="a dict, 'balanced' or None")],
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

    @available_if(partial_fit_available)
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
