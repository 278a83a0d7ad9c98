"""Small bundled and generated data sets (no download)."""
from importlib import resources

import numpy as np


def load_digits():
    """The 8×8 handwritten digits (1,797 samples; the UCI set scikit-learn also ships).

    Returns X (1797, 64) float32 scaled to [0, 1] and y (1797,) int64 labels 0–9.
    """
    with resources.files(__package__).joinpath("data/digits.npz").open("rb") as fh:
        data = np.load(fh)
        return data["X"].astype(np.float32) / 16.0, data["y"].astype(np.int64)


def make_xor():
    """The four XOR points and their labels."""
    return np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=np.float32), np.array([0, 1, 1, 0])
