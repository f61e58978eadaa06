"""Compiled rule expressions (``configurator.fastexpr``) mean exactly what ``evaluate`` says."""

from __future__ import annotations

import itertools

from hypothesis import given, settings
from hypothesis import strategies as st

from configurator.fastexpr import positional
from configurator.model import Variable
from configurator.rules import EvaluationError, evaluate
from configurator.rules.ast import Binary, Call, Dec, Int, Name, Unary
from tests.backends.strategies import domains, expressions


def _outcome(f, *args):  # type: ignore[no-untyped-def]
    try:
        value = f(*args)
    except EvaluationError:
        return "error"
    return type(value).__name__, value


@st.composite
def _scoped(draw: st.DrawFn):  # type: ignore[no-untyped-def]
    n = draw(st.integers(1, 4))
    scope = [Variable(f"v{i}", draw(domains()), f"v{i}") for i in range(n)]
    extra = Binary("+", Call("if", (Name(scope[0].name), Int(2), Int(0))), Dec("0.5"))
    expr = draw(expressions(scope))
    if draw(st.booleans()):  # values of mixed kinds, type errors and non-integral sums too
        expr = Binary(draw(st.sampled_from(["==", "<", "or"])), Unary("-", extra) if draw(st.booleans()) else extra, expr)
    return scope, expr


@settings(max_examples=300, deadline=None)
@given(_scoped())
def test_compiled_expressions_agree_with_evaluate_on_every_combination(case) -> None:  # type: ignore[no-untyped-def]
    scope, expr = case
    names = [v.name for v in scope]
    compiled = positional(expr, names)
    for combo in itertools.product(*(v.domain for v in scope)):
        env = dict(zip(names, combo, strict=True))
        assert _outcome(compiled, combo) == _outcome(evaluate, expr, env), (expr, env)


def test_set_attributes_read_their_element_variables() -> None:
    expr = Binary(">=", Call("count", (Name("acc"),)), Int(2))
    f = positional(expr, ("acc__a", "acc__b"), {"acc": (("a", "b"), ("acc__a", "acc__b"))})
    assert [f(c) for c in itertools.product((False, True), repeat=2)] == [False, False, False, True]
    has = positional(Call("has", (Name("acc"), Name("x"))), ("x", "acc__a"), {"acc": (("a",), ("acc__a",))})
    assert has(("a", True)) is True and has(("a", False)) is False


def test_a_name_outside_the_scope_is_a_key_error() -> None:
    try:
        positional(Name("missing"), ("a",))
    except KeyError as exc:
        assert "missing" in str(exc)
    else:
        raise AssertionError("expected KeyError")


def test_forms_of_feature_models_agree_with_evaluate_on_values_of_every_kind() -> None:
    """The shortcuts for operands of known kinds (ints and bools: sums of if(f, 1, 0), truth values of
    variables, comparisons with constants) give evaluate's value or error on values of any kind."""
    from decimal import Decimal

    from configurator.rules.ast import Bool, In, Range, Str

    odd = (True, False, 0, 1, 2, Decimal("1"), Decimal("0.5"), "x", "y", frozenset({"a"}))
    forms = [
        Binary("<=", Binary("+", Call("if", (Name("a"), Int(1), Int(0))), Call("if", (Name("b"), Int(1), Int(0)))),
               Int(1)),
        Binary("==", Binary("+", Name("a"), Call("if", (Name("b"), Int(1), Int(0)))), Int(1)),
        Binary("and", Name("a"), Unary("not", Name("b"))),
        Binary("->", Name("a"), Binary("or", Name("b"), Bool(False))),
        Binary("<->", Name("a"), Binary("==", Name("b"), Str("x"))),
        Binary("!=", Name("a"), Int(1)),
        Binary("==", Name("a"), Name("b")),
        Binary("*", Call("if", (Name("a"), Int(2), Bool(True))), Call("if", (Name("b"), Bool(False), Int(3)))),
        Binary(">", Binary("-", Name("a"), Int(1)), Name("b")),
        Call("if", (Binary("<", Name("a"), Int(2)), Name("b"), Int(0))),
        In(Name("a"), (Int(1), Range(2, 3), Name("b"))),
        Unary("not", Binary(">=", Name("a"), Dec("0.5"))),
    ]
    for expr in forms:
        compiled = positional(expr, ("a", "b"))
        for combo in itertools.product(odd, repeat=2):
            env = {"a": combo[0], "b": combo[1]}
            assert _outcome(compiled, combo) == _outcome(evaluate, expr, env), (expr, env)
