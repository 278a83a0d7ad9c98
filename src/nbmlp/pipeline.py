"""Models that take raw rows: a scikit-learn ``Pipeline`` of ``TableEncoder`` and an nbmlp estimator.

``nbmlp.load`` returns one for a model file that keeps a column encoding (every model ``nbmlp
train`` writes); ``nbmlp.save`` writes one (the estimator's model file, with the encoder's
``input_*`` members), still without pickle. A pipeline with any other step is refused with a
pointer to skops or joblib: the model file holds arrays, not arbitrary Python objects.
"""

from sklearn.pipeline import Pipeline as _SkPipeline
from sklearn.utils.validation import check_is_fitted

from .encoder import TableEncoder

OTHER_FORMATS = (
    "nbmlp's model file keeps an nbmlp estimator, alone or after an nbmlp.TableEncoder; save other "
    "pipelines with skops (skops.io.dump, loaded without pickle) or joblib (joblib.dump: pickle, "
    "load only files you trust)"
)


class Pipeline(_SkPipeline):
    """scikit-learn's ``Pipeline`` with nbmlp's ``save`` and ``to_onnx`` (for a ``TableEncoder``
    followed by an nbmlp estimator, as ``nbmlp.load`` returns for a command's model file)."""

    def save(self, path):
        """Write the fitted pipeline to a ``.npz`` model file (``nbmlp.save``)."""
        save(self, path)

    def to_onnx(self, path=None):
        """The encoding and the network as one ONNX model taking the raw columns (see
        ``nbmlp.onnx_export.to_onnx_with_encoding``); saved to ``path`` when given."""
        encoder, est = _encoder_and_estimator(self)
        from .estimators._base import EstimatorEngine
        from .onnx_export import to_onnx_with_encoding

        return to_onnx_with_encoding(
            encoder.column_encoder(), EstimatorEngine(est).network(), path, name=type(est).__name__
        )


def make_pipeline(encoder, estimator):
    """``Pipeline([("encoder", encoder), ("estimator", estimator)])``."""
    return Pipeline([("encoder", encoder), ("estimator", estimator)])


def _is_nbmlp_estimator(obj):
    from .estimators._base import BaseMLP  # the base of MLPClassifier and MLPRegressor

    return isinstance(obj, BaseMLP)


def _encoder_and_estimator(pipe):
    """The fitted (TableEncoder, estimator) of a pipeline nbmlp can save; TypeError otherwise."""
    steps = [step for _, step in pipe.steps if step is not None and step != "passthrough"]
    if len(steps) != 2 or not isinstance(steps[0], TableEncoder) or not _is_nbmlp_estimator(steps[1]):
        kinds = ", ".join(type(s).__name__ for s in steps)
        raise TypeError(f"model: a Pipeline of {kinds}; {OTHER_FORMATS}")
    encoder, est = steps
    check_is_fitted(encoder, "columns_")
    check_is_fitted(est, "coefs_")
    if encoder.n_outputs_ != est.n_features_in_:
        raise ValueError(
            f"model: the encoder gives {encoder.n_outputs_} inputs but the estimator takes {est.n_features_in_}"
        )
    return encoder, est


def save(model, path):
    """Write a fitted nbmlp estimator, or a ``Pipeline`` of a ``TableEncoder`` and one, to
    ``path`` (an ``.npz`` model file, ``docs/model_format.md``) that ``nbmlp.load`` reads back
    without pickle. Anything else is a ``TypeError`` naming skops and joblib."""
    if _is_nbmlp_estimator(model):
        model.save(path)
        return
    if not isinstance(model, _SkPipeline):
        raise TypeError(f"model: a {type(model).__name__}; {OTHER_FORMATS}")
    encoder, est = _encoder_and_estimator(model)
    est.save(path, inputs=encoder.column_encoder().arrays())
