"""Configurations over the API: create, decide, undo, explain, repair, complete, share, pinning."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from catalog.demo import demo_catalog_paths
from catalog.files import load_catalog_file
from catalog.services import import_catalog, publish_version
from tests.api.conftest import make_app
from usecases.records import ConfigurationRecord

BASE = "/api/v1/configurations"
CARBON = {"attribute": "frame_material", "value": "carbon"}


def create(
    client: FlaskClient, decisions: list[dict[str, Any]] | None = None, **headers: str
) -> dict[str, Any]:
    body: dict[str, Any] = {"product": "city-ebike"}
    if decisions is not None:
        body["decisions"] = decisions
    response = client.post(BASE, json=body, headers=headers)
    assert response.status_code == 201, response.get_json()
    return response.get_json()  # type: ignore[no-any-return]


def attribute(configuration: dict[str, Any], code: str) -> dict[str, Any]:
    return next(a for a in configuration["state"]["attributes"] if a["code"] == code)


def test_create_pins_the_version_in_force_and_returns_the_state(client: FlaskClient) -> None:
    body = create(client, [CARBON])
    assert (body["catalog"], body["version"], body["product"]) == ("wuhan-bikes", 1, "city-ebike")
    assert len(body["id"]) == 36 and len(body["share_token"]) >= 24
    rack = attribute(body, "rack")
    assert (rack["value"], rack["source"]) == (False, "implied")
    greyed = next(v for v in rack["values"] if v["value"] is True)
    assert greyed["possible"] is False and greyed["price_delta"] is None
    assert any(r["rule_id"] == "carbon-no-rack" for r in rack["rules"])
    price = body["state"]["price"]
    assert price["currency"] == "CNY" and price["total"].count(".") == 1
    assert any("frame_material" in line["attributes"] and line["label"] for line in price["lines"])
    assert body["state"]["complete"] is False and body["state"]["conflict"] is None


def test_state_labels_follow_accept_language(client: FlaskClient) -> None:
    body = create(client, [CARBON], **{"Accept-Language": "zh-CN"})
    frame = attribute(body, "frame_material")
    assert frame["label"] == "车架材料"
    assert next(v for v in frame["values"] if v["value"] == "carbon")["label"] == "碳纤维"
    again = client.get(f"{BASE}/{body['id']}", headers={"Accept-Language": "en"}).get_json()
    assert attribute(again, "frame_material")["label"] == "Frame material"


def test_decide_undo_and_remove(client: FlaskClient) -> None:
    cid = create(client)["id"]
    added = client.post(f"{BASE}/{cid}/decisions", json={"attribute": "gears", "value": 8})
    assert added.status_code == 200
    assert attribute(added.get_json(), "gears")["source"] == "user"
    toggled = client.post(
        f"{BASE}/{cid}/decisions", json={"attribute": "accessories", "element": "phone_mount"}
    )
    assert "phone_mount" in attribute(toggled.get_json(), "accessories")["value"]
    undone = client.post(f"{BASE}/{cid}/undo").get_json()
    assert undone["decisions"] == [{"attribute": "gears", "value": 8}]
    removed = client.delete(f"{BASE}/{cid}/decisions/gears")
    assert removed.status_code == 200 and removed.get_json()["decisions"] == []
    assert client.delete(f"{BASE}/{cid}/decisions/gears").status_code == 404
    empty = client.post(f"{BASE}/{cid}/undo")
    assert empty.status_code == 409 and empty.get_json()["reason"] == "nothing_to_undo"


def test_remove_one_element_of_a_set(client: FlaskClient) -> None:
    cid = create(client, [{"attribute": "accessories", "value": ["bell", "phone_mount"]}])["id"]
    response = client.delete(f"{BASE}/{cid}/decisions/accessories?element=phone_mount")
    assert response.status_code == 200
    assert response.get_json()["decisions"] == [{"attribute": "accessories", "value": ["bell"]}]


def test_replace_all_decisions(client: FlaskClient) -> None:
    cid = create(client, [CARBON])["id"]
    response = client.put(
        f"{BASE}/{cid}/decisions", json={"decisions": [{"attribute": "rack", "value": True}]}
    )
    assert response.status_code == 200
    assert attribute(response.get_json(), "rack")["value"] is True


def test_conflicting_decision_is_a_409_naming_culprits_and_rules(client: FlaskClient) -> None:
    cid = create(client, [CARBON])["id"]
    response = client.post(f"{BASE}/{cid}/decisions", json={"attribute": "rack", "value": True})
    assert response.status_code == 409
    body = response.get_json()
    assert body["reason"] == "conflict"
    assert body["culprits"] == [CARBON, {"attribute": "rack", "value": True}]
    assert body["rules"][0]["rule_id"] == "carbon-no-rack"
    assert client.get(f"{BASE}/{cid}").get_json()["decisions"] == [CARBON]  # nothing stored


def test_conflict_kept_on_request_is_reported_in_the_state(client: FlaskClient) -> None:
    cid = create(client, [CARBON])["id"]
    response = client.post(
        f"{BASE}/{cid}/decisions", json={"attribute": "rack", "value": True, "on_conflict": "keep"}
    )
    assert response.status_code == 200
    conflict = response.get_json()["state"]["conflict"]
    assert conflict["dropped"] == [CARBON]
    assert attribute(response.get_json(), "rack")["value"] is True


@pytest.mark.parametrize(
    ("decision", "reason", "field"),
    [
        ({"attribute": "rakc", "value": True}, "unknown_attribute", "attribute"),
        ({"attribute": "rack", "value": "maybe"}, "invalid_value", "value"),
        ({"attribute": "gears", "value": 99}, "invalid_value", "value"),
        ({"attribute": "frame_material", "value": "gold"}, "invalid_value", "value"),
        ({"attribute": "accessories", "element": "horn"}, "invalid_value", "element"),
        ({"attribute": "rack", "element": "bell"}, "invalid_value", "element"),
    ],
)
def test_unknown_attribute_or_value_is_a_422_naming_the_field(
    client: FlaskClient, decision: dict[str, Any], reason: str, field: str
) -> None:
    cid = create(client)["id"]
    response = client.post(f"{BASE}/{cid}/decisions", json=decision)
    assert response.status_code == 422
    assert response.mimetype == "application/problem+json"
    body = response.get_json()
    assert (body["reason"], body["field"]) == (reason, field)


def test_bad_decision_in_create_names_its_index(client: FlaskClient) -> None:
    response = client.post(
        BASE, json={"product": "city-ebike", "decisions": [CARBON, {"attribute": "x", "value": 1}]}
    )
    assert response.status_code == 422
    assert response.get_json()["field"] == "decisions[1].attribute"


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({"attribute": "rack"}, 422),
        ({"attribute": "rack", "value": True, "colour": "red"}, 422),
        ({"attribute": 5, "value": True}, 422),
        ([1, 2], 422),
        ("{broken", 400),
    ],
)
def test_malformed_bodies_are_4xx_problems(client: FlaskClient, body: Any, status: int) -> None:
    cid = create(client)["id"]
    if isinstance(body, str):
        response = client.post(f"{BASE}/{cid}/decisions", data=body, content_type="application/json")
    else:
        response = client.post(f"{BASE}/{cid}/decisions", json=body)
    assert response.status_code == status
    assert response.mimetype == "application/problem+json"
    assert response.get_json()["reason"] in ("validation_error", "bad_request")


def test_unknown_product_and_configuration_are_404(client: FlaskClient) -> None:
    assert client.post(BASE, json={"product": "unicycle"}).status_code == 404
    assert client.get(f"{BASE}/00000000-0000-0000-0000-000000000000").status_code == 404
    assert client.get("/api/v1/shared/nope").status_code == 404


def test_shared_link_is_read_only_and_hides_the_id(client: FlaskClient) -> None:
    created = create(client, [CARBON])
    shared = client.get(f"/api/v1/shared/{created['share_token']}")
    assert shared.status_code == 200
    body = shared.get_json()
    assert "id" not in body and "share_token" not in body
    assert body["decisions"] == [CARBON]


def test_explain_names_decisions_and_rules(client: FlaskClient) -> None:
    cid = create(client, [CARBON])["id"]
    response = client.get(
        f"{BASE}/{cid}/explain?attribute=rack&value=true", headers={"Accept-Language": "zh-CN"}
    )
    assert response.status_code == 200
    body = response.get_json()
    assert body["possible"] is False and body["decisions"] == [CARBON]
    assert body["rules"][0]["rule_id"] == "carbon-no-rack" and "碳纤维" in body["rules"][0]["message"]
    possible = client.get(f"{BASE}/{cid}/explain?attribute=gears&value=11").get_json()
    assert possible["possible"] is True


def test_state_with_reasons_explains_greyed_values(client: FlaskClient) -> None:
    cid = create(client, [CARBON])["id"]
    body = client.get(f"{BASE}/{cid}?reasons=true").get_json()
    greyed = next(v for v in attribute(body, "rack")["values"] if v["value"] is True)
    assert greyed["reason"]["decisions"] == [CARBON]
    plain = client.get(f"{BASE}/{cid}").get_json()
    assert "reason" not in next(v for v in attribute(plain, "rack")["values"] if v["value"] is True)


def test_repair_suggests_then_applies(client: FlaskClient) -> None:
    cid = create(client, [CARBON])["id"]
    suggestion = client.post(f"{BASE}/{cid}/repair", json={"attribute": "rack", "value": True}).get_json()
    assert (
        suggestion["drop"] == [CARBON]
        and suggestion["applied"] is False
        and suggestion["configuration"] is None
    )
    applied = client.post(f"{BASE}/{cid}/repair", json={"attribute": "rack", "value": True, "apply": True})
    assert applied.status_code == 200
    assert applied.get_json()["configuration"]["decisions"] == [{"attribute": "rack", "value": True}]


def test_complete_cheapest_and_apply(client: FlaskClient) -> None:
    cid = create(client, [CARBON])["id"]
    cheapest = client.post(f"{BASE}/{cid}/complete", json={"objective": "cheapest"}).get_json()
    assert cheapest["values"]["frame_material"] == "carbon" and isinstance(
        cheapest["values"]["accessories"], list
    )
    applied = client.post(f"{BASE}/{cid}/complete", json={"apply": True}).get_json()
    assert applied["configuration"]["state"]["complete"] is True
    bad = client.post(f"{BASE}/{cid}/complete", json={"objective": "fastest"})
    assert bad.status_code == 422


def _publish_new_bike_version(app: Flask) -> None:
    """Version 2 of the bike catalog, without carbon frames."""
    import dataclasses

    path = next(p for p in demo_catalog_paths() if "bike" in p.name)
    catalog = load_catalog_file(path)
    bike = catalog.products[0]
    attributes = tuple(
        dataclasses.replace(a, choices=tuple(c for c in a.choices if c.code != "carbon"))
        if a.code == "frame_material"
        else a
        for a in bike.attributes
    )
    rules = tuple(r for r in bike.rules if "carbon" not in (r.text or "") and "carbon" not in str(r.rows))
    prices = tuple(p for p in bike.prices if "carbon" not in (p.when or "") and p.table is None)
    bom = tuple(line for line in bike.bom if "carbon" not in (line.when or ""))
    routing = tuple(
        dataclasses.replace(op, when=None) if "carbon" in (op.when or "") else op for op in bike.routing
    )
    new_bike = dataclasses.replace(
        bike, attributes=attributes, rules=rules, prices=prices, tests=(), bom=bom, routing=routing
    )
    with Session(app.extensions["c2m.engine"]) as session:
        draft = import_catalog(session, dataclasses.replace(catalog, products=(new_bike,)))
        publish_version(session, catalog.code, draft.number)
        session.commit()


def test_configuration_stays_pinned_after_a_new_version_is_published(app: Flask, client: FlaskClient) -> None:
    cid = create(client, [CARBON])["id"]
    _publish_new_bike_version(app)
    body = client.get(f"{BASE}/{cid}").get_json()
    assert body["version"] == 1 and body["invalid_decisions"] == []
    assert attribute(body, "frame_material")["value"] == "carbon"
    fresh = create(client)
    assert fresh["version"] == 2
    assert "carbon" not in [v["value"] for v in attribute(fresh, "frame_material")["values"]]


def test_stored_decisions_that_no_longer_validate_are_reported(app: Flask, client: FlaskClient) -> None:
    from usecases import configurations as service

    cid = create(client, [CARBON, {"attribute": "gears", "value": 11}])["id"]
    _publish_new_bike_version(app)
    with app.app_context():
        from web import database

        moved = service.rebase(database.session(), service.get_configuration(database.session(), cid))
        assert moved.record.version_number == 2
    body = client.get(f"{BASE}/{cid}").get_json()
    assert body["version"] == 2
    assert body["decisions"][0] == CARBON  # kept, not silently dropped
    (invalid,) = body["invalid_decisions"]
    assert (invalid["index"], invalid["reason"]) == (0, "invalid_value")
    assert body["state"]["decisions"] == [{"attribute": "gears", "value": 11}]
    cleared = client.delete(f"{BASE}/{cid}/decisions/frame_material").get_json()
    assert cleared["invalid_decisions"] == []


def test_corrupt_stored_entry_is_reported_not_a_500(app: Flask, client: FlaskClient) -> None:
    cid = create(client)["id"]
    with Session(app.extensions["c2m.engine"]) as session:
        record = session.get(ConfigurationRecord, cid)
        assert record is not None
        record.decisions = '[{"attribute": "rack", "value": true}, "junk", {"attribute": "nope", "value": 1}]'
        session.commit()
    body = client.get(f"{BASE}/{cid}").get_json()
    assert [i["index"] for i in body["invalid_decisions"]] == [1, 2]
    assert attribute(body, "rack")["value"] is True


def test_public_operations_are_rate_limited_with_a_problem(demo_url: str) -> None:
    app = make_app(demo_url, PUBLIC_RATE_LIMIT="3 per minute")
    client = app.test_client()
    statuses = [client.get("/api/v1/products").status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    limited = client.get("/api/v1/products/city-ebike")  # the limit is shared by every public operation
    assert limited.status_code == 429
    assert limited.mimetype == "application/problem+json"
    assert limited.get_json()["reason"] == "too_many_requests"
    app.extensions["c2m.engine"].dispose()
