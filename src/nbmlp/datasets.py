"""Small data sets: the digits and iris scikit-learn ships, and generated ones (nothing is downloaded).

Every loader returns ``(X, y)``: X a float32 (N, d) array, y an int64 (N,) array of labels.
"""

import numpy as np

DATASETS = ("digits", "iris", "xor", "spirals", "moons")


def load_digits():
    """The 8×8 handwritten digits (1,797 samples, 10 classes; the UCI set scikit-learn ships).

    X is scaled to [0, 1].
    """
    from sklearn import datasets

    data = datasets.load_digits()
    return data.data.astype(np.uint8).astype(np.float32) / np.float32(16), data.target.astype(np.int64)


def load_iris():
    """Fisher's iris (150 samples, 4 measurements in cm, 3 species; as scikit-learn ships it)."""
    from sklearn import datasets

    data = datasets.load_iris()
    # whole millimetres, as the measurements were taken: each value the float32 nearest its tenths
    return np.round(data.data * 10).astype(np.uint8).astype(np.float32) / np.float32(10), data.target.astype(np.int64)


def make_xor(n_samples=None, noise=0.0, seed=0):
    """XOR: the four corners of the unit square (or ``n_samples`` noisy copies), label x1 xor x2."""
    corners = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=np.float32)
    labels = np.array([0, 1, 1, 0])
    if n_samples is None:
        return corners, labels
    rng = np.random.default_rng(seed)
    pick = rng.integers(0, 4, n_samples)
    X = corners[pick] + rng.normal(0, noise, (n_samples, 2))
    return X.astype(np.float32), labels[pick]


def make_spirals(n_samples=600, noise=0.15, turns=1.5, seed=0):
    """Two interleaved spirals in 2-D (a classic set no linear model separates)."""
    rng = np.random.default_rng(seed)
    half = n_samples // 2
    t = np.sqrt(rng.uniform(0, 1, n_samples)) * turns * 2 * np.pi
    y = (np.arange(n_samples) >= half).astype(np.int64)
    sign = np.where(y == 0, 1.0, -1.0)
    X = np.stack([sign * t * np.cos(t), sign * t * np.sin(t)], axis=1) / (turns * 2 * np.pi)
    X += rng.normal(0, noise / (turns * 2), X.shape)
    return X.astype(np.float32), y


def make_moons(n_samples=600, noise=0.1, seed=0):
    """Two interleaving half circles in 2-D."""
    rng = np.random.default_rng(seed)
    half = n_samples // 2
    a = np.linspace(0, np.pi, half)
    b = np.linspace(0, np.pi, n_samples - half)
    X = np.concatenate([np.stack([np.cos(a), np.sin(a)], 1), np.stack([1 - np.cos(b), 0.5 - np.sin(b)], 1)])
    y = np.concatenate([np.zeros(half, np.int64), np.ones(n_samples - half, np.int64)])
    X += rng.normal(0, noise, X.shape)
    return X.astype(np.float32), y


def load(name, seed=0):
    """One of ``DATASETS`` by name."""
    if name == "digits":
        return load_digits()
    if name == "iris":
        return load_iris()
    if name == "xor":
        return make_xor(200, noise=0.1, seed=seed)
    if name == "spirals":
        return make_spirals(seed=seed)
    if name == "moons":
        return make_moons(seed=seed)
    raise ValueError(f"unknown dataset {name!r}; choose one of {', '.join(DATASETS)}")
