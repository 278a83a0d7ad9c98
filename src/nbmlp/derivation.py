"""The steps of the backpropagation derivation and the kernels that compute them.

``STEPS`` is the one table that both ``nbmlp.explain`` and the generated page
``docs/derivation.md`` (``scripts/make_docs.py``) read, so the two cannot disagree. Each step
names its formulas, in the notation of the derivation, and the compiled functions that compute
them; their loops are read from the functions' own Python source (``kernel.py_func``), never
copied by hand.
"""

import ast
import importlib
import inspect
import os
import pkgutil
import re
import sys
import textwrap
from dataclasses import dataclass

import nbmlp.kernels


@dataclass(frozen=True)
class Step:
    """One step of the derivation.

    ``kernels`` holds names relative to ``nbmlp.kernels``: ``"dense.dense_forward"`` for one
    compiled function, ``"optim.*"`` for every compiled function of a module (in source order).
    """

    name: str
    title: str
    formulas: str
    text: str
    kernels: tuple


STEPS = (
    Step(
        "forward",
        "Forward propagation",
        """\
u_j = Σ_{i=1..l} y_i w_ij + b_j        y_j = f(u_j)
u_k = Σ_{j=1..m} y_j w_jk + b_k        y_k = f(u_k)
GELU       f(u) = u Φ(u) = ½ u (1 + erf(u/√2))
gelu_tanh  f(u) = ½ u (1 + tanh(√(2/π) (u + 0.044715 u³)))
SiLU       f(u) = u σ(u) = u / (1 + e^(−u))""",
        "Each layer sums its weighted inputs and applies its activation f. One kernel serves "
        "every layer: `dense_forward` computes u_j from the outputs y_i of the layer below "
        "(the network's inputs, for the first layer), `activation_forward` applies f (identity, "
        "sigmoid, tanh, ReLU, leaky ReLU, GELU exact or in PyTorch's tanh approximation, SiLU, "
        "or softmax on the output), and `forward_pass` walks "
        "the layers from the input to the output. Training runs `dense_forward_tiles`, the same "
        "sum on vector registers: for each i, `u_s,j… += y_si · w_i,j…` for a tile of R samples s "
        "and 2 vectors of neurons j (W lanes each; R = 6 with 16 vector registers, 14 with "
        "AVX-512's 32: `tile_fma_rows` is that line for every sample of the tile), starting from "
        "the biases and applying f to the tile before moving on; w is packed in panels of neurons "
        "j, and the tile reads its R rows of y in place. A step of few samples reads w in place "
        "too (`dense_forward_serial`).",
        (
            "dense.dense_forward",
            "dense.dense_forward_tiles",
            "dense.dense_forward_serial",
            "activations.activation_forward",
            "activations.activation_block",
            "activations.softmax_rows",
            "passes.forward_pass",
        ),
    ),
    Step(
        "loss",
        "The error E",
        """\
squared error          E = ½ Σ_k (y_k − t_k)²
cross-entropy          E = −Σ_k t_k log y_k                                (softmax output)
binary cross-entropy   E = −Σ_k [t_k log y_k + (1 − t_k) log(1 − y_k)]     (sigmoid output)
Poisson (half deviance) E = Σ_k [t_k log(t_k / y_k) − t_k + y_k]          (output y_k = e^(u_k))
                       = Σ_k [t_k log t_k − t_k u_k − t_k + e^(u_k)]      (t log t = 0 at t = 0)
a batch of N samples   E = (1/N) Σ_s E_s""",
        "The error of one sample compares the outputs y_k with the targets t_k. The two "
        "cross-entropies are computed from u_k (log-sum-exp, and log(1 + e^(−|u|))) so that "
        "no log of a rounded-to-zero y is taken; so is the Poisson loss, from log y_k = u_k. "
        "A batch's E is the mean of its samples' errors.",
        ("losses.loss_forward", "passes.loss_sum"),
    ),
    Step(
        "output-gradients",
        "Output layer: weight and bias gradients",
        """\
∂w_jk = (∂E/∂u_k)(∂u_k/∂w_jk)         ∂u_k/∂w_jk = y_j   (u_k = Σ_j y_j w_jk + b_k)
δ_k   = ∂E/∂u_k = (∂E/∂y_k)(∂y_k/∂u_k)
∂w_jk = y_j δ_k
∂b_k  = δ_k                           (∂u_k/∂b_k = 1)
softmax + cross-entropy, sigmoid + binary cross-entropy:   δ_k = y_k − t_k
e^u + Poisson: ∂E/∂y_k = 1 − t_k/y_k, ∂y_k/∂u_k = y_k  →    δ_k = y_k − t_k""",
        "`output_delta` computes δ_k per sample: the loss derivative ∂E/∂y_k times the "
        "output activation's derivative ∂y_k/∂u_k, or y_k − t_k directly for the three matched "
        "pairs. The dense kernels are written once for any layer, with i the layer below and "
        "j the layer computed: for the output layer read i as j and j as k. They take the mean "
        "over the batch (`scale` = 1/N): ∂w_jk = (1/N) Σ_s y_sj δ_sk. Training runs "
        "`dense_backward_dw_tiles`: for each sample s, `∂w_i,j… += y_si · δ_s,j…` for a tile of R "
        "neurons i and 2 vectors of neurons j (`tile_fma_cols`: the R values y_si side by side).",
        ("losses.output_delta", "dense.dense_backward_dw", "dense.dense_backward_dw_tiles", "dense.dense_backward_db"),
    ),
    Step(
        "output-input-gradient",
        "Output layer: gradient of its input",
        """\
∂y_j = ∂E/∂y_j = Σ_{r=1..n} (∂E/∂u_r)(∂u_r/∂y_j)      ∂u_r/∂y_j = w_jr
∂y_j = Σ_{r=1..n} δ_r w_jr""",
        "One hidden neuron feeds every output neuron, so its gradient sums over them. In the "
        "kernel the layer below is indexed by i and the sum runs over r: ∂y_i = Σ_r δ_r w_ir, "
        "per sample. Training runs `dense_backward_dy_tiles`: for each r, "
        "`∂y_s,i… += δ_sr · w_i…,r` for a tile of R samples and 2 vectors of neurons i, on the "
        "columns of w packed side by side (wᵀ in panels) and the R rows of δ read in place.",
        ("dense.dense_backward_dy", "dense.dense_backward_dy_tiles"),
    ),
    Step(
        "hidden-gradients",
        "Hidden layer: weight and bias gradients",
        """\
δ_j   = ∂E/∂u_j = ∂y_j (∂y_j/∂u_j)    (∂y_j from the layer above; activation derivative)
∂w_ij = y_i δ_j                       (∂u_j/∂w_ij = y_i, as for the output layer)
∂b_j  = δ_j
GELU       ∂y/∂u = Φ(u) + u φ(u)                      φ(u) = e^(−u²/2) / √(2π)
gelu_tanh  ∂y/∂u = ½ (1 + τ) + ½ u (1 − τ²) c (1 + 3·0.044715 u²)    τ = tanh(c (u + 0.044715 u³)), c = √(2/π)
SiLU       ∂y/∂u = σ(u) (1 + u (1 − σ(u)))""",
        "`activation_backward` turns ∂y_j into δ_j with the derivative of the layer's "
        "activation, written with y where that is simpler (sigmoid y (1 − y), tanh 1 − y²), with "
        "u for ReLU, GELU and SiLU. "
        "Then the same dense kernels as for the output layer give ∂w_ij and ∂b_j.",
        (
            "activations.activation_backward",
            "activations.derivative_block",
            "dense.dense_backward_dw",
            "dense.dense_backward_db",
        ),
    ),
    Step(
        "deeper-layers",
        "Deeper networks: walking backwards",
        """\
∂y_i = Σ_{q=1..m} δ_q w_iq
then δ_i = ∂y_i (∂y_i/∂u_i), ∂w = y δ and ∂b = δ for the layer below, and so on to the input""",
        "With more hidden layers the same steps repeat, layer by layer, towards the input. "
        "`backward_layers` (the body of `backward_pass`) is that walk: the output δ_k first, then "
        "for every layer from the last to the first its ∂w and ∂b, and, below a hidden layer, ∂y "
        "and δ of the layer below.",
        ("passes.backward_layers", "dense.dense_backward_dy"),
    ),
    Step(
        "dropout",
        "Dropout (training only)",
        """\
m_j ∈ {0, 1}, m_j = 1 with probability 1 − p        M_j = m_j / (1 − p)
forward    y_j ← M_j y_j                 (inverted: E[M_j y_j] = y_j, so predict uses y_j as it is)
backward   ∂y_j ← M_j ∂y_j,  δ_j = ∂y_j f'(u_j) = M_j (∂y'_j f'(u_j))   (f' with the y_j before dropout)""",
        "With `dropout`, each hidden neuron's output is kept with probability 1 − p and scaled "
        "by 1/(1 − p), or set to 0, anew for every sample of every batch in `fit`; `forward` and "
        "`predict` never drop. `draw_masks` draws the multipliers M_j of a batch on one thread "
        "from nbmlp's own generator (the shuffle's splitmix64), so they depend on the seed only, "
        "not on the number of threads; `forward_layers` applies them after each layer's forward "
        "step (`dropout_forward`, which keeps the outputs before dropout), and `backward_layers` "
        "takes f′ with the outputs before dropout and scales ∂y and δ by M_j "
        "(`dropout_backward`). A dropped neuron has δ_j = 0, so neither its incoming weights "
        "nor its bias move for that sample. `trace` shows the mask of its pass.",
        ("epoch.draw_masks", "epoch.draw_mask", "dropout.*", "passes.forward_layers"),
    ),
    Step(
        "update",
        "Gradient descent: the update",
        """\
w ← w − η ∂E/∂w
b ← b − η ∂E/∂b
clipping (max_grad_norm c)   ‖∂θ‖ = √(Σ_p ∂θ_p²);  if ‖∂θ‖ > c: ∂θ ← ∂θ · c / ‖∂θ‖
Adam    t ← t + 1, m ← β₁ m + (1 − β₁) ∂θ, s ← β₂ s + (1 − β₂) ∂θ²,
        θ ← θ − η_t m / (√s + ε),  η_t = η √(1 − β₂ᵗ) / (1 − β₁ᵗ)
AdamW   θ ← (1 − η λ) θ, then Adam's step with ε_t = ε √(1 − β₂ᵗ)
        (= PyTorch's θ ← θ − η/(1 − β₁ᵗ) · m / (√s / √(1 − β₂ᵗ) + ε))
cosine  η_e = η₀ (e + 1) / W for the W warm-up epochs, then ½ η₀ (1 + cos(π (e − W) / (E − W)))""",
        "A positive partial derivative moves the weight down, a negative one up, by the step "
        "size η. Every weight and bias lives in one flat buffer θ, so the update is one loop "
        "over it. Before it, with `max_grad_norm`, the batch's gradient (the L2 penalty's "
        "included) is scaled down to the global norm c (`clip_gradient`, one thread, so the "
        "same for any thread count). Momentum, Nesterov, Adam and AdamW keep their state in "
        "flat buffers of the same layout. AdamW decays every weight and bias by 1 − η λ beside "
        "the Adam step, instead of adding λ w to the gradient. The learning rate η is set per "
        "epoch: `cosine` (with `warmup_epochs` W over `max_iter` E epochs) for every solver; "
        "`invscaling` and `adaptive` for SGD only, as in scikit-learn (Adam keeps η).",
        ("optim.*",),
    ),
    Step(
        "epoch",
        "One epoch of mini-batch training",
        """\
shuffle the samples
for each mini-batch of B samples:
    forward: u, y        error: E = (1/B) Σ_s E_s
    backward: δ, ∂w = (1/B) Σ_s y_s δ_s, ∂b = (1/B) Σ_s δ_s
    update: w ← w − η ∂w,  b ← b − η ∂b""",
        "`train_epoch_opt` runs a whole epoch in compiled code: it shuffles the sample order, "
        "copies each mini-batch into the work buffers, and runs the batch step `train_step` on "
        "it: the forward pass, the error, the backward pass and the update (plain SGD as above, "
        "or momentum, Nesterov, Adam, AdamW). The epoch over sparse inputs and the sharded step "
        "of `distributed` run the same step. `nbmlp.training` runs the epoch epoch after epoch.",
        ("epoch.train_epoch_opt", "step.train_step", "epoch.shuffle", "epoch.gather_rows"),
    ),
)

