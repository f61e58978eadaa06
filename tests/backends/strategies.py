"""Hypothesis strategies for random small models, restrictions and weights.

Models have 2-7 variables whose domains hold 1-4 values of one kind each
(value codes, ints, exact decimals or bools), and 0-6 constraints over 1-3 variables given
either as random allowed-tuple sets or as random rule-language expressions
built from the AST and given meaning by ``configurator.rules.evaluate``.
"""

from __future__ import annotations

import hashlib
import itertools
from collections.abc import Callable, Sequence
from decimal import Decimal
from fractions import Fraction
from typing import Any

from hypothesis import strategies as st

from catalog.snapshot import Value
from configurator.model import Constraint, Model, Variable
from configurator.rules.ast import Binary, Call, Dec, Expr, In, Int, Name, Range, Str, Unary
from configurator.rules.evaluate import evaluate, references

CODES = ("a", "b", "c", "d", "700c", "XL-2")
DECIMALS = tuple(Decimal(v) for v in ("-1.5", "0.0", "0.5", "1.0", "2.5", "7.25"))


@st.composite
def domains(draw: st.DrawFn, max_size: int = 4) -> tuple[Value, ...]:
    kind = draw(st.sampled_from(["str", "int", "bool", "dec"]))
    if kind == "dec":
        decimals = st.sampled_from(DECIMALS)
        return tuple(sorted(draw(st.lists(decimals, min_size=1, max_size=max_size, unique=True))))
    if kind == "bool":
        return tuple(draw(st.sampled_from([(False, True), (False,), (True,), (True, False)])))
    if kind == "str":
        values: list[Any] = draw(st.lists(st.sampled_from(CODES), min_size=1, max_size=max_size, unique=True))
        return tuple(values)
    ints = draw(st.lists(st.integers(-4, 12), min_size=1, max_size=max_size, unique=True))
    return tuple(sorted(ints))


def _kind(domain: Sequence[Value]) -> str:
    first = domain[0]
    if isinstance(first, Decimal):
        return "dec"
    return "bool" if isinstance(first, bool) else "int" if isinstance(first, int) else "str"


@st.composite
def _atom(draw: st.DrawFn, scope: Sequence[Variable]) -> Expr:
    """A Boolean expression reading one or two of ``scope``'s variables."""
    var = draw(st.sampled_from(scope))
    kind = _kind(var.domain)
    name = Name(var.name)
    if kind == "bool":
        return name if draw(st.booleans()) else Unary("not", name)
    if kind == "str":
        codes = st.sampled_from(CODES)
        if draw(st.booleans()):
            return Binary(draw(st.sampled_from(["==", "!="])), name, Str(draw(codes)))
        items = tuple(Str(c) for c in draw(st.lists(codes, min_size=1, max_size=3, unique=True)))
        return In(name, items, negated=draw(st.booleans()))
    if kind == "dec":
        literal = draw(st.sampled_from(["0.5", "1.0", "2.25", "7.25"]))
        scaled: Expr = Binary("*", name, Int(draw(st.integers(1, 3)))) if draw(st.booleans()) else name
        if draw(st.booleans()):
            return In(name, (Dec(literal), Dec("2.5")), negated=draw(st.booleans()))
        return Binary(draw(st.sampled_from(["==", "!=", "<", "<=", ">", ">="])), scaled, Dec(literal))
    ints = [v for v in scope if _kind(v.domain) == "int"]
    shape = draw(st.sampled_from(["compare", "in", "sum", "call"]))
    if shape == "in":
        low = draw(st.integers(-4, 12))
        items2: tuple[Expr | Range, ...] = (
            Range(low, low + draw(st.integers(0, 5))),
            Int(draw(st.integers(-4, 12))),
        )
        return In(name, items2, negated=draw(st.booleans()))
    left: Expr = name
    if shape == "sum":
        other = Name(draw(st.sampled_from(ints)).name)
        op = draw(st.sampled_from(["+", "-", "*", "/"]))
        # Exact division by a non-zero constant keeps the expression total.
        left = Binary("/", name, Int(draw(st.integers(1, 3)))) if op == "/" else Binary(op, name, other)
    elif shape == "call":
        func = draw(st.sampled_from(["abs", "min", "max", "if"]))
        if func == "abs":
            left = Call("abs", (Binary("-", name, Int(draw(st.integers(0, 8)))),))
        elif func == "if":
            cond = Binary(">", name, Int(draw(st.integers(-4, 12))))
            left = Call("if", (cond, name, Int(draw(st.integers(-4, 12)))))
        else:
            left = Call(func, (name, Name(draw(st.sampled_from(ints)).name)))
    op = draw(st.sampled_from(["==", "!=", "<", "<=", ">", ">="]))
    return Binary(op, left, Int(draw(st.integers(-4, 14))))


