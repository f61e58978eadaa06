"""Canonical JSON and SHA-256 digests of BOMs and production orders.

The same BOM or order always gives the same bytes: object keys sorted, no
insignificant whitespace, UTF-8 (non-ASCII text as is), decimals as
normalized strings (``"2.5"``, never ``"2.50"`` or ``"2.5E+1"``), dates and
datetimes in ISO 8601 (naive plant-local datetimes, seconds precision),
labels as ``{"en": ..., "zh-CN": ...}``, attribute values as JSON strings,
numbers, booleans or (sets) sorted arrays. Floats are refused: every number
is exact.

An order stores :func:`digest` of its BOM; regenerating the BOM from the same
catalog version and decisions must give the same digest.

>>> canonical_json({"b": Decimal("2.50"), "a": [1, "金"]})
b'{"a":[1,"\\xe9\\x87\\x91"],"b":"2.5"}'
"""

from __future__ import annotations

import functools
import hashlib
import json
from collections.abc import Mapping
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from typing import Any

from bom.lines import EXACT, Assignment, BillOfMaterials, BomItem, InstanceRef, PartRequirement, Provenance
from bom.orders import Feasibility, MaterialRequirement, ProductionOrder, ScheduledOperation
from bom.routing import RoutedOperation
from catalog.snapshot import Label

BOM_FORMAT = "c2m-bom/1"
ORDER_FORMAT = "c2m-production-order/1"

Json = Any  # None | bool | int | str | list[Json] | dict[str, Json]


def decimal_text(value: Decimal) -> str:
    """A decimal as a plain, normalized string.

    >>> decimal_text(Decimal("120.500")), decimal_text(Decimal("1E+2")), decimal_text(Decimal("-0.0"))
    ('120.5', '100', '0')
    """
    if not value.is_finite():
        raise ValueError(f"cannot serialize {value}")
    return _decimal_text(value)


@functools.lru_cache(maxsize=8192)
def _decimal_text(value: Decimal) -> str:
    # Cached by value: equal decimals ("2.50", "2.5") have one normalized text. A BOM and
    # its production order write hundreds of decimals, mostly the same few quantities.
    if value == 0:
        return "0"
    return format(value.normalize(EXACT), "f")


def label_json(label: Label) -> dict[str, str]:
    return {"en": label.en, "zh-CN": label.zh_CN or label.en}


def _values(values: Assignment) -> dict[str, Json]:
    return {code: list(v) if isinstance(v, tuple) else v for code, v in values}


def _provenance(p: Provenance) -> dict[str, Json]:
    return {"condition": p.condition, "quantity_formula": p.quantity_formula, "inputs": _values(p.inputs)}


def _instance(ref: InstanceRef) -> dict[str, Json]:
    return {"component": ref.component, "index": ref.index, "label": label_json(ref.label), "values": _values(ref.values)}


def _item(i: BomItem) -> dict[str, Json]:
    out = _item_fields(i)
    if i.texts:  # only when present: BOMs without texts keep their bytes and digests
        out["texts"] = dict(i.texts)
    if i.instance is not None:  # only on a repeated component's lines, like texts
        out["instance"] = _instance(i.instance)
    return out


def _item_fields(i: BomItem) -> dict[str, Json]:
    return {
        "level": i.level,
        "position": i.position,
        "path": i.path,
        "item": i.item,
        "name": label_json(i.name),
        "kind": i.kind.value,
        "quantity_per": i.quantity_per,
        "total_quantity": i.total_quantity,
        "unit": i.unit,
        "scrap_pct": i.scrap_pct,
        "total_with_scrap": i.total_with_scrap,
        "cost": i.cost,
        "op": i.op,
        "owner": i.owner,
        "provenance": _provenance(i.provenance),
        "configuration": _values(i.configuration),
    }


def _part(p: PartRequirement) -> dict[str, Json]:
    return {
        "item": p.item,
        "name": label_json(p.name),
        "unit": p.unit,
        "total_quantity": p.total_quantity,
        "total_with_scrap": p.total_with_scrap,
        "unit_cost": p.unit_cost,
        "cost": p.cost,
        "lead_time_days": p.lead_time_days,
        "paths": list(p.paths),
    }


def bom_json(bom: BillOfMaterials) -> dict[str, Json]:
    """The BOM as a JSON-ready mapping (decimals still Decimal; see :func:`canonical_json`)."""
    out = _bom_fields(bom)
    if bom.texts:  # only when present, like a line's texts
        out["texts"] = dict(bom.texts)
    return out