STEP_NAMES = tuple(step.name for step in STEPS)


# -- the compiled functions and their source ---------------------------------------------------
def kernel_modules():
    """Every module of ``nbmlp.kernels``, imported, in name order."""
    names = sorted(info.name for info in pkgutil.iter_modules(nbmlp.kernels.__path__))
    return [importlib.import_module(f"nbmlp.kernels.{name}") for name in names]


def module_kernels(module):
    """The compiled (``@njit``) functions defined in ``module``, in source order."""
    found = []
    for obj in vars(module).values():
        func = getattr(obj, "py_func", None)
        if inspect.isfunction(func) and func.__module__ == module.__name__:
            found.append(obj)
    return sorted(found, key=lambda k: k.py_func.__code__.co_firstlineno)


def all_kernels():
    """Every compiled function of every ``nbmlp.kernels`` module."""
    return [k for module in kernel_modules() for k in module_kernels(module)]


def step_kernels(step):
    """The compiled functions a step names, with ``module.*`` expanded."""
    found = []
    for ref in step.kernels:
        module_name, _, name = ref.partition(".")
        module = importlib.import_module(f"nbmlp.kernels.{module_name}")
        if name == "*":
            found.extend(module_kernels(module))
        else:
            kernel = getattr(module, name, None)
            if kernel is None or not hasattr(kernel, "py_func"):
                raise LookupError(
                    f"step {step.name!r} names {ref!r}, which is not a compiled function of nbmlp.kernels.{module_name}"
                )
            found.append(kernel)
    return found