@st.composite
def expressions(draw: st.DrawFn, scope: Sequence[Variable], depth: int = 2) -> Expr:
    """A random Boolean rule expression over ``scope``."""
    if depth == 0 or draw(st.integers(0, 2)) == 0:
        return draw(_atom(scope))
    op = draw(st.sampled_from(["and", "or", "->", "<->", "not"]))
    left = draw(expressions(scope, depth - 1))
    if op == "not":
        return Unary("not", left)
    return Binary(op, left, draw(expressions(scope, depth - 1)))


def expression_predicate(expr: Expr, scope: Sequence[str]) -> Callable[..., bool]:
    """The IR predicate of a rule expression: its value on the scope's values."""

    def holds(*values: Value) -> bool:
        result = evaluate(expr, dict(zip(scope, values, strict=True)))
        if not isinstance(result, bool):
            raise TypeError(f"rule expression is not a condition: {expr!r}")
        return result

    return holds


def table_predicate(allowed: frozenset[tuple[Value, ...]]) -> Callable[..., bool]:
    def holds(*values: Value) -> bool:
        return values in allowed

    return holds


@st.composite
def constraints(draw: st.DrawFn, variables: Sequence[Variable], number: int) -> tuple[Constraint, str]:
    """A random constraint and a text telling what its predicate means."""
    scope = draw(
        st.lists(st.sampled_from(variables), min_size=1, max_size=min(3, len(variables)), unique=True)
    )
    rule_id = f"r{number}"
    if draw(st.booleans()):
        product = list(itertools.product(*(v.domain for v in scope)))
        allowed = frozenset(draw(st.lists(st.sampled_from(product), max_size=len(product), unique=True)))
        names = tuple(v.name for v in scope)
        # Half the tables also carry `allowed`, so both ways of reading a table are exercised.
        given = allowed if draw(st.booleans()) else None
        c = Constraint(rule_id, names, table_predicate(allowed), allowed=given)
        return c, f"{rule_id}{names}{given is not None}:{sorted(map(repr, allowed))}"
    expr = draw(expressions(scope))
    read = references(expr)
    # The scope is what the expression reads (possibly nothing: a constant rule).
    names = tuple(v.name for v in scope if v.name in read)
    return Constraint(rule_id, names, expression_predicate(expr, names)), f"{rule_id}{names}:{expr!r}"


def model_key(variables: Sequence[Variable], described: Sequence[tuple[Constraint, str]]) -> str:
    """A key that differs whenever the content differs: backends may cache compiled models by key."""
    text = repr(tuple(variables)) + "|".join(d for _, d in described)
    return "random-" + hashlib.sha256(text.encode()).hexdigest()[:16]


@st.composite
def models(draw: st.DrawFn, min_vars: int = 2, max_vars: int = 7, max_domain: int = 4) -> Model:
    n = draw(st.integers(min_vars, max_vars))
    variables = []
    for i in range(n):
        # Some names look like set-element variables: names are opaque to backends.
        name = f"s{i}[e]" if draw(st.integers(0, 4)) == 0 else f"v{i}"
        variables.append(Variable(name, draw(domains(max_domain)), name.split("[")[0]))
    k = draw(st.integers(0, 6))
    described = [draw(constraints(variables, j)) for j in range(k)]
    return Model(model_key(variables, described), tuple(variables), tuple(c for c, _ in described))


@st.composite
def restrictions(draw: st.DrawFn, model: Model) -> dict[str, frozenset[Value]]:
    out: dict[str, frozenset[Value]] = {}
    for var in model.variables:
        if draw(st.integers(0, 3)) == 0:
            kept = draw(st.lists(st.sampled_from(var.domain), max_size=len(var.domain), unique=True))
            extra: list[Value] = ["zz"] if draw(st.integers(0, 5)) == 0 else []
            out[var.name] = frozenset([*kept, *extra])
    return out


@st.composite
def weights(draw: st.DrawFn, model: Model) -> dict[str, dict[Value, Fraction]]:
    out: dict[str, dict[Value, Fraction]] = {}
    fractions = st.builds(Fraction, st.integers(-20, 20), st.integers(1, 4))
    for var in model.variables:
        if draw(st.booleans()):
            chosen = draw(st.lists(st.sampled_from(var.domain), max_size=len(var.domain), unique=True))
            out[var.name] = {value: draw(fractions) for value in chosen}
    return out
