"""Writing the estimators' model file (``write``); reading it back is ``persistence.load``. The
format is ``docs/model_format.md``."""

import json

import numpy as np
from sklearn.base import is_classifier
from sklearn.utils.validation import check_is_fitted

FORMAT_NAME = "nbmlp-estimator"
FORMAT_VERSION = 1


def write(engine, path, inputs=None):
    """Write the fitted estimator of ``engine`` (its ``EstimatorEngine``) to ``path``
    (``MLPClassifier.save``, which documents the format)."""
    est = engine.estimator
    check_is_fitted(est, "coefs_")
    params = est.get_params(deep=False)
    params["callbacks"] = None
    attrs = engine.fitted_state()
    state = engine.optimizer_state
    # the first array is the velocity v (momentum, Nesterov) or Adam's first moment m, the second
    # Adam's second moment s
    attrs["optimizer_code"] = state["code"]
    attrs["optimizer_learning_rate"] = state["learning_rate"]
    arrays = {
        "format": np.array(FORMAT_NAME),
        "format_version": np.array(FORMAT_VERSION),
        "estimator": np.array(type(est).__name__),
        "params_json": np.array(json.dumps(_encode(params))),
        "attrs_json": np.array(json.dumps(_encode(attrs))),
        "layer_units": np.array([coef.shape[0] for coef in est.coefs_] + [est.coefs_[-1].shape[1]], np.int64),
        "parameters": np.concatenate([a.ravel() for w, b in zip(est.coefs_, est.intercepts_) for a in (w, b)]),
        "optimizer_a": state["m"],
        "optimizer_b": state["s"],
        "optimizer_step": state["step"],
        "shuffle_rng": engine.shuffle_rng,
    }
    if hasattr(est, "feature_names_in_"):
        arrays["feature_names_in"] = np.asarray(est.feature_names_in_, dtype=str)
    if is_classifier(est):
        arrays.update(_label_arrays(est, engine.label_type))
    if inputs:
        from .tabular import MEMBERS

        if set(inputs) - set(MEMBERS):
            raise ValueError(
                f"inputs: only the members {', '.join(MEMBERS)} may be added, got {sorted(set(inputs) - set(MEMBERS))}"
            )
        arrays.update(inputs)
    np.savez(path, **arrays)


def _label_arrays(clf, label_type):
    """The classifier's members ``classes``, ``label_type`` and ``classes_are_objects``."""
    return {
        "classes": np.asarray(clf.classes_)
        if clf.classes_.dtype != object
        else np.asarray(clf.classes_.tolist(), dtype=str),
        "label_type": np.array(label_type),
        "classes_are_objects": np.array(clf.classes_.dtype == object),
    }


def _encode(value):
    """JSON-ready form of parameters and attributes (see ``save``)."""
    if isinstance(value, tuple):
        return {"__tuple__": [_encode(v) for v in value]}
    if isinstance(value, list):
        return [_encode(v) for v in value]
    if isinstance(value, dict):
        if all(isinstance(k, str) for k in value):
            return {k: _encode(v) for k, v in value.items()}
        return {"__dict__": [[_encode(k), _encode(v)] for k, v in value.items()]}
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, type):
        return np.dtype(value).name
    if isinstance(value, float) and not np.isfinite(value):
        return {"__float__": repr(value)}
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    raise TypeError(f"cannot save a parameter or attribute of type {type(value).__name__}: {value!r}")
