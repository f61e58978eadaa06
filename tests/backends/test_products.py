"""Random catalog products through ``build_model``: backends agree, and the model means the rules.

Products have 2-4 attributes (enum, bool, int, decimal, set), sometimes a
derived attribute (a formula over the others, read by the rules in its place),
text rules printed from random checked ASTs, and allow/forbid tables with
value, range, list and ``*`` cells. Besides cross-backend agreement, the brute-force solutions must be
exactly the configurations that satisfy every rule when the rules are
evaluated directly on attribute values (sets as frozensets), independently of
how ``build_model`` encodes them.
"""

from __future__ import annotations

import hashlib
import itertools
from collections.abc import Iterator, Sequence
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from catalog.snapshot import Attribute, AttributeKind, Choice, Derivation, Label, Product, Rule, Value
from configurator.backends.brute import BruteBackend
from configurator.backends.select import make_backend
from configurator.build import build_model
from configurator.model import Model, element_var
from configurator.rules import evaluate, to_text
from configurator.rules.ast import Binary, Call, Dec, Expr, In, Int, Name, Range, Str, Unary

from .strategies import restrictions, weights
from .test_differential import BACKENDS

CODES = ("red", "blue", "green", "700c", "XL-2")
PRODUCTS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def attributes(draw: st.DrawFn, code: str) -> Attribute:
    kind = draw(st.sampled_from(list(AttributeKind)))
    label = Label(code)
    if kind is AttributeKind.BOOL:
        return Attribute(code, kind, label)
    if kind is AttributeKind.INT:
        low = draw(st.integers(-2, 5))
        step = draw(st.integers(1, 3))
        return Attribute(
            code, kind, label, minimum=low, maximum=low + step * draw(st.integers(0, 3)), step=step
        )
    if kind is AttributeKind.DECIMAL:
        # scaled integers: places 1 -> -1.5, -1.0, ... in steps of 0.5 (or 0.25 with places 2)
        places = draw(st.integers(1, 2))
        step = 5 * 10 ** (places - 1) // draw(st.sampled_from([1, 2]))
        low = draw(st.integers(-3, 4)) * step
        return Attribute(
            code,
            kind,
            label,
            minimum=low,
            maximum=low + step * draw(st.integers(0, 3)),
            step=step,
            places=places,
        )
    choices = tuple(
        Choice(c, Label(c))
        for c in draw(st.lists(st.sampled_from(CODES), min_size=1, max_size=3, unique=True))
    )
    if kind is AttributeKind.ENUM:
        return Attribute(code, kind, label, choices=choices)
    low = draw(st.integers(0, 1))
    high = draw(st.one_of(st.none(), st.integers(max(low, 1), len(choices))))
    return Attribute(code, kind, label, choices=choices, min_count=low, max_count=high)


@st.composite
def conditions(draw: st.DrawFn, attrs: Sequence[Attribute], depth: int = 2) -> Expr:
    if depth > 0 and draw(st.integers(0, 2)) > 0:
        op = draw(st.sampled_from(["and", "or", "->", "<->", "not"]))
        left = draw(conditions(attrs, depth - 1))
        if op == "not":
            return Unary("not", left)
        return Binary(op, left, draw(conditions(attrs, depth - 1)))
    a = draw(st.sampled_from(attrs))
    name = Name(a.code)
    if a.kind is AttributeKind.BOOL:
        return name
    if a.kind is AttributeKind.ENUM:
        codes = [c.code for c in a.choices]
        if draw(st.booleans()):
            return Binary(draw(st.sampled_from(["==", "!="])), name, Str(draw(st.sampled_from(codes))))
        picked = draw(st.lists(st.sampled_from(codes), min_size=1, max_size=len(codes), unique=True))
        return In(name, tuple(Str(c) for c in picked), negated=draw(st.booleans()))
    if a.kind is AttributeKind.SET:
        if draw(st.booleans()):
            return Call("has", (name, Str(draw(st.sampled_from([c.code for c in a.choices])))))
        return Binary(
            draw(st.sampled_from(["<=", ">=", "=="])), Call("count", (name,)), Int(draw(st.integers(0, 3)))
        )
    if a.kind is AttributeKind.DECIMAL:
        values = [str(v) for v in a.domain()]
        if draw(st.booleans()):
            picked = draw(st.lists(st.sampled_from(values), min_size=1, max_size=len(values), unique=True))
            return In(name, tuple(_dec(v) for v in picked), negated=draw(st.booleans()))
        scaled: Expr = Binary("*", name, Int(draw(st.integers(1, 3)))) if draw(st.booleans()) else name
        bound = draw(st.sampled_from([*values, "0.25", "1.5"]))
        return Binary(draw(st.sampled_from(["<", "<=", ">", ">=", "==", "!="])), scaled, _dec(bound))
    if draw(st.booleans()):
        low = draw(st.integers(-2, 12))
        return In(name, (Range(low, low + draw(st.integers(0, 4))),), negated=draw(st.booleans()))
    ints = [b for b in attrs if b.kind is AttributeKind.INT]
    term: Expr = Binary("+", name, Name(draw(st.sampled_from(ints)).code)) if draw(st.booleans()) else name
    return Binary(
        draw(st.sampled_from(["<", "<=", ">", ">=", "==", "!="])), term, Int(draw(st.integers(-3, 15)))
    )


