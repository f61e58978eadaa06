"""Exports of BOMs and production orders for ERP systems: JSON, CSV, B2MML XML.

- JSON: the canonical JSON of :mod:`bom.canonical` (byte-stable, hashable).
- CSV: one header row, UTF-8, ``,`` separated, ``\\r\\n`` line ends (stdlib
  ``csv``); decimals as normalized strings. :func:`bom_csv` is the multi-level
  BOM (one row per BOM line), :func:`parts_csv` the flat parts list.
- B2MML (ISA-95, namespace ``http://www.mesa.org/xml/B2MML``), built as an
  element tree with lxml: a BOM becomes an ``OperationsDefinitionInformation``
  holding one ``OperationsDefinition`` (its routing as ``OperationsSegment``s)
  and the ``OperationsMaterialBill`` it references (module lines nest their
  components as ``AssemblyBillOfMaterialItem``); a production order becomes
  an ``OperationsSchedule`` with one ``OperationsRequest`` and a
  ``SegmentRequirement`` per scheduled operation, carrying planned start and
  end and the parts the operation consumes as ``MaterialRequirement``.

The Business To Manufacturing Markup Language (B2MML) is used courtesy of MESA International.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from datetime import datetime
from decimal import Decimal
from fractions import Fraction

from lxml import etree

from bom.canonical import canonical_json, decimal_text, digest
from bom.lines import BillOfMaterials, BomItem, ItemKind, to_decimal
from bom.orders import ProductionOrder, ScheduledOperation
from bom.routing import RoutedOperation
from catalog.snapshot import Label

B2MML_NS = "http://www.mesa.org/xml/B2MML"
_NSMAP = {None: B2MML_NS}

BOM_CSV_COLUMNS = (
    "level",
    "position",
    "path",
    "item",
    "kind",
    "name_en",
    "name_zh_cn",
    "quantity_per",
    "total_quantity",
    "unit",
    "scrap_pct",
    "total_with_scrap",
    "cost",
    "op",
    "owner",
    "condition",
    "quantity_formula",
    "inputs",
    "configuration",
)
PARTS_CSV_COLUMNS = (
    "item",
    "name_en",
    "name_zh_cn",
    "unit",
    "total_quantity",
    "total_with_scrap",
    "unit_cost",
    "cost",
    "lead_time_days",
    "paths",
)


def bom_json_bytes(bom: BillOfMaterials) -> bytes:
    """The BOM's canonical JSON (see :mod:`bom.canonical`)."""
    return canonical_json(bom)


def order_json_bytes(order: ProductionOrder) -> bytes:
    """The production order's canonical JSON, BOM included."""
    return canonical_json(order)


def _value_text(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, tuple):
        return ",".join(str(v) for v in value)
    return str(value)


def _pairs_text(pairs: Iterable[tuple[str, object]]) -> str:
    return ";".join(f"{k}={_value_text(v)}" for k, v in pairs)


