from __future__ import annotations

import json
from datetime import date, datetime
from decimal import Decimal

import pytest

from bom import canonical_json, create_production_order, digest, explode
from bom.canonical import decimal_text


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (Decimal("2.50"), "2.5"),
        (Decimal("100"), "100"),
        (Decimal("1E+2"), "100"),
        (Decimal("0.000"), "0"),
        (Decimal("-0"), "0"),
        (Decimal("-1.230"), "-1.23"),
        (Decimal("0.0000001"), "0.0000001"),
    ],
)
def test_decimals_are_normalized_plain_strings(value, text):
    assert decimal_text(value) == text


def test_canonical_json_sorts_keys_has_no_whitespace_and_keeps_unicode():
    data = {
        "b": [Decimal("1.10"), date(2025, 3, 14)],
        "a": {"z": True, "y": None},
        "c": "车架",
        "d": datetime(2025, 3, 14, 8, 30),
    }
    out = canonical_json(data)
    assert (
        out
        == '{"a":{"y":null,"z":true},"b":["1.1","2025-03-14"],"c":"车架","d":"2025-03-14T08:30:00"}'.encode()
    )


@pytest.mark.parametrize("bad", [1.5, {1: "x"}, object()])
def test_floats_and_other_inexact_values_are_refused(bad):
    with pytest.raises(TypeError):
        canonical_json({"x": bad})


def test_bom_json_is_byte_stable_and_digest_is_its_sha256(catalog, config):
    import hashlib

    a = explode(catalog, "cargo-bike", config)
    b = explode(catalog, "cargo-bike", dict(config))
    assert canonical_json(a) == canonical_json(b)
    assert digest(a) == hashlib.sha256(canonical_json(a)).hexdigest()
    config["gears"] = 7
    assert digest(explode(catalog, "cargo-bike", config)) != digest(a)


def test_bom_json_has_the_documented_shape(catalog, config):
    data = json.loads(canonical_json(explode(catalog, "cargo-bike", config, quantity=2)))
    assert data["format"] == "c2m-bom/1"
    assert (data["catalog"], data["product"], data["quantity"], data["currency"]) == (
        "test-bikes",
        "cargo-bike",
        2,
        "CNY",
    )
    assert data["configuration"]["accessories"] == ["bell", "lights"]
    spoke = next(i for i in data["items"] if i["path"] == "0020/0020")
    assert spoke["total_with_scrap"] == "135"  # 128 spokes + 5 % scrap = 134.4, rounded up to whole pieces
    assert spoke["name"] == {"en": "Spoke", "zh-CN": "辐条"}
    assert set(spoke) == {
        "level",
        "position",
        "path",
        "item",
        "name",
        "kind",
        "quantity_per",
        "total_quantity",
        "unit",
        "scrap_pct",
        "total_with_scrap",
        "cost",
        "op",
        "owner",
        "provenance",
        "configuration",
    }
    assert isinstance(data["total_cost"], str)


def test_order_json_embeds_the_bom_and_its_digest(catalog, config):
    order = create_production_order(
        catalog,
        "3",
        "feed",
        "cargo-bike",
        config,
        quantity=1,
        due_date=date(2025, 3, 14),
        number="PO-9",
        today=date(2025, 3, 3),
    )
    data = json.loads(canonical_json(order))
    assert data["format"] == "c2m-production-order/1"
    assert data["bom_sha256"] == digest(order.bom)
    assert data["planned_end"] == "2025-03-14T16:00:00"
    assert data["calendar"]["working_days"] == [1, 2, 3, 4, 5]
    assert data["feasibility"]["due_date_reachable"] is True
    assert data["operations"][0]["planned_start"] < data["operations"][-1]["planned_end"]
    assert canonical_json(order) == canonical_json(
        create_production_order(
            catalog,
            "3",
            "feed",
            "cargo-bike",
            config,
            quantity=1,
            due_date=date(2025, 3, 14),
            number="PO-9",
            today=date(2025, 3, 3),
        )
    )


def test_order_document_with_a_known_bom_digest_is_the_canonical_json(catalog, config):
    from bom import order_document

    order = create_production_order(
        catalog, "3", "feed", "cargo-bike", config, quantity=2, due_date=date(2025, 3, 14), number="PO-10"
    )
    assert order_document(order, digest(order.bom)) == canonical_json(order) == order_document(order)


def test_fast_paths_keep_the_checks_of_subclasses_and_keys():
    class Text(str):
        pass

    assert canonical_json({"a": [Text("x"), (1, True, None)], "b": {"c": Decimal("1.50")}}) == (
        b'{"a":["x",[1,true,null]],"b":{"c":"1.5"}}'
    )
    with pytest.raises(TypeError, match="keys must be strings"):
        canonical_json({1: "x"})
    with pytest.raises(TypeError, match="floats"):
        canonical_json([1.5])


def test_a_production_order_from_the_callers_bom_and_routing_is_the_same_document(catalog, config):
    from bom import route

    args = (catalog, "3", "feed", "cargo-bike", config)
    kwargs = {"quantity": 3, "due_date": date(2025, 3, 14), "number": "PO-11", "today": date(2025, 3, 3)}
    bom = explode(catalog, "cargo-bike", config, quantity=3)
    given = create_production_order(*args, **kwargs, exploded=(bom, route(catalog, bom)))
    assert canonical_json(given) == canonical_json(create_production_order(*args, **kwargs))


def _strict_bytes(obj):
    """The canonical bytes through the generic walk (floats and odd keys refused), not the typed encoder."""
    from bom import BillOfMaterials
    from bom.canonical import _dumps, bom_json, order_json

    return _dumps(bom_json(obj) if isinstance(obj, BillOfMaterials) else order_json(obj))


def test_the_typed_encoder_writes_the_bytes_of_the_strict_walk(catalog, config):
    order = create_production_order(
        catalog, "3", "feed", "cargo-bike", config, quantity=3, due_date=date(2025, 3, 14), number="PO-12",
        today=date(2025, 3, 3),
    )  # fmt: skip
    assert canonical_json(order.bom) == _strict_bytes(order.bom)
    assert canonical_json(order) == _strict_bytes(order)


def test_every_demo_product_serialises_alike_on_both_paths_and_spliced():
    from bom import order_document
    from catalog.demo import demo_catalog_paths
    from catalog.files import load_catalog_file
    from configurator import Configurator

    checked = 0
    for path in demo_catalog_paths():
        demo = load_catalog_file(path)
        for product in demo.products:
            values = Configurator(product).complete((), "defaults")
            order = create_production_order(
                demo, "1", "h", product.code, values, quantity=2, due_date=date(2027, 1, 20), number="PO-1",
                today=date(2026, 12, 7),
            )  # fmt: skip
            bom_bytes = canonical_json(order.bom)
            assert bom_bytes == _strict_bytes(order.bom)
            assert canonical_json(order) == _strict_bytes(order)
            assert order_document(order, bom_bytes=bom_bytes) == canonical_json(order)
            assert explode(demo, product.code, values, quantity=2, rules_checked=True) == order.bom
            checked += 1
    assert checked >= 2  # every product of every demo catalog


def test_an_explosion_told_the_rules_were_checked_still_checks_completeness_and_domains(catalog, config):
    from bom.errors import IncompleteConfiguration, InvalidConfiguration

    partial = dict(config)
    partial.pop(next(iter(partial)))
    with pytest.raises(IncompleteConfiguration):
        explode(catalog, "cargo-bike", partial, rules_checked=True)
    with pytest.raises(InvalidConfiguration):
        explode(catalog, "cargo-bike", {**config, "gears": 10_000}, rules_checked=True)
