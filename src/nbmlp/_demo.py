"""The main job on bundled data: train a 64-64-10 network on the digits set and report."""
import time

import numpy as np

from .network import MLP
from .datasets import load_digits


def main(epochs=20, seed=0):
    X, y = load_digits()
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(y))
    X, y = X[order], y[order]
    n_train = int(0.8 * len(y))
    net = MLP([64, 64, 10], activation="relu", output="softmax", loss="cross_entropy", dtype="float32", seed=seed)
    t0 = time.perf_counter()
    net.fit(X[:n_train], y[:n_train], epochs=1, batch_size=32, lr=0.1)  # includes compilation
    first = time.perf_counter() - t0
    t0 = time.perf_counter()
    hist = net.fit(X[:n_train], y[:n_train], epochs=epochs - 1, batch_size=32, lr=0.1)
    per_epoch = (time.perf_counter() - t0) / max(epochs - 1, 1)
    acc_train = (net.predict(X[:n_train]) == y[:n_train]).mean()
    acc_test = (net.predict(X[n_train:]) == y[n_train:]).mean()
    print(f"nbmlp {net}")
    print(f"digits: {n_train} training / {len(y) - n_train} test samples, {epochs} epochs, batch 32, lr 0.1")
    print(f"final training loss {hist[-1]:.4f}; accuracy train {acc_train:.3f}, test {acc_test:.3f}")
    print(f"first epoch (with compilation) {first:.2f} s, then {per_epoch * 1e3:.2f} ms per epoch")