def _csv(rows: Iterable[Iterable[object]]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    for row in rows:
        writer.writerow(["" if v is None else decimal_text(v) if isinstance(v, Decimal) else v for v in row])
    return buffer.getvalue()


def bom_csv(bom: BillOfMaterials) -> str:
    """The multi-level BOM as CSV text (encode as UTF-8 to write it).

    ``inputs`` and ``configuration`` are ``attr=value`` pairs joined by ``;``
    (set values: codes joined by ``,``).

    >>> from bom.explode import explode
    >>> from catalog.snapshot import BomLine, Catalog, Label, Part, Product
    >>> cat = Catalog("c", Label("C"), "CNY", (Part("BOLT", Label("Bolt", "螺栓"), cost=Decimal("0.10")),), (),
    ...     (Product("p", Label("P"), Decimal(0), (), bom=(BomLine(10, "BOLT", "4", scrap_pct=Decimal("25")),)),))
    >>> print(bom_csv(explode(cat, "p", {})).splitlines()[1])
    1,0010,0010,BOLT,part,Bolt,螺栓,4,4,pc,25,5,0.5,,p,,4,,
    """
    rows: list[list[object]] = [list(BOM_CSV_COLUMNS)]
    for i in bom.items:
        rows.append(
            [
                i.level,
                i.position,
                i.path,
                i.item,
                i.kind.value,
                i.name.en,
                i.name.zh_CN or i.name.en,
                i.quantity_per,
                i.total_quantity,
                i.unit,
                i.scrap_pct,
                i.total_with_scrap,
                i.cost,
                i.op,
                i.owner,
                i.provenance.condition,
                i.provenance.quantity_formula,
                _pairs_text(i.provenance.inputs),
                _pairs_text(i.configuration),
            ]
        )
    return _csv(rows)


def parts_csv(bom: BillOfMaterials) -> str:
    """The flat parts list as CSV text; ``paths`` joined by ``;``."""
    rows: list[list[object]] = [list(PARTS_CSV_COLUMNS)]
    for p in bom.parts:
        rows.append(
            [
                p.item,
                p.name.en,
                p.name.zh_CN or p.name.en,
                p.unit,
                p.total_quantity,
                p.total_with_scrap,
                p.unit_cost,
                p.cost,
                p.lead_time_days,
                ";".join(p.paths),
            ]
        )
    return _csv(rows)


# --- B2MML -----------------------------------------------------------------------------------------


def _el(parent: etree._Element, tag: str, text: str | None = None, **attrs: str) -> etree._Element:
    child = etree.SubElement(parent, f"{{{B2MML_NS}}}{tag}", attrs)
    if text is not None:
        child.text = text
    return child


def _descriptions(parent: etree._Element, label: Label) -> None:
    _el(parent, "Description", label.en, languageID="en")
    if label.zh_CN and label.zh_CN != label.en:
        _el(parent, "Description", label.zh_CN, languageID="zh-CN")


def _quantity(parent: etree._Element, tag: str, value: Decimal, unit: str, key: str | None = None) -> None:
    q = _el(parent, tag)
    _el(q, "QuantityString", decimal_text(value))
    _el(q, "DataType", "decimal")
    _el(q, "UnitOfMeasure", unit)
    if key is not None:
        _el(q, "Key", key)


def _duration(minutes: Decimal) -> str:
    """An ``xsd:duration`` for a number of minutes, exact to the second (rounded up).

    >>> _duration(Decimal("90.5"))
    'PT1H30M30S'
    >>> _duration(Decimal("0"))
    'PT0S'
    """
    seconds = -(-Fraction(minutes) * 60 // 1)
    total = int(seconds)
    hours, rest = divmod(total, 3600)
    mins, secs = divmod(rest, 60)
    out = "PT"
    if hours:
        out += f"{hours}H"
    if mins:
        out += f"{mins}M"
    if secs or out == "PT":
        out += f"{secs}S"
    return out


def _datetime(value: datetime) -> str:
    return value.isoformat(timespec="seconds")


def definition_id(bom: BillOfMaterials) -> str:
    """Identifier of a configured product's operations definition: product code + BOM digest prefix.

    Two orders of the same configuration (same catalog content) share it.
    """
    return f"{bom.product}-{digest(bom)[:16]}"


def _segment_id(op: RoutedOperation) -> str:
    return f"{op.path or 'TOP'}:{op.item}:{op.op}"


def _material_item(
    parent: etree._Element, tag: str, item: BomItem, children: dict[str, list[BomItem]]
) -> None:
    node = _el(parent, tag)
    _el(node, "ID", item.path)
    _descriptions(node, item.name)
    _el(node, "UseType", "Consumed")
    for child in children.get(item.path, ()):
        _material_item(node, "AssemblyBillOfMaterialItem", child, children)
    if item.kind is ItemKind.MODULE:
        _el(node, "AssemblyType", "Physical")
        _el(node, "AssemblyRelationship", "Permanent")
    _el(node, "MaterialSpecificationID", item.item)
    _quantity(node, "Quantity", item.quantity_per, item.unit, key="QuantityPerParent")
    _quantity(node, "Quantity", item.total_with_scrap, item.unit, key="TotalWithScrap")


def bom_b2mml(bom: BillOfMaterials, operations: Iterable[RoutedOperation] = ()) -> etree._Element:
    """The BOM (and its routing) as a B2MML ``OperationsDefinitionInformation`` element.

    >>> from bom.explode import explode
    >>> from catalog.snapshot import BomLine, Catalog, Label, Part, Product
    >>> cat = Catalog("c", Label("C"), "CNY", (Part("BOLT", Label("Bolt")),), (),
    ...     (Product("p", Label("P"), Decimal(0), (), bom=(BomLine(10, "BOLT", "4"),)),))
    >>> root = bom_b2mml(explode(cat, "p", {}))
    >>> [etree.QName(e).localname for e in root]
    ['ID', 'Description', 'OperationsDefinition', 'OperationsMaterialBill']
    """
    def_id = definition_id(bom)
    bill_id = f"{def_id}-BOM"
    root = etree.Element(f"{{{B2MML_NS}}}OperationsDefinitionInformation", nsmap=_NSMAP)
    _el(root, "ID", def_id)
    _descriptions(root, bom.product_name)
    definition = _el(root, "OperationsDefinition")
    _el(definition, "ID", def_id)
    _descriptions(definition, bom.product_name)
    _el(definition, "Version", bom.catalog)
    _el(definition, "OperationsType", "Production")
    ops = list(operations)
    consumption = _consumption(bom, [op.key for op in ops])
    for op in ops:
        seg = _el(definition, "OperationsSegment")
        _el(seg, "ID", _segment_id(op))
        _descriptions(seg, op.name)
        _el(seg, "OperationsType", "Production")
        _el(seg, "Duration", _duration(op.duration))
        _el(seg, "ProcessSegmentID", f"{op.item}:{op.op}")
        param = _el(seg, "ParameterSpecification")
        _el(param, "ID", "Quantity")
        _quantity_value(param, op.quantity, "pc")
        equipment = _el(seg, "EquipmentSpecification")
        _el(equipment, "ID", f"{_segment_id(op)}:EQ")
        _el(equipment, "EquipmentClassID", op.work_center)
        for code, name, unit, qty in consumption[op.key]:
            spec = _el(seg, "MaterialSpecification")
            _el(spec, "ID", f"{_segment_id(op)}:{code}")
            _el(spec, "MaterialDefinitionID", code)
            _descriptions(spec, name)
            _el(spec, "MaterialUse", "Consumed")
            _quantity(spec, "Quantity", to_decimal(qty), unit)
    _el(definition, "OperationsMaterialBillID", bill_id)
    bill = _el(root, "OperationsMaterialBill")
    _el(bill, "ID", bill_id)
    _descriptions(bill, bom.product_name)
    _el(bill, "Version", bom.catalog)
    children: dict[str, list[BomItem]] = {}
    for item in bom.items:
        children.setdefault(item.path.rpartition("/")[0], []).append(item)
    for top in children.get("", ()):
        _material_item(bill, "OperationsMaterialBillItem", top, children)
    return root


def _quantity_value(parent: etree._Element, value: Decimal, unit: str) -> None:
    v = _el(parent, "Value")
    _el(v, "ValueString", decimal_text(value))
    _el(v, "DataType", "decimal")
    _el(v, "UnitOfMeasure", unit)


def _consumption(
    bom: BillOfMaterials, keys: list[tuple[str, int]]
) -> dict[tuple[str, int], list[tuple[str, Label, str, Fraction]]]:
    """Parts each operation consumes, summed per part: (item, name, unit, total with scrap).

    Parts whose line links to no operation in ``keys`` go to the first key (needed at order start).
    """
    known = set(keys)
    sums: dict[tuple[str, int], dict[str, tuple[str, Label, str, Fraction]]] = {k: {} for k in keys}
    for item in bom.items:
        if item.kind is not ItemKind.PART or not keys:
            continue
        key = (item.path.rpartition("/")[0], item.op) if item.op is not None else None
        if key is None or key not in known:
            key = keys[0]
        seen = sums[key].get(item.item)
        qty = Fraction(item.total_with_scrap) + (seen[3] if seen else 0)
        sums[key][item.item] = (item.item, item.name, item.unit, qty)
    return {k: [v[code] for code in sorted(v)] for k, v in sums.items()}


def _segment_requirement(
    parent: etree._Element,
    order: ProductionOrder,
    s: ScheduledOperation,
    def_id: str,
    parts: list[tuple[str, Label, str, Fraction]],
) -> None:
    op = s.operation
    req_id = f"{order.number}:{op.sequence:04d}"
    req = _el(parent, "SegmentRequirement")
    _el(req, "ID", req_id)
    _descriptions(req, op.name)
    _el(req, "EarliestStartTime", _datetime(s.planned_start))
    _el(req, "LatestEndTime", _datetime(s.planned_end))
    _el(req, "OperationsType", "Production")
    _el(req, "ProcessSegmentID", f"{op.item}:{op.op}")
    _el(req, "Duration", _duration(op.duration))
    _el(req, "OperationsDefinitionID", def_id)
    _el(req, "OperationsSegmentID", _segment_id(op))
    _el(req, "SegmentState", "Forecast")
    equipment = _el(req, "EquipmentRequirement")
    _el(equipment, "ID", f"{req_id}:EQ")
    _el(equipment, "EquipmentClassID", op.work_center)
    for code, name, unit, qty in parts:
        node = _el(req, "MaterialRequirement")
        _el(node, "ID", f"{req_id}:{code}")
        _el(node, "MaterialDefinitionID", code)
        _descriptions(node, name)
        _el(node, "MaterialUse", "Consumed")
        _quantity(node, "Quantity", to_decimal(qty), unit)


def order_b2mml(order: ProductionOrder) -> etree._Element:
    """The production order as a B2MML ``OperationsSchedule`` element.

    Each scheduled operation is a ``SegmentRequirement`` listing the parts it
    consumes; parts consumed by no scheduled operation are needed at order
    start and listed under the first one. An order without operations gets one
    assembly requirement spanning the order, so the schema's mandatory
    ``SegmentRequirement`` still carries the materials.
    """
    def_id = definition_id(order.bom)
    schedule = etree.Element(f"{{{B2MML_NS}}}OperationsSchedule", nsmap=_NSMAP)
    _el(schedule, "ID", order.number)
    _descriptions(schedule, order.product_name)
    _el(schedule, "Version", order.catalog_version)
    _el(schedule, "StartTime", _datetime(order.planned_start))
    _el(schedule, "EndTime", _datetime(order.planned_end))
    _el(schedule, "OperationsType", "Production")
    _el(schedule, "ScheduleState", "Forecast")
    request = _el(schedule, "OperationsRequest")
    _el(request, "ID", order.number)
    _descriptions(request, order.product_name)
    _el(request, "Version", order.catalog_hash)
    _el(request, "StartTime", _datetime(order.planned_start))
    _el(request, "EndTime", _datetime(order.planned_end))
    _el(request, "OperationsType", "Production")
    _el(request, "RequestState", "Forecast")
    _el(request, "OperationsDefinitionID", def_id)
    operations = list(order.operations)
    if not operations:
        assembly = RoutedOperation(
            sequence=0,
            level=0,
            path="",
            item=order.product,
            op=0,
            name=order.product_name,
            work_center="ASSEMBLY",
            quantity=Decimal(order.quantity),
            setup_min=Decimal(0),
            run_min=Decimal(0),
            run_total=Decimal(0),
            duration=Decimal(0),
            condition=None,
            inputs=(),
        )
        operations = [ScheduledOperation(assembly, order.planned_start, order.planned_end)]
    consumption = _consumption(order.bom, [s.operation.key for s in operations])
    for s in operations:
        _segment_requirement(request, order, s, def_id, consumption[s.operation.key])
    return schedule


def xml_bytes(element: etree._Element) -> bytes:
    """Serialize a B2MML element: UTF-8 with an XML declaration, indented."""
    return bytes(etree.tostring(element, xml_declaration=True, encoding="UTF-8", pretty_print=True))