def kernel_name(kernel):
    return kernel.py_func.__name__


def kernel_location(kernel):
    """(path relative to the directory holding the package, first line of the ``def``)."""
    func = kernel.py_func
    root = os.path.dirname(os.path.dirname(os.path.abspath(nbmlp.kernels.__file__)))
    path = os.path.relpath(inspect.getsourcefile(func), os.path.dirname(root))
    return path.replace(os.sep, "/"), _def_node(func)[1]


def _def_node(func):
    lines, first = inspect.getsourcelines(func)
    tree = ast.parse(textwrap.dedent("".join(lines)))
    node = tree.body[0]
    return node, first + node.lineno - 1, lines, first


def kernel_source(kernel):
    """The function's source without its decorator and docstring: the ``def`` line and the loops."""
    node, _, lines, _ = _def_node(kernel.py_func)
    body = node.body
    if (
        body
        and isinstance(body[0], ast.Expr)
        and isinstance(getattr(body[0], "value", None), ast.Constant)
        and isinstance(body[0].value.value, str)
    ):
        doc_start, doc_end = body[0].lineno, body[0].end_lineno
    else:
        doc_start = doc_end = None
    text = textwrap.dedent("".join(lines)).splitlines()
    keep = []
    for number, line in enumerate(text, start=1):
        if number < node.lineno:  # decorators
            continue
        if doc_start is not None and doc_start <= number <= doc_end:
            continue
        keep.append(line)
    return "\n".join(keep).rstrip() + "\n"


