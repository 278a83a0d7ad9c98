"""The estimators' model file: ``save`` and ``load`` (the format is ``docs/model_format.md``).

``save`` writes a fitted ``MLPClassifier`` or ``MLPRegressor`` to one ``.npz`` archive of plain
arrays; ``load`` reads it back without pickle, after checking the whole file against the format,
so that a file from elsewhere gives a ``ValueError`` naming the member at fault, never code
execution or a crash of the compiled kernels. The estimators' ``save`` method, ``nbmlp.load``
and ``nbmlp.estimators.load`` are these functions.
"""

import json

import numpy as np
from sklearn.base import is_classifier
from sklearn.preprocessing import LabelBinarizer

from ._model_writer import FORMAT_NAME, FORMAT_VERSION, write
from .estimators._base import FITTED_ATTRS, EstimatorEngine
from .estimators._classifier import MLPClassifier
from .estimators._regressor import MLPRegressor
from .estimators._sklearn_names import HIDDEN, OUT_NAMES
from .kernels.optim import ADAM, ADAMW, MOMENTUM, NESTEROV, SGD


def save(est, path, inputs=None):
    """Write the fitted estimator ``est`` to ``path`` (``MLPClassifier.save``, which documents the format)."""
    write(EstimatorEngine(est), path, inputs)


def _decode(value):
    if isinstance(value, list):
        return [_decode(v) for v in value]
    if isinstance(value, dict):
        if "__tuple__" in value:
            return tuple(_decode(v) for v in value["__tuple__"])
        if "__dict__" in value:
            return {_decode(k): _decode(v) for k, v in value["__dict__"]}
        if "__float__" in value:
            return float(value["__float__"])
        return {k: _decode(v) for k, v in value.items()}
    return value


def load(path):
    """Read an estimator written by ``save``; safe for files from elsewhere.

    The whole file is checked against the format (``docs/model_format.md``) before anything is
    built: only the known members, each with the dtype and shape that the layer sizes imply,
    its size in the zip directory checked before it is read (uncompressed members only, none
    larger than the file), finite parameters and optimizer state, consistent fitted attributes
    and constructor parameters that pass the estimator's checks. No pickle is loaded and no
    attribute outside the format is set, so a crafted file gives a ``ValueError``, never code
    execution or a crash of the compiled kernels.

    A file that keeps a column encoding (every model ``nbmlp train`` writes, or a saved
    ``Pipeline``) loads as an ``nbmlp.Pipeline`` of an ``nbmlp.TableEncoder`` and the estimator
    (``model[-1]``), which takes the raw columns (a DataFrame, or a 2-D array with the columns in
    order); any other file as the estimator.

    Parameters
    ----------
    path : str, path-like or binary file object
        An ``.npz`` file written by ``save``.

    Raises
    ------
    ValueError
        If the file is unreadable, truncated or corrupted, not an nbmlp model, of another
        format version, or breaks the format anywhere (the message names the member).
    """
    est, encoder = load_with_inputs(path)
    if encoder is None:
        return est
    from .encoder import TableEncoder
    from .pipeline import make_pipeline

    # the encoder names the columns; the estimator takes its plain array (no names to check)
    vars(est).pop("feature_names_in_", None)
    return make_pipeline(TableEncoder.from_column_encoder(encoder), est)


def load_with_inputs(path):
    """``load``, and the file's column encoding (``nbmlp.tabular.ColumnEncoder``, or None)."""
    from ._npz import NpzReader
    from .tabular import read_encoder

    with NpzReader(path) as reader:
        try:
            est = _load(reader)
            return est, read_encoder(reader, est.n_features_in_)
        except ValueError as e:
            raise ValueError(f"path: {path!r} is not a valid nbmlp model file: {e}") from None


