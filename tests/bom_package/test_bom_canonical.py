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
