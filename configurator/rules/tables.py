"""Cells of table rules and price tables.

A cell in a table column (an enum, bool or int attribute) is one of:

- a value: an enum code (``carbon``), ``true``/``false``, an int (``8``);
- a range text ``"lo..hi"`` (int columns only, inclusive);
- a list of values and ranges (any of them);
- ``"*"``: any value of the column.

:func:`parse_cell` turns a cell into the exact set of column values it
matches, checking every part against the column's domain.

>>> from catalog.snapshot import Attribute, AttributeKind, Label
>>> gears = Attribute("gears", AttributeKind.INT, Label("Gears"), minimum=1, maximum=12)
>>> sorted(parse_cell("1..3", gears))
[1, 2, 3]
>>> sorted(parse_cell([11, "5..6"], gears))
[5, 6, 11]
>>> len(parse_cell("*", gears))
12
"""

from __future__ import annotations

import difflib
import itertools
import re
from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal
from typing import Any

from catalog.snapshot import Attribute, AttributeKind, PriceTable, Rule, Value
from configurator.rules.errors import TableError

ANY = "*"
_RANGE = re.compile(r"^\s*(-?\d+)\s*\.\.\s*(-?\d+)\s*$")
_INT = re.compile(r"^\s*-?\d+\s*$")

Cell = Value | tuple[Value, ...] | list[Value]


class CellError(TableError):
    """A cell does not fit its column; the message says why (callers add row and column)."""


def _range(part: str, low: int, high: int, attribute: Attribute) -> frozenset[Value]:
    if attribute.kind is not AttributeKind.INT:
        raise CellError(
            f"the range {part!r} only fits a number column, but {attribute.code} is {attribute.kind.value}"
        )
    if low > high:
        raise CellError(f"the range {part!r} is empty (low is above high)")
    assert attribute.minimum is not None and attribute.maximum is not None
    if low < attribute.minimum or high > attribute.maximum:
        raise CellError(
            f"the range {part!r} goes outside {attribute.code}'s {attribute.minimum}..{attribute.maximum}"
        )
    hit = frozenset(v for v in attribute.domain() if isinstance(v, int) and low <= v <= high)
    if not hit:
        raise CellError(f"the range {part!r} contains no value of {attribute.code} (step {attribute.step})")
    return hit


def _enum_value(part: Any, attribute: Attribute) -> frozenset[Value]:
    codes = tuple(c.code for c in attribute.choices)
    # a YAML loader may turn an unquoted code like 700 into an int: accept it when it names a code
    text = str(part) if isinstance(part, int) and not isinstance(part, bool) else part
    if isinstance(text, str) and text in codes:
        return frozenset({text})
    if isinstance(part, bool):
        raise CellError(
            f'{part!r} is not a value of {attribute.code}; quote value codes such as "yes"/"no" in YAML'
        )
    hint = difflib.get_close_matches(str(part), codes, n=1)
    more = f"; did you mean {hint[0]!r}?" if hint else ""
    raise CellError(f"{part!r} is not a value of {attribute.code} (values: {', '.join(codes)}){more}")


def _bool_value(part: Any, attribute: Attribute) -> frozenset[Value]:
    if isinstance(part, bool):
        return frozenset({part})
    if isinstance(part, str) and part.strip().lower() in ("true", "false"):
        return frozenset({part.strip().lower() == "true"})
    raise CellError(f"{part!r} is not true or false ({attribute.code} is a yes/no attribute)")


def _int_value(part: Any, attribute: Attribute) -> frozenset[Value]:
    number: int | None = None
    if isinstance(part, int) and not isinstance(part, bool):
        number = part
    elif isinstance(part, str) and _INT.match(part):
        number = int(part)
    if number is None:
        raise CellError(f"{part!r} is not a number or a range lo..hi ({attribute.code} is a number)")
    if number not in attribute.domain():
        raise CellError(
            f"{number} is not a value of {attribute.code} "
            f"({attribute.minimum}..{attribute.maximum} step {attribute.step})"
        )
    return frozenset({number})


