"""Every compiled function in ``nbmlp.kernels`` states its formula: in its docstring's ``Notes``
section and in a comment on each loop nest. The functions are discovered, not listed."""

import pytest

from nbmlp import derivation as D

KERNELS = D.all_kernels()
IDS = [f"{k.py_func.__module__}.{D.kernel_name(k)}" for k in KERNELS]


def test_the_kernels_are_discovered():
    names = {D.kernel_name(k) for k in KERNELS}
    assert {
        "dense_forward",
        "dense_backward_dy",
        "dense_backward_dw",
        "dense_backward_db",
        "activation_forward",
        "activation_backward",
        "loss_forward",
        "output_delta",
        "sgd_update",
        "forward_pass",
        "backward_pass",
        "train_epoch_opt",
    } <= names
    assert {m.__name__.rsplit(".", 1)[1] for m in D.kernel_modules()} >= {
        "activations",
        "dense",
        "epoch",
        "losses",
        "optim",
        "passes",
    }


@pytest.mark.parametrize("kernel", KERNELS, ids=IDS)
def test_kernel_docstring_has_a_notes_section_with_its_formula(kernel):
    summary, notes = D.docstring_sections(kernel)
    assert summary, f"{D.kernel_name(kernel)} has no docstring"
    assert notes, f"{D.kernel_name(kernel)}: no numpydoc Notes section"
    assert D.has_formula(notes), f"{D.kernel_name(kernel)}: its Notes state no formula in the notation"


@pytest.mark.parametrize("kernel", KERNELS, ids=IDS)
def test_every_loop_nest_has_a_formula_comment(kernel):
    path, _ = D.kernel_location(kernel)
    missing = D.uncommented_loops(kernel)
    assert not missing, f"{D.kernel_name(kernel)}: loop nests without a formula comment at {path} lines {missing}"


class Fake:
    """Stands for a compiled function: the checks read only ``py_func``."""

    def __init__(self, func):
        self.py_func = func


def commented(y, u):
    """Example.

    Notes
    -----
    ``y_j = 2 u_j``.
    """
    # y_j = 2 u_j
    for j in range(u.shape[0]):
        for _ in range(1):
            y[j] = 2 * u[j]


def uncommented(y, u):
    """Example without notes."""
    for j in range(u.shape[0]):
        y[j] = 2 * u[j]
    # a comment that states no formula
    for j in range(u.shape[0]):
        y[j] += 1


def test_the_checks_catch_what_is_missing():
    assert D.uncommented_loops(Fake(commented)) == []
    assert D.docstring_sections(Fake(commented)) == ("Example.", "``y_j = 2 u_j``.")
    first = uncommented.__code__.co_firstlineno
    assert D.uncommented_loops(Fake(uncommented)) == [first + 2, first + 5]
    assert D.docstring_sections(Fake(uncommented))[1] == ""


def loop_under_prose(y, u):
    """Example whose loop comment has an equals sign but no symbol of the notation."""
    while False:  # nothing = nothing
        pass
    # y = the doubled inputs
    for j in range(u.shape[0]):
        y[j] = 2 * u[j]


def test_a_formula_needs_a_symbol_of_the_notation():
    for prose in ("nothing = nothing", "y = the doubled inputs", "wp = the panels of w and b", "a ← b"):
        assert not D.has_formula(prose), prose
    for formula in ("y_j = 2 u_j", "∂w_jk = y_j δ_k", "u_s,j = Σ_i y_s,i w_ij", "θ ← θ + μ v", "out[s] = src[perm[s]]"):
        assert D.has_formula(formula), formula
    assert D.uncommented_loops(Fake(loop_under_prose)) == [
        loop_under_prose.__code__.co_firstlineno + 2,
        loop_under_prose.__code__.co_firstlineno + 5,
    ]


def test_every_step_names_compiled_functions_that_exist():
    for step in D.STEPS:
        assert D.step_kernels(step), step.name
    with pytest.raises(LookupError, match="not a compiled function"):
        D.step_kernels(D.Step("x", "x", "a = b", "", ("dense.no_such_kernel",)))