# every member of the format: (kinds or exact dtype, shape) are checked in _load
_COMMON_MEMBERS = (
    "format",
    "format_version",
    "estimator",
    "params_json",
    "attrs_json",
    "layer_units",
    "parameters",
    "optimizer_a",
    "optimizer_b",
    "optimizer_step",
    "shuffle_rng",
)
_CLASSIFIER_MEMBERS = ("classes", "label_type", "classes_are_objects")
# feature names; the command's column encoding (nbmlp.tabular.MEMBERS, checked by tabular.read_encoder)
_OPTIONAL_MEMBERS = (
    "feature_names_in",
    "input_columns",
    "input_kinds",
    "input_na",
    "input_fill",
    "input_text_fill",
    "input_category_counts",
    "input_categories",
)
_ATTRS = FITTED_ATTRS + ("optimizer_code", "optimizer_learning_rate")
_MAX_LAYERS = 1024  # weight layers + 1: far beyond any trainable depth
_MAX_UNITS = 2**31 - 1
_MAX_COUNT = 2**62
_SHORT = 4 * 64  # item size of a short string member (64 characters)


def _load(reader):
    """The estimator of an open ``NpzReader``, after every check (ValueError naming the member)."""

    def text(key, max_itemsize=None):
        return str(reader.read(key, "U", (), max_itemsize)[()])

    if "format" not in reader or text("format", _SHORT) != FORMAT_NAME:
        raise ValueError("not an nbmlp model file (no member 'format' naming the format)")
    version = reader.read("format_version", "iu", ())[()]
    if version != FORMAT_VERSION:
        raise ValueError(
            f"member 'format_version': nbmlp model format version {version}; this nbmlp reads version {FORMAT_VERSION}"
        )
    kind = text("estimator", _SHORT)
    classes_by_name = {"MLPClassifier": MLPClassifier, "MLPRegressor": MLPRegressor}
    if kind not in classes_by_name:
        raise ValueError(f"member 'estimator': unknown estimator {kind!r}")
    cls = classes_by_name[kind]
    classifier = cls is MLPClassifier
    allowed = set(_COMMON_MEMBERS + _OPTIONAL_MEMBERS + (_CLASSIFIER_MEMBERS if classifier else ()))
    required = set(_COMMON_MEMBERS + (_CLASSIFIER_MEMBERS if classifier else ()))
    for name in reader.names():
        if name not in allowed:
            raise ValueError(f"member {name!r}: not part of the {kind} model format")
    for name in sorted(required - set(reader.names())):
        raise ValueError(f"member {name!r}: missing")

    # the layer sizes fix every other shape
    units_arr = reader.read("layer_units", "iu", 1)
    if not 2 <= len(units_arr) <= _MAX_LAYERS:
        raise ValueError(f"member 'layer_units': {len(units_arr)} layers (2 to {_MAX_LAYERS} allowed)")
    units = [int(n) for n in units_arr]
    if any(not 1 <= n <= _MAX_UNITS for n in units):
        raise ValueError(f"member 'layer_units': sizes must be in [1, {_MAX_UNITS}], got {units}")
    n_params = sum(l * m + m for l, m in zip(units[:-1], units[1:]))

    # constructor parameters and fitted attributes
    params = _json_member(reader, "params_json", dict, lambda d: all(isinstance(k, str) for k in d))
    unknown = sorted(set(params) - set(cls._get_param_names()))
    if unknown:
        raise ValueError(f"member 'params_json': unknown parameters {unknown}")
    est = cls(**params)
    attrs = _json_member(reader, "attrs_json", dict)
    _check_loaded_params(est)
    extra = sorted(set(attrs) - set(_ATTRS))
    missing = sorted(set(_ATTRS) - set(attrs))
    if extra or missing:
        raise ValueError(f"member 'attrs_json': unknown attributes {extra}, missing attributes {missing}")
    _check_attrs(attrs, units)
    code = attrs["optimizer_code"]
    if code not in (SGD, MOMENTUM, NESTEROV, ADAM, ADAMW):
        raise ValueError(
            f"member 'attrs_json': optimizer_code must be one of {SGD}, {MOMENTUM}, {NESTEROV}, {ADAM}, "
            f"{ADAMW}, got {code!r}"
        )

    # the arrays, each with its dtype and shape checked before it is read
    dtype = reader.header("parameters")[0]
    if dtype not in (np.dtype(np.float32), np.dtype(np.float64)):
        raise ValueError(f"member 'parameters': dtype {dtype}, expected float32 or float64 (native byte order)")
    flat = _finite(reader.read("parameters", dtype, (n_params,)), "parameters")
    opt_a = _finite(reader.read("optimizer_a", dtype, (n_params if code != SGD else 0,)), "optimizer_a")
    opt_b = _finite(reader.read("optimizer_b", dtype, (n_params if code in (ADAM, ADAMW) else 0,)), "optimizer_b")
    if np.any(opt_b < 0):
        raise ValueError("member 'optimizer_b': Adam's second moments must be >= 0")
    step = reader.read("optimizer_step", np.dtype(np.int64), (1,))
    if not 0 <= step[0] < _MAX_COUNT:
        raise ValueError(f"member 'optimizer_step': must be in [0, 2**62), got {step[0]}")
    rng = reader.read("shuffle_rng", np.dtype(np.uint64), (1,))
    names = None
    if "feature_names_in" in reader:
        names = reader.read("feature_names_in", "U", (units[0],))
        if len(set(names.tolist())) != len(names):
            raise ValueError("member 'feature_names_in': repeated feature names")
    lb = _read_labels(reader, attrs, units) if classifier else None
    if attrs["out_activation_"] != (
        OUT_NAMES[EstimatorEngine(est).output]
        if lb is None
        else OUT_NAMES["softmax" if lb.y_type_ == "multiclass" else "sigmoid"]
    ):
        raise ValueError(
            f"member 'attrs_json': out_activation_ {attrs['out_activation_']!r} does not fit the "
            "estimator and its label type"
        )

    # everything checked: build the estimator
    engine = EstimatorEngine(est)
    engine.restore(attrs, units, flat, lb)
    engine.optimizer_state = {
        "code": int(code),
        "m": opt_a,
        "s": opt_b,
        "step": step,
        "learning_rate": float(attrs["optimizer_learning_rate"]),
    }
    engine.shuffle_rng = rng
    if names is not None:
        est.feature_names_in_ = names.astype(object)
    return est


