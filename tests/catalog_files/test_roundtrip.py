"""Loading, dumping and hashing a catalog that uses every feature."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest
import yaml

from catalog.files import (
    CatalogInvalid,
    canonical_json,
    catalog_from_document,
    content_hash,
    document_from_catalog,
    dump_catalog,
    load_catalog_file,
    load_catalog_text,
)
from catalog.snapshot import AttributeKind, Catalog, Label

FULL = Path(__file__).resolve().parent / "full_catalog.yaml"


@pytest.fixture(scope="module")
def full() -> Catalog:
    return load_catalog_file(FULL)


def test_full_catalog_loads_every_feature(full: Catalog) -> None:
    bike = full.product("city-bike")
    assert full.name == Label("Wuhan Bikes", "武汉自行车")
    assert full.part("FRAME-ALU") is not None and full.part("FRAME-ALU").cost == Decimal("420.00")  # type: ignore[union-attr]
    assert full.part("FRAME-STEEL").cost == Decimal("180.5")  # type: ignore[union-attr]
    assert {a.kind for a in bike.attributes} == set(AttributeKind)
    assert bike.attribute("accessories").default_set == ("bell",)
    assert bike.attribute("accessories").choices[3].code == "no"  # YAML 1.2: `no` stays a string
    assert bike.attribute("frame_size").choices[0].label == Label("S")
    table = next(r for r in bike.rules if r.id == "gears-by-material")
    assert table.rows[2] == ("carbon", (11, 12)) and table.rows[1] == ("steel", "1..8") and table.allow
    assert not next(r for r in bike.rules if r.id == "no-small-carbon").allow
    assert [p.id for p in bike.prices] == ["carbon", "price-2", "express", "size-table"]
    assert bike.prices[3].table is not None and bike.prices[3].table.rows[2] == (
        ("aluminium", ("L", "XL")),
        Decimal("25.5"),
    )
    assert bike.bom[7].qty == "1.8" and bike.bom[7].scrap_pct == Decimal("5.5")
    assert bike.bom[8].params == (("depth", "basket_depth"), ("finish", '"natural"'))
    wheel = full.module("WHEEL-700C")
    assert wheel is not None and [c.pos for c in wheel.components] == [10, 20]
    basket = full.module("BASKET")
    assert basket is not None and basket.configurable and basket.rules[0].id == "deep-natural"
    assert bike.tests[0].decisions == (("frame_material", "carbon"), ("rack", True))
    assert dict(bike.tests[1].decisions)["accessories"] == ("bell", "lock")


def test_objects_remember_where_they_were_read(full: Catalog) -> None:
    bike = full.product("city-bike")
    loc = bike.attribute("frame_size").loc
    assert loc is not None and (loc.file, loc.line, loc.column) == (str(FULL), 70, 9)  # its `{`
    rule = next(r for r in bike.rules if r.id == "few-accessories-on-carbon")
    assert rule.text_loc is not None and (rule.text_loc.line, rule.text_loc.column) == (110, 11)


@pytest.mark.parametrize("fmt", ["yaml", "json"])
def test_load_of_dump_equals_load(full: Catalog, fmt: str) -> None:
    assert load_catalog_text(dump_catalog(full, fmt), format=fmt) == full


@pytest.mark.parametrize("fmt", ["yaml", "json"])
def test_dump_is_a_fixed_point(full: Catalog, fmt: str) -> None:
    once = dump_catalog(full, fmt)
    assert dump_catalog(load_catalog_text(once, format=fmt), fmt) == once


def test_yaml_and_json_dumps_describe_the_same_catalog(full: Catalog) -> None:
    from_yaml = load_catalog_text(dump_catalog(full, "yaml"), filename="c.yaml")
    from_json = load_catalog_text(dump_catalog(full, "json"), filename="c.json")
    assert from_yaml == from_json
    assert canonical_json(from_yaml) == canonical_json(from_json)


def test_yaml_dump_keeps_chinese_readable(full: Catalog) -> None:
    text = dump_catalog(full)
    assert "武汉自行车" in text and "\\u" not in text
    assert "武汉自行车" in dump_catalog(full, "json")


def test_document_round_trip_and_explicit_keys(full: Catalog) -> None:
    document = document_from_catalog(full)
    assert catalog_from_document(json.loads(json.dumps(document))) == full
    part = document["parts"][1]
    assert list(part) == ["code", "name", "uom", "cost", "lead_time_days"]
    assert part["name"] == {"en": "Steel frame", "zh-CN": ""} and part["cost"] == "180.5"
    assert document["products"][0]["bom"][0]["when"] == "frame_material == aluminium"


def test_canonical_json_is_sorted_compact_utf8(full: Catalog) -> None:
    raw = canonical_json(full)
    assert (
        raw == json.dumps(json.loads(raw), sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
    )
    assert "武汉".encode() in raw


def test_hash_is_stable_across_formats_and_changes_with_content(full: Catalog) -> None:
    digest = content_hash(full)
    assert len(digest) == 64
    assert content_hash(load_catalog_text(dump_catalog(full, "json"))) == digest
    assert content_hash(load_catalog_file(FULL)) == digest
    changed = load_catalog_text(FULL.read_text(encoding="utf-8").replace('cost: "420.00"', 'cost: "421.00"'))
    assert content_hash(changed) != digest
    relabelled = load_catalog_text(FULL.read_text(encoding="utf-8").replace("zh-CN: 铝合金}", "zh-CN: 铝}"))
    assert content_hash(relabelled) != digest


@pytest.mark.parametrize(
    "text", ["no", "yes", "on", "1e5", "true", "null", "0x10", "010", "12", "1.5", "~", "- a", "a: b"]
)
def test_strings_that_look_like_other_types_survive_a_yaml_round_trip(text: str) -> None:
    catalog = load_catalog_text(
        f"format: c2m-catalog/1\ncode: shop\nname: {json.dumps(text)}\ncurrency: CNY\n"
    )
    assert catalog.name.en == text
    assert load_catalog_text(dump_catalog(catalog)).name.en == text
    assert yaml.safe_load(dump_catalog(catalog))["name"]["en"] == text  # plain YAML 1.1 readers agree


def test_json_files_get_positions_too(tmp_path: Path) -> None:
    path = tmp_path / "shop.json"
    path.write_text(
        '{"format": "c2m-catalog/1", "code": "shop", "name": "Shop", "currency": "CNY",\n'
        ' "parts": [\n   {"code": "SEAT", "name": "Seat", "cost": "-1"}]}\n',
        encoding="utf-8",
    )
    with pytest.raises(CatalogInvalid) as caught:
        load_catalog_file(path)
    (problem,) = caught.value.problems
    assert (problem.line, problem.column, problem.field) == (3, 45, "parts[0].cost")
    path.write_text(path.read_text(encoding="utf-8").replace('"-1"', '"1.50"'), encoding="utf-8")
    part = load_catalog_file(path).parts[0]
    assert (
        part.cost == Decimal("1.50") and part.loc is not None and (part.loc.line, part.loc.column) == (3, 4)
    )


def test_format_is_guessed_from_suffix_or_content() -> None:
    text = '{"format": "c2m-catalog/1", "code": "shop", "name": "Shop", "currency": "CNY"}'
    assert load_catalog_text(text).code == "shop"
    with pytest.raises(CatalogInvalid, match="JSON syntax error"):
        load_catalog_text("format: c2m-catalog/1", filename="shop.json")
    with pytest.raises(ValueError, match="expected 'yaml' or 'json'"):
        load_catalog_text(text, format="toml")


def test_document_problems_have_paths_but_no_positions() -> None:
    with pytest.raises(CatalogInvalid) as caught:
        catalog_from_document(
            {"format": "c2m-catalog/1", "code": "shop", "name": "Shop", "currency": "cny", 3: 1}
        )
    assert [(p.line, p.column) for p in caught.value.problems] == [(0, 0), (0, 0)]
    assert {p.field for p in caught.value.problems} == {"", "currency"}
    assert str(caught.value.problems[1]).startswith("<document>:0:0: ")


def test_unreadable_and_non_utf8_files_are_problems_too(tmp_path: Path) -> None:
    with pytest.raises(CatalogInvalid, match="cannot read the file"):
        load_catalog_file(tmp_path / "missing.yaml")
    path = tmp_path / "latin1.yaml"
    path.write_bytes("format: c2m-catalog/1\nname: caf\xe9\n".encode("latin-1"))
    with pytest.raises(CatalogInvalid) as caught:
        load_catalog_file(path)
    assert (caught.value.problems[0].line, caught.value.problems[0].column) == (2, 10)
    assert "not valid UTF-8" in caught.value.problems[0].message


def test_every_problem_is_reported_not_just_the_first() -> None:
    text = (
        "format: c2m-catalog/1\ncode: shop\nname: Shop\ncurrency: CNY\n"
        "parts: [{code: A, name: A, cost: -1}, {code: a, name: B}]\n"
        "products: [{code: p, name: P, base_price: 1, bom: [{pos: 1, item: ZZZ}]}]\n"
    )
    with pytest.raises(CatalogInvalid) as caught:
        load_catalog_text(text)
    assert len(caught.value.problems) == 3
    assert "3 problems in catalog" in str(caught.value)


def test_canonical_json_reads_back_to_the_same_catalog_whatever_the_mapping_order():
    """Mappings (module params, golden test settings) have no order: the canonical form must not lose it."""
    import json

    from catalog.files import canonical_json, catalog_from_document, content_hash, load_catalog_text

    text = (Path(__file__).parent / "full_catalog.yaml").read_text(encoding="utf-8")
    catalog = load_catalog_text(text, filename="full_catalog.yaml")
    assert catalog_from_document(json.loads(canonical_json(catalog))) == catalog
    for product in catalog.products:
        for test in product.tests:
            assert list(test.decisions) == sorted(test.decisions, key=lambda d: d[0])
        for line in product.bom:
            assert list(line.params) == sorted(line.params)
    assert content_hash(catalog_from_document(json.loads(canonical_json(catalog)))) == content_hash(catalog)
