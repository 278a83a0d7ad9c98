"""``MLP``: a multilayer perceptron whose parameters live in one flat buffer.

This module checks inputs, allocates every buffer and calls the compiled kernels; the kernels
(``nbmlp.kernels``) only compute.
"""

import numpy as np

from . import _aligned as aligned
from . import _validation as V
from ._threads import use_chosen
from ._validation import check_dropout
from .kernels import activations, losses
from .kernels.epoch import Dropout, OptimizerState
from .kernels.optim import SGD
from .kernels.passes import (
    LAYOUT_COLUMNS,
    N_IN,
    N_OUT,
    W_OFF,
    Batch,
    Network,
    backward_pass,
    forward_pass,
    forward_pass_serial,
    loss_sum,
    serial_passes,
)
from .training import DenseStep, DivergenceError, Hyper, Trainer, work_buffers  # noqa: F401 (DivergenceError re-exported)

ALIASES = {"logistic": "sigmoid", "linear": "identity"}
HIDDEN_ACTIVATIONS = ("identity", "sigmoid", "tanh", "relu", "leaky_relu", "gelu", "gelu_tanh", "silu")
# GELU and SiLU are for hidden layers only
OUTPUT_ACTIVATIONS = ("identity", "sigmoid", "tanh", "relu", "leaky_relu", "softmax", "exp")
HE_INIT = ("relu", "leaky_relu", "gelu", "gelu_tanh", "silu")
LOSSES = tuple(losses.CODES)
DEFAULT_LOSS = {"softmax": "cross_entropy", "sigmoid": "binary_cross_entropy", "exp": "poisson"}
PREDICT_CHUNK = 4096  # rows per forward call in forward/predict: bounds the work buffers


def _activation_name(name, argument, allowed):
    if not isinstance(name, str):
        raise TypeError(f"{argument} must be a string, got {name!r}")
    key = ALIASES.get(name, name)
    if key not in allowed:
        raise ValueError(f"{argument}: unknown activation {name!r}; choose one of {', '.join(allowed)}")
    return key


