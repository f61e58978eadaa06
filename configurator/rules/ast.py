"""Typed AST of the rule language.

Every node is a frozen dataclass; ``line``/``column`` (1-based, relative to
the rule text) never take part in equality, so two parses of the same text in
different places compare equal. The parser (``configurator.rules.parser``)
builds these; ``configurator.rules.evaluate`` gives them meaning.

Names: a bare identifier is a :class:`Name`. Whether it denotes an attribute
or a value code (``frame_material == carbon``) is decided by
``configurator.rules.check`` against the product's attributes; after checking,
value codes are :class:`Str` and attribute references are :class:`Name`.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class Node:
    line: int = field(default=0, compare=False, repr=False, kw_only=True)
    column: int = field(default=0, compare=False, repr=False, kw_only=True)


@dataclass(frozen=True, slots=True)
class Name(Node):
    """An attribute reference (or, before checking, possibly a value code)."""

    id: str


@dataclass(frozen=True, slots=True)
class Int(Node):
    value: int


@dataclass(frozen=True, slots=True)
class Dec(Node):
    """A decimal literal (formulas only, e.g. ``width * 0.35``), kept as text."""

    text: str


@dataclass(frozen=True, slots=True)
class Bool(Node):
    value: bool


@dataclass(frozen=True, slots=True)
class Str(Node):
    """A value code: quoted ``"carbon"`` or a bare name resolved as a value."""

    value: str


@dataclass(frozen=True, slots=True)
class Unary(Node):
    """``not x`` (op "not") or ``-x`` (op "-")."""

    op: str
    operand: Expr


@dataclass(frozen=True, slots=True)
class Binary(Node):
    """Arithmetic ``+ - * /``, comparison ``== != < <= > >=``, logic ``and or -> <->``.

    ``/`` is exact (rational) division; ``->`` is implication, ``<->`` equivalence.
    """

    op: str
    left: Expr
    right: Expr


@dataclass(frozen=True, slots=True)
class In(Node):
    """``x in {a, b, 1..3}``; ``negated`` for ``x not in {...}``."""

    operand: Expr
    items: tuple[Expr | Range, ...]
    negated: bool = False


@dataclass(frozen=True, slots=True)
class Range(Node):
    """``low..high`` inclusive, inside ``in {...}`` and table cells."""

    low: int
    high: int


@dataclass(frozen=True, slots=True)
class Call(Node):
    """A function call: ``count(s)``, ``has(s, v)``, ``min``, ``max``, ``abs``,
    ``ceil``, ``floor``, ``round``, ``if(cond, a, b)``, ``lookup(table, key...)``."""

    func: str
    args: tuple[Expr, ...]


Expr = Name | Int | Dec | Bool | Str | Unary | Binary | In | Call

COMPARISONS = frozenset({"==", "!=", "<", "<=", ">", ">="})
ARITHMETIC = frozenset({"+", "-", "*", "/"})
LOGICAL = frozenset({"and", "or", "->", "<->"})
FUNCTIONS = frozenset(
    {"count", "has", "min", "max", "abs", "ceil", "floor", "round", "if", "sum", "all", "any", "lookup"}
)
QUANTIFIERS = frozenset({"count", "sum", "all", "any"})
"""Functions over the instances of a repeated component (``count`` with two arguments)."""
