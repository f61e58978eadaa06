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
  end, the configuration as ``SegmentParameter``s and the parts the operation
  consumes as ``MaterialRequirement``.
- Item master (:func:`materials_b2mml`, :func:`item_master_csv`): the catalog's
  parts and modules as a B2MML ``MaterialInformation`` of ``MaterialDefinition``s
  with unit, unit cost and lead time as properties.

Units of measure in B2MML are UN/ECE Recommendation 20 codes (``MMT`` for
``mm``, ``H87`` for ``pc``) with ``listID="UNECERec20"`` and the catalog's own
unit as the ``name`` attribute; a unit without a known code is written as is,
without ``listID`` (see :data:`UNECE_REC20`).

Configuration parameters. Every attribute of the product becomes a parameter
(``SegmentParameter`` of each segment requirement, ``ParameterSpecification``
of each operations segment): ``ID`` the attribute code, ``Value`` the value
(``ValueString``, ``DataType`` ``string``/``integer``/``boolean``, the unit
for an integer with a unit), ``Description`` the attribute's label in English
and Chinese, and for a chosen value with a label (enum, set elements) a
``ParameterChild`` per value whose ``Description``s are the value's labels.
A set attribute's ``ValueString`` is its element codes joined by ``,``. The
operations of a configurable module occurrence also carry that module's own
attribute values, with IDs ``<module item>/<attribute>``. The attributes of a
repeated component's instance not in use are left out (their values are pinned,
not chosen).

Repeated components' instances. A material a segment consumes for one instance
(``MaterialSpecification``, ``MaterialRequirement``) is summed per instance, with
the instance in its ID (``…:SHELF-PIN:section-2``) and a property (``MaterialSpecificationProperty``,
``MaterialRequirementProperty``) with ID ``instance``, the value ``section-2``, the
instance's label as description and its attribute values as child properties
``instance/<attribute>``. An operation of a module of an instance carries the
parameter ``instance`` (``section-2``) and its values as ``instance/<attribute>``.
The bill of materials items (``OperationsMaterialBillItem``) have no property
element in B2MML: the instance of a BOM line is in the JSON and CSV exports.

The Business To Manufacturing Markup Language (B2MML) is used courtesy of MESA International.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from fractions import Fraction
from typing import Any

from lxml import etree

from bom.canonical import canonical_json, decimal_text, digest
from bom.lines import Assignment, BillOfMaterials, BomItem, InstanceRef, ItemKind, to_decimal
from bom.orders import ProductionOrder, ScheduledOperation, in_use
from bom.routing import RoutedOperation
from catalog.snapshot import Attribute, Catalog, Label, Product

B2MML_NS = "http://www.mesa.org/xml/B2MML"
_NSMAP = {None: B2MML_NS}
B2MML_REVISION = 3
"""Bumped whenever the B2MML of the same production order changes (2: configuration parameters,
UN/ECE units; 3: repeated components' instances on materials and module operations); HTTP entity tags of B2MML representations include it, so caches see the change."""

CSV_REVISION = 2
"""Bumped whenever the multi-level BOM CSV of the same production order changes (2: the instance
columns); HTTP entity tags of CSV representations include it."""

UNECE_REC20: dict[str, str] = {
    "pc": "H87",
    "pcs": "H87",
    "piece": "H87",
    "ea": "EA",
    "each": "EA",
    "set": "SET",
    "pair": "PR",
    "pr": "PR",
    "m": "MTR",
    "cm": "CMT",
    "mm": "MMT",
    "km": "KMT",
    "m2": "MTK",
    "m²": "MTK",
    "cm2": "CMK",
    "mm2": "MMK",
    "m3": "MTQ",
    "m³": "MTQ",
    "kg": "KGM",
    "g": "GRM",
    "t": "TNE",
    "l": "LTR",
    "ml": "MLT",
    "h": "HUR",
    "min": "MIN",
    "s": "SEC",
    "day": "DAY",
    "w": "WTT",
    "kw": "KWT",
    "v": "VLT",
    "%": "P1",
    "deg": "DD",
    "°": "DD",
}
"""Catalog units (case-insensitive) and their UN/ECE Recommendation 20 common codes."""
UNECE_LIST_ID = "UNECERec20"
UNECE_AGENCY = "6"
"""UN/ECE, in the UN/CEFACT agency code list (3055)."""


