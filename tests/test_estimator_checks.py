"""scikit-learn's own estimator checks, and property-based tests of fit/predict."""

from sklearn.utils.estimator_checks import parametrize_with_checks

from nbmlp import MLPClassifier, MLPRegressor

# small networks and few epochs keep the checks fast; enough to pass the accuracy checks
ESTIMATORS = [
    MLPClassifier(hidden_layer_sizes=(10,), max_iter=100, learning_rate_init=0.01),
    MLPRegressor(hidden_layer_sizes=(10,), max_iter=100, learning_rate_init=0.01),
]


# the default dtype=None follows scikit-learn's rule (float64 for float64 input): every check
# passes, none is expected to fail
@parametrize_with_checks(ESTIMATORS)
def test_sklearn_estimator_checks(estimator, check):
    check(estimator)


# -- property-based: random shapes and values never crash fit/predict with an undocumented error
import warnings  # noqa: E402

import numpy as np  # noqa: E402
import pytest  # noqa: E402
from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from hypothesis.extra.numpy import arrays  # noqa: E402

import nbmlp  # noqa: E402

# inputs this far from unit scale overflow the loss within a few epochs (the strategy's scales
# 1e20 and 1e300 are there to reach it); scikit-learn's MLP raises "Solver produced non-finite
# parameter weights" for such data, nbmlp a DivergenceError
OUT_OF_SCALE = 1e10


def warranted(err, X, dtype):
    """Why data (X, with the network's ``dtype``) warrants the error ``err`` from ``fit``, or None.

    The cases: a ``DivergenceError`` for inputs out of scale (``OUT_OF_SCALE``), and a
    ``ValueError`` naming X for values beyond float32's range with ``dtype="float32"`` (scikit-learn
    computes in float64, where they fit). Anything else (a single class, constant X, one sample:
    scikit-learn fits them all) is not warranted.
    """
    big = float(np.abs(X).max()) if X.size else 0.0
    if isinstance(err, nbmlp.DivergenceError):
        return "inputs out of scale: the loss overflows" if big >= OUT_OF_SCALE else None
    if type(err) is ValueError and dtype == "float32" and big > np.finfo(np.float32).max:
        return "X beyond float32's range" if "X has values too large for float32" in str(err) else None
    return None


@st.composite
def problems(draw, classifier):
    n = draw(st.integers(1, 20))
    d = draw(st.integers(1, 5))
    scale = draw(st.sampled_from([1.0, 1e3, 1e20, 1e300]))
    X = draw(arrays(np.float64, (n, d), elements=st.floats(-1, 1))) * scale
    if classifier:
        y = draw(arrays(np.int64, n, elements=st.integers(0, draw(st.integers(0, 3)))))
    else:
        y = draw(arrays(np.float64, draw(st.sampled_from([(n,), (n, 2)])), elements=st.floats(-1e3, 1e3)))
    return X, y


def _fit_predict(est, X, y):
    """Fit and predict; a fit may only fail with an error the data warrants (``warranted``)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            est.fit(X, y)
        except (ValueError, nbmlp.DivergenceError) as err:
            assert warranted(err, X, est.dtype), f"fit raised {err!r} for data that does not warrant it"
            return
    out = est.predict(X)
    assert out.shape[0] == X.shape[0]
    if hasattr(est, "classes_"):
        assert set(np.unique(out)) <= set(est.classes_)
        P = est.predict_proba(X)
        assert P.shape == (X.shape[0], len(est.classes_)) and np.isfinite(P).all()


@settings(max_examples=30, deadline=None)
@given(problems(classifier=True), st.sampled_from(["sgd", "adam"]), st.sampled_from(["float32", "float64"]))
def test_classifier_fit_predict_random_data(problem, solver, dtype):
    X, y = problem
    _fit_predict(MLPClassifier((3,), solver=solver, max_iter=3, dtype=dtype, random_state=0), X, y)


@settings(max_examples=30, deadline=None)
@given(problems(classifier=False), st.sampled_from(["sgd", "adam"]), st.sampled_from(["float32", "float64"]))
def test_regressor_fit_predict_random_data(problem, solver, dtype):
    X, y = problem
    _fit_predict(MLPRegressor((3,), solver=solver, max_iter=3, dtype=dtype, random_state=0), X, y)


def test_a_fit_that_always_raised_would_fail():
    """The check above fails for an error the data does not warrant: raised on data at unit scale,
    on a single class, or as a ValueError other than float32's range."""
    X, y = np.zeros((4, 2)), np.array([0, 1, 0, 1])
    assert warranted(nbmlp.DivergenceError("diverged"), X, "float64") is None
    assert warranted(ValueError("y has a single class"), X, "float32") is None
    huge = np.full((4, 2), 1e300)
    assert warranted(nbmlp.DivergenceError("diverged"), huge, "float64")
    assert warranted(ValueError("X has values too large for float32 (use dtype='float64')"), huge, "float32")
    assert warranted(ValueError("X has values too large for float32"), huge, "float64") is None
    assert warranted(ValueError("something else"), huge, "float32") is None

    class AlwaysRaises(MLPClassifier):
        def fit(self, X, y):
            raise ValueError("refused")

    with pytest.raises(AssertionError, match="does not warrant it"):
        _fit_predict(AlwaysRaises((3,), max_iter=1), X, y)