def _bom_fields(bom: BillOfMaterials) -> dict[str, Json]:
    return {
        "format": BOM_FORMAT,
        "catalog": bom.catalog,
        "currency": bom.currency,
        "product": bom.product,
        "product_name": label_json(bom.product_name),
        "quantity": bom.quantity,
        "configuration": _values(bom.configuration),
        "items": [_item(i) for i in bom.items],
        "parts": [_part(p) for p in bom.parts],
        "total_cost": bom.total_cost,
    }


def _operation(s: ScheduledOperation) -> dict[str, Json]:
    o: RoutedOperation = s.operation
    return {
        "sequence": o.sequence,
        "level": o.level,
        "path": o.path,
        "item": o.item,
        "op": o.op,
        "name": label_json(o.name),
        "work_center": o.work_center,
        "quantity": o.quantity,
        "setup_min": o.setup_min,
        "run_min": o.run_min,
        "run_total": o.run_total,
        "duration": o.duration,
        "condition": o.condition,
        "inputs": _values(o.inputs),
        "planned_start": s.planned_start,
        "planned_end": s.planned_end,
    }


def _material(m: MaterialRequirement) -> dict[str, Json]:
    return {
        "item": m.item,
        "name": label_json(m.name),
        "unit": m.unit,
        "quantity": m.quantity,
        "need_date": m.need_date,
        "lead_time_days": m.lead_time_days,
        "latest_order_date": m.latest_order_date,
        "consumed_by": list(m.consumed_by),
    }


def _feasibility(f: Feasibility | None) -> dict[str, Json] | None:
    if f is None:
        return None
    return {
        "today": f.today,
        "earliest_start": f.earliest_start,
        "earliest_end": f.earliest_end,
        "due_date_reachable": f.due_date_reachable,
        "late_materials": list(f.late_materials),
    }


def _order_head(order: ProductionOrder) -> dict[str, Json]:
    """The production order's fields but its BOM and the BOM's digest."""
    out: dict[str, Json] = {
        "format": ORDER_FORMAT,
        "number": order.number,
        "catalog": order.catalog,
        "catalog_version": order.catalog_version,
        "catalog_hash": order.catalog_hash,
        "product": order.product,
        "product_name": label_json(order.product_name),
        "quantity": order.quantity,
        "configuration": _values(order.configuration),
        "due_date": order.due_date,
        "planned_start": order.planned_start,
        "planned_end": order.planned_end,
        "calendar": order.calendar.describe(),
        "operations": [_operation(s) for s in order.operations],
        "materials": [_material(m) for m in order.materials],
        "feasibility": _feasibility(order.feasibility),
    }
    if order.bom.texts:  # the production order prints the buyer's texts (engraving...) too
        out["texts"] = dict(order.bom.texts)
    return out


def order_json(order: ProductionOrder, bom_sha256: str | None = None) -> dict[str, Json]:
    """The production order as a JSON-ready mapping, its BOM included.

    ``bom_sha256`` is ``digest(order.bom)`` when the caller already has it (it
    saves serialising the BOM once more); it is not checked.
    """
    doc = _order_head(order)
    doc["bom"] = bom_json(order.bom)
    doc["bom_sha256"] = bom_sha256 if bom_sha256 is not None else digest(order.bom)
    return doc


def _plain(obj: Any) -> Json:
    """Turn decimals, dates, enums, tuples and sets into JSON values, recursively."""
    kind = type(obj)
    # Fast paths for the exact built-in types that make up most of a document (the checks below
    # still apply to their subclasses and to everything else).
    if kind is str or kind is int or kind is bool or obj is None:
        return obj  # type: ignore[no-any-return,unused-ignore]
    if kind is Decimal:
        return decimal_text(obj)
    if kind is list or kind is tuple:
        return [_plain(v) for v in obj]
    if kind is dict:
        out: dict[str, Json] = {}
        for k, v in obj.items():
            if type(k) is not str and not isinstance(k, str):
                raise TypeError(f"object keys must be strings, got {k!r}")
            out[k] = _plain(v)
        return out
    return _plain_other(obj)