def unit_code(unit: str | None) -> str | None:
    """The UN/ECE Recommendation 20 code of a catalog unit, or None when it has no known code.

    >>> unit_code("mm"), unit_code("pc"), unit_code("M2"), unit_code("bolts")
    ('MMT', 'H87', 'MTK', None)
    """
    if unit is None:
        return None
    return UNECE_REC20.get(unit.strip().lower())

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
    "texts",
    "instance_component",
    "instance_index",
    "instance_values",
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
    (set values: codes joined by ``,``); ``texts`` the buyer's texts printed on
    the line (engraving), ``field=text`` pairs the same way. A line of a repeated
    component's instance names it in ``instance_component`` and ``instance_index``
    (1-based) with the instance's values in ``instance_values`` (``attr=value`` pairs,
    the component's own attribute codes); empty on the other lines.

    >>> from bom.explode import explode
    >>> from catalog.snapshot import BomLine, Catalog, Label, Part, Product
    >>> cat = Catalog("c", Label("C"), "CNY", (Part("BOLT", Label("Bolt", "螺栓"), cost=Decimal("0.10")),), (),
    ...     (Product("p", Label("P"), Decimal(0), (), bom=(BomLine(10, "BOLT", "4", scrap_pct=Decimal("25")),)),))
    >>> print(bom_csv(explode(cat, "p", {})).splitlines()[1])
    1,0010,0010,BOLT,part,Bolt,螺栓,4,4,pc,25,5,0.5,,p,,4,,,,,,
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
                _pairs_text(i.texts),
                i.instance.component if i.instance is not None else None,
                i.instance.index if i.instance is not None else None,
                _pairs_text(i.instance.values) if i.instance is not None else None,
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


def _unit(parent: etree._Element, unit: str) -> None:
    """``UnitOfMeasure``: the Recommendation 20 code, the catalog's unit as its name."""
    code = unit_code(unit)
    if code is None:
        _el(parent, "UnitOfMeasure", unit)
    else:
        _el(parent, "UnitOfMeasure", code, listID=UNECE_LIST_ID, listAgencyID=UNECE_AGENCY, name=unit)


def _quantity(parent: etree._Element, tag: str, value: Decimal, unit: str, key: str | None = None) -> None:
    q = _el(parent, tag)
    _el(q, "QuantityString", decimal_text(value))
    _el(q, "DataType", "decimal")
    _unit(q, unit)
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


