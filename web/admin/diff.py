"""Compare two versions of a catalog: the unified diff of their canonical YAML and a structural summary."""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from catalog.files import dump_catalog
from catalog.snapshot import Attribute, AttributeKind, Catalog, Product

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Change:
    """One structural difference: ``kind`` (attribute, value, rule, part, ...), ``action``
    (added, removed, changed), where (product code or ``catalog``) and what."""

    where: str
    kind: str
    action: str
    name: str
    detail: str = ""


def unified_diff(before: Catalog | None, after: Catalog, *, before_name: str, after_name: str) -> str:
    """The unified diff of the canonical YAML dumps (empty when equal)."""
    old = dump_catalog(before).splitlines(keepends=True) if before is not None else []
    new = dump_catalog(after).splitlines(keepends=True)
    return "".join(difflib.unified_diff(old, new, fromfile=before_name, tofile=after_name, n=3))


def _keyed(
    where: str,
    kind: str,
    old: Iterable[T],
    new: Iterable[T],
    key: Callable[[T], Any],
    show: Callable[[T], str] | None = None,
) -> list[Change]:
    before = {key(x): x for x in old}
    after = {key(x): x for x in new}
    out: list[Change] = []
    for k, x in after.items():
        if k not in before:
            out.append(Change(where, kind, "added", str(k), show(x) if show else ""))
        elif before[k] != x:
            out.append(Change(where, kind, "changed", str(k), _what_changed(before[k], x)))
    out.extend(Change(where, kind, "removed", str(k)) for k in before if k not in after)
    return out


def _what_changed(old: Any, new: Any) -> str:
    fields: Mapping[str, Any] = getattr(old, "__dataclass_fields__", {})
    changed = [
        name
        for name in fields
        if name != "loc" and name != "text_loc" and getattr(old, name) != getattr(new, name)
    ]
    return ", ".join(changed)


def _domain_text(attribute: Attribute) -> str:
    if attribute.kind is AttributeKind.INT:
        return f"{attribute.minimum}..{attribute.maximum} step {attribute.step}"
    return attribute.kind.value


def _values(where: str, old: Attribute, new: Attribute) -> list[Change]:
    if old.kind is AttributeKind.INT and new.kind is AttributeKind.INT:
        if old.domain() == new.domain():
            return []
        gone = sorted(set(old.domain()) - set(new.domain()), key=str)
        came = sorted(set(new.domain()) - set(old.domain()), key=str)
        detail = f"{_domain_text(old)} -> {_domain_text(new)}"
        return [Change(where, "value", "changed", new.code, f"{detail} (+{len(came)} / -{len(gone)} values)")]
    return _keyed(f"{where}.{new.code}", "value", old.choices, new.choices, lambda c: c.code)


def _product(old: Product, new: Product) -> list[Change]:
    w = new.code
    out: list[Change] = []
    if (old.name, old.base_price, old.description, old.lead_time_days, old.image) != (
        new.name,
        new.base_price,
        new.description,
        new.lead_time_days,
        new.image,
    ):
        out.append(Change(w, "product", "changed", w, "name, price, description, lead time or image"))
    out += _keyed(w, "attribute", old.attributes, new.attributes, lambda a: a.code, lambda a: _domain_text(a))
    before = {a.code: a for a in old.attributes}
    for attribute in new.attributes:
        if attribute.code in before:
            out += _values(w, before[attribute.code], attribute)
    out += _keyed(
        w, "rule", old.rules, new.rules, lambda r: r.id, lambda r: r.text or f"table {', '.join(r.columns)}"
    )
    out += _keyed(w, "price", old.prices, new.prices, lambda p: p.id)
    out += _keyed(w, "bom line", old.bom, new.bom, lambda b: b.pos, lambda b: f"{b.item} x {b.qty}")
    out += _keyed(w, "operation", old.routing, new.routing, lambda o: o.op, lambda o: o.work_center)
    out += _keyed(w, "requirement", old.requires, new.requires, lambda r: r.id)
    out += _keyed(w, "test", old.tests, new.tests, lambda t: t.id)
    out += _keyed(w, "group", old.groups, new.groups, lambda g: g.code)
    return out


def structural_changes(before: Catalog | None, after: Catalog) -> list[Change]:
    """Parts, modules, products and, inside products, attributes, values, rules, prices, BOM lines... that differ.

    >>> from decimal import Decimal
    >>> from catalog.snapshot import Label, Part, Rule
    >>> a = Catalog("c", Label("C"), "CNY", (Part("A", Label("A")),), (), ())
    >>> b = Catalog("c", Label("C"), "CNY", (Part("A", Label("A"), cost=Decimal("2")), Part("B", Label("B"))), (), ())
    >>> [(c.kind, c.action, c.name, c.detail) for c in structural_changes(a, b)]
    [('part', 'changed', 'A', 'cost'), ('part', 'added', 'B', '')]
    """
    if before is None:
        return [Change("catalog", "product", "added", p.code) for p in after.products]
    out = _keyed("catalog", "part", before.parts, after.parts, lambda p: p.code)
    out += _keyed("catalog", "module", before.modules, after.modules, lambda m: m.code)
    out += _keyed("catalog", "product", before.products, after.products, lambda p: p.code)
    old_products = {p.code: p for p in before.products}
    for product in after.products:
        if product.code in old_products and old_products[product.code] != product:
            out = [
                c
                for c in out
                if not (c.kind == "product" and c.name == product.code and c.action == "changed")
            ]
            out += _product(old_products[product.code], product)
    return out


def summary(changes: Iterable[Change]) -> dict[str, dict[str, int]]:
    """Counts by kind and action: ``{"rule": {"added": 1, "removed": 0, "changed": 2}, ...}``."""
    out: dict[str, dict[str, int]] = {}
    for change in changes:
        out.setdefault(change.kind, {"added": 0, "removed": 0, "changed": 0})[change.action] += 1
    return out
