"""Declarative checks of constructor parameters, as scikit-learn's ``_parameter_constraints``.

An estimator lists, for each parameter, what it accepts (``_parameter_rules``)::

    _parameter_rules = {
        "alpha": [Interval(numbers.Real, 0)],
        "batch_size": ["auto", Interval(numbers.Integral, 1)],
        "max_grad_norm": [None, Interval(numbers.Real, 0, closed="neither")],
    }

and ``check_parameters(est, table)`` checks them in the table's order. A value is accepted as
it is when it matches one of the plain entries (``None`` is that value, a string that string,
a float such as ``np.inf`` that number, a class an instance of it); otherwise the entry's rule
(at most one per parameter, last in its list) decides, and raises ``TypeError`` or
``ValueError`` naming the parameter. A rule may return the value resolved (``hidden_layer_sizes``
as a list of ints); ``check_parameters`` returns the resolved values by name, and rules that
depend on another parameter read its resolved value from that dict (so the table's order is
the order of the checks). Nothing is changed on the estimator.

This is nbmlp's own small checker: scikit-learn's ``sklearn.utils._param_validation`` is
private, and its messages (``The 'alpha' parameter of MLPClassifier must be …``) are not the
ones nbmlp's users and tests know.
"""

import numbers

import numpy as np

from . import _validation as V
from ._validation import check_dropout


class Interval:
    """A number (``numbers.Real``) or an integer (``numbers.Integral``, never a bool) from ``low``
    up to ``high`` (None: unbounded); ``closed`` is "left", "right", "both" or "neither"."""

    def __init__(self, kind, low, high=None, *, closed="left"):
        self.kind, self.low, self.high, self.closed = kind, low, high, closed

    def check(self, value, name, resolved):
        V.check_number(
            value,
            name,
            low=self.low,
            low_open=self.closed in ("right", "neither"),
            integer=self.kind is numbers.Integral,
        )
        high_open = self.closed in ("left", "neither")
        if self.high is not None and (value >= self.high if high_open else value > self.high):
            left = "(" if self.closed in ("right", "neither") else "["
            raise ValueError(
                f"{name} must be in {left}{self.low}, {self.high}{')' if high_open else ']'}, got {value!r}"
            )
        return value


class Options:
    """One of a few strings (ValueError ``name must be one of a, b, got …``, or ``must be {text}``)."""

    def __init__(self, *options, text=None):
        self.options, self.text = options, text or f"one of {', '.join(options)}"

    def check(self, value, name, resolved):
        if not (isinstance(value, str) and value in self.options):
            raise ValueError(f"{name} must be {self.text}, got {value!r}")
        return value


class Boolean:
    """True or False (a Python or NumPy bool)."""

    def check(self, value, name, resolved):
        if not isinstance(value, (bool, np.bool_)):
            raise TypeError(f"{name} must be True or False, got {value!r}")
        return value


class Callables:
    """None or a list (any iterable) of callables; resolved to a list. None with
    ``solver="lbfgs"`` (checked after the solver): L-BFGS has no epochs to call them after."""

    def check(self, value, name, resolved):
        try:
            items = [] if value is None else list(value)
        except TypeError:
            items = None
        if items is None or not all(callable(item) for item in items):
            raise TypeError(f"{name} must be a list of callables, got {value!r}")
        if items and resolved.get("solver") == "lbfgs":
            raise ValueError(
                f"{name} are not available with solver='lbfgs' (they are called after each epoch of "
                f"the stochastic solvers; L-BFGS has none); use {name}=None or another solver"
            )
        return items


class Seed:
    """An int in [0, 2**32), as ``numpy.random.RandomState`` takes (None and a RandomState are
    listed beside it)."""

    def check(self, value, name, resolved):
        if isinstance(value, bool) or not isinstance(value, numbers.Integral):
            raise TypeError(f"{name} must be None, an int or a numpy RandomState, got {value!r}")
        if not 0 <= value < 2**32:
            raise ValueError(f"{name} must be in [0, 2**32), got {value!r}")
        return value