def bom_b2mml(
    bom: BillOfMaterials, operations: Iterable[RoutedOperation] = (), catalog: Catalog | None = None
) -> etree._Element:
    """The BOM (and its routing) as a B2MML ``OperationsDefinitionInformation`` element.

    With the ``catalog``, parameters carry the attributes' labels, units and value labels.

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
        for prefix, p in _segment_parameters(bom, catalog, op.path):
            _parameter(seg, "ParameterSpecification", p, prefix)
        equipment = _el(seg, "EquipmentSpecification")
        _el(equipment, "ID", f"{_segment_id(op)}:EQ")
        _el(equipment, "EquipmentClassID", op.work_center)
        for code, name, unit, qty, ref in consumption[op.key]:
            spec = _el(seg, "MaterialSpecification")
            _el(spec, "ID", _material_id(_segment_id(op), code, ref))
            _el(spec, "MaterialDefinitionID", code)
            _descriptions(spec, name)
            _el(spec, "MaterialUse", "Consumed")
            _quantity(spec, "Quantity", to_decimal(qty), unit)
            if ref is not None:
                _instance_property(spec, "MaterialSpecificationProperty", ref)
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
    _unit(v, unit)


# --- configuration parameters ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ParameterValue:
    """One attribute of a configuration as a parameter: code, labels, value, unit, value labels."""

    code: str
    label: Label
    value: object
    data_type: str
    """``string``, ``integer`` or ``boolean``."""
    unit: str | None
    value_labels: tuple[tuple[str, Label], ...]
    """(value code, label) of the chosen enum value or set elements."""

    @property
    def text(self) -> str:
        return _value_text(self.value)


def configuration_parameters(
    values: Iterable[tuple[str, object]], attributes: Sequence[Attribute] = ()
) -> list[ParameterValue]:
    """The parameters of a configuration, in the attributes' order (then any value without a definition).

    >>> from catalog.snapshot import Attribute, AttributeKind, Choice, Label
    >>> colour = Attribute("colour", AttributeKind.ENUM, Label("Colour", "颜色"), (Choice("oak", Label("Oak", "橡木")),))
    >>> width = Attribute("width", AttributeKind.INT, Label("Width"), minimum=1, maximum=9, unit="mm")
    >>> [(p.code, p.text, p.data_type, p.unit, [c for c, _ in p.value_labels])
    ...  for p in configuration_parameters([("width", 600), ("colour", "oak"), ("engraving", "Li")], (colour, width))]
    [('colour', 'oak', 'string', None, ['oak']), ('width', '600', 'integer', 'mm', []), ('engraving', 'Li', 'string', None, [])]
    """
    given = dict(values)
    out: list[ParameterValue] = []
    for attribute in attributes:
        if attribute.code not in given:
            continue
        value = given.pop(attribute.code)
        choices = {c.code: c.label for c in attribute.choices}
        chosen = value if isinstance(value, tuple | list) else (value,)
        labels = tuple((str(c), choices[str(c)]) for c in chosen if str(c) in choices)
        out.append(
            ParameterValue(attribute.code, attribute.label, value, _data_type(value), attribute.unit, labels)
        )
    for code, value in given.items():
        out.append(ParameterValue(code, Label(code), value, _data_type(value), None, ()))
    return out


def _data_type(value: object) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    return "string"


def _parameter(parent: etree._Element, tag: str, p: ParameterValue, prefix: str = "") -> None:
    node = _el(parent, tag)
    _el(node, "ID", f"{prefix}{p.code}")
    value = _el(node, "Value")
    _el(value, "ValueString", p.text)
    _el(value, "DataType", p.data_type)
    if p.unit:
        _unit(value, p.unit)
    _descriptions(node, p.label)
    for code, label in p.value_labels:
        child = _el(node, "ParameterChild")
        _el(child, "ID", f"{prefix}{p.code}={code}")
        child_value = _el(child, "Value")
        _el(child_value, "ValueString", code)
        _el(child_value, "DataType", "string")
        _descriptions(child, label)


def _product_attributes(catalog: Catalog | None, code: str) -> tuple[Attribute, ...]:
    if catalog is None:
        return ()
    for product in catalog.products:
        if product.code == code:
            return product.attributes
    for module in catalog.modules:
        if module.code == code:
            return module.attributes
    return ()


def _segment_parameters(
    bom: BillOfMaterials, catalog: Catalog | None, path: str, configuration: Assignment | None = None
) -> list[tuple[str, ParameterValue]]:
    """(ID prefix, parameter) for an operation at BOM ``path``: the product's configuration
    (``configuration``, else the BOM's without the attributes of instances not in use when the
    ``catalog`` tells them), then, for an operation of a module of a repeated component's instance,
    that instance (``instance``, with its values prefixed ``instance/``), then the configurable
    module occurrence's own values (prefixed ``<module>/``)."""
    attributes = _product_attributes(catalog, bom.product)
    if configuration is None:
        product = _product(catalog, bom.product)
        configuration = in_use(product, bom.configuration) if product is not None else bom.configuration
    out = [("", p) for p in configuration_parameters(configuration, attributes)]
    # The buyer's texts (engraving...) travel as string parameters with the ``text/`` prefix.
    out += [("text/", ParameterValue(code, Label(code), text, "string", None, ())) for code, text in bom.texts]
    if path:
        module = next((i for i in bom.items if i.path == path), None)
        if module is not None and module.instance is not None:
            ref = module.instance
            out.append(("", ParameterValue("instance", ref.label, instance_id(ref), "string", None, ())))
            out += [("instance/", ParameterValue(c, Label(c), v, _data_type(v), None, ())) for c, v in ref.values]
        if module is not None and module.configuration:
            attributes = _product_attributes(catalog, module.item)
            out += [(f"{module.item}/", p) for p in configuration_parameters(module.configuration, attributes)]
    return out


def _product(catalog: Catalog | None, code: str) -> Product | None:
    if catalog is None:
        return None
    return next((p for p in catalog.products if p.code == code), None)


_Consumed = tuple[str, Label, str, Fraction, InstanceRef | None]
"""What an operation consumes of one part for one instance: item, name, unit, total with scrap, instance."""


