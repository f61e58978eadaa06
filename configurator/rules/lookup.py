"""``lookup(table, key, ...)``: a lookup table read at keys given by expressions.

A lookup table is declared once, as a derived attribute defined by a table
(``derived: {table: [columns], rows: [[key values..., result]]}``, see
``configurator.derived``). Naming that attribute reads the table at its own
columns; ``lookup(table, key1, key2, ...)`` reads it at any keys: one
expression per column, of the column's type (``lookup(front_price, height + 10,
finish)``), so one declared table serves every instance of a repeated
component, every BOM line and every price.

The checker expands a lookup, like a quantifier, into a balanced tree of
``if(key in {...}, ..., ...)`` tests over exact literals (ints, decimals as
text, value codes), so rules compile into the exact engine's constraints (over
finite domains a rule is a table of allowed tuples), and prices and quantities
are computed without floats. A key value that no row lists leads to the
leaf ``lookup("table", keys...)`` (the table's code quoted), which never
evaluates: it raises :class:`LookupMissing` naming the table and the key
values. No such leaf is generated where the keys' domains are known and
the table lists all of them. The catalog checks (``configurator.lookups``)
look for a valid configuration that reaches one.

>>> from catalog.snapshot import Attribute, AttributeKind, Derivation, Label
>>> from configurator.rules.printer import to_text
>>> from configurator.rules.ast import Name
>>> width = Attribute("width", AttributeKind.INT, Label("Width"), minimum=1, maximum=2)
>>> cost = Attribute("cost", AttributeKind.DECIMAL, Label("Cost"), minimum=0, maximum=900, places=2,
...                  derived=Derivation(columns=("width",), rows=(((1,), "2.50"), ((2,), "4.00"))))
>>> to_text(lookup_tree(cost, (Name("width"),), {"width": width}))
'if(width in {1}, 2.50, 4.00)'
>>> to_text(lookup_tree(cost, (Name("depth"),), {"width": width}))
'if(depth in {1}, if(depth == 1, 2.50, lookup("cost", depth)), if(depth == 2, 4.00, lookup("cost", depth)))'
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

from catalog.snapshot import Attribute, AttributeKind, Value
from configurator.rules.ast import Binary, Bool, Call, Dec, Expr, In, Int, Name, Str, Unary
from configurator.rules.errors import RuleTypeError
from configurator.rules.evaluate import EvaluationError


class LookupMissing(EvaluationError):
    """A lookup table has no row for the key values a configuration gives."""


class LookupTableError(RuleTypeError):
    """A lookup table's rows cannot be read (no rows, a key listed twice)."""


def missing_row(table: str, keys: Sequence[object]) -> LookupMissing:
    """The error for a key the table does not list.

    >>> str(missing_row("front_price", [40, "oak"]))
    'the lookup table front_price has no row for (40, oak)'
    """
    shown = ", ".join(_shown(k) for k in keys)
    return LookupMissing(f"the lookup table {table} has no row for ({shown})")


def _shown(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, frozenset):
        return "{" + ", ".join(sorted(str(v) for v in value)) + "}"
    return str(value)


def literal(value: Value | Decimal | str, attribute: Attribute | None) -> Expr:
    """A table cell as a resolved AST literal for ``attribute``'s type.

    >>> literal(3, None), literal("0.5", None), literal(True, None)
    (Int(value=3), Dec(text='0.5'), Bool(value=True))
    """
    if isinstance(value, bool):
        return Bool(value)
    if isinstance(value, int):
        return Int(value) if value >= 0 else Unary("-", Int(-value))
    if attribute is not None and attribute.kind in (AttributeKind.ENUM, AttributeKind.SET):
        return Str(str(value))
    text = str(value).strip()
    try:
        number = Decimal(text)
    except ArithmeticError:
        return Str(text)
    if not number.is_finite():
        return Str(text)
    negative = number < 0
    shown = format(abs(number), "f")
    node: Expr = Dec(shown) if "." in shown else Int(int(shown))
    return Unary("-", node) if negative else node


def key_domain(key: Expr, attrs: Mapping[str, Attribute]) -> Sequence[Any] | None:
    """The values ``key`` can take when known statically (an attribute or a literal), else None."""
    if isinstance(key, Name):
        attribute = attrs.get(key.id)
        if attribute is None or attribute.kind is AttributeKind.SET or attribute.derived is not None:
            return None
        return attribute.domain()
    if isinstance(key, Int | Bool):
        return (key.value,)
    if isinstance(key, Str):
        return (key.value,)
    return None


def lookup_tree(
    table: Attribute,
    keys: Sequence[Expr],
    attrs: Mapping[str, Attribute],
    missing: Expr | None = None,
) -> Expr:
    """The (unresolved) expression reading ``table`` at ``keys`` (see the module docstring).

    ``missing`` is the leaf for a key no row lists; by default ``lookup("table", keys...)``.
    """
    derivation = table.derived
    assert derivation is not None and derivation.formula is None
    columns = derivation.columns
    rows = [(tuple(key), result) for key, result in derivation.rows]
    if not rows:
        raise LookupTableError(f"the lookup table {table.code} has no rows")
    leaf = missing if missing is not None else Call("lookup", (Str(table.code), *keys))
    column_attrs = [attrs.get(c) for c in columns]

    def node(column: int, subset: list[tuple[tuple[Value, ...], Value]]) -> Expr:
        if column == len(columns):
            if len(subset) > 1:
                raise LookupTableError(f"the lookup table {table.code} lists the key {list(subset[0][0])} twice")
            return literal(subset[0][1], table)
        groups: dict[Value, list[tuple[tuple[Value, ...], Value]]] = {}
        for row in subset:
            groups.setdefault(row[0][column], []).append(row)
        values = list(groups)
        domain = key_domain(keys[column], attrs)
        covered = domain is not None and len(domain) <= len(values) and all(v in groups for v in domain)
        key = keys[column]
        cell_attr = column_attrs[column]

        def split(part: list[Value]) -> Expr:
            if len(part) == 1:
                inner = node(column + 1, groups[part[0]])
                if covered:
                    return inner
                test = Binary("==", key, literal(part[0], cell_attr))
                return Call("if", (test, inner, leaf))
            half = len(part) // 2
            among = In(key, tuple(literal(v, cell_attr) for v in part[:half]))
            return Call("if", (among, split(part[:half]), split(part[half:])))

        return split(values)

    return node(0, rows)


def is_missing_leaf(expr: Expr) -> bool:
    """Whether ``expr`` is the leaf of a key a lookup table does not list."""
    return isinstance(expr, Call) and expr.func == "lookup" and bool(expr.args) and isinstance(expr.args[0], Str)


__all__ = ["LookupMissing", "LookupTableError", "is_missing_leaf", "literal", "lookup_tree", "missing_row"]
