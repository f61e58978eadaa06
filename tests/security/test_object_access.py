"""Object-level access: catalog-limited tokens, order access tokens, unguessable configuration
addresses, and request bodies that cannot set fields the server owns."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.security.conftest import BIKE, WARDROBE, place_order
from usecases.records import ConfigurationRecord, OrderRecord


@pytest.fixture
def two_orders(client: Any) -> dict[str, dict[str, Any]]:
    """One order per demo catalog, keyed by catalog code."""
    return {catalog: place_order(client, catalog, product) for catalog, product in (BIKE, WARDROBE)}


def test_a_catalog_limited_token_lists_and_reads_only_its_catalog(
    client: Any, token: Callable[..., dict[str, str]], two_orders: dict[str, dict[str, Any]]
) -> None:
    bikes_only = token("erp:read", "erp:write", catalog="wuhan-bikes")
    everything = token("erp:read")
    bike, wardrobe = two_orders["wuhan-bikes"], two_orders["foshan-wardrobes"]
    bike_po, wardrobe_po = bike["production_orders"][0]["number"], wardrobe["production_orders"][0]["number"]

    listed = client.get("/api/v1/production-orders", headers=bikes_only).get_json()["items"]
    assert [i["number"] for i in listed] == [bike_po]
    assert len(client.get("/api/v1/production-orders", headers=everything).get_json()["items"]) == 2
    orders = client.get("/api/v1/orders", headers=bikes_only).get_json()["items"]
    assert [o["number"] for o in orders] == [bike["number"]]

    assert client.get(f"/api/v1/production-orders/{bike_po}", headers=bikes_only).status_code == 200
    assert client.get(f"/api/v1/orders/{bike['number']}", headers=bikes_only).status_code == 200
    # Another catalog's objects do not exist for this token (404, not 403: no probing).
    for url in (f"/api/v1/production-orders/{wardrobe_po}", f"/api/v1/orders/{wardrobe['number']}"):
        refused = client.get(url, headers=bikes_only)
        assert refused.status_code == 404, url
        assert refused.mimetype == "application/problem+json"
    acknowledged = client.post(f"/api/v1/production-orders/{wardrobe_po}/acknowledge", headers=bikes_only)
    assert acknowledged.status_code == 404
    after = client.get(f"/api/v1/production-orders/{wardrobe_po}", headers=everything).get_json()
    assert client.get("/api/v1/production-orders?status=acknowledged", headers=everything).get_json()["items"] == []
    assert after["number"] == wardrobe_po
    assert client.post(f"/api/v1/production-orders/{bike_po}/acknowledge", headers=bikes_only).status_code == 200


def test_a_catalog_limited_token_cannot_write_other_catalogs(
    app: Flask, client: Any, token: Callable[..., dict[str, str]]
) -> None:
    bikes_writer = token("catalog:write", catalog="wuhan-bikes")
    other = "format: c2m-catalog/1\ncode: tiny\nname: Tiny\ncurrency: CNY\nproducts: []\n"
    refused = client.post("/api/v1/catalogs", data=other, content_type="application/yaml", headers=bikes_writer)
    assert refused.status_code == 403
    assert refused.get_json()["reason"] == "forbidden"
    published = client.post(
        "/api/v1/catalogs/foshan-wardrobes/versions/1/publish", json={}, headers=bikes_writer
    )
    assert published.status_code == 403
    own = client.post(
        "/api/v1/catalogs?publish=false", data=other.replace("tiny", "wuhan-bikes"),
        content_type="application/yaml", headers=token("catalog:write"),
    )
    assert own.status_code in (201, 422)  # the unlimited token gets past the catalog check


def test_a_catalog_limited_order_token_orders_only_from_its_catalog(
    client: Any, token: Callable[..., dict[str, str]]
) -> None:
    wardrobe_config = client.post(
        "/api/v1/configurations", json={"product": WARDROBE[1], "catalog": WARDROBE[0]}
    ).get_json()["id"]
    refused = client.post(
        "/api/v1/orders",
        json={"configuration_id": wardrobe_config},
        headers={**token("orders:write", catalog="wuhan-bikes"), "Idempotency-Key": uuid.uuid4().hex},
    )
    assert refused.status_code == 403


def test_order_status_needs_the_orders_access_token(
    client: Any, two_orders: dict[str, dict[str, Any]]
) -> None:
    order = two_orders["wuhan-bikes"]
    number, access = order["number"], order["access_token"]
    assert len(access) >= 32
    assert client.get(f"/api/v1/orders/{number}").status_code == 401
    assert client.get(f"/api/v1/orders/{number}?token=wrong").status_code == 404
    other = two_orders["foshan-wardrobes"]["access_token"]
    assert client.get(f"/api/v1/orders/{number}?token={other}").status_code == 404  # tokens are per order
    assert client.get(f"/api/v1/orders/{number}?token={access}").status_code == 200
    assert client.get(f"/api/v1/orders/{number}", headers={"X-Order-Token": access}).status_code == 200
    # The storefront's status page too.
    assert client.get(f"/orders/{number}").status_code == 404
    assert client.get(f"/orders/{number}?t=wrong").status_code == 404
    assert client.get(f"/orders/{number}?t={access}").status_code == 200


def test_configurations_are_reachable_only_by_unguessable_id_or_share_token(app: Flask, client: Any) -> None:
    created = [
        client.post("/api/v1/configurations", json={"product": BIKE[1], "catalog": BIKE[0]}).get_json()
        for _ in range(3)
    ]
    for doc in created:
        assert uuid.UUID(doc["id"]).version == 4  # 122 random bits
        assert re.fullmatch(r"[A-Za-z0-9_-]{32}", doc["share_token"])  # 24 random bytes
    assert len({d["id"] for d in created}) == len({d["share_token"] for d in created}) == 3
    shared = client.get(f"/api/v1/shared/{created[0]['share_token']}").get_json()
    assert "id" not in shared and "share_token" not in shared  # read-only link does not leak the id
    # Nothing lists configurations, and neighbours of a real id are not configurations.
    assert all(not rule.rule.endswith("/configurations") or "POST" in rule.methods
               for rule in app.url_map.iter_rules())
    neighbour = created[0]["id"][:-1] + ("0" if created[0]["id"][-1] != "0" else "1")
    assert client.get(f"/api/v1/configurations/{neighbour}").status_code == 404
    token = created[0]["share_token"]
    assert client.get("/api/v1/shared/" + token[:-1] + ("A" if token[-1] != "A" else "B")).status_code == 404


def test_order_bodies_cannot_set_server_owned_fields(app: Flask, client: Any) -> None:
    cid = client.post("/api/v1/configurations", json={"product": BIKE[1], "catalog": BIKE[0]}).get_json()["id"]
    client.post(f"/api/v1/configurations/{cid}/complete", json={"objective": "defaults", "apply": True})
    sneaky = {
        "configuration_id": cid,
        "status": "shipped",
        "price_total": "0.01",
        "number": "SO-2000-000001",
        "access_token_hash": "0" * 64,
        "bom_hash": "0" * 64,
    }
    response = client.post("/api/v1/orders", json=sneaky, headers={"Idempotency-Key": uuid.uuid4().hex})
    if response.status_code == 422:  # refused outright is fine
        return
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert body["status"] == "accepted"
    assert body["number"] != "SO-2000-000001"
    with Session(app.extensions["c2m.engine"]) as session:
        order = session.scalars(select(OrderRecord).where(OrderRecord.number == body["number"])).one()
        assert order.status == "accepted"
        assert str(order.price_total) == body["price"]["total"] != "0.01"
        assert order.access_token_hash != "0" * 64


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/api/v1/configurations", {"product": BIKE[1], "catalog": BIKE[0], "id": "fixed", "share_token": "mine"}),
        ("/api/v1/configurations", {"product": BIKE[1], "catalog": BIKE[0], "version": 1, "content_hash": "x"}),
    ],
)
def test_configuration_bodies_refuse_unknown_fields(app: Flask, client: Any, path: str, body: dict[str, Any]) -> None:
    response = client.post(path, json=body)
    assert response.status_code == 422
    assert response.mimetype == "application/problem+json"
    with Session(app.extensions["c2m.engine"]) as session:
        assert session.scalars(select(ConfigurationRecord)).first() is None


def test_decision_bodies_refuse_unknown_fields(client: Any) -> None:
    cid = client.post("/api/v1/configurations", json={"product": BIKE[1], "catalog": BIKE[0]}).get_json()["id"]
    response = client.post(
        f"/api/v1/configurations/{cid}/decisions",
        json={"attribute": "frame_material", "value": "aluminium", "source": "default", "price": 0},
    )
    assert response.status_code == 422
    assert "source" in str(response.get_json())
    accepted = client.post(
        f"/api/v1/configurations/{cid}/decisions", json={"attribute": "frame_material", "value": "aluminium"}
    )
    assert accepted.status_code == 200
