"""``MLPRegressor``: squared error or Poisson deviance, one or several outputs."""

import numpy as np
from sklearn.base import RegressorMixin
from sklearn.metrics import r2_score
from sklearn.utils.metaestimators import available_if

from .. import _parameters as rules
from ._base import PARAMETER_RULES, BaseMLP, partial_fit_available


class MLPRegressor(RegressorMixin, BaseMLP):
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
        **PARAMETER_RULES,
        "loss": [rules.Options("squared_error", "poisson", text="'squared_error' or 'poisson'")],
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

    @available_if(partial_fit_available)
    def partial_fit(self, X, y, sample_weight=None):
        """One epoch on (X, y), continuing from the current weights."""
        return self._fit(X, y, sample_weight, incremental=True)

    def predict(self, X):
        """Predicted targets, shape (n_samples,) or (n_samples, n_outputs).

        The identity output ``y_k = u_k = Σ_j y_j w_jk + b_k`` (``loss="poisson"``: ``y_k = e^{u_k}``).
        """
        Y = self._forward(X)
        return Y.ravel() if self.n_outputs_ == 1 else Y
