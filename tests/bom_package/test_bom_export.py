from __future__ import annotations

import csv
import io
import warnings
from datetime import date

import pytest
from lxml import etree

from bom import bom_b2mml, bom_csv, create_production_order, explode, order_b2mml, parts_csv, route, xml_bytes
from bom.export import B2MML_NS, BOM_CSV_COLUMNS, PARTS_CSV_COLUMNS
from bom_package.bom_testcatalog import B2MML_DIR

NS = {"b": B2MML_NS}
SAFE_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)


@pytest.fixture(scope="module")
def b2mml_schema():
    """MESA's OperationsDefinition and OperationsSchedule schemas, loaded once (loading is slow)."""
    xmlschema = pytest.importorskip("xmlschema")
    entries = [B2MML_DIR / "B2MML-OperationsDefinition.xsd", B2MML_DIR / "B2MML-OperationsSchedule.xsd"]
    missing = [str(p) for p in entries if not p.is_file()]
    if missing:
        pytest.skip(f"../shared/b2mml not present: missing {', '.join(missing)}")
    # One wrapper schema includes both entry points so the common types are parsed once.
    includes = "".join(f'<xs:include schemaLocation="{p.resolve().as_uri()}"/>' for p in entries)
    wrapper = (
        '<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema" targetNamespace="http://www.mesa.org/xml/B2MML" '
        f'elementFormDefault="qualified">{includes}</xs:schema>'
    )
    # The shared folder leaves out the BatchML schemas that B2MML-AllExtensions.xsd includes; lax
    # building records those missing (unused) components instead of failing, and every type our
    # documents use is still fully checked (see the broken-document test below).
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return xmlschema.XMLSchema(io.StringIO(wrapper), validation="lax", base_url=str(B2MML_DIR.resolve()))


def _parse(data: bytes):
    return etree.fromstring(data, parser=SAFE_PARSER)


def _order(catalog, config, **kw):
    return create_production_order(
        catalog,
        "7",
        "c0ffee",
        "cargo-bike",
        config,
        quantity=2,
        due_date=date(2025, 3, 14),
        number="PO-42",
        **kw,
    )


def test_multi_level_csv_has_a_header_and_one_row_per_bom_line(catalog, config):
    bom = explode(catalog, "cargo-bike", config)
    text = bom_csv(bom)
    rows = list(csv.DictReader(io.StringIO(text)))
    assert tuple(rows[0].keys()) == BOM_CSV_COLUMNS
    assert len(rows) == len(bom.items)
    spoke = next(r for r in rows if r["path"] == "0020/0020")
    assert (spoke["level"], spoke["item"], spoke["total_with_scrap"], spoke["scrap_pct"]) == (
        "2",
        "SPOKE",
        "68",
        "5",
    )
    assert spoke["name_zh_cn"] == "辐条"
    shelf = next(r for r in rows if r["path"] == "0060")
    assert shelf["configuration"] == "depth=300;finish=painted"
    bell = next(r for r in rows if r["item"] == "BELL")
    assert bell["inputs"] == "accessories=bell,lights"
    assert text.endswith("\r\n")
    text.encode("utf-8")


def test_flat_csv_lists_each_part_once(catalog, config):
    bom = explode(catalog, "cargo-bike", config)
    rows = list(csv.DictReader(io.StringIO(parts_csv(bom))))
    assert tuple(rows[0].keys()) == PARTS_CSV_COLUMNS
    assert [r["item"] for r in rows] == [p.item for p in bom.parts]
    bolt = next(r for r in rows if r["item"] == "BOLT")
    assert (bolt["total_with_scrap"], bolt["cost"], bolt["paths"]) == ("30", "3", "0060/0030;0070")


def test_bom_b2mml_is_valid_and_nests_module_components(catalog, config, b2mml_schema):
    bom = explode(catalog, "cargo-bike", config)
    data = xml_bytes(bom_b2mml(bom, route(catalog, bom)))
    root = _parse(data)
    b2mml_schema.validate(root)
    assert root.tag == f"{{{B2MML_NS}}}OperationsDefinitionInformation"
    bill = root.find("b:OperationsMaterialBill", NS)
    top = bill.findall("b:OperationsMaterialBillItem", NS)
    assert [t.findtext("b:MaterialSpecificationID", namespaces=NS) for t in top] == [
        i.item for i in bom.items if i.level == 1
    ]
    wheel = top[1]
    nested = wheel.findall("b:AssemblyBillOfMaterialItem", NS)
    assert [n.findtext("b:MaterialSpecificationID", namespaces=NS) for n in nested] == ["RIM", "SPOKE"]
    assert wheel.findtext("b:AssemblyType", namespaces=NS) == "Physical"
    segments = root.findall("b:OperationsDefinition/b:OperationsSegment", NS)
    assert len(segments) == 6
    assert segments[0].findtext("b:Duration", namespaces=NS) == "PT29M"  # 5 min setup + 2 wheels x 12 min
    ref = root.findtext("b:OperationsDefinition/b:OperationsMaterialBillID", namespaces=NS)
    assert ref == bill.findtext("b:ID", namespaces=NS)
    assert b"xml:lang" not in data and data.startswith(b"<?xml version='1.0' encoding='UTF-8'?>")


