"""The slow, obvious NumPy version of every step, which the kernels are checked against."""

import numpy as np
from scipy.special import erf

SLOPE = 0.01
GELU_C, GELU_A = np.sqrt(2 / np.pi), 0.044715  # the tanh approximation of GELU (PyTorch's)


def f(u, act):
    """y = f(u)."""
    if act == "identity":
        return u.copy()
    if act == "sigmoid":
        return 1 / (1 + np.exp(-u))
    if act == "tanh":
        return np.tanh(u)
    if act == "relu":
        return np.maximum(u, 0)
    if act == "leaky_relu":
        return np.where(u > 0, u, SLOPE * u)
    if act == "gelu":
        return 0.5 * u * (1 + erf(u / np.sqrt(2)))
    if act == "gelu_tanh":
        return 0.5 * u * (1 + np.tanh(GELU_C * (u + GELU_A * u**3)))
    if act == "silu":
        return u / (1 + np.exp(-u))
    if act == "exp":
        return np.exp(u)
    if act == "softmax":
        z = np.exp(u - u.max(axis=1, keepdims=True))
        return z / z.sum(axis=1, keepdims=True)
    raise ValueError(act)


def df(u, y, act):
    """∂y/∂u (elementwise activations)."""
    if act == "gelu":
        return 0.5 * (1 + erf(u / np.sqrt(2))) + u * np.exp(-0.5 * u * u) / np.sqrt(2 * np.pi)
    if act == "gelu_tanh":
        tau = np.tanh(GELU_C * (u + GELU_A * u**3))
        return 0.5 * (1 + tau) + 0.5 * u * (1 - tau * tau) * GELU_C * (1 + 3 * GELU_A * u * u)
    if act == "silu":
        sig = 1 / (1 + np.exp(-u))
        return sig * (1 + u * (1 - sig))
    return {
        "identity": np.ones_like(u),
        "sigmoid": y * (1 - y),
        "tanh": 1 - y * y,
        "relu": (u > 0).astype(u.dtype),
        "leaky_relu": np.where(u > 0, 1, SLOPE).astype(u.dtype),
    }[act]


def loss_per_sample(y, t, loss):
    if loss == "squared_error":
        return 0.5 * ((y - t) ** 2).sum(axis=1)
    if loss == "cross_entropy":
        return -(t * np.log(y)).sum(axis=1)
    if loss == "binary_cross_entropy":
        return -(t * np.log(y) + (1 - t) * np.log(1 - y)).sum(axis=1)
    if loss == "poisson":
        return (np.where(t > 0, t * np.log(np.where(t > 0, t, 1) / y), 0) - t + y).sum(axis=1)
    raise ValueError(loss)


def output_delta(y, u, t, loss, act):
    if loss in ("cross_entropy", "binary_cross_entropy", "poisson"):
        return y - t
    return (y - t) * df(u, y, act)


def forward(weights, biases, acts, X):
    """Lists of u and y per layer (y[0] = X)."""
    ys, us = [X], []
    for w, b, a in zip(weights, biases, acts):
        u = ys[-1] @ w + b
        us.append(u)
        ys.append(f(u, a))
    return us, ys


def gradients(weights, biases, acts, loss, X, T):
    """(E, dW, db) with E the mean of the per-sample errors."""
    us, ys = forward(weights, biases, acts, X)
    N = X.shape[0]
    E = loss_per_sample(ys[-1], T, loss).mean()
    delta = output_delta(ys[-1], us[-1], T, loss, acts[-1])
    dW, db = [None] * len(weights), [None] * len(weights)
    for L in range(len(weights) - 1, -1, -1):
        dW[L] = ys[L].T @ delta / N
        db[L] = delta.sum(axis=0) / N
        if L > 0:
            dy = delta @ weights[L].T
            delta = dy * df(us[L - 1], ys[L], acts[L - 1])
    return E, dW, db


def sgd_epoch(weights, biases, acts, loss, X, T, order, batch, lr):
    """One epoch of mini-batch SGD in the given sample order; returns the mean loss."""
    total = 0.0
    for start in range(0, X.shape[0], batch):
        idx = order[start : start + batch]
        E, dW, db = gradients(weights, biases, acts, loss, X[idx], T[idx])
        total += E * len(idx)
        for L in range(len(weights)):
            weights[L] -= lr * dW[L]
            biases[L] -= lr * db[L]
    return total / X.shape[0]


# -- optimizers (scikit-learn's _stochastic_optimizers formulas, one flat array) ----------------
def momentum_step(theta, v, g, lr, mu, nesterov):
    v[...] = mu * v - lr * g
    theta += (mu * v - lr * g) if nesterov else v


def adam_step(theta, m, s, g, lr, t, beta1, beta2, eps):
    lr_t = lr * np.sqrt(1 - beta2**t) / (1 - beta1**t)
    m[...] = beta1 * m + (1 - beta1) * g
    s[...] = beta2 * s + (1 - beta2) * g**2
    theta -= lr_t * m / (np.sqrt(s) + eps)


def weighted_gradients(weights, biases, acts, loss, X, T, c, alpha):
    """scikit-learn's batch gradient: (Σ_s c_s ∂E_s + α w) / Σ_s c_s, biases without α."""
    us, ys = forward(weights, biases, acts, X)
    delta = output_delta(ys[-1], us[-1], T, loss, acts[-1]) * c[:, None]
    dW, db = [None] * len(weights), [None] * len(weights)
    for L in range(len(weights) - 1, -1, -1):
        dW[L] = (ys[L].T @ delta + alpha * weights[L]) / c.sum()
        db[L] = delta.sum(axis=0) / c.sum()
        if L > 0:
            delta = (delta @ weights[L].T) * df(us[L - 1], ys[L], acts[L - 1])
    return dW, db