class MLP:
    """A multilayer perceptron trained by mini-batch gradient descent in compiled loops.

    Parameters
    ----------
    layers : sequence of int
        Neurons per layer, input first and output last, e.g. ``[64, 32, 10]``.
    activation : str or sequence of str
        Hidden activation: ``identity``, ``sigmoid`` (or ``logistic``), ``tanh``, ``relu``,
        ``leaky_relu`` (slope 0.01), ``gelu`` (exact, ``u Φ(u)``), ``gelu_tanh`` (PyTorch's
        ``approximate="tanh"``), ``silu`` (``u σ(u)``); one name for every hidden layer, or one
        per hidden layer.
    output : str
        Output activation: ``identity``, ``sigmoid``, ``tanh``, ``relu``, ``leaky_relu``,
        ``softmax`` or ``exp`` (``y_k = e^(u_k)``, for counts and rates).
    loss : str, optional
        ``squared_error`` (``E = ½ Σ_k (y_k − t_k)²``), ``cross_entropy`` (softmax output only),
        ``binary_cross_entropy`` (sigmoid output only) or ``poisson`` (half the Poisson deviance;
        the exp output, and only it). Default: cross-entropy for softmax, binary cross-entropy for
        sigmoid, poisson for exp, squared error otherwise.
    dtype : {"float32", "float64"}
        Type of the parameters, buffers and outputs; inputs are converted to it.
    seed : int, optional
        Seeds the initial weights (Glorot for sigmoid/tanh/identity/softmax layers, He for the
        ReLU family, GELU and SiLU) and the shuffling of ``fit``.
    dropout : float or sequence of float, each in [0, 1)
        Inverted dropout on the hidden layers' outputs during ``fit``: ``y_j ← m_j y_j / (1 − p)``
        with the mask m drawn from nbmlp's own generator (the shuffle's), so results are the
        same for any number of threads; one rate for every hidden layer, or one per hidden layer.
        ``forward``, ``predict`` and ``gradients`` never drop; ``trace`` does, and shows the mask.

    Attributes
    ----------
    weights : list of arrays
        ``weights[L][i, j] = w_ij`` from layer L to layer L+1, shape (in, out); views into one
        flat buffer ``params``.
    biases : list of arrays
        ``biases[L][j] = b_j`` of layer L+1.
    params : (n_params,) array
        Every weight and bias in one flat buffer, layer by layer (``views``).
    layout : (D, 5) int64 array
        The kernels' layer table: per weight layer its offset in ``params``, fan-in, fan-out,
        first input column and activation code.

    Notes
    -----
    The engine: the estimators, ``trace``, the model file and distributed training build on
    these public names of ``MLP`` and on nothing private of it: ``views`` (per-layer views of a
    flat buffer), ``check_inputs`` and ``check_targets`` (the checks of ``fit``),
    ``work_buffers`` and ``dropout_buffers`` (the kernels' buffers for a number of rows),
    ``loss_code``, ``rng`` (the shuffle generator's state) and ``forward_checked`` (``forward``
    of a checked X with any flat parameters).
    """

    def __init__(self, layers, activation="relu", output="softmax", loss=None, dtype="float32", seed=None, dropout=0.0):
        try:
            sizes = [int(n) for n in layers]
        except (TypeError, ValueError):
            raise TypeError(f"layers must be a sequence of integers, got {layers!r}") from None
        if len(sizes) < 2 or any(n < 1 for n in sizes) or any(int(n) != n for n in layers):
            raise ValueError(f"layers needs at least 2 positive integer sizes (input, output), got {layers!r}")
        n_hidden = len(sizes) - 2
        if isinstance(activation, str):
            hidden = [activation] * n_hidden
        else:
            try:
                hidden = list(activation)
            except TypeError:
                raise TypeError(f"activation must be a name or a list of names, got {activation!r}") from None
            if len(hidden) != n_hidden:
                raise ValueError(f"activation: {len(hidden)} names for {n_hidden} hidden layers")
        hidden = [_activation_name(a, "activation", HIDDEN_ACTIVATIONS) for a in hidden]
        output = _activation_name(output, "output", OUTPUT_ACTIVATIONS)
        if loss is None:
            loss = DEFAULT_LOSS.get(output, "squared_error")
        if not isinstance(loss, str) or loss not in LOSSES:
            raise ValueError(f"loss: unknown loss {loss!r}; choose one of {', '.join(LOSSES)}")
        if output == "softmax" and loss != "cross_entropy":
            raise ValueError(f"loss: a softmax output needs loss='cross_entropy', got {loss!r}")
        if loss == "cross_entropy" and output != "softmax":
            raise ValueError(f"loss: 'cross_entropy' needs output='softmax', got output={output!r}")
        if (output == "exp") != (loss == "poisson"):
            raise ValueError(
                f"loss: an 'exp' output goes with loss='poisson' and only with it, got output={output!r}, loss={loss!r}"
            )
        if loss == "binary_cross_entropy" and output != "sigmoid":
            raise ValueError(f"loss: 'binary_cross_entropy' needs output='sigmoid', got output={output!r}")
        if seed is not None:
            V.check_number(seed, "seed", low=0, integer=True)

        self.layers = sizes
        self.activations = hidden + [output]
        self.loss = loss
        self.dtype = V.check_dtype(dtype)
        self.seed = seed
        self.dropout = check_dropout(dropout, n_hidden)
        self.layout = self._make_layout()
        self.params = aligned.empty(self.n_params, self.dtype)
        self.init_weights(seed)

    # -- structure -----------------------------------------------------------------------
    def _make_layout(self):
        D = len(self.layers) - 1
        layout = np.zeros((D, LAYOUT_COLUMNS), dtype=np.int64)
        w_off = a_in = 0
        for L in range(D):
            l, m = self.layers[L], self.layers[L + 1]
            layout[L] = (w_off, l, m, a_in, activations.CODES[self.activations[L]])
            w_off += l * m + m
            a_in += l
        return layout

    @property
    def n_params(self):
        """Number of weights and biases."""
        return int(sum(l * m + m for l, m in zip(self.layers[:-1], self.layers[1:])))

    @property
    def loss_code(self):
        """The kernels' code of ``loss`` (``kernels.losses.CODES``)."""
        return losses.CODES[self.loss]

    @property
    def rng(self):
        """The state of the generator that shuffles the samples and draws the dropout masks: a
        (1,) uint64 array, advanced in place by every epoch of ``fit`` (seeded by ``seed``)."""
        return self._rng

    def views(self, flat):
        """Per-layer views into ``flat``, a buffer laid out as ``params`` (the parameters, their
        gradients, an optimizer's moments): ``(weights, biases)``, the lists of ``weights[L]``
        (in, out) and ``biases[L]`` (out,). Writing into a view writes into ``flat``."""
        w, b = [], []
        for L in range(len(self.layout)):
            off, l, m = (int(v) for v in self.layout[L, [W_OFF, N_IN, N_OUT]])
            w.append(flat[off : off + l * m].reshape(l, m))
            b.append(flat[off + l * m : off + l * m + m])
        return w, b

    @property
    def weights(self):
        """``weights[L][i, j] = w_ij``, views into ``params``."""
        return self.views(self.params)[0]

    @property
    def biases(self):
        """``biases[L][j] = b_j``, views into ``params``."""
        return self.views(self.params)[1]

    def init_weights(self, seed=None):
        """Draw new weights (Glorot uniform, or He uniform before a ReLU-family layer); zero biases."""
        rng = np.random.default_rng(seed)
        weights, biases = self.views(self.params)
        for w, b, act in zip(weights, biases, self.activations):
            fan_in, fan_out = w.shape
            if act in HE_INIT:
                limit = np.sqrt(6.0 / fan_in)
            else:
                limit = np.sqrt(6.0 / (fan_in + fan_out))
            w[...] = rng.uniform(-limit, limit, size=w.shape)
            b[...] = 0
        # the shuffle generator's state, seeded from the same seed
        self._rng = np.array([rng.integers(0, 2**63, dtype=np.uint64)], dtype=np.uint64)

    # -- input checks --------------------------------------------------------------------
    def check_inputs(self, X, name="X"):
        """X as ``fit`` and ``forward`` take it: a C-contiguous 2-D array of the network's dtype,
        finite, with ``layers[0]`` columns and at least one row; ValueError/TypeError naming
        ``name`` otherwise."""
        X = V.as_float_array(X, name, self.dtype, 2)
        if X.shape[1] != self.layers[0]:
            raise ValueError(f"{name} has {X.shape[1]} features but the network takes {self.layers[0]}")
        if X.shape[0] == 0:
            raise ValueError(f"{name} has no rows")
        return X

    def check_targets(self, T, n_rows, name="T"):
        """The targets T of ``n_rows`` samples as the kernels take them: an (n_rows, n_out) array
        of the network's dtype, finite (class labels one-hot encoded for a softmax output);
        ValueError/TypeError naming ``name`` otherwise."""
        n_out = self.layers[-1]
        if not hasattr(T, "dtype"):
            T = np.asarray(T)
        if self.activations[-1] == "softmax" and T.ndim == 1:
            if not np.issubdtype(T.dtype, np.integer):
                if not np.issubdtype(T.dtype, np.floating) or not np.all(np.isfinite(T)) or np.any(T != np.round(T)):
                    raise TypeError(f"{name}: 1-D targets for a softmax output must be integer class labels")
            labels = T.astype(np.int64)
            if labels.size and (labels.min() < 0 or labels.max() >= n_out):
                raise ValueError(f"{name}: class labels must lie in 0..{n_out - 1}")
            if labels.shape[0] != n_rows:
                raise ValueError(f"X has {n_rows} rows but {name} has {labels.shape[0]}")
            onehot = np.zeros((n_rows, n_out), dtype=self.dtype)
            onehot[np.arange(n_rows), labels] = 1
            return onehot
        if T.ndim == 1 and n_out == 1:
            T = T.reshape(-1, 1)
        T = V.as_float_array(T, name, self.dtype, 2)
        if T.shape[0] != n_rows:
            raise ValueError(f"X has {n_rows} rows but {name} has {T.shape[0]}")
        if T.shape[1] != n_out:
            raise ValueError(f"{name} has {T.shape[1]} columns but the network has {n_out} outputs")
        return T

    # -- buffers -------------------------------------------------------------------------
    def work_buffers(self, cap, with_backward):
        """The kernels' flat work buffers for ``cap`` rows per layer: ``(Y, U)`` for a forward pass,
        or with ``with_backward`` the ``Work`` tuple ``(Y, U, D, DY, Tb, e)`` of a training step
        (``training.work_buffers``). Row block L of each holds layer L's ``y``, ``u``, ``δ``, ``∂y``."""
        return work_buffers(self.layers, cap, self.dtype, with_backward)

    def dropout_buffers(self, cap):
        """The kernels' ``Dropout(rates, M, Yk)`` for ``cap`` rows: the rate of each layer, the
        multipliers ``M = m / (1 − p)`` and the outputs before dropout; empty arrays without dropout."""
        if not any(self.dropout):
            empty = np.empty(0, self.dtype)
            return Dropout(empty, empty, empty)
        rates = np.array(list(self.dropout) + [0.0], dtype=self.dtype)
        size = cap * sum(self.layers)
        return Dropout(rates, np.zeros(size, self.dtype), np.zeros(size, self.dtype))

    def _output_block(self, Y, cap, nb):
        start = cap * (sum(self.layers) - self.layers[-1])
        return Y[start : start + nb * self.layers[-1]].reshape(nb, self.layers[-1])

    # -- public computations ---------------------------------------------------------------
    def forward(self, X):
        """Network output ``y_k`` for each row of X, shape (N, n_out), in the network's dtype.

        Layer by layer from the input ``y_i = x_i``: ``u_j = Σ_i y_i w_ij + b_j``, ``y_j = f(u_j)``.
        """
        return self.forward_checked(self.check_inputs(X))

    def forward_checked(self, X, params=None):
        """``forward`` of an X already checked (as ``check_inputs`` leaves it: C-contiguous, of the
        network's dtype, finite, ``layers[0]`` columns, rows ≥ 1) with the parameters ``params``
        (default ``self.params``, or another flat buffer of the same layout and dtype)."""
        if params is None:
            params = self.params
        N = X.shape[0]
        cap = min(N, PREDICT_CHUNK)
        Y, U = self.work_buffers(cap, with_backward=False)
        out = np.empty((N, self.layers[-1]), dtype=self.dtype)
        # a pass of few rows is compiled without the parallel kernels (see serial_passes)
        passes = forward_pass_serial if serial_passes(self.layers, cap) else forward_pass
        with use_chosen():
            for start in range(0, N, cap):
                nb = min(cap, N - start)
                Y[: nb * self.layers[0]] = X[start : start + nb].ravel()
                passes(Y, U, params, self.layout, cap, nb)
                out[start : start + nb] = self._output_block(Y, cap, nb)
        return out

    def predict(self, X):
        """Class index (softmax: argmax; sigmoid: y > 0.5) for classifier outputs, else ``forward``."""
        Y = self.forward(X)
        if self.activations[-1] == "softmax":
            return Y.argmax(axis=1)
        if self.activations[-1] == "sigmoid":
            labels = (Y > 0.5).astype(np.int64)
            return labels[:, 0] if labels.shape[1] == 1 else labels
        return Y

    def gradients(self, X, T):
        """Loss and gradients on the whole of (X, T).

        Returns
        -------
        loss : float
            ``E``, the mean over samples of the per-sample error.
        dW, db : lists of arrays
            ``∂E/∂w_ij = (1/N) Σ_s y_si δ_sj`` and ``∂E/∂b_j = (1/N) Σ_s δ_sj`` per layer, shaped
            like ``weights`` and ``biases``.
        """
        X = self.check_inputs(X)
        T = self.check_targets(T, X.shape[0])
        N = X.shape[0]
        work = self.work_buffers(N, with_backward=True)
        Y, U, e = work.Y, work.U, work.e
        grads = aligned.empty(self.n_params, self.dtype)
        Y[: X.size] = X.ravel()
        with use_chosen():
            forward_pass(Y, U, self.params, self.layout, N, N)
            total = loss_sum(e, Y, U, T, self.layout, self.loss_code, N, N)
            net = Network(self.params, grads, self.layout, self.loss_code)
            backward_pass(net, work, Batch(N, N, None, T, None, np.empty(0, self.dtype)))
        dW, db = self.views(grads)
        return total / N, dW, db

    def trace(self, X, T):
        """One forward and backward pass on (X, T), returning every quantity of the derivation.

        Returns a dict: ``loss`` (E, the mean over samples), ``e`` (per-sample E), ``x``, ``t``
        and ``layers``, one dict per weight layer with ``w``, ``b``, ``u``, ``y``, ``mask`` (the
        dropout multipliers of this pass, or None), ``delta`` (``δ_j = ∂E_s/∂u_j``, per sample
        s), ``dy`` (∂E/∂y of the layer's input, per sample), ``dw`` and ``db`` (means over the
        batch, equal to ``gradients`` without dropout). See ``nbmlp.trace.trace``.
        """
        from .trace import trace

        return trace(self, X, T)

    def fit(self, X, T, epochs=10, batch_size=32, lr=0.1, shuffle=True, max_grad_norm=None):
        """Train by mini-batch gradient descent, each epoch in compiled code.

        Each batch updates ``w ← w − η ∂E/∂w`` and ``b ← b − η ∂E/∂b``, with the gradients of
        ``gradients`` taken over the batch (means over its samples).

        Parameters
        ----------
        X : (N, l) array
        T : (N, n) array of targets (one-hot for softmax), or (N,) integer class labels for a
            softmax output (or (N,) targets for a single output).
        epochs : int >= 0
        batch_size : int >= 1 (capped at N)
        lr : float > 0
            Learning rate ``η``.
        shuffle : bool
            Reshuffle the samples before every epoch.
        max_grad_norm : float > 0, optional
            Clip each batch gradient to this global norm ``c`` over all weights and biases:
            ``∂θ ← ∂θ · c / ‖∂θ‖`` when ``‖∂θ‖ > c`` (``kernels.optim.clip_gradient``).

        Returns
        -------
        list of float
            The mean loss of each epoch (each batch's loss taken before its update).

        Raises
        ------
        DivergenceError
            If an epoch produces a non-finite loss or weight; the weights from before that
            epoch are restored.
        KeyboardInterrupt
            Re-raised after the weights (and the shuffle state) of the last finished epoch are
            restored (``nbmlp.training.Trainer``).
        """
        V.check_number(epochs, "epochs", low=0, integer=True)
        V.check_number(batch_size, "batch_size", low=1, integer=True)
        V.check_number(lr, "lr", low=0, low_open=True)
        if not isinstance(shuffle, (bool, np.bool_)):
            raise TypeError(f"shuffle must be True or False, got {shuffle!r}")
        if max_grad_norm is not None:
            V.check_number(max_grad_norm, "max_grad_norm", low=0, low_open=True)
        X = self.check_inputs(X)
        T = self.check_targets(T, X.shape[0])
        N = X.shape[0]
        batch = int(min(batch_size, N))
        # plain SGD: no optimizer state, unweighted samples, no penalty (the estimators' compiled epoch)
        empty = self.params[:0]
        state = OptimizerState(empty, empty, np.empty(0, np.int64))
        step = DenseStep(self, X, T, None, batch, SGD, state, self._rng, shuffle)
        hyper = Hyper(max_norm=0.0 if max_grad_norm is None else max_grad_norm)
        trainer = Trainer(
            step,
            N,
            (self.params, self._rng),
            {"learning_rate": lr},
            hyper,
            self.dtype,
            hint=f"Try a smaller lr (now {lr}).",
        )
        history = []
        trainer.run(int(epochs), on_epoch=lambda record: history.append(record["loss"]))
        return history

    def summary(self, file=None, title=None):
        """Print the layers, their activations, parameter counts, dtype and memory, as Keras's
        ``model.summary()`` does.

        Parameters
        ----------
        file : file object, optional
            Where to write (default ``sys.stdout``).
        title : str, optional
            The first line (default ``MLP``).
        """
        import sys

        item = np.dtype(self.dtype).itemsize
        rows = [("Layer", "Weights w_ij", "Activation", "Param #", "Memory")]
        drops = list(self.dropout) + [0.0]
        for L, (l, m) in enumerate(zip(self.layers[:-1], self.layers[1:])):
            kind = "output" if L == len(self.layers) - 2 else f"hidden {L + 1}"
            act = self.activations[L] + (f" + dropout {drops[L]:g}" if drops[L] else "")
            rows.append(
                (f"dense {L} ({kind})", f"({l}, {m}) + b ({m},)", act, f"{l * m + m:,}", _bytes((l * m + m) * item))
            )
        widths = [max(len(r[col]) for r in rows) for col in range(len(rows[0]))]
        line = "  ".join("─" * width for width in widths)
        out = [title or "MLP", line, "  ".join(h.ljust(width) for h, width in zip(rows[0], widths)), line]
        out += [
            "  ".join(v.ljust(width) if col < 3 else v.rjust(width) for col, (v, width) in enumerate(zip(r, widths)))
            for r in rows[1:]
        ]
        out += [
            line,
            f"Input: {self.layers[0]} features   Loss: {self.loss}   dtype: {np.dtype(self.dtype).name}",
            f"Total params: {self.n_params:,} ({_bytes(self.n_params * item)})",
        ]
        print("\n".join(out), file=sys.stdout if file is None else file)

    def to_onnx(self, path=None):
        """The forward pass as an ONNX model (float32; ``pip install "nbmlp[onnx]"``), saved to
        ``path`` when given; see ``nbmlp.onnx_export``. Returns the ``onnx.ModelProto``."""
        from .onnx_export import to_onnx

        return to_onnx(self, path)

    def __repr__(self):
        drop = f", dropout={self.dropout}" if any(self.dropout) else ""
        return (
            f"MLP({self.layers}, activation={self.activations[:-1]}, output={self.activations[-1]!r}, "
            f"loss={self.loss!r}, dtype={np.dtype(self.dtype).name!r}{drop})"
        )


def _bytes(n):
    """A byte count as Keras writes it: ``812 B``, ``9.41 KB``, ``1.20 MB``."""
    for unit, size in (("GB", 1 << 30), ("MB", 1 << 20), ("KB", 1 << 10)):
        if n >= size:
            return f"{n / size:.2f} {unit}"
    return f"{n} B"