def docstring_sections(kernel):
    """(summary line, text of the ``Notes`` section or ``""``) of a compiled function's docstring."""
    doc = inspect.cleandoc(kernel.py_func.__doc__ or "")
    summary = doc.split("\n\n")[0].replace("\n", " ").strip()
    match = re.search(r"^Notes\n-+\n(.*?)(?=^\w[\w ]*\n-+\n|\Z)", doc, re.S | re.M)
    return summary, (match.group(1).strip() if match else "")


FORMULA_MARKS = ("=", "←")


# a symbol of the notation (docs/derivation.md): an indexed quantity (u_j, w_ij, y_s,j, perm_s), an
# array element (out[s]), a Greek letter of the derivation or of the update rules, or an operator
NOTATION_SYMBOL = re.compile(r"[A-Za-z]+_[A-Za-z0-9]{1,3}(?![A-Za-z])|\w\[[^\]]+\]|[∂δΣηθμβλσεα⌈⌊√·⊕≫]")


def has_formula(text):
    """Whether ``text`` states a formula: ``=`` or ``←`` with at least one symbol of the notation
    (``NOTATION_SYMBOL``), so that prose with an equals sign (``x = the rows``) is not one."""
    return any(mark in text for mark in FORMULA_MARKS) and NOTATION_SYMBOL.search(text) is not None


