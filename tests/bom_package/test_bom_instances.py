"""Repeated components' instances on BOM lines and in the exports; instances not in use left out."""

from __future__ import annotations

import csv
import io
import json
from datetime import date
from pathlib import Path

import pytest
from lxml import etree

from bom import (
    bom_b2mml,
    bom_csv,
    canonical_json,
    create_production_order,
    digest,
    explode,
    order_b2mml,
    xml_bytes,
)
from bom.documents import production_order_from_document
from bom.export import B2MML_NS
from bom.instances import product_instances, unused_attributes
from bom_package.test_bom_export import b2mml_schema  # noqa: F401  (the schema fixture)
from catalog.files import load_catalog_file
from catalog.snapshot import AttributeKind

WARDROBES = Path(__file__).resolve().parents[2] / "catalog" / "demo" / "wardrobes.yaml"
NS = {"b": B2MML_NS}


@pytest.fixture(scope="module")
def wardrobes():
    return load_catalog_file(WARDROBES)


def _defaults(product):
    values = {}
    for a in product.attributes:
        values[a.code] = frozenset(a.default_set or ()) if a.kind is AttributeKind.SET else a.default
    return values


@pytest.fixture
def two_sections(wardrobes):
    """Two sections in use (the third one's attributes are pinned); section 2: mirror door, a drawer, no shelves."""
    values = _defaults(wardrobes.product("pax-system"))
    values.update(section_count=2, section2_drawers=1, section2_shelves=0, section2_door="mirror")
    return values


def test_instances_are_read_from_the_unrolled_product(wardrobes):
    product = wardrobes.product("pax-system")
    instances = product_instances(product)
    assert [(i.component, i.index, i.always) for i in instances] == [
        ("section", 1, True),
        ("section", 2, False),
        ("section", 3, False),
    ]
    assert instances[1].attributes == (
        "section2_width", "section2_door", "section2_shelves", "section2_drawers", "section2_rail",
    )
    assert (instances[2].label.en, instances[2].label.zh_CN) == ("Section 3", "第 3 段")
    # A product without repeated components has none; an ordinary int attribute ending in _count is not one.
    assert product_instances(wardrobes.product("modular-wardrobe")) == ()


def test_unused_attributes_follow_the_guard(wardrobes):
    product = wardrobes.product("pax-system")
    assert unused_attributes(product, {"section_count": 3}) == frozenset()
    assert unused_attributes(product, {"section_count": 2}) == {
        "section3_width", "section3_door", "section3_shelves", "section3_drawers", "section3_rail",
    }
    assert len(unused_attributes(product, {"section_count": 1})) == 10
    assert unused_attributes(product, {}) == frozenset()  # count not known: nothing is left out


def test_bom_lines_of_an_instance_carry_it_and_their_subtree_too(wardrobes, two_sections):
    bom = explode(wardrobes, "pax-system", two_sections)
    by_path = {i.path: i for i in bom.items}
    assert by_path["0010"].instance is None  # the product's own carcass reads every section
    assert by_path["0030"].instance is None
    door = by_path["1502"]
    assert (door.instance.component, door.instance.index, door.instance.label.en) == ("section", 2, "Section 2")
    assert dict(door.instance.values) == {"width": 800, "door": "mirror", "shelves": 0, "drawers": 1, "rail": True}
    assert by_path["1501"].instance.index == 1
    below = [i for i in bom.items if i.path.startswith("1202/")]
    assert below and all(i.instance == by_path["1202"].instance for i in below)
    assert not any(i.instance is not None and i.instance.index == 3 for i in bom.items)


def test_instance_is_in_the_json_and_read_back(wardrobes, two_sections):
    order = create_production_order(
        wardrobes, "1", "h", "pax-system", two_sections, quantity=1, due_date=date(2025, 3, 14), number="PO-1"
    )
    document = json.loads(canonical_json(order))
    line = next(i for i in document["bom"]["items"] if i["path"] == "1202")
    assert line["instance"] == {
        "component": "section",
        "index": 2,
        "label": {"en": "Section 2", "zh-CN": "第 2 段"},
        "values": {"door": "mirror", "drawers": 1, "rail": True, "shelves": 0, "width": 800},
    }
    assert "instance" not in next(i for i in document["bom"]["items"] if i["path"] == "0010")
    # The production order lists the attributes the product is made with; its BOM keeps the complete input.
    assert not any(code.startswith("section3_") for code in document["configuration"])
    assert "section2_door" in document["configuration"]
    assert document["bom"]["configuration"]["section3_width"] == 800
    again = production_order_from_document(document)
    assert digest(again) == digest(order)
    assert again.bom.item_at("1202").instance.component == "section"


def test_csv_names_the_instance(wardrobes, two_sections):
    rows = list(csv.DictReader(io.StringIO(bom_csv(explode(wardrobes, "pax-system", two_sections)))))
    shelf = next(r for r in rows if r["path"] == "1101")
    assert (shelf["instance_component"], shelf["instance_index"]) == ("section", "1")
    assert shelf["instance_values"] == "width=800;door=flat;shelves=2;drawers=0;rail=true"
    top = next(r for r in rows if r["path"] == "0010")
    assert (top["instance_component"], top["instance_index"], top["instance_values"]) == ("", "", "")


def test_b2mml_carries_instances_and_leaves_out_unused_ones(wardrobes, two_sections, b2mml_schema):  # noqa: F811
    order = create_production_order(
        wardrobes, "1", "h", "pax-system", two_sections, quantity=1, due_date=date(2025, 3, 14), number="PO-1"
    )
    schedule = etree.fromstring(xml_bytes(order_b2mml(order, wardrobes)))
    b2mml_schema.validate(schedule)
    ids = schedule.xpath("//b:SegmentParameter/b:ID/text()", namespaces=NS)
    assert "section2_door" in ids and not any(i.startswith("section3_") for i in ids)
    props = schedule.xpath("//b:MaterialRequirementProperty[b:ID='instance']", namespaces=NS)
    assert {p.findtext("b:Value/b:ValueString", namespaces=NS) for p in props} == {"section-1", "section-2"}
    rail = schedule.xpath("//b:MaterialRequirement[b:MaterialDefinitionID='RAIL-SUPPORT']/b:ID/text()", namespaces=NS)
    assert sorted(r.rsplit(":", 1)[1] for r in rail) == ["section-1", "section-2"]  # summed per instance
    # An operation of a module of section 2 (its door) carries the instance as a parameter.
    door_ops = schedule.xpath(
        "//b:SegmentRequirement[b:SegmentParameter[b:ID='instance']/b:Value/b:ValueString='section-2']",
        namespaces=NS,
    )
    assert door_ops
    child = door_ops[0].xpath("b:SegmentParameter[b:ID='instance/door']/b:Value/b:ValueString/text()", namespaces=NS)
    assert child == ["mirror"]
    definition = etree.fromstring(
        xml_bytes(bom_b2mml(order.bom, [s.operation for s in order.operations], wardrobes))
    )
    b2mml_schema.validate(definition)
    specs = definition.xpath("//b:MaterialSpecificationProperty[b:ID='instance']", namespaces=NS)
    assert specs
    values = specs[0].xpath("b:MaterialSpecificationPropertyChild/b:ID/text()", namespaces=NS)
    assert values == ["instance/width", "instance/door", "instance/shelves", "instance/drawers", "instance/rail"]
    params = definition.xpath("//b:ParameterSpecification/b:ID/text()", namespaces=NS)
    assert not any(p.startswith("section3_") for p in params)