def _dec(text: str) -> Expr:
    """A decimal literal (negative ones as a negation, as the parser reads them)."""
    return Unary("-", Dec(text[1:])) if text.startswith("-") else Dec(text)


@st.composite
def derived(draw: st.DrawFn, attrs: Sequence[Attribute]) -> tuple[Attribute, Expr]:
    """An int attribute derived by ``if(condition, a, b)`` or ``x + k`` over an int attribute."""
    ints = [a for a in attrs if a.kind is AttributeKind.INT]
    if ints and draw(st.booleans()):
        source = draw(st.sampled_from(ints))
        k = draw(st.integers(-2, 2))
        assert source.minimum is not None and source.maximum is not None
        expr: Expr = Binary("+", Name(source.code), Int(k))
        low, high = source.minimum + k, source.maximum + k
    else:
        a, b = draw(st.integers(0, 4)), draw(st.integers(0, 4))
        expr = Call("if", (draw(conditions(attrs, 1)), Int(a), Int(b)))
        low, high = min(a, b), max(a, b)
    formula = Derivation(formula=to_text(expr))
    return Attribute("d0", AttributeKind.INT, Label("d0"), minimum=low, maximum=high, derived=formula), expr


@st.composite
def cells(draw: st.DrawFn, a: Attribute) -> Any:
    domain = a.domain()
    shape = draw(st.sampled_from(["value", "list", "any", "range"]))
    if shape == "any":
        return "*"
    if shape == "range" and a.kind is AttributeKind.INT:
        # Ranges must stay inside the attribute's minimum..maximum.
        low = draw(st.sampled_from(domain))
        high = draw(
            st.sampled_from([v for v in domain if isinstance(v, int) and isinstance(low, int) and v >= low])
        )
        return f"{low}..{high}"
    if shape == "list":
        return tuple(draw(st.lists(st.sampled_from(domain), min_size=1, max_size=len(domain), unique=True)))
    return draw(st.sampled_from(domain))


@st.composite
def products(draw: st.DrawFn) -> tuple[Product, dict[str, Expr]]:
    """A product and, per text rule id, the checked expression its text was printed from."""
    attrs = tuple(draw(attributes(f"a{i}")) for i in range(draw(st.integers(2, 4))))
    rules: list[Rule] = []
    exprs: dict[str, Expr] = {}
    extra: tuple[Attribute, ...] = ()
    if draw(st.integers(0, 2)) == 0:
        attribute, definition = draw(derived(attrs))
        extra = (attribute,)
        exprs["d0"] = definition  # how the oracle computes it: directly, not through the rewrite
    for i in range(draw(st.integers(0, 4))):
        rule_id = f"rule-{i}"
        single = [a for a in attrs if a.kind is not AttributeKind.SET]
        table = draw(st.booleans())
        if single and table:
            columns = draw(st.lists(st.sampled_from(single), min_size=1, max_size=2, unique=True))
            rows = tuple(tuple(draw(cells(a)) for a in columns) for _ in range(draw(st.integers(0, 3))))
            rules.append(
                Rule(
                    rule_id,
                    Label(rule_id),
                    columns=tuple(a.code for a in columns),
                    rows=rows,
                    allow=draw(st.booleans()),
                )
            )
        else:
            expr = draw(conditions((*attrs, *extra)))
            exprs[rule_id] = expr
            rules.append(Rule(rule_id, Label(rule_id), text=to_text(expr)))
    product = Product("random", Label("Random"), Decimal("0"), attrs, rules=tuple(rules), derived=extra)
    return product, exprs