def _reject_constant(name):
    raise ValueError(f"{name} is not allowed (non-finite numbers are written as {{'__float__': ...}})")


def _json_member(reader, key, kind, check=None):
    try:
        value = _decode(json.loads(str(reader.read(key, "U", ())[()]), parse_constant=_reject_constant))
    except (ValueError, TypeError, KeyError, AttributeError, RecursionError, OverflowError) as e:
        raise ValueError(f"member {key!r}: not valid ({type(e).__name__}: {e})") from None
    if not isinstance(value, kind) or (check is not None and not check(value)):
        raise ValueError(f"member {key!r}: expected a JSON object with string keys")
    return value


def _check_loaded_params(est):
    """The constructor parameters of a loaded file pass the checks of ``fit``."""
    try:
        if is_classifier(est):  # stricter than fit's check (the weights too): before it
            cw = est.class_weight
            if not (
                cw is None
                or cw == "balanced"
                or (
                    isinstance(cw, dict)
                    and all(
                        isinstance(v, (int, float)) and not isinstance(v, bool) and np.isfinite(v) and v >= 0
                        for v in cw.values()
                    )
                )
            ):
                raise ValueError(f"class_weight must be None, 'balanced' or a dict of weights, got {cw!r}")
        EstimatorEngine(est).check_params()  # the regressor's loss too
        rs = est.random_state
        if not (rs is None or (isinstance(rs, int) and not isinstance(rs, bool) and 0 <= rs < 2**32)):
            raise ValueError(f"random_state must be None or an int in [0, 2**32), got {rs!r}")
        if not isinstance(est.verbose, (bool, int)):
            raise ValueError(f"verbose must be a bool or an int, got {est.verbose!r}")
    except (ValueError, TypeError) as e:
        raise ValueError(f"member 'params_json': {e}") from None


def _is_int(v, low=0):
    return isinstance(v, int) and not isinstance(v, bool) and low <= v < _MAX_COUNT