def uncommented_loops(kernel):
    """Line numbers (in the file) of outermost loops with no formula comment.

    A loop nest's comment is the line just above its outermost ``for``/``while`` (or a comment
    on that line itself), and it must state a formula (``has_formula``).
    """
    node, _, lines, first = _def_node(kernel.py_func)
    text = textwrap.dedent("".join(lines)).splitlines()
    missing = []

    def visit(n, inside_loop):
        for child in ast.iter_child_nodes(n):
            is_loop = isinstance(child, (ast.For, ast.While))
            if is_loop and not inside_loop:
                line = text[child.lineno - 1]
                above = text[child.lineno - 2].strip() if child.lineno >= 2 else ""
                comment = line.split("#", 1)[1] if "#" in line else (above[1:] if above.startswith("#") else "")
                if not has_formula(comment):
                    missing.append(first + child.lineno - 1)
            if not isinstance(child, (ast.FunctionDef, ast.Lambda)):
                visit(child, inside_loop or is_loop)

    visit(node, False)
    return missing


# -- explain -----------------------------------------------------------------------------------
def find_step(step):
    """The ``Step`` called ``step`` (or the only one whose name starts with it)."""
    if not isinstance(step, str):
        raise TypeError(f"step must be a step name (a string), got {step!r}")
    key = step.strip().lower().replace("_", "-")
    matches = [s for s in STEPS if s.name == key] or [s for s in STEPS if s.name.startswith(key)]
    if len(matches) != 1 or not key:
        what = "ambiguous" if key and len(matches) > 1 else "unknown"
        raise ValueError(f"step: {what} step {step!r}; choose one of {', '.join(STEP_NAMES)}")
    return matches[0]


_STYLES = {"title": "1", "formula": "36", "where": "2", "comment": "32"}


def _paint(text, style, color):
    return f"\033[{_STYLES[style]}m{text}\033[0m" if color else text


def explain_text(step=None, color=False):
    """The text that ``explain`` prints (``step=None``: every step)."""
    steps = STEPS if step is None else (find_step(step),)
    parts = []
    for st in steps:
        parts.append(_paint(f"{st.name}: {st.title}", "title", color))
        parts.append("")
        parts.extend("    " + _paint(line, "formula", color) for line in st.formulas.splitlines())
        parts.append("")
        parts.extend(textwrap.wrap(st.text, 92))
        for kernel in step_kernels(st):
            path, line = kernel_location(kernel)
            parts.append("")
            parts.append(_paint(f"  {kernel_name(kernel)}  ({path}:{line})", "where", color))
            for src in kernel_source(kernel).splitlines():
                shown = "    " + src
                parts.append(_paint(shown, "comment", color) if src.lstrip().startswith("#") else shown)
        parts.append("")
        parts.append("")
    return "\n".join(parts).rstrip() + "\n"


def use_color(stream):
    """Colour only on a terminal, and not when ``NO_COLOR`` is set (https://no-color.org)."""
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty()) and not os.environ.get("NO_COLOR")


def explain(step=None, file=None):
    """Print a step of the derivation (or every step): its formulas and the kernel loops.

    Parameters
    ----------
    step : str, optional
        One of ``STEP_NAMES`` (``forward``, ``loss``, ``output-gradients``,
        ``output-input-gradient``, ``hidden-gradients``, ``deeper-layers``, ``update``,
        ``epoch``) or a prefix of exactly one; default: every step, in the derivation's order.
    file : text stream, optional
        Where to print (default ``sys.stdout``); coloured only if it is a terminal and
        ``NO_COLOR`` is unset.

    Raises
    ------
    ValueError
        For an unknown step name; the message lists the valid ones.
    """
    stream = sys.stdout if file is None else file
    stream.write(explain_text(step, color=use_color(stream)))
