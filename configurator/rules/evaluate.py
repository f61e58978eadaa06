"""Meaning of the rule language: evaluate a checked expression on values.

Values: enum/set codes are ``str``, ints ``int``, bools ``bool``, a set
attribute's value is a ``frozenset`` of codes; arithmetic is exact
(``Fraction``), so ``width / 3 * 3 == width`` holds.

>>> from configurator.rules.ast import Binary, Name, Int
>>> evaluate(Binary(">=", Name("gears"), Int(9)), {"gears": 11})
True
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from decimal import Decimal
from fractions import Fraction
from typing import Any

from configurator.rules.ast import (
    Binary,
    Bool,
    Call,
    Dec,
    Expr,
    In,
    Int,
    Name,
    Range,
    Str,
    Unary,
)

EvalValue = Any  # bool | int | Fraction | str | frozenset[str]


class EvaluationError(ValueError):
    """An expression could not be evaluated (division by zero, wrong type)."""


def references(expr: Expr | Range) -> frozenset[str]:
    """Attribute codes an expression reads.

    >>> sorted(references(Binary("and", Name("a"), Binary("==", Name("b"), Str("x")))))
    ['a', 'b']
    """
    if type(expr) is Name:
        return frozenset((expr.id,))
    found: set[str] = set()
    stack: list[Expr | Range] = [expr]
    while stack:  # one walk into one set (rules of large products are read many times)
        node = stack.pop()
        kind = type(node)
        if kind is Name:
            found.add(node.id)  # type: ignore[union-attr]
        elif kind is Binary:
            stack.append(node.left)  # type: ignore[union-attr]
            stack.append(node.right)  # type: ignore[union-attr]
        elif kind is Unary:
            stack.append(node.operand)  # type: ignore[union-attr]
        elif kind is Call:
            stack.extend(node.args)  # type: ignore[union-attr]
        elif kind is In:
            stack.append(node.operand)  # type: ignore[union-attr]
            stack.extend(node.items)  # type: ignore[union-attr]
        elif isinstance(node, Name | Unary | Binary | Call | In):  # a subclass: the general way
            found |= _references_of(node)
    return frozenset(found)


def _references_of(expr: Expr | Range) -> frozenset[str]:
    if isinstance(expr, Name):
        return frozenset({expr.id})
    if isinstance(expr, Unary):
        return references(expr.operand)
    if isinstance(expr, Binary):
        return references(expr.left) | references(expr.right)
    if isinstance(expr, In):
        out = references(expr.operand)
        for item in expr.items:
            out |= references(item)
        return out
    if isinstance(expr, Call):
        out = frozenset[str]()
        for arg in expr.args:
            out |= references(arg)
        return out
    return frozenset()


def _num(v: EvalValue) -> Fraction:
    if isinstance(v, bool):
        return Fraction(int(v))
    if isinstance(v, int | Fraction):
        return Fraction(v)
    raise EvaluationError(f"expected a number, got {v!r}")


def _truth(v: EvalValue) -> bool:
    if isinstance(v, bool):
        return v
    raise EvaluationError(f"expected true or false, got {v!r}")


def _norm(v: EvalValue) -> EvalValue:
    """Make ints and integral fractions compare equal and hash alike."""
    if isinstance(v, Fraction) and v.denominator == 1:
        return int(v)
    return v


def evaluate(expr: Expr, env: Mapping[str, EvalValue]) -> EvalValue:
    """Evaluate ``expr`` with attribute values from ``env``.

    Raises :class:`EvaluationError` on a type error or division by zero and
    ``KeyError`` for an attribute missing from ``env``.
    """
    if isinstance(expr, Name):
        value = env[expr.id]
        # a decimal attribute's value: exact, as a fraction like every other number
        return _norm(Fraction(value)) if isinstance(value, Decimal) else value
    if isinstance(expr, Bool):
        return expr.value
    if isinstance(expr, Int):
        return expr.value
    if isinstance(expr, Dec):
        return Fraction(Decimal(expr.text))
    if isinstance(expr, Str):
        return expr.value
    if isinstance(expr, Unary):
        v = evaluate(expr.operand, env)
        return (not _truth(v)) if expr.op == "not" else -_num(v)
    if isinstance(expr, Binary):
        return _binary(expr, env)
    if isinstance(expr, In):
        v = _norm(evaluate(expr.operand, env))
        found = False
        for item in expr.items:
            if isinstance(item, Range):
                if not isinstance(v, str | frozenset) and item.low <= _num(v) <= item.high:
                    found = True
                    break
            elif _norm(evaluate(item, env)) == v:
                found = True
                break
        return found != expr.negated
    if isinstance(expr, Call):
        return _call(expr, env)
    raise EvaluationError(f"cannot evaluate {expr!r}")


_LOGIC = frozenset({"and", "or", "->", "<->"})


def _logic(op: str, expr: Binary, env: Mapping[str, EvalValue]) -> bool:
    left = _truth(evaluate(expr.left, env))
    # "and", "or" and "->" short-circuit: the right side may be undefined (x / 0) when not needed
    if op == "and":
        return left and _truth(evaluate(expr.right, env))
    if op == "or":
        return left or _truth(evaluate(expr.right, env))
    if op == "->":
        return (not left) or _truth(evaluate(expr.right, env))
    return left == _truth(evaluate(expr.right, env))


def _binary(expr: Binary, env: Mapping[str, EvalValue]) -> EvalValue:
    op = expr.op
    if op in _LOGIC:
        return _logic(op, expr, env)
    left = evaluate(expr.left, env)
    right = evaluate(expr.right, env)
    if op == "==":
        return _norm(left) == _norm(right)
    if op == "!=":
        return _norm(left) != _norm(right)
    a, b = _num(left), _num(right)
    if op == "<":
        return a < b
    if op == "<=":
        return a <= b
    if op == ">":
        return a > b
    if op == ">=":
        return a >= b
    return _arithmetic(op, a, b)


def _arithmetic(op: str, a: Fraction, b: Fraction) -> EvalValue:
    if op == "+":
        return _norm(a + b)
    if op == "-":
        return _norm(a - b)
    if op == "*":
        return _norm(a * b)
    if op == "/":
        if b == 0:
            raise EvaluationError("division by zero")
        return _norm(a / b)
    raise EvaluationError(f"unknown operator {op!r}")


def _call(expr: Call, env: Mapping[str, EvalValue]) -> EvalValue:
    f = expr.func
    if f == "if":
        cond, a, b = expr.args
        return evaluate(a, env) if _truth(evaluate(cond, env)) else evaluate(b, env)
    if f == "lookup" and expr.args and isinstance(expr.args[0], Str):
        # a key the lookup table does not list (configurator.rules.lookup)
        from configurator.rules.lookup import missing_row

        raise missing_row(expr.args[0].value, [evaluate(a, env) for a in expr.args[1:]])
    args = [evaluate(a, env) for a in expr.args]
    if f == "count":
        s = args[0]
        if not isinstance(s, frozenset):
            raise EvaluationError("count() takes a set attribute")
        return len(s)
    if f == "has":
        s = args[0]
        if not isinstance(s, frozenset):
            raise EvaluationError("has() takes a set attribute")
        return args[1] in s
    nums = [_num(a) for a in args]
    if f == "min":
        return _norm(min(nums))
    if f == "max":
        return _norm(max(nums))
    if f == "abs":
        return _norm(abs(nums[0]))
    if f == "ceil":
        return math.ceil(nums[0])
    if f == "floor":
        return math.floor(nums[0])
    if f == "round":
        return round(nums[0])
    raise EvaluationError(f"unknown function {f!r}")
