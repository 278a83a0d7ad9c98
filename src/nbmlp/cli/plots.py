"""The command's pictures (matplotlib, when installed): the loss per epoch and a 2-D decision map."""

import numpy as np

from .files import write_atomically


def _pyplot():
    try:
        import matplotlib
    except ImportError:
        return None
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def plot_loss(path, history, title):
    plt = _pyplot()
    if plt is None:
        return False
    fig, ax = plt.subplots(figsize=(6, 4), dpi=100)
    epochs = np.arange(1, len(history["loss"]) + 1)
    ax.plot(epochs, history["loss"], label="training")
    if history["val_loss"]:
        ax.plot(epochs, history["val_loss"], label="validation")
    ax.set_xlabel("epoch")
    ax.set_ylabel("loss")
    ax.set_yscale("log")
    ax.set_title(title)
    ax.legend()
    fig.tight_layout()
    write_atomically(path, lambda fh: fig.savefig(fh, format="png"), "plot")
    plt.close(fig)
    return True


def plot_regions(path, model, X, y, title):
    plt = _pyplot()
    if plt is None:
        return False
    pad = 0.1 * (X.max(axis=0) - X.min(axis=0))
    lo, hi = X.min(axis=0) - pad, X.max(axis=0) + pad
    gx, gy = np.meshgrid(np.linspace(lo[0], hi[0], 200), np.linspace(lo[1], hi[1], 200))
    grid = np.column_stack([gx.ravel(), gy.ravel()]).astype(np.float32)
    proba = model.predict_proba(grid)
    p = proba[:, 1] if proba.shape[1] == 2 else proba.argmax(axis=1)
    fig, ax = plt.subplots(figsize=(5, 5), dpi=100)
    ax.contourf(gx, gy, p.reshape(gx.shape), levels=20, cmap="RdBu_r", alpha=0.6)
    ax.scatter(X[:, 0], X[:, 1], c=y, cmap="RdBu_r", edgecolors="k", s=14)
    ax.set_title(title)
    fig.tight_layout()
    write_atomically(path, lambda fh: fig.savefig(fh, format="png"), "plot")
    plt.close(fig)
    return True
