"""The semantic diff of two catalog versions for the API, the workspace and the command line.

:func:`configurator.diff.diff_catalogs` compares the spaces of valid
configurations; this module adds what only the application knows: which
saved configurations and open orders pinned to version A are not valid in
version B, and the JSON and text forms. Nothing here imports Flask.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from catalog.services import load_version
from catalog.snapshot import Catalog, Product
from configurator.checks import conflict_rules
from configurator.decisions import AnyDecision, AttributeValue, Decision
from configurator.diff import CatalogDiff, Example, PriceChange, ProductDiff, diff_catalogs, reasons_not_in
from configurator.engine import Configurator
from configurator.errors import ConfiguratorError
from usecases.check_reports import ReportInfo, request_report
from usecases.records import CatalogReportRecord, ConfigurationRecord, OrderRecord

__all__ = [
    "Affected",
    "CLOSED_ORDER_STATUSES",
    "MAX_RECORDS",
    "affected_records",
    "diff_json",
    "diff_text",
    "request_diff",
    "run_diff",
    "semantic_diff",
]

CLOSED_ORDER_STATUSES = frozenset({"cancelled", "canceled", "shipped", "delivered", "completed", "closed"})
"""Order statuses that are no longer open (anything else counts as open)."""
MAX_RECORDS = 5000
"""Most recent saved configurations (and open orders) examined per diff."""


@dataclass(slots=True)
class Affected:
    """Saved configurations and open orders on version A that version B does not accept."""

    configurations_checked: int = 0
    orders_checked: int = 0
    configurations: list[dict[str, Any]] = field(default_factory=list)
    orders: list[dict[str, Any]] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return {
            "configurations_checked": self.configurations_checked,
            "orders_checked": self.orders_checked,
            "configurations": self.configurations,
            "orders": self.orders,
        }


def _value(raw: Any) -> AttributeValue:
    if isinstance(raw, list):
        return frozenset(str(x) for x in raw)
    if isinstance(raw, bool | int | str):
        return raw
    return str(raw)


def _decision_reasons(
    decisions: list[Any], a: Product, b: Product | None, conf_b: Configurator | None, name_b: str
) -> tuple[str, ...]:
    """Why a saved configuration's decisions cannot be continued in B; ``()`` when they can."""
    if b is None or conf_b is None:
        return ("the product is no longer in the catalog",)
    codes_b = {x.code for x in b.attributes}
    reasons: list[str] = []
    kept: list[AnyDecision] = []
    for entry in decisions:
        if not isinstance(entry, dict) or "attribute" not in entry:
            continue
        code = str(entry["attribute"])
        if code not in codes_b:
            reasons.append(f"{name_b} has no attribute {code}")
            continue
        kept.append(Decision(code, _value(entry.get("value"))))
    if reasons:
        return tuple(reasons)
    try:
        if conf_b.count(kept) == 0:
            rules = ", ".join(conflict_rules(conf_b, kept))
            return (
                f"the decisions have no valid configuration in {name_b}{f' (rules: {rules})' if rules else ''}",
            )
    except ConfiguratorError as exc:
        return (str(exc),)
    return ()


def affected_records(
    session: Session,
    code: str,
    number_a: int,
    catalog_a: Catalog,
    catalog_b: Catalog,
    *,
    backend: str = "auto",
    name_b: str = "B",
) -> Affected:
    """Saved configurations and open orders pinned to version ``number_a`` that ``catalog_b`` does not accept."""
    out = Affected()
    products_b = {p.code: p for p in catalog_b.products}
    confs: dict[str, Configurator] = {}

    def conf_of(product: str) -> Configurator | None:
        if product not in products_b:
            return None
        if product not in confs:
            confs[product] = Configurator(products_b[product], backend=backend)
        return confs[product]

    def product_a(product: str) -> Product | None:
        try:
            return catalog_a.product(product)
        except KeyError:
            return None

    configurations = session.scalars(
        select(ConfigurationRecord)
        .where(ConfigurationRecord.catalog_code == code, ConfigurationRecord.version_number == number_a)
        .order_by(ConfigurationRecord.updated_at.desc())
        .limit(MAX_RECORDS)
    ).all()
    for record in configurations:
        a = product_a(record.product_code)
        if a is None:
            continue
        out.configurations_checked += 1
        try:
            decisions = json.loads(record.decisions or "[]")
        except json.JSONDecodeError:
            decisions = []
        reasons = _decision_reasons(
            decisions if isinstance(decisions, list) else [],
            a,
            products_b.get(record.product_code),
            conf_of(record.product_code),
            name_b,
        )
        if reasons:
            out.configurations.append(
                {"id": record.id, "product": record.product_code, "reasons": list(reasons)}
            )
    orders = session.scalars(
        select(OrderRecord)
        .where(
            OrderRecord.catalog_code == code,
            OrderRecord.version_number == number_a,
            OrderRecord.status.not_in(CLOSED_ORDER_STATUSES),
        )
        .order_by(OrderRecord.created_at.desc())
        .limit(MAX_RECORDS)
    ).all()
    for order in orders:
        a = product_a(order.product_code)
        if a is None:
            continue
        out.orders_checked += 1
        b = products_b.get(order.product_code)
        conf_b = conf_of(order.product_code)
        if b is None or conf_b is None:
            reasons = ("the product is no longer in the catalog",)
        else:
            try:
                raw = json.loads(order.configuration)
            except json.JSONDecodeError:
                raw = {}
            configuration = {str(k): _value(v) for k, v in raw.items()} if isinstance(raw, dict) else {}
            reasons = reasons_not_in(configuration, a, b, conf_b, name_b)
        if reasons:
            out.orders.append(
                {
                    "number": order.number,
                    "product": order.product_code,
                    "status": order.status,
                    "reasons": list(reasons),
                }
            )
    return out


