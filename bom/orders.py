"""Production orders: BOM + routing scheduled backwards from a due date.

Backward scheduling: the last operation ends at the end of work on the due
date (or the last working day before it); each earlier operation ends when the
next one starts, operations running one after another in the routing's work
order (:func:`bom.routing.route`). An operation lasts its setup plus run time,
rounded up to whole seconds, counted in working time of the
:class:`~bom.work_calendar.WorkCalendar`.

Material requirements: each part is needed at the planned start of the first
operation consuming it (the operation its BOM line links to with ``op``), or at
the order start when no scheduled operation consumes it; it must be ordered
``lead_time_days`` working days before that day at the latest.

With ``today``, the order is also scheduled forwards from today (materials
arrive ``lead_time_days`` working days after today) to give the earliest
possible start and end and flag a due date that cannot be met.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from fractions import Fraction
from typing import Any

from bom.explode import explode
from bom.instances import unused_attributes
from bom.lines import Assignment, BillOfMaterials, ItemKind
from bom.routing import RoutedOperation, route
from bom.work_calendar import WorkCalendar
from catalog.snapshot import Catalog, Label, Product


@dataclass(frozen=True, slots=True)
class ScheduledOperation:
    """A routed operation with its planned start and end."""

    operation: RoutedOperation
    planned_start: datetime
    planned_end: datetime


@dataclass(frozen=True, slots=True)
class MaterialRequirement:
    """One part needed by the order: how much, when, and when to order it by."""

    item: str
    name: Label
    unit: str
    quantity: Decimal
    """Total quantity including scrap."""
    need_date: datetime
    lead_time_days: int
    latest_order_date: date
    consumed_by: tuple[str, ...]
    """Operations consuming the part, as ``"<path>:<op>"`` (path ``""`` for the product's routing)."""


@dataclass(frozen=True, slots=True)
class Feasibility:
    """Forward schedule from ``today``: can the due date be met?"""

    today: date
    earliest_start: datetime
    earliest_end: datetime
    due_date_reachable: bool
    late_materials: tuple[str, ...]
    """Parts whose latest order date is before ``today``."""


@dataclass(frozen=True, slots=True)
class ProductionOrder:
    number: str
    catalog: str
    catalog_version: str
    catalog_hash: str
    product: str
    product_name: Label
    quantity: int
    configuration: Assignment
    """The attribute values the product is made with: the BOM's configuration without the
    attributes of repeated components' instances not in use (see :func:`in_use`)."""
    due_date: date
    planned_start: datetime
    planned_end: datetime
    bom: BillOfMaterials
    operations: tuple[ScheduledOperation, ...]
    materials: tuple[MaterialRequirement, ...]
    calendar: WorkCalendar
    feasibility: Feasibility | None = None


def create_production_order(
    catalog: Catalog,
    catalog_version: str,
    catalog_hash: str,
    product_code: str,
    configuration: Mapping[str, Any],
    *,
    quantity: int,
    due_date: date,
    number: str,
    calendar: WorkCalendar | None = None,
    today: date | None = None,
    exploded: tuple[BillOfMaterials, Sequence[RoutedOperation]] | None = None,
    texts: Mapping[str, object] | None = None,
) -> ProductionOrder:
    """Explode, route and schedule one order of a configured product.

    ``exploded`` is ``(bom, route(catalog, bom))`` of this very configuration and
    quantity when the caller has them already (they are not computed again, nor checked).

    >>> from catalog.snapshot import Catalog, Label, Product, Operation, Part, Product, BomLine
    >>> cat = Catalog("c", Label("C"), "CNY", (Part("BOX", Label("Box"), lead_time_days=2),), (),
    ...     (Product("p", Label("P"), Decimal(0), (), bom=(BomLine(10, "BOX", op=10),),
    ...              routing=(Operation(10, Label("Pack"), "PACK", run_min="60"),)),))
    >>> order = create_production_order(cat, "1", "h", "p", {}, quantity=2, due_date=date(2025, 3, 14), number="PO-1")
    >>> order.planned_start, order.planned_end
    (datetime.datetime(2025, 3, 14, 14, 0), datetime.datetime(2025, 3, 14, 16, 0))
    >>> order.materials[0].latest_order_date
    datetime.date(2025, 3, 12)
    """
    cal = calendar if calendar is not None else WorkCalendar()
    if exploded is None:
        bom = explode(catalog, product_code, configuration, quantity=quantity, texts=texts)
        routed: Sequence[RoutedOperation] = route(catalog, bom)
    else:
        bom, routed = exploded
    order_end = cal.end_of_day(due_date)
    scheduled: list[ScheduledOperation] = []
    cursor = order_end
    for op in reversed(routed):
        start = cal.subtract(cursor, _seconds(op.duration))
        scheduled.append(ScheduledOperation(op, start, cursor))
        cursor = start
    scheduled.reverse()
    order_start = scheduled[0].planned_start if scheduled else order_end
    materials = _materials(bom, scheduled, order_start, cal)
    feasibility = (
        _feasibility(today, scheduled, materials, bom, order_end, cal) if today is not None else None
    )
    return ProductionOrder(
        number=number,
        catalog=catalog.code,
        catalog_version=catalog_version,
        catalog_hash=catalog_hash,
        product=bom.product,
        product_name=bom.product_name,
        quantity=quantity,
        configuration=in_use(catalog.product(bom.product), bom.configuration),
        due_date=due_date,
        planned_start=order_start,
        planned_end=order_end,
        bom=bom,
        operations=tuple(scheduled),
        materials=materials,
        calendar=cal,
        feasibility=feasibility,
    )


def in_use(product: Product, configuration: Assignment) -> Assignment:
    """``configuration`` without the attributes of repeated components' instances not in use.

    Their values are pinned by the model, not chosen: the production order lists what
    the product is made of (its BOM keeps the complete configuration it was exploded from).
    """
    unused = unused_attributes(product, dict(configuration))
    if not unused:
        return configuration
    return tuple(pair for pair in configuration if pair[0] not in unused)


def _seconds(minutes: Decimal) -> int:
    return math.ceil(Fraction(minutes) * 60)


def _parent_path(path: str) -> str:
    return path.rpartition("/")[0]


def _materials(
    bom: BillOfMaterials,
    scheduled: list[ScheduledOperation],
    order_start: datetime,
    cal: WorkCalendar,
) -> tuple[MaterialRequirement, ...]:
    by_key = {s.operation.key: s for s in scheduled}
    need: dict[str, datetime] = {}
    consumers: dict[str, list[str]] = {}
    for item in bom.items:
        if item.kind is not ItemKind.PART:
            continue
        when = order_start
        if item.op is not None:
            key = (_parent_path(item.path), item.op)
            hit = by_key.get(key)
            if hit is not None:
                when = hit.planned_start
                consumers.setdefault(item.item, []).append(f"{key[0]}:{key[1]}")
        if item.item not in need or when < need[item.item]:
            need[item.item] = when
    out = []
    for part in bom.parts:
        need_at = need[part.item]
        out.append(
            MaterialRequirement(
                item=part.item,
                name=part.name,
                unit=part.unit,
                quantity=part.total_with_scrap,
                need_date=need_at,
                lead_time_days=part.lead_time_days,
                latest_order_date=cal.subtract_working_days(need_at.date(), part.lead_time_days),
                consumed_by=tuple(sorted(set(consumers.get(part.item, ())))),
            )
        )
    return tuple(out)


def _feasibility(
    today: date,
    scheduled: list[ScheduledOperation],
    materials: tuple[MaterialRequirement, ...],
    bom: BillOfMaterials,
    order_end: datetime,
    cal: WorkCalendar,
) -> Feasibility:
    first_day = cal.working_day_on_or_after(today)
    cursor = cal.start_of(first_day)
    arrival = {m.item: cal.start_of(cal.add_working_days(today, m.lead_time_days)) for m in materials}
    # Which parts each operation waits for; parts no scheduled operation consumes wait for the first one.
    waits: dict[tuple[str, int], list[str]] = {}
    for item in bom.items:
        if item.kind is ItemKind.PART:
            key = (_parent_path(item.path), item.op) if item.op is not None else ("", -1)
            waits.setdefault(key, []).append(item.item)
    scheduled_keys = {s.operation.key for s in scheduled}
    initial = [code for key, codes in waits.items() if key not in scheduled_keys for code in codes]
    earliest_start: datetime | None = None
    for index, s in enumerate(scheduled):
        needed = list(waits.get(s.operation.key, ()))
        if index == 0:
            needed += initial
        ready = max([cursor, *(arrival[c] for c in needed)])
        if earliest_start is None:
            earliest_start = ready
        cursor = cal.add(ready, _seconds(s.operation.duration))
    if earliest_start is None:
        earliest_start = max([cursor, *(arrival[c] for c in initial)])
        cursor = earliest_start
    late = tuple(m.item for m in materials if m.latest_order_date < today)
    return Feasibility(
        today=today,
        earliest_start=earliest_start,
        earliest_end=cursor,
        due_date_reachable=cursor <= order_end and not late,
        late_materials=late,
    )
