"""Tabulating constraints once per *shape*: feature models repeat a handful of rule forms thousands of times.

A predicate built from a rule expression (``configurator.build``) carries ``shape``: the expression and,
per attribute it reads, where its solver values start in the scope and its set elements. Two
constraints whose expressions differ only in the attributes they name (``a -> b`` and ``c -> d``), over
the same domains, allow the same rows of value *positions*; :class:`ShapeCache` evaluates the first
and reuses its rows for the others. Constraints without a shape are tabulated directly.

>>> from configurator.rules.ast import Binary, Name
>>> canonical(Binary("->", Name("a"), Name("b")), {"a": 0, "b": 1}) == canonical(
...     Binary("->", Name("c"), Name("d")), {"c": 0, "d": 1})
True
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Hashable, Mapping
from typing import Any

from configurator.rules.ast import Name, Node


def canonical(expr: Any, position: Mapping[str, int]) -> Any:
    """``expr`` with every attribute name in ``position`` replaced by its position (``#0``, ``#1``...)."""
    if isinstance(expr, Name):
        k = position.get(expr.id)
        return expr if k is None else Name(f"#{k}")
    if isinstance(expr, tuple):
        return tuple(canonical(x, position) for x in expr)
    if isinstance(expr, Node):
        changes = {
            f.name: canonical(getattr(expr, f.name), position)
            for f in dataclasses.fields(expr)
            if f.name not in ("line", "column") and isinstance(getattr(expr, f.name), Node | tuple)
        }
        return dataclasses.replace(expr, **changes) if changes else expr
    return expr


def shape_key(predicate: Callable[..., bool], domains: tuple[tuple[Any, ...], ...]) -> Hashable | None:
    """A key equal for predicates that allow the same value positions over ``domains`` (``None``: no shape)."""
    shape = getattr(predicate, "shape", None)
    if shape is None:
        return None
    expr, readers = shape
    position = {code: k for k, (code, _start, _elements) in enumerate(readers)}
    try:
        key = (canonical(expr, position), tuple((s, e) for _c, s, e in readers), domains)
        hash(key)
    except TypeError:
        return None
    return key


class ShapeCache:
    """Allowed rows (tuples of domain positions) per shape key, for one encoding run."""

    def __init__(self) -> None:
        self.rows: dict[Hashable, frozenset[tuple[int, ...]]] = {}
        self.plans: dict[tuple[Hashable, tuple[int, ...]], Any] = {}
        """(shape key, scope repetition pattern) -> the encoder's CNF plan for those rows."""
        self.hits = 0

    def get(self, key: Hashable | None) -> frozenset[tuple[int, ...]] | None:
        if key is None:
            return None
        found = self.rows.get(key)
        if found is not None:
            self.hits += 1
        return found

    def put(self, key: Hashable | None, rows: frozenset[tuple[int, ...]]) -> None:
        if key is not None:
            self.rows[key] = rows