def semantic_diff(
    a: Catalog,
    b: Catalog,
    *,
    backend: str = "auto",
    progress: Callable[[str], None] | None = None,
    names: tuple[str, str] = ("A", "B"),
) -> CatalogDiff:
    """:func:`configurator.diff.diff_catalogs` (here so callers of this module need one import)."""
    return diff_catalogs(a, b, backend=backend, progress=progress, names=names)


def _configuration_json(pairs: tuple[tuple[str, AttributeValue], ...]) -> dict[str, Any]:
    return {k: sorted(v) if isinstance(v, frozenset) else v for k, v in pairs}


def _example_json(example: Example | None) -> dict[str, Any] | None:
    if example is None:
        return None
    return {"configuration": _configuration_json(example.configuration), "reasons": list(example.reasons)}


def product_diff_json(d: ProductDiff) -> dict[str, Any]:
    return {
        "product": d.product,
        "status": d.status,
        "configurations_a": d.count_a,
        "configurations_b": d.count_b,
        "in_both": d.both,
        "only_in_a": d.only_a,
        "only_in_b": d.only_b,
        "attributes_added": list(d.attributes_added),
        "attributes_removed": list(d.attributes_removed),
        "rules_changed": list(d.rules_changed),
        "example_only_in_a": _example_json(d.example_only_a),
        "example_only_in_b": _example_json(d.example_only_b),
        "price_changes": [
            {
                "configuration": _configuration_json(c.configuration),
                "before": f"{c.before:.2f}",
                "after": f"{c.after:.2f}",
                "delta": f"{c.delta:+.2f}",
                "lines": list(c.lines),
            }
            for c in d.price_changes
        ],
        "priced_configurations": d.priced,
        "error": d.error,
    }


def diff_json(
    d: CatalogDiff, affected: Affected | None = None, *, a: str = "A", b: str = "B"
) -> dict[str, Any]:
    """The JSON form of a semantic diff (the API's answer and ``c2m catalog diff --json``)."""
    return {
        "catalog": d.catalog,
        "a": a,
        "b": b,
        "products": [product_diff_json(p) for p in d.products],
        "affected": affected.as_json() if affected is not None else None,
    }


def _shown(pairs: tuple[tuple[str, AttributeValue], ...]) -> str:
    from configurator.checks import format_configuration

    return format_configuration(pairs)


def _product_text(p: ProductDiff) -> list[str]:
    if p.error and p.count_a is None:
        return [f"{p.product} ({p.status}): {p.error}"]
    if p.status in ("added", "removed", "same"):
        count = p.count_b if p.status == "added" else p.count_a
        where = {"added": "added in B", "removed": "removed in B", "same": "unchanged"}[p.status]
        return [f"{p.product} ({where}): {count} configurations"]
    lines = [
        f"{p.product}: {p.count_a} -> {p.count_b} configurations; {p.both} in both, "
        f"{p.only_a} only in A, {p.only_b} only in B"
    ]
    for label, names in (
        ("attributes added in B", p.attributes_added),
        ("attributes removed in B", p.attributes_removed),
        ("rules changed, added or removed", p.rules_changed),
    ):
        if names:
            lines.append(f"  {label}: {', '.join(names)}")
    for side, example in (("A", p.example_only_a), ("B", p.example_only_b)):
        if example is not None:
            lines.append(
                f"  only in {side}, e.g. {_shown(example.configuration)}: {'; '.join(example.reasons)}"
            )
    if p.price_changes:
        lines.append(f"  price changes (largest of {p.priced} priced configurations in both):")
        lines += [
            f"    {c.delta:+.2f}  {c.before:.2f} -> {c.after:.2f}  {_shown(c.configuration)}  ({'; '.join(c.lines)})"
            for c in p.price_changes
        ]
    elif p.both and p.priced:
        lines.append(f"  no price change on {p.priced} priced configurations in both")
    if p.error:
        lines.append(f"  {p.error}")
    return lines