def _consumption(bom: BillOfMaterials, keys: list[tuple[str, int]]) -> dict[tuple[str, int], list[_Consumed]]:
    """Parts each operation consumes, summed per part and repeated component's instance.

    Parts whose line links to no operation in ``keys`` go to the first key (needed at order start).
    Lines of no instance come first for each part, then the instances in order.
    """
    known = set(keys)
    sums: dict[tuple[str, int], dict[tuple[str, str, int], _Consumed]] = {k: {} for k in keys}
    for item in bom.items:
        if item.kind is not ItemKind.PART or not keys:
            continue
        key = (item.path.rpartition("/")[0], item.op) if item.op is not None else None
        if key is None or key not in known:
            key = keys[0]
        ref = item.instance
        slot = (item.item, ref.component, ref.index) if ref is not None else (item.item, "", 0)
        seen = sums[key].get(slot)
        qty = Fraction(item.total_with_scrap) + (seen[3] if seen else 0)
        sums[key][slot] = (item.item, item.name, item.unit, qty, ref)
    return {k: [v[slot] for slot in sorted(v)] for k, v in sums.items()}


def instance_id(ref: InstanceRef) -> str:
    """An instance as one identifier: ``<component>-<index>`` (``section-2``)."""
    return f"{ref.component}-{ref.index}"


def _instance_property(parent: etree._Element, tag: str, ref: InstanceRef) -> None:
    """The instance a material is for as a ``<tag>`` property: ID ``instance``, the instance's
    identifier as value, its label as description, its attribute values as child properties."""
    node = _el(parent, tag)
    _el(node, "ID", "instance")
    _descriptions(node, ref.label)
    value = _el(node, "Value")
    _el(value, "ValueString", instance_id(ref))
    _el(value, "DataType", "string")
    for code, v in ref.values:
        child = _el(node, f"{tag}Child")
        _el(child, "ID", f"instance/{code}")
        child_value = _el(child, "Value")
        _el(child_value, "ValueString", _value_text(v))
        _el(child_value, "DataType", _data_type(v))


def _material_id(prefix: str, code: str, ref: InstanceRef | None) -> str:
    return f"{prefix}:{code}" if ref is None else f"{prefix}:{code}:{instance_id(ref)}"


