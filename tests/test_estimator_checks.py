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
from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from hypothesis.extra.numpy import arrays  # noqa: E402

import nbmlp  # noqa: E402

DOCUMENTED = (ValueError, nbmlp.DivergenceError)


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
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            est.fit(X, y)
        except DOCUMENTED:
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
