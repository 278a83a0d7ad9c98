"""Does a plain epoch cost more now that clipping, AdamW and GELU/SiLU exist?

    python benchmarks/options_overhead.py [rounds]

Times one epoch of ``MLP.fit`` (ReLU, softmax, plain SGD, no clipping) and one epoch of
``MLPClassifier.partial_fit`` (Adam, no clipping) on the digits (64-64-10, batch 32) and on a
784-256-10 network (2,000 samples, batch 128), as the median of ``rounds`` epochs, on one thread, in CPU time
(``time.process_time``: on a shared machine it moves less than the wall time). Run it with the
code before and with the code after (``PYTHONPATH=<old checkout>/src``), in alternation, on
the same machine; the ratio of the medians is the overhead.
"""

import statistics
import sys
import time
import warnings

import numpy as np

import nbmlp
from nbmlp.datasets import load_digits


def problems():
    X, y = load_digits()
    yield "digits 64-64-10, batch 32", [64, 64, 10], X.astype(np.float32), y, 32
    rng = np.random.default_rng(0)
    y2 = rng.integers(0, 10, 2000)
    X2 = (0.2 * rng.random((10, 784))[y2] + 0.8 * rng.random((2000, 784))).astype(np.float32)
    yield "784-256-10, 2000 samples, batch 128", [784, 256, 10], X2, y2, 128


def median_epoch(run, rounds):
    run()  # compile or load the cache
    times = []
    for _ in range(rounds):
        t0 = time.process_time()
        run()
        times.append(time.process_time() - t0)
    return statistics.median(times)


def main():
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 15
    warnings.simplefilter("ignore")
    nbmlp.set_num_threads(1)
    for name, layers, X, y, batch in problems():
        net = nbmlp.MLP(layers, activation="relu", output="softmax", dtype="float32", seed=0)
        sgd = median_epoch(lambda: net.fit(X, y, epochs=1, batch_size=batch, lr=0.01), rounds)
        est = nbmlp.MLPClassifier(layers[1:-1], batch_size=batch, random_state=0, max_iter=10**6)
        adam = median_epoch(lambda: est.partial_fit(X, y, classes=np.arange(10)), rounds)
        print(f"{name}: MLP.fit SGD epoch {sgd * 1e3:.2f} ms, MLPClassifier Adam epoch {adam * 1e3:.2f} ms")


if __name__ == "__main__":
    main()
