"""The child process of ``test_model_file.py``: load and use every model file of a directory.

``python model_file_child.py DIR`` handles the ``*.npz`` files of DIR in name order and prints,
for each, ``BEGIN name`` before touching it and then one result line, flushed at once:
``OK name``, ``VALUEERROR name message`` (``nbmlp.load`` or a later call refused it with a
ValueError, or training diverged with ``nbmlp.DivergenceError``) or ``OTHER name type message``
(any other exception: a bug). A crash (a signal) leaves a ``BEGIN`` without a result line.
Each loaded model is used as an attacker would hope: ``predict`` (and ``predict_proba``),
then ``partial_fit`` on data of the right shape, then ``predict`` again.
"""

import os
import sys
import warnings


def use(path, np, nbmlp):
    model = nbmlp.load(path)
    rng = np.random.default_rng(0)
    n = 17
    X = rng.normal(size=(n, model.n_features_in_))
    model.predict(X)
    if hasattr(model, "classes_"):
        model.predict_proba(X)
        if model._label_binarizer.y_type_ == "multilabel-indicator":
            y = (rng.random((n, model.n_outputs_)) > 0.5).astype(int)
        else:
            y = model.classes_[np.arange(n) % len(model.classes_)]
    else:
        y = rng.normal(size=(n, model.n_outputs_)) if model.n_outputs_ > 1 else rng.normal(size=n)
    model.set_params(early_stopping=False)  # partial_fit refuses early_stopping=True, as scikit-learn
    model.partial_fit(X, y)
    model.predict(X)


def main(directory):
    import numpy as np

    import nbmlp

    warnings.simplefilter("ignore")
    for name in sorted(os.listdir(directory)):
        if not name.endswith(".npz"):
            continue
        print(f"BEGIN {name}", flush=True)
        try:
            use(os.path.join(directory, name), np, nbmlp)
        except (ValueError, nbmlp.DivergenceError) as e:
            line = f"VALUEERROR {name} {e}"
        except Exception as e:  # noqa: BLE001 - reported as a failure by the test
            line = f"OTHER {name} {type(e).__name__}: {e}"
        else:
            line = f"OK {name}"
        print(line.replace("\n", " ")[:2000], flush=True)


if __name__ == "__main__":
    main(sys.argv[1])
