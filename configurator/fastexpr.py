"""Rule expressions turned into Python closures over a tuple of solver values.

``configurator.rules.evaluate`` walks the AST for every evaluation; tabulating a
rule (decomposition, backend encodings) evaluates the same expression over
every combination of its scope, hundreds of thousands of times on the largest
feature models. :func:`positional` does the dispatch once: each node becomes a
closure with exactly the semantics of :func:`~configurator.rules.evaluate`
(exact numbers, ``EvaluationError`` on a type error or a division by zero,
short-circuit ``and``/``or``/``->``/``if``), reading its variables by position.
Integer and Boolean operands skip the ``Fraction`` round trip: their sums,
differences, products and comparisons are the same integers and truth values.

>>> from configurator.rules.ast import Binary, Call, Int, Name
>>> f = positional(Binary(">=", Binary("+", Name("a"), Call("if", (Name("b"), Int(2), Int(0)))), Int(3)),
...                ("a", "b"))
>>> f((1, True)), f((1, False))
(True, False)
"""

from __future__ import annotations

import math
import operator
from collections.abc import Callable, Mapping, Sequence
from decimal import Decimal
from fractions import Fraction
from typing import Any

from configurator.rules import EvaluationError
from configurator.rules.ast import Binary, Bool, Call, Dec, Expr, In, Int, Name, Range, Str, Unary
from configurator.rules.evaluate import _norm, _num, _truth

Compiled = Callable[[Sequence[Any]], Any]


class _Unsupported(Exception):
    """A name the positions do not cover: the caller evaluates the tree instead."""


def positional(
    expr: Expr,
    scope: Sequence[str],
    sets: Mapping[str, tuple[tuple[str, ...], tuple[str, ...]]] | None = None,
) -> Compiled:
    """A function of the values of ``scope`` (in that order) computing ``evaluate(expr, env)``.

    ``sets`` maps a set attribute's code to its element codes and their variables: the attribute's
    value is the frozenset of elements whose variable is true. Raises ``KeyError`` when ``expr``
    reads a name that neither ``scope`` nor ``sets`` provides.
    """
    index = {n: i for i, n in enumerate(scope)}
    try:
        return _compile(expr, index, sets or {})
    except _Unsupported as exc:
        raise KeyError(str(exc)) from None
    except EvaluationError as exc:  # an unknown operator or function: every evaluation fails alike
        error = exc

        def fails(vals: Sequence[Any]) -> Any:
            raise EvaluationError(str(error))

        return fails


# What a compiled node is known to return, when it returns: ``_BOOL`` (always a bool), ``_INT``
# (an int or a bool) or nothing known. Nodes of known kinds skip the type checks of
# ``evaluate`` (``_truth``, the ``Fraction`` round trip), whose results they cannot change.
_BOOL, _INT = "bool", "int"
_NO_CONST: Any = object()


def _tag(f: Compiled, kind: str | None, const: Any = _NO_CONST, index: int | None = None) -> Compiled:
    f.kind = kind  # type: ignore[attr-defined]
    f.const = const  # type: ignore[attr-defined]
    f.index = index  # type: ignore[attr-defined]
    return f


def _kind(f: Compiled) -> str | None:
    return getattr(f, "kind", None)


def _const(f: Compiled) -> Any:
    return getattr(f, "const", _NO_CONST)


def _truthy(f: Compiled) -> Compiled:
    """``lambda vals: _truth(f(vals))``, skipping the check where ``f`` always gives a bool."""
    if _kind(f) == _BOOL:
        return f
    const = _const(f)
    if type(const) is bool:
        return _tag(lambda vals: const, _BOOL, const)
    i = getattr(f, "index", None)
    if i is not None:  # a variable: its value is the bool itself, or _truth raises as it would
        def variable(vals: Sequence[Any], i: int = i) -> bool:
            v = vals[i]
            return v if type(v) is bool else _truth(f(vals))
        return _tag(variable, _BOOL)
    return _tag(lambda vals: _truth(f(vals)), _BOOL)


def _compile(e: Expr, index: Mapping[str, int], sets: Mapping[str, tuple[tuple[str, ...], tuple[str, ...]]]) -> Compiled:
    def c(x: Expr) -> Compiled:
        return _compile(x, index, sets)

    if isinstance(e, Name):
        i = index.get(e.id)
        if i is not None:
            def name(vals: Sequence[Any], i: int = i) -> Any:
                v = vals[i]
                return _norm(Fraction(v)) if type(v) is Decimal else v
            return _tag(name, None, index=i)
        if e.id in sets:
            elements, names = sets[e.id]
            if not all(n in index for n in names):
                raise _Unsupported(e.id)
            pairs = tuple((el, index[n]) for el, n in zip(elements, names, strict=True))
            return lambda vals: frozenset(el for el, i in pairs if vals[i])
        raise _Unsupported(e.id)
    if isinstance(e, Bool | Int | Str):
        const = e.value
        kind = _BOOL if type(const) is bool else _INT if type(const) is int else None
        return _tag(lambda vals: const, kind, const)
    if isinstance(e, Dec):
        dec = Fraction(Decimal(e.text))
        return lambda vals: dec
    if isinstance(e, Unary):
        operand = c(e.operand)
        if e.op == "not":
            truth = _truthy(operand)
            return _tag(lambda vals: not truth(vals), _BOOL)
        return lambda vals: -_num(operand(vals))
    if isinstance(e, Binary):
        return _binary(e.op, c(e.left), c(e.right))
    if isinstance(e, In):
        return _tag(_in(c(e.operand), [(i, None) if isinstance(i, Range) else (None, c(i)) for i in e.items], e.negated), _BOOL)
    if isinstance(e, Call):
        return _call(e.func, [c(a) for a in e.args])
    raise EvaluationError(f"cannot evaluate {e!r}")