def _segment_requirement(
    parent: etree._Element,
    order: ProductionOrder,
    s: ScheduledOperation,
    def_id: str,
    parts: list[_Consumed],
    catalog: Catalog | None,
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
    for prefix, p in _segment_parameters(order.bom, catalog, op.path, order.configuration):
        _parameter(req, "SegmentParameter", p, prefix)
    equipment = _el(req, "EquipmentRequirement")
    _el(equipment, "ID", f"{req_id}:EQ")
    _el(equipment, "EquipmentClassID", op.work_center)
    for code, name, unit, qty, ref in parts:
        node = _el(req, "MaterialRequirement")
        _el(node, "ID", _material_id(req_id, code, ref))
        _el(node, "MaterialDefinitionID", code)
        _descriptions(node, name)
        _el(node, "MaterialUse", "Consumed")
        _quantity(node, "Quantity", to_decimal(qty), unit)
        if ref is not None:
            _instance_property(node, "MaterialRequirementProperty", ref)


def order_b2mml(order: ProductionOrder, catalog: Catalog | None = None) -> etree._Element:
    """The production order as a B2MML ``OperationsSchedule`` element.

    Every segment requirement carries the configuration as ``SegmentParameter``s
    (with the ``catalog``: attribute labels, units and value labels too).

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
        _segment_requirement(request, order, s, def_id, consumption[s.operation.key], catalog)
    return schedule


# --- item master -----------------------------------------------------------------------------------

ITEM_MASTER_FORMAT = "c2m-item-master/1"
ITEM_MASTER_CSV_COLUMNS = (
    "code",
    "kind",
    "name_en",
    "name_zh_cn",
    "unit",
    "unit_code",
    "unit_cost",
    "currency",
    "lead_time_days",
)


def item_master(catalog: Catalog, version: str) -> dict[str, object]:
    """The catalog's parts and modules as JSON-ready item master data (sorted by kind, then code).

    Modules have no cost of their own (their cost is their components'): ``unit_cost`` is null.
    """
    return {
        "format": ITEM_MASTER_FORMAT,
        "catalog": catalog.code,
        "version": version,
        "currency": catalog.currency,
        "items": _items(catalog),
    }


def _items(catalog: Catalog) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    for part in sorted(catalog.parts, key=lambda x: x.code):
        items.append(
            {
                "code": part.code,
                "kind": "part",
                "name": {"en": part.name.en, "zh-CN": part.name.zh_CN or part.name.en},
                "unit": part.uom,
                "unit_code": unit_code(part.uom),
                "unit_cost": decimal_text(part.cost),
                "lead_time_days": part.lead_time_days,
            }
        )
    for module in sorted(catalog.modules, key=lambda x: x.code):
        items.append(
            {
                "code": module.code,
                "kind": "module",
                "name": {"en": module.name.en, "zh-CN": module.name.zh_CN or module.name.en},
                "unit": module.uom,
                "unit_code": unit_code(module.uom),
                "unit_cost": None,
                "lead_time_days": module.lead_time_days,
            }
        )
    return items


def item_master_csv(catalog: Catalog, version: str) -> str:
    """The item master as CSV text (one row per part or module)."""
    rows: list[list[object]] = [list(ITEM_MASTER_CSV_COLUMNS)]
    for item in _items(catalog):
        name = item["name"]
        rows.append(
            [
                item["code"],
                item["kind"],
                name["en"],
                name["zh-CN"],
                item["unit"],
                item["unit_code"],
                item["unit_cost"],
                catalog.currency if item["unit_cost"] is not None else None,
                item["lead_time_days"],
            ]
        )
    return _csv(rows)


def _property(parent: etree._Element, code: str, label: Label, text: str, data_type: str) -> etree._Element:
    prop = _el(parent, "MaterialDefinitionProperty")
    _el(prop, "ID", code)
    _descriptions(prop, label)
    value = _el(prop, "Value")
    _el(value, "ValueString", text)
    _el(value, "DataType", data_type)
    return value


def materials_b2mml(catalog: Catalog, version: str) -> etree._Element:
    """The item master as a B2MML ``MaterialInformation``: one ``MaterialDefinition`` per part and module.

    Properties: ``UnitOfMeasure`` (the Recommendation 20 code, the catalog unit as its name),
    ``UnitCost`` (parts; in the catalog currency, ISO 4217 as the unit), ``LeadTime`` (days,
    ``DAY``). ``MaterialClassID`` is ``part`` or ``module``.

    >>> from catalog.snapshot import Part
    >>> cat = Catalog("c", Label("C"), "CNY", (Part("BOLT", Label("Bolt"), uom="pc"),), (), ())
    >>> root = materials_b2mml(cat, "1")
    >>> [etree.QName(e).localname for e in root]
    ['ID', 'Description', 'MaterialDefinition']
    """
    root = etree.Element(f"{{{B2MML_NS}}}MaterialInformation", nsmap=_NSMAP)
    _el(root, "ID", f"{catalog.code}-{version}")
    _descriptions(root, catalog.name)
    for item in _items(catalog):
        definition = _el(root, "MaterialDefinition")
        _el(definition, "ID", str(item["code"]))
        _el(definition, "Version", version)
        name = item["name"]
        _descriptions(definition, Label(name["en"], name["zh-CN"]))
        unit = str(item["unit"])
        uom = _property(definition, "UnitOfMeasure", Label("Unit of measure", "计量单位"), unit_code(unit) or unit, "Code")
        _unit(uom, unit)
        if item["unit_cost"] is not None:
            cost = _property(definition, "UnitCost", Label("Unit cost", "单位成本"), str(item["unit_cost"]), "Amount")
            _el(cost, "UnitOfMeasure", catalog.currency, listID="ISO4217")
        lead = _property(
            definition, "LeadTime", Label("Lead time", "交货期"), str(item["lead_time_days"]), "integer"
        )
        _unit(lead, "day")
        _el(definition, "MaterialClassID", str(item["kind"]))
        if item["kind"] == "module":
            _el(definition, "AssemblyType", "Physical")
            _el(definition, "AssemblyRelationship", "Permanent")
    return root


def xml_bytes(element: etree._Element) -> bytes:
    """Serialize a B2MML element: UTF-8 with an XML declaration, indented."""
    return bytes(etree.tostring(element, xml_declaration=True, encoding="UTF-8", pretty_print=True))