def diff_text(d: CatalogDiff, affected: Affected | None = None, *, a: str = "A", b: str = "B") -> list[str]:
    """The diff as lines for a terminal or a review comment."""
    lines = [f"catalog {d.catalog}: A = {a}, B = {b}"]
    for p in d.products:
        lines += _product_text(p)
    if affected is not None:
        lines.append(
            f"saved configurations on A not valid in B: {len(affected.configurations)} of "
            f"{affected.configurations_checked}; open orders: {len(affected.orders)} of {affected.orders_checked}"
        )
        lines += [
            f"  configuration {c['id']} ({c['product']}): {'; '.join(c['reasons'])}"
            for c in affected.configurations[:20]
        ]
        lines += [
            f"  order {o['number']} ({o['product']}, {o['status']}): {'; '.join(o['reasons'])}"
            for o in affected.orders[:20]
        ]
    return lines


# --------------------------------------------------------------------------- the diff as a job


def request_diff(
    session: Session, code: str, a: int, b: int, *, requested_by: str | None = None, again: bool = False,
    requeue_failed: bool = True,
) -> tuple[ReportInfo, bool]:
    """Ask for the semantic diff of versions ``a`` and ``b`` of ``code`` (with the saved configurations
    and open orders on ``a`` that ``b`` does not accept), run by a job. Asking again for the same
    versions returns the same report unless ``again`` (the records on ``a`` change over time).
    See :func:`usecases.check_reports.request_report`."""
    info_a = load_version(session, code, a, published_only=False)[0]
    info_b = load_version(session, code, b, published_only=False)[0]
    key = f"diff:{code}:{a}:{b}:{info_a.content_hash[:24]}:{info_b.content_hash[:24]}"
    return request_report(session, "diff", key, code, b, a, requested_by=requested_by, again=again,
                          requeue_failed=requeue_failed)


def run_diff(session: Session, row: CatalogReportRecord, backend: str) -> dict[str, Any]:
    """The body of a diff job: the diff's JSON (:func:`diff_json`) and its text lines."""
    assert row.base_number is not None
    _, before = load_version(session, row.catalog_code, row.base_number, published_only=False)
    _, after = load_version(session, row.catalog_code, row.version_number, published_only=False)
    names = (f"v{row.base_number}", f"v{row.version_number}")
    d = semantic_diff(before, after, backend=backend, names=names)
    affected = affected_records(
        session, row.catalog_code, row.base_number, before, after, backend=backend, name_b=names[1]
    )
    return {
        **diff_json(d, affected, a=names[0], b=names[1]),
        "lines": diff_text(d, affected, a=names[0], b=names[1]),
    }


def _configuration_from_json(values: dict[str, Any]) -> tuple[tuple[str, AttributeValue], ...]:
    return tuple((code, frozenset(v) if isinstance(v, list) else v) for code, v in values.items())


def _example_from_json(raw: dict[str, Any] | None) -> Example | None:
    if raw is None:
        return None
    return Example(_configuration_from_json(raw["configuration"]), tuple(raw["reasons"]))


def diff_from_json(result: dict[str, Any]) -> tuple[CatalogDiff, Affected | None]:
    """A stored diff (:func:`diff_json`, the result of a diff job) as the objects it was made from,
    so a page shows a stored diff the way it shows one computed in the request."""
    products = tuple(
        ProductDiff(
            product=p["product"],
            status=p["status"],
            count_a=p["configurations_a"],
            count_b=p["configurations_b"],
            both=p["in_both"],
            attributes_added=tuple(p["attributes_added"]),
            attributes_removed=tuple(p["attributes_removed"]),
            rules_changed=tuple(p["rules_changed"]),
            example_only_a=_example_from_json(p["example_only_in_a"]),
            example_only_b=_example_from_json(p["example_only_in_b"]),
            price_changes=tuple(
                PriceChange(_configuration_from_json(c["configuration"]), Decimal(c["before"]),
                            Decimal(c["after"]), tuple(c["lines"]))
                for c in p["price_changes"]
            ),
            priced=p["priced_configurations"],
            error=p["error"],
        )
        for p in result["products"]
    )
    raw = result.get("affected")
    affected = None
    if raw is not None:
        affected = Affected(raw["configurations_checked"], raw["orders_checked"], list(raw["configurations"]),
                            list(raw["orders"]))
    return CatalogDiff(result["catalog"], products), affected