def _is_number(v, finite=False):
    """A float (±inf unless ``finite``; never NaN) or an int in the range of floats."""
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        return False
    if isinstance(v, int):
        return abs(v) <= 2**1023
    return not np.isnan(v) and (not finite or np.isfinite(v))


def _check_attrs(attrs, units):
    def bad(name, what):
        raise ValueError(f"member 'attrs_json': {name} must be {what}, got {attrs[name]!r:.200}")

    def number_list(name):
        # NaN: the epoch that diverged with early stopping (the estimators' ``_record_divergence``)
        v = attrs[name]
        return isinstance(v, list) and all(_is_number(x) or (isinstance(x, float) and np.isnan(x)) for x in v)

    for name in ("n_iter_", "t_", "_no_improvement_count"):
        if not _is_int(attrs[name]):
            bad(name, "an integer in [0, 2**62)")
    if not _is_number(attrs["loss_"], finite=True):
        bad("loss_", "a finite number")
    if not number_list("loss_curve_"):
        bad("loss_curve_", "a list of numbers")
    if not (attrs["best_loss_"] is None or _is_number(attrs["best_loss_"])):
        bad("best_loss_", "None or a number")
    validation = [attrs[n] is None for n in ("validation_scores_", "validation_loss_curve_", "best_validation_score_")]
    if any(validation) and not all(validation):
        bad("validation_scores_", "None exactly when validation_loss_curve_ and best_validation_score_ are")
    if not all(validation):
        for name in ("validation_scores_", "validation_loss_curve_"):
            if not number_list(name):
                bad(name, "None or a list of numbers")
        if not _is_number(attrs["best_validation_score_"]):
            bad("best_validation_score_", "None or a number")
    for name, value in (("n_features_in_", units[0]), ("n_layers_", len(units)), ("n_outputs_", units[-1])):
        if not _is_int(attrs[name]) or attrs[name] != value:
            bad(name, f"{value} (from layer_units)")
    acts = attrs["_activations_"]
    if not (
        isinstance(acts, list)
        and len(acts) == len(units) - 2
        and all(isinstance(a, str) and a in HIDDEN.values() for a in acts)
    ):
        bad("_activations_", f"a list of {len(units) - 2} hidden activations")
    if not isinstance(attrs["out_activation_"], str):
        bad("out_activation_", "a string")
    if not isinstance(attrs["optimizer_code"], int) or isinstance(attrs["optimizer_code"], bool):
        bad("optimizer_code", "an integer")
    lr = attrs["optimizer_learning_rate"]
    if not (_is_number(lr, finite=True) and lr > 0):
        bad("optimizer_learning_rate", "a finite number > 0")


def _read_labels(reader, attrs, units):
    """The classifier's ``LabelBinarizer`` from ``classes``, ``label_type``, ``classes_are_objects``."""
    label_type = str(reader.read("label_type", "U", (), _SHORT)[()])
    if label_type not in ("binary", "multiclass", "multilabel-indicator"):
        raise ValueError(f"member 'label_type': unknown label type {label_type!r}")
    classes = reader.read("classes", "iufbU", 1)
    n_out = units[-1]
    expected = {
        "binary": (1, 2) if n_out == 1 else (),
        "multiclass": (n_out,) if n_out >= 3 else (),
        "multilabel-indicator": (n_out,),
    }[label_type]
    if len(classes) not in expected:
        raise ValueError(f"member 'classes': {len(classes)} classes for {label_type} labels and {n_out} outputs")
    if classes.dtype.kind == "f" and not np.isfinite(classes).all():
        raise ValueError("member 'classes': NaN or infinite class labels")
    if len(classes) > 1 and not np.all(classes[1:] > classes[:-1]):
        raise ValueError("member 'classes': labels must be sorted and unique")
    objects = reader.read("classes_are_objects", np.dtype(np.bool_), ())[()]
    lb = LabelBinarizer()
    lb.classes_ = classes.astype(object) if objects else classes
    lb.y_type_ = label_type
    lb.sparse_input_ = False
    return lb


def _finite(array, name):
    if not np.isfinite(array).all():
        raise ValueError(f"member {name!r}: NaN or infinite values")
    return array