def _plain_other(obj: Any) -> Json:
    """:func:`_plain` of everything but exact ``str``/``int``/``bool``/``list``/``tuple``/``dict``."""
    if obj is None or isinstance(obj, bool | int | str):
        return obj
    if isinstance(obj, float):
        raise TypeError(f"floats are not allowed in canonical JSON: {obj!r}")
    if isinstance(obj, Decimal):
        return decimal_text(obj)
    if isinstance(obj, datetime):
        return obj.isoformat(timespec="seconds")
    if isinstance(obj, date):
        return obj.isoformat()
    if isinstance(obj, Enum):
        return _plain(obj.value)
    if isinstance(obj, Label):
        return label_json(obj)
    if isinstance(obj, BillOfMaterials):
        return _plain(bom_json(obj))
    if isinstance(obj, ProductionOrder):
        return _plain(order_json(obj))
    if isinstance(obj, Mapping):
        out = {}
        for k, v in obj.items():
            if not isinstance(k, str):
                raise TypeError(f"object keys must be strings, got {k!r}")
            out[k] = _plain(v)
        return out
    if isinstance(obj, frozenset | set):
        return sorted(_plain(v) for v in obj)
    if isinstance(obj, list | tuple):
        return [_plain(v) for v in obj]
    raise TypeError(f"cannot serialize {type(obj).__name__} to canonical JSON")


def to_json_value(obj: Any) -> Json:
    """``obj`` (a BOM, a production order, or plain data) as JSON-ready Python values."""
    return _plain(obj)


def canonical_json(obj: Any) -> bytes:
    """The canonical UTF-8 JSON bytes of a BOM, a production order or plain data."""
    if type(obj) is BillOfMaterials:
        return _dumps_typed(bom_json(obj))
    if type(obj) is ProductionOrder:
        return _dumps_typed(order_json(obj))
    return _dumps(obj)


_BOM_SLOT = "\x00bom\x00"
"""Stands for the BOM in a production order serialised around already serialised BOM bytes: a
NUL is always escaped in JSON, so only this slot serialises to :data:`_BOM_SLOT_JSON`."""
_BOM_SLOT_JSON = b'"bom":"\\u0000bom\\u0000"'


def order_document(
    order: ProductionOrder, bom_sha256: str | None = None, *, bom_bytes: bytes | None = None
) -> bytes:
    """:func:`canonical_json` of a production order, given its BOM's digest or bytes if already known.

    The same bytes as ``canonical_json(order)`` when ``bom_sha256`` is ``digest(order.bom)``
    and ``bom_bytes`` is ``canonical_json(order.bom)`` (then the BOM, the bulk of the
    document, is not serialised again: its bytes are placed under ``"bom"``, where
    sorted keys put them; neither is checked).

    >>> from bom.lines import BillOfMaterials
    >>> from bom.work_calendar import WorkCalendar
    >>> bom = BillOfMaterials("c", "CNY", "p", Label("P"), 1, (), (), (), Decimal(0))
    >>> order = ProductionOrder("PO-1", "c", "1", "h", "p", Label("P"), 1, (), date(2025, 3, 14),
    ...     datetime(2025, 3, 14, 8), datetime(2025, 3, 14, 16), bom, (), (), WorkCalendar(), None)
    >>> order_document(order, bom_bytes=canonical_json(bom)) == canonical_json(order)
    True
    """
    if bom_bytes is None:
        return _dumps_typed(order_json(order, bom_sha256))
    doc = _order_head(order)
    doc["bom"] = _BOM_SLOT
    doc["bom_sha256"] = bom_sha256 if bom_sha256 is not None else hashlib.sha256(bom_bytes).hexdigest()
    text = _dumps_typed(doc)
    if text.count(_BOM_SLOT_JSON) != 1:  # pragma: no cover - only a document holding the slot's text
        return _dumps_typed(order_json(order, doc["bom_sha256"]))
    head, _, tail = text.partition(_BOM_SLOT_JSON)
    return b"".join((head, b'"bom":', bom_bytes, tail))


def _typed_default(obj: Any) -> Json:
    """What the JSON encoder cannot write itself in a document of typed fields, as :func:`_plain` has it."""
    if type(obj) is Decimal:
        return decimal_text(obj)
    if isinstance(obj, frozenset | set):
        return sorted(_plain(v) for v in obj)
    return _plain_other(obj)


def _dumps_typed(doc: dict[str, Json]) -> bytes:
    """:func:`_dumps` of a BOM's or production order's mapping (:func:`bom_json`, :func:`order_json`).

    The same bytes, with the encoder walking the containers in C: their leaves
    come from typed fields (decimals, dates, labels, attribute values), never
    floats or non-text keys, which :func:`_plain` refuses for plain data.
    """
    return json.dumps(
        doc,
        default=_typed_default,
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
        allow_nan=False,
    ).encode("utf-8")


def _dumps(obj: Any) -> bytes:
    return json.dumps(
        _plain(obj), sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    ).encode("utf-8")


def digest(obj: Any) -> str:
    """SHA-256 (hex) of :func:`canonical_json`.

    >>> digest({})
    '44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a'
    """
    return hashlib.sha256(canonical_json(obj)).hexdigest()
