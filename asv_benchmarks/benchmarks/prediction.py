"""One-row prediction: the latency of a model that serves one request at a time.

``OneRowPredictProba``: ``predict_proba`` of one row of the digits with a 64-100-10 classifier
(scikit-learn's default hidden layer), nbmlp's ``MLPClassifier`` and scikit-learn's, each fitted
for one epoch on the digits in ``dtype`` (both keep float32 input in float32). Such a call pays
for the checks of X and one forward pass; ``benchmarks/predict_latency.py`` splits the time up.
``OneRowPredictProbaRatio``: nbmlp's time over scikit-learn's, the median of back-to-back samples
(``common.ratio_of_times``); below 1, nbmlp is faster.
"""

import warnings

from . import common

LIBRARIES = ["nbmlp", "scikit-learn"]


def _fitted(library, dtype):
    """The classifier of ``library`` fitted one epoch on the digits, and one row of them."""
    if library == "nbmlp":
        from nbmlp import MLPClassifier
    else:
        from sklearn.neural_network import MLPClassifier
    X, y = common.data("small", dtype)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # one epoch does not converge
        est = MLPClassifier((100,), max_iter=1, random_state=0).fit(X, y)
    row = X[:1].copy()
    est.predict_proba(row)  # compiles the forward pass (or loads the cache); builds nbmlp's network
    return est, row


class OneRowPredictProba:
    params = [common.DTYPES, LIBRARIES]
    param_names = ["dtype", "library"]
    timeout = common.TIMEOUT

    def setup(self, dtype, library):
        self.est, self.row = _fitted(library, dtype)

    def time_predict_proba(self, *args):
        self.est.predict_proba(self.row)


class OneRowPredictProbaRatio:
    params = [common.DTYPES]
    param_names = ["dtype"]
    timeout = common.TIMEOUT

    def setup(self, dtype):
        self.nbmlp, self.row = _fitted("nbmlp", dtype)
        self.sklearn, _ = _fitted("scikit-learn", dtype)

    def track_time_ratio(self, *args):
        return common.ratio_of_times(
            lambda: self.nbmlp.predict_proba(self.row), lambda: self.sklearn.predict_proba(self.row)
        )

    track_time_ratio.unit = "nbmlp time / scikit-learn time"
