"""Reading a stored production order document back into a :class:`ProductionOrder`.

A production order is stored as its canonical JSON (:func:`bom.canonical.canonical_json`).
Exports (CSV, B2MML) are renderings of that stored document, so they stay the
same after the explosion, routing or scheduling code changes.
:func:`production_order_from_document` is the exact inverse of the canonical
form: the caller checks ``digest(result)`` against the stored hash, which
proves nothing was lost or altered on the way.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime, time
from decimal import Decimal
from typing import Any

from bom.errors import BomError
from bom.lines import (
    Assignment,
    BillOfMaterials,
    BomItem,
    ConfigValue,
    InstanceRef,
    ItemKind,
    PartRequirement,
    Provenance,
)
from bom.orders import Feasibility, MaterialRequirement, ProductionOrder, ScheduledOperation
from bom.routing import RoutedOperation
from bom.work_calendar import WorkCalendar
from catalog.snapshot import Label

__all__ = ["DocumentInvalid", "production_order_from_document"]


class DocumentInvalid(BomError):
    """A stored production order document that is not in the canonical form; names the field."""

    reason = "stored_record_corrupt"

    def __init__(self, where: str, problem: str) -> None:
        super().__init__(f"{where}: {problem}")
        self.field = where


def _label(raw: Mapping[str, str]) -> Label:
    """A stored label (``zh-CN`` equal to ``en`` is how a missing translation is written)."""
    en = raw["en"]
    zh = raw.get("zh-CN") or ""
    return Label(en, zh if zh != en else "")


def _value(raw: Any) -> ConfigValue:
    if isinstance(raw, list):
        return tuple(str(v) for v in raw)
    if isinstance(raw, bool | int | str):
        return raw
    raise TypeError(f"not a configuration value: {raw!r}")


def _assignment(raw: Mapping[str, Any]) -> Assignment:
    return tuple((code, _value(v)) for code, v in sorted(raw.items()))


def _dec(raw: Any) -> Decimal:
    if not isinstance(raw, str | int) or isinstance(raw, bool):
        raise TypeError(f"not a decimal: {raw!r}")
    return Decimal(raw)


def _provenance(raw: Mapping[str, Any]) -> Provenance:
    return Provenance(raw["condition"], raw["quantity_formula"], _assignment(raw["inputs"]))


def _instance(raw: Mapping[str, Any] | None) -> InstanceRef | None:
    if raw is None:
        return None
    return InstanceRef(
        component=raw["component"],
        index=int(raw["index"]),
        label=_label(raw["label"]),
        values=_assignment(raw["values"]),
    )


def _item(raw: Mapping[str, Any]) -> BomItem:
    return BomItem(
        level=int(raw["level"]),
        position=raw["position"],
        path=raw["path"],
        item=raw["item"],
        name=_label(raw["name"]),
        kind=ItemKind(raw["kind"]),
        quantity_per=_dec(raw["quantity_per"]),
        total_quantity=_dec(raw["total_quantity"]),
        unit=raw["unit"],
        scrap_pct=_dec(raw["scrap_pct"]),
        total_with_scrap=_dec(raw["total_with_scrap"]),
        cost=_dec(raw["cost"]),
        op=raw["op"],
        owner=raw["owner"],
        provenance=_provenance(raw["provenance"]),
        configuration=_assignment(raw["configuration"]),
        texts=tuple(sorted((raw.get("texts") or {}).items())),
        instance=_instance(raw.get("instance")),
    )


def _part(raw: Mapping[str, Any]) -> PartRequirement:
    return PartRequirement(
        item=raw["item"],
        name=_label(raw["name"]),
        unit=raw["unit"],
        total_quantity=_dec(raw["total_quantity"]),
        total_with_scrap=_dec(raw["total_with_scrap"]),
        unit_cost=_dec(raw["unit_cost"]),
        cost=_dec(raw["cost"]),
        lead_time_days=int(raw["lead_time_days"]),
        paths=tuple(raw["paths"]),
    )


def _bom(raw: Mapping[str, Any]) -> BillOfMaterials:
    return BillOfMaterials(
        catalog=raw["catalog"],
        currency=raw["currency"],
        product=raw["product"],
        product_name=_label(raw["product_name"]),
        quantity=int(raw["quantity"]),
        configuration=_assignment(raw["configuration"]),
        items=tuple(_item(i) for i in raw["items"]),
        parts=tuple(_part(p) for p in raw["parts"]),
        total_cost=_dec(raw["total_cost"]),
        texts=tuple(sorted((raw.get("texts") or {}).items())),
    )


def _operation(raw: Mapping[str, Any]) -> ScheduledOperation:
    operation = RoutedOperation(
        sequence=int(raw["sequence"]),
        level=int(raw["level"]),
        path=raw["path"],
        item=raw["item"],
        op=int(raw["op"]),
        name=_label(raw["name"]),
        work_center=raw["work_center"],
        quantity=_dec(raw["quantity"]),
        setup_min=_dec(raw["setup_min"]),
        run_min=_dec(raw["run_min"]),
        run_total=_dec(raw["run_total"]),
        duration=_dec(raw["duration"]),
        condition=raw["condition"],
        inputs=_assignment(raw["inputs"]),
    )
    return ScheduledOperation(
        operation, datetime.fromisoformat(raw["planned_start"]), datetime.fromisoformat(raw["planned_end"])
    )


def _material(raw: Mapping[str, Any]) -> MaterialRequirement:
    return MaterialRequirement(
        item=raw["item"],
        name=_label(raw["name"]),
        unit=raw["unit"],
        quantity=_dec(raw["quantity"]),
        need_date=datetime.fromisoformat(raw["need_date"]),
        lead_time_days=int(raw["lead_time_days"]),
        latest_order_date=date.fromisoformat(raw["latest_order_date"]),
        consumed_by=tuple(raw["consumed_by"]),
    )


def _feasibility(raw: Mapping[str, Any] | None) -> Feasibility | None:
    if raw is None:
        return None
    return Feasibility(
        today=date.fromisoformat(raw["today"]),
        earliest_start=datetime.fromisoformat(raw["earliest_start"]),
        earliest_end=datetime.fromisoformat(raw["earliest_end"]),
        due_date_reachable=bool(raw["due_date_reachable"]),
        late_materials=tuple(raw["late_materials"]),
    )


def _calendar(raw: Mapping[str, Any]) -> WorkCalendar:
    return WorkCalendar(
        day_start=time.fromisoformat(raw["day_start"]),
        shifts=int(raw["shifts"]),
        shift_hours=int(raw["shift_hours"]),
        working_days=frozenset(int(d) for d in raw["working_days"]),
        holidays=frozenset(date.fromisoformat(d) for d in raw["holidays"]),
    )


def production_order_from_document(document: Mapping[str, Any], where: str = "production order") -> ProductionOrder:
    """The production order a canonical document describes.

    :raise DocumentInvalid: a field is missing or has the wrong type (naming ``where`` and the field).
    """
    try:
        return ProductionOrder(
            number=document["number"],
            catalog=document["catalog"],
            catalog_version=document["catalog_version"],
            catalog_hash=document["catalog_hash"],
            product=document["product"],
            product_name=_label(document["product_name"]),
            quantity=int(document["quantity"]),
            configuration=_assignment(document["configuration"]),
            due_date=date.fromisoformat(document["due_date"]),
            planned_start=datetime.fromisoformat(document["planned_start"]),
            planned_end=datetime.fromisoformat(document["planned_end"]),
            bom=_bom(document["bom"]),
            operations=tuple(_operation(o) for o in document["operations"]),
            materials=tuple(_material(m) for m in document["materials"]),
            calendar=_calendar(document["calendar"]),
            feasibility=_feasibility(document.get("feasibility")),
        )
    except KeyError as exc:
        raise DocumentInvalid(where, f"missing field {exc.args[0]!r}") from None
    except (TypeError, ValueError, AttributeError, ArithmeticError) as exc:
        raise DocumentInvalid(where, f"not in the production order format ({exc})") from None