class FloatType:
    """``"float32"`` or ``"float64"`` (a name or a dtype); resolved to ``np.float32`` or ``np.float64``."""

    def check(self, value, name, resolved):
        return V.check_dtype(value)


# -- the rules of the estimators' network parameters --------------------------------------------
class HiddenSizes:
    """An int or a sequence of ints, each >= 1; resolved to a list of ints."""

    def check(self, value, name, resolved):
        sizes = [value] if isinstance(value, numbers.Integral) and not isinstance(value, bool) else value
        try:
            sizes = list(sizes)
        except TypeError:
            raise TypeError(f"{name} must be an int or a sequence of ints, got {sizes!r}") from None
        for n in sizes:
            if isinstance(n, bool) or not isinstance(n, numbers.Integral):
                raise TypeError(f"{name} must hold integers, got {value!r}")
            if n < 1:
                raise ValueError(f"{name} must be > 0, got {value!r}")
        return [int(n) for n in sizes]


class HiddenActivations:
    """A name of ``names`` (a dict: user's name → nbmlp's) for every hidden layer, or one name per
    hidden layer (``hidden_layer_sizes``, checked before); resolved to nbmlp's names."""

    def __init__(self, names):
        self.names = names

    def check(self, value, name, resolved):
        n_hidden = len(resolved["hidden_layer_sizes"])
        acts = [value] * n_hidden if isinstance(value, str) else value
        try:
            acts = list(acts)
        except TypeError:
            raise TypeError(f"{name} must be a name or a list of names, got {value!r}") from None
        if len(acts) != n_hidden:
            raise ValueError(f"{name}: {len(acts)} names for {n_hidden} hidden layers")
        for a in acts:
            if not isinstance(a, str) or a not in self.names:
                raise ValueError(f"{name}: unknown activation {a!r}; choose one of {', '.join(self.names)}")
        return [self.names[a] for a in acts]


class Dropout:
    """A rate in [0, 1), or one per hidden layer (``_validation.check_dropout``); none with
    ``solver="lbfgs"`` (checked before: a full-batch solver needs the same loss at every evaluation)."""

    def check(self, value, name, resolved):
        rates = check_dropout(value, len(resolved["hidden_layer_sizes"]), name)
        if any(rates) and resolved["solver"] == "lbfgs":
            raise ValueError(
                f"{name}={value!r} is not available with solver='lbfgs' (a full-batch "
                f"solver needs the same loss at every evaluation); use {name}=0.0"
            )
        return value


def check_parameters(est, table):
    """Check the estimator's parameters against ``table`` (name → list of accepted values and at
    most one rule, last); returns the values by name, as the rules resolved them."""
    resolved = {}
    for name, plains, rule in _steps(table):
        value = getattr(est, name)
        resolved[name] = value
        if plains and any(_matches(value, plain) for plain in plains):
            continue
        if rule is None:
            raise ValueError(f"{name} must be one of {', '.join(map(repr, plains))}, got {value!r}")
        resolved[name] = rule.check(value, name, resolved)
    return resolved


_STEPS = {}  # id(table) → (table, its steps): each table is split once


def _steps(table):
    """``(name, plain entries, rule or None)`` for each parameter of ``table``, in its order."""
    cached = _STEPS.get(id(table))
    if cached is None or cached[0] is not table:
        steps = [
            (
                name,
                tuple(a for a in accepted if not hasattr(a, "check")),
                accepted[-1] if hasattr(accepted[-1], "check") else None,
            )
            for name, accepted in table.items()
        ]
        cached = _STEPS[id(table)] = (table, steps)
    return cached[1]


def _matches(value, plain):
    """Whether ``value`` is the plain entry ``plain`` of a parameter's list (see the module's docstring)."""
    if plain is None:
        return value is None
    if isinstance(plain, str):
        return isinstance(value, str) and value == plain
    if isinstance(plain, type):
        return isinstance(value, plain)
    return isinstance(value, numbers.Real) and not isinstance(value, bool) and value == plain