def test_order_b2mml_is_valid_with_schedule_and_materials(catalog, config, b2mml_schema):
    order = _order(catalog, config)
    root = _parse(xml_bytes(order_b2mml(order)))
    b2mml_schema.validate(root)
    request = root.find("b:OperationsRequest", NS)
    reqs = request.findall("b:SegmentRequirement", NS)
    assert len(reqs) == len(order.operations)
    last = reqs[-1]
    assert last.findtext("b:LatestEndTime", namespaces=NS) == "2025-03-14T16:00:00"
    weld = next(r for r in reqs if r.findtext("b:ProcessSegmentID", namespaces=NS) == "cargo-bike:10")
    frame = weld.find("b:MaterialRequirement", NS)
    assert frame.findtext("b:MaterialDefinitionID", namespaces=NS) == "FRAME-STEEL"
    assert frame.findtext("b:Quantity/b:QuantityString", namespaces=NS) == "2"
    # every part appears somewhere, with its whole quantity summed over the requirements
    totals: dict[str, float] = {}
    for m in request.iter(f"{{{B2MML_NS}}}MaterialRequirement"):
        code = m.findtext("b:MaterialDefinitionID", namespaces=NS)
        totals[code] = totals.get(code, 0) + float(m.findtext("b:Quantity/b:QuantityString", namespaces=NS))
    assert totals == {m.item: float(m.quantity) for m in order.materials}


def test_schema_validation_catches_a_broken_document(catalog, config, b2mml_schema):
    root = order_b2mml(_order(catalog, config))
    request = root.find("b:OperationsRequest", NS)
    for req in request.findall("b:SegmentRequirement", NS):
        request.remove(req)
    assert not b2mml_schema.is_valid(root)


def test_order_without_operations_still_exports_a_valid_schedule(config, b2mml_schema):
    from dataclasses import replace

    from bom_package.bom_testcatalog import make_catalog
    from catalog.snapshot import BomLine

    cat = make_catalog(bom=(BomLine(10, "BOLT", "3"),))
    cat = replace(cat, products=(replace(cat.products[0], routing=()),))
    order = create_production_order(
        cat, "1", "h", "cargo-bike", config, quantity=1, due_date=date(2025, 3, 14), number="PO-0"
    )
    root = _parse(xml_bytes(order_b2mml(order)))
    b2mml_schema.validate(root)
    assert root.findtext(".//b:MaterialRequirement/b:MaterialDefinitionID", namespaces=NS) == "BOLT"


def _demo_products():
    from pathlib import Path

    from catalog.files import load_catalog_file

    demo = Path(__file__).resolve().parents[2] / "catalog" / "demo"
    return [
        pytest.param(file, product.code, id=f"{file.stem}-{product.code}")
        for file in sorted(demo.glob("*.yaml"))
        for product in load_catalog_file(file).products
    ]


@pytest.mark.parametrize(("file", "product_code"), _demo_products())
def test_demo_product_exports_are_valid_b2mml(file, product_code, b2mml_schema):
    from catalog.files import content_hash, load_catalog_file
    from configurator import Configurator

    catalog = load_catalog_file(file)
    configuration = Configurator(catalog.product(product_code), catalog_key=content_hash(catalog)).complete()
    order = create_production_order(
        catalog,
        "demo",
        content_hash(catalog),
        product_code,
        configuration,
        quantity=3,
        due_date=date(2025, 6, 30),
        number="PO-DEMO",
        today=date(2025, 6, 2),
    )
    b2mml_schema.validate(_parse(xml_bytes(bom_b2mml(order.bom, [s.operation for s in order.operations]))))
    b2mml_schema.validate(_parse(xml_bytes(order_b2mml(order))))
    rows = list(csv.DictReader(io.StringIO(bom_csv(order.bom))))
    assert len(rows) == len(order.bom.items)