def _decimal_value(part: Any, attribute: Attribute) -> frozenset[Value]:
    """A decimal cell ("72.5", 72.5 as text, or a whole number) on the attribute's grid."""
    number: Decimal | None = None
    if isinstance(part, Decimal | int) and not isinstance(part, bool):
        number = Decimal(part)
    elif isinstance(part, str):
        try:
            number = Decimal(part.strip())
        except ArithmeticError:
            number = None
    if number is None or not number.is_finite():
        raise CellError(f"{part!r} is not a decimal number ({attribute.code} is a decimal)")
    if number not in attribute.domain():
        values = attribute.domain()
        raise CellError(f"{number} is not a value of {attribute.code} ({values[0]}..{values[-1]})")
    return frozenset({number.quantize(Decimal(1).scaleb(-attribute.places))})


def _one(part: Any, attribute: Attribute) -> frozenset[Value]:
    if isinstance(part, str) and part.strip() == ANY:
        return frozenset(attribute.domain())
    if isinstance(part, str):
        m = _RANGE.match(part)
        if m:
            return _range(part, int(m.group(1)), int(m.group(2)), attribute)
    if attribute.kind is AttributeKind.ENUM:
        return _enum_value(part, attribute)
    if attribute.kind is AttributeKind.BOOL:
        return _bool_value(part, attribute)
    if attribute.kind is AttributeKind.INT:
        return _int_value(part, attribute)
    if attribute.kind is AttributeKind.DECIMAL:
        return _decimal_value(part, attribute)
    raise CellError(
        f"{attribute.code} is a set attribute; table columns must be enum, bool or number attributes"
    )


def parse_cell(cell: Any, attribute: Attribute) -> frozenset[Value]:
    """The set of ``attribute`` values a table cell matches; raises :class:`CellError`.

    >>> from catalog.snapshot import Attribute, AttributeKind, Choice, Label
    >>> size = Attribute("size", AttributeKind.ENUM, Label("Size"), choices=(Choice("M", Label("M")), Choice("XL", Label("XL"))))
    >>> sorted(parse_cell(("M", "XL"), size))
    ['M', 'XL']
    >>> parse_cell("XXL", size)
    Traceback (most recent call last):
    ...
    configurator.rules.tables.CellError: 'XXL' is not a value of size (values: M, XL); did you mean 'XL'?
    """
    if attribute.kind is AttributeKind.SET:
        raise CellError(
            f"{attribute.code} is a set attribute; table columns must be enum, bool or number attributes"
        )
    if isinstance(cell, tuple | list):
        if not cell:
            raise CellError('an empty list matches nothing; use "*" for any value')
        out: frozenset[Value] = frozenset()
        for part in cell:
            if isinstance(part, tuple | list):
                raise CellError("a list inside a list is not allowed in a cell")
            out |= _one(part, attribute)
        return out
    return _one(cell, attribute)


def _columns(
    columns: Sequence[str], attributes: Mapping[str, Attribute], where: str, rule_id: str | None
) -> tuple[list[Attribute | None], list[TableError]]:
    errors: list[TableError] = []
    found: list[Attribute | None] = []
    seen: set[str] = set()
    if not columns:
        errors.append(TableError("a table needs at least one column", rule_id=rule_id, where=where))
    for code in columns:
        attribute = attributes.get(code)
        if code in seen:
            errors.append(TableError(f"column {code!r} appears twice", rule_id=rule_id, where=where))
        seen.add(code)
        if attribute is None:
            hint = difflib.get_close_matches(code, list(attributes), n=3)
            more = f"; did you mean {' or '.join(repr(h) for h in hint)}?" if hint else ""
            errors.append(
                TableError(
                    f"column {code!r} is not an attribute of this product{more}", rule_id=rule_id, where=where
                )
            )
        elif attribute.kind is AttributeKind.SET:
            errors.append(
                TableError(
                    f"column {code!r} is a set attribute; table columns must be enum, bool or number attributes",
                    rule_id=rule_id,
                    where=where,
                )
            )
            attribute = None
        found.append(attribute)
    return found, errors


