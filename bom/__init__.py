"""BOM explosion, routing, production orders and ERP exports.

Works on the frozen catalog snapshot (``catalog.snapshot``) and the
configurator's rule language; no web framework, no database.
"""

from __future__ import annotations

from bom.canonical import canonical_json, digest, order_document, to_json_value
from bom.errors import (
    BomCycle,
    BomError,
    BomFormulaError,
    IncompleteConfiguration,
    InvalidConfiguration,
    InvalidQuantity,
    SchedulingError,
    UnknownItem,
    UnknownOperation,
    UnknownProduct,
)
from bom.explode import explode
from bom.export import bom_b2mml, bom_csv, order_b2mml, parts_csv, xml_bytes
from bom.lines import BillOfMaterials, BomItem, InstanceRef, ItemKind, PartRequirement, Provenance
from bom.orders import (
    Feasibility,
    MaterialRequirement,
    ProductionOrder,
    ScheduledOperation,
    create_production_order,
)
from bom.routing import RoutedOperation, route
from bom.work_calendar import WorkCalendar

__all__ = [
    "BillOfMaterials",
    "BomCycle",
    "BomError",
    "BomFormulaError",
    "BomItem",
    "Feasibility",
    "IncompleteConfiguration",
    "InstanceRef",
    "InvalidConfiguration",
    "InvalidQuantity",
    "ItemKind",
    "MaterialRequirement",
    "PartRequirement",
    "ProductionOrder",
    "Provenance",
    "RoutedOperation",
    "ScheduledOperation",
    "SchedulingError",
    "UnknownItem",
    "UnknownOperation",
    "UnknownProduct",
    "WorkCalendar",
    "bom_b2mml",
    "bom_csv",
    "canonical_json",
    "order_document",
    "create_production_order",
    "digest",
    "explode",
    "order_b2mml",
    "parts_csv",
    "route",
    "to_json_value",
    "xml_bytes",
]