def _logic(op: str, left: Compiled, right: Compiled) -> Compiled:
    a, b = _truthy(left), _truthy(right)  # _truth(left(vals)), _truth(right(vals)), the same short circuits
    if op == "and":
        return _tag(lambda vals: a(vals) and b(vals), _BOOL)
    if op == "or":
        return _tag(lambda vals: a(vals) or b(vals), _BOOL)
    if op == "->":
        return _tag(lambda vals: (not a(vals)) or b(vals), _BOOL)
    return _tag(lambda vals: a(vals) == b(vals), _BOOL)


_INTS = (int, bool)


def _binary(op: str, left: Compiled, right: Compiled) -> Compiled:
    if op in ("and", "or", "->", "<->"):
        return _logic(op, left, right)
    if op in ("==", "!="):
        equal = operator.eq if op == "==" else operator.ne
        # _norm only turns an integral Fraction into its int; beside an int, a bool or a str
        # that changes no comparison's outcome, so operands of those kinds go as they are.
        if {_kind(left), _kind(right)} <= {_INT, _BOOL} or type(_const(right)) in (int, bool, str):
            if type(_const(right)) in (int, bool, str):
                const = _const(right)
                return _tag(lambda vals: equal(left(vals), const), _BOOL)
            return _tag(lambda vals: equal(left(vals), right(vals)), _BOOL)
        return _tag(lambda vals: equal(_norm(left(vals)), _norm(right(vals))), _BOOL)
    compare: Callable[[Any, Any], Any] | None = {
        "<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge,
        "+": operator.add, "-": operator.sub, "*": operator.mul,
    }.get(op)
    if compare is not None:
        arithmetic = op in ("+", "-", "*")
        kind = _INT if arithmetic else _BOOL
        # On ints and bools the operators give the same integer or truth value as through Fraction.
        if _kind(left) in (_INT, _BOOL) and _kind(right) in (_INT, _BOOL):
            const, g = _const(right), compare
            if const is not _NO_CONST:
                return _tag(lambda vals: g(left(vals), const), kind)
            return _tag(lambda vals: g(left(vals), right(vals)), kind)

        def exact(vals: Sequence[Any], f: Callable[[Any, Any], Any] = compare) -> Any:
            a, b = left(vals), right(vals)
            if type(a) in _INTS and type(b) in _INTS:
                return f(a, b)  # the same integer or truth value as through Fraction
            out = f(_num(a), _num(b))
            return _norm(out) if arithmetic else out

        return _tag(exact, None if arithmetic else _BOOL)
    if op == "/":
        def divide(vals: Sequence[Any]) -> Any:
            a, b = _num(left(vals)), _num(right(vals))
            if b == 0:
                raise EvaluationError("division by zero")
            return _norm(a / b)
        return divide
    raise EvaluationError(f"unknown operator {op!r}")


def _in(operand: Compiled, items: list[tuple[Range | None, Compiled | None]], negated: bool) -> Compiled:
    def member(vals: Sequence[Any]) -> bool:
        v = _norm(operand(vals))
        found = False
        for rng, item in items:
            if rng is not None:
                if not isinstance(v, str | frozenset) and rng.low <= _num(v) <= rng.high:
                    found = True
                    break
            elif item is not None and _norm(item(vals)) == v:
                found = True
                break
        return found != negated
    return member


def _call(f: str, args: list[Compiled]) -> Compiled:
    if f == "lookup":  # a key the lookup table does not list (configurator.rules.lookup)
        from configurator.rules.lookup import missing_row

        def missing(vals: Sequence[Any]) -> Any:
            raise missing_row(str(args[0](vals)), [a(vals) for a in args[1:]])
        return missing
    if f == "if":
        cond, a, b = args
        truth = _truthy(cond)
        kind = _kind(a) if _kind(a) == _kind(b) else _INT if {_kind(a), _kind(b)} <= {_INT, _BOOL} else None
        x, y = _const(a), _const(b)
        if x is not _NO_CONST and y is not _NO_CONST:
            return _tag(lambda vals: x if truth(vals) else y, kind)
        return _tag(lambda vals: a(vals) if truth(vals) else b(vals), kind)
    if f == "count":
        def count(vals: Sequence[Any]) -> Any:
            s = args[0](vals)
            if not isinstance(s, frozenset):
                raise EvaluationError("count() takes a set attribute")
            return len(s)
        return _tag(count, _INT)
    if f == "has":
        def has(vals: Sequence[Any]) -> Any:
            s, v = args[0](vals), args[1](vals)
            if not isinstance(s, frozenset):
                raise EvaluationError("has() takes a set attribute")
            return v in s
        return _tag(has, _BOOL)
    numeric: dict[str, Callable[[list[Fraction]], Any]] = {
        "min": lambda ns: _norm(min(ns)), "max": lambda ns: _norm(max(ns)), "abs": lambda ns: _norm(abs(ns[0])),
        "ceil": lambda ns: math.ceil(ns[0]), "floor": lambda ns: math.floor(ns[0]), "round": lambda ns: round(ns[0]),
    }
    g = numeric.get(f)
    if g is None:
        raise EvaluationError(f"unknown function {f!r}")
    return lambda vals: g([_num(a(vals)) for a in args])


__all__ = ["Compiled", "positional"]