def _rows_cells(
    columns: Sequence[str],
    rows: Iterable[Sequence[Any]],
    attributes: Mapping[str, Attribute],
    where: str,
    rule_id: str | None,
) -> tuple[list[tuple[frozenset[Value], ...]], list[TableError]]:
    found, errors = _columns(columns, attributes, where, rule_id)
    parsed: list[tuple[frozenset[Value], ...]] = []
    for r, row in enumerate(rows, start=1):
        if len(row) != len(columns):
            errors.append(
                TableError(
                    f"row {r} has {len(row)} cells but the table has {len(columns)} columns",
                    rule_id=rule_id,
                    where=where,
                )
            )
            continue
        cells: list[frozenset[Value]] = []
        for code, attribute, cell in zip(columns, found, row, strict=True):
            if attribute is None:
                continue
            try:
                cells.append(parse_cell(cell, attribute))
            except CellError as exc:
                errors.append(TableError(f"row {r}, column {code}: {exc}", rule_id=rule_id, where=where))
        if len(cells) == len(columns):
            parsed.append(tuple(cells))
    return parsed, errors


def check_table_rule(rule: Rule, attributes: Sequence[Attribute]) -> list[TableError]:
    """Every problem of a table rule: unknown/duplicate/set columns, row lengths, bad cells."""
    attrs = {a.code: a for a in attributes}
    where = f"rule {rule.id}"
    errors = _rows_cells(rule.columns, rule.rows, attrs, where, rule.id)[1]
    if not rule.rows and rule.allow:
        errors.append(
            TableError(
                "an allow table without rows forbids every configuration", rule_id=rule.id, where=where
            )
        )
    return errors


def check_price_table(table: PriceTable, attributes: Sequence[Attribute], where: str) -> list[TableError]:
    """Every problem of a price table's columns and row cells."""
    attrs = {a.code: a for a in attributes}
    return _rows_cells(table.columns, (values for values, _amount in table.rows), attrs, where, None)[1]


def row_sets(rule: Rule, attributes: Sequence[Attribute]) -> list[tuple[frozenset[Value], ...]]:
    """The rows of a table rule as per-column value sets; raises the first :class:`TableError`.

    >>> from catalog.snapshot import Attribute, AttributeKind, Label, Rule
    >>> rack = Attribute("rack", AttributeKind.BOOL, Label("Rack"))
    >>> row_sets(Rule("r", Label("m"), columns=("rack",), rows=(("*",),)), [rack])
    [(frozenset({False, True}),)]
    """
    attrs = {a.code: a for a in attributes}
    parsed, errors = _rows_cells(rule.columns, rule.rows, attrs, f"rule {rule.id}", rule.id)
    if errors:
        raise errors[0]
    return parsed


def allowed_tuples(rule: Rule, attributes: Sequence[Attribute]) -> frozenset[tuple[Value, ...]]:
    """The exact set of allowed value tuples (in column order) of a table rule.

    For ``allow`` tables, the union of the rows; for forbid tables, every
    combination of the columns' domains minus the rows. The result can be as
    large as the product of the column domains, so callers compiling large
    tables should prefer :func:`row_sets`.

    >>> from catalog.snapshot import Attribute, AttributeKind, Label, Rule
    >>> a = Attribute("a", AttributeKind.BOOL, Label("A"))
    >>> b = Attribute("b", AttributeKind.BOOL, Label("B"))
    >>> sorted(allowed_tuples(Rule("r", Label("m"), columns=("a", "b"), rows=((True, True),), allow=False), [a, b]))
    [(False, False), (False, True), (True, False)]
    """
    rows = row_sets(rule, attributes)
    listed: set[tuple[Value, ...]] = set()
    for row in rows:
        listed.update(itertools.product(*row))
    if rule.allow:
        return frozenset(listed)
    attrs = {a.code: a for a in attributes}
    everything = itertools.product(*(attrs[c].domain() for c in rule.columns))
    return frozenset(t for t in everything if t not in listed)


def row_matches(row: Sequence[frozenset[Value]], values: Sequence[Value]) -> bool:
    """True if every value lies in the matching cell set.

    >>> row_matches((frozenset({"M"}), frozenset({1, 2})), ("M", 2))
    True
    """
    return all(v in cell for cell, v in zip(row, values, strict=True))


__all__ = [
    "ANY",
    "Cell",
    "CellError",
    "allowed_tuples",
    "check_price_table",
    "check_table_rule",
    "parse_cell",
    "row_matches",
    "row_sets",
]