def _cell_holds(cell: Any, value: Value) -> bool:
    if cell == "*":
        return True
    if isinstance(cell, tuple):
        return any(type(c) is type(value) and c == value for c in cell)
    if isinstance(cell, str) and ".." in cell and isinstance(value, int) and not isinstance(value, bool):
        low, high = cell.split("..")
        return int(low) <= value <= int(high)
    return type(cell) is type(value) and cell == value


def _configurations(attrs: Sequence[Attribute]) -> Iterator[dict[str, Any]]:
    """Every attribute-level configuration: single values, and every subset for sets."""
    options: list[list[Any]] = []
    for a in attrs:
        if a.kind is AttributeKind.SET:
            codes = [c.code for c in a.choices]
            options.append(
                [frozenset(s) for r in range(len(codes) + 1) for s in itertools.combinations(codes, r)]
            )
        else:
            options.append(list(a.domain()))
    for combo in itertools.product(*options):
        yield {a.code: v for a, v in zip(attrs, combo, strict=True)}


def _valid(product: Product, exprs: dict[str, Expr], config: dict[str, Any]) -> bool:
    if product.derived:
        config = {**config, "d0": evaluate(exprs["d0"], config)}
    for a in product.attributes:
        if a.kind is AttributeKind.SET:
            high = len(a.choices) if a.max_count is None else a.max_count
            if not a.min_count <= len(config[a.code]) <= high:
                return False
    for rule in product.rules:
        if rule.text is not None:
            if evaluate(exprs[rule.id], config) is not True:
                return False
            continue
        values = [config[c] for c in rule.columns]
        hit = any(all(_cell_holds(c, v) for c, v in zip(row, values, strict=True)) for row in rule.rows)
        if hit != rule.allow:
            return False
    return True


def _flatten(product: Product, config: dict[str, Any]) -> dict[str, Value]:
    """An attribute-level configuration as solver variable values."""
    out: dict[str, Value] = {}
    for a in product.attributes:
        if a.kind is AttributeKind.SET:
            for c in a.choices:
                out[element_var(a.code, c.code)] = c.code in config[a.code]
        else:
            out[a.code] = config[a.code]
    return out


def _model(product: Product) -> Model:
    return build_model(
        product, key="random-product-" + hashlib.sha256(repr(product).encode()).hexdigest()[:16]
    )


def _canonical(solution: dict[str, Value]) -> tuple[tuple[str, str], ...]:
    # Type-aware: True and 1 must not be confused when comparing configurations.
    return tuple(sorted((k, repr(v)) for k, v in solution.items()))


@PRODUCTS
@given(case=products())
def test_built_model_solutions_are_exactly_the_configurations_satisfying_every_rule(
    case: tuple[Product, dict[str, Expr]],
) -> None:
    product, exprs = case
    model = _model(product)
    expected = {
        _canonical(_flatten(product, config))
        for config in _configurations(product.attributes)
        if _valid(product, exprs, config)
    }
    assert {_canonical(s) for s in BruteBackend(model).solutions({})} == expected


@pytest.mark.parametrize("name", BACKENDS)
@PRODUCTS
@given(data=st.data())
def test_backends_agree_on_built_products(name: str, data: st.DataObject) -> None:
    product, _ = data.draw(products())
    model = _model(product)
    restrict = data.draw(restrictions(model))
    w = data.draw(weights(model))
    brute = BruteBackend(model)
    other = make_backend(model, prefer=name)
    assert other.propagate(restrict) == brute.propagate(restrict)
    assert other.count(restrict) == brute.count(restrict)
    assert other.solve(restrict, w) == brute.solve(restrict, w)
