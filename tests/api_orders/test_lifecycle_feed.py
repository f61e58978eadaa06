"""Order lifecycle both ways, the changes feed, webhook sequence numbers and webhook endpoints over the API."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy.orm import Session, sessionmaker
from standardwebhooks import Webhook

from usecases.outbox import drain
from web.auth import create_token

from .conftest import bearer, post_order

BOX = {
    "catalog": "tiny-shop",
    "product": "box",
    "decisions": [{"attribute": "size", "value": "small"}, {"attribute": "width", "value": 100}],
}
ADDRESS = {
    "name": "王芳",
    "street": "中山路 8 号",
    "city": "武汉",
    "postal_code": "430000",
    "country": "CN",
    "phone": "+86 138 0000 0000",
}


def _place(client: FlaskClient, **extra: Any) -> dict[str, Any]:
    response = post_order(client, {**BOX, **extra}, str(uuid.uuid4()))
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def _po(order: dict[str, Any]) -> str:
    return str(order["production_orders"][0]["number"])


def _act(client: FlaskClient, token: str, po: str, action: str, body: dict[str, Any] | None = None) -> Any:
    return client.post(f"/api/v1/production-orders/{po}/{action}", json=body or {}, headers=bearer(token))


def _feed(client: FlaskClient, token: str, query: str = "") -> dict[str, Any]:
    response = client.get(f"/api/v1/events{query}", headers=bearer(token))
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def test_orders_carry_purchase_order_reference_delivery_address_and_notes(
    client: FlaskClient, tokens: dict[str, str]
) -> None:
    order = _place(client, purchase_order_ref="PO-2026-17", delivery_address=ADDRESS, notes="请在工作日送货")
    assert order["purchase_order_ref"] == "PO-2026-17"
    assert order["delivery_address"] == ADDRESS and order["notes"] == "请在工作日送货"
    seen = client.get(f"/api/v1/orders/{order['number']}", headers=bearer(tokens["erp"])).get_json()
    assert (seen["purchase_order_ref"], seen["delivery_address"], seen["notes"]) == (
        "PO-2026-17", ADDRESS, "请在工作日送货"
    )
    partial = _place(client, delivery_address={k: ADDRESS[k] for k in ("name", "street", "city", "country")})
    assert partial["delivery_address"]["phone"] is None and partial["delivery_address"]["postal_code"] is None
    plain = _place(client)
    assert (plain["purchase_order_ref"], plain["delivery_address"], plain["notes"]) == (None, None, None)


@pytest.mark.parametrize(
    ("address", "field"),
    [
        ({**ADDRESS, "country": "China"}, "country"),
        ({**ADDRESS, "phone": "call me"}, "phone"),
        ({k: v for k, v in ADDRESS.items() if k != "city"}, "city"),
        ({**ADDRESS, "floor": "3"}, "floor"),
    ],
)
def test_a_bad_delivery_address_is_422_naming_the_field(
    client: FlaskClient, address: dict[str, Any], field: str
) -> None:
    response = post_order(client, {**BOX, "delivery_address": address}, str(uuid.uuid4()))
    assert response.status_code == 422
    assert field in json.dumps(response.get_json()["errors"])


def test_the_erp_drives_the_lifecycle_idempotently_with_its_own_references(
    client: FlaskClient, tokens: dict[str, str]
) -> None:
    order = _place(client)
    po, rw = _po(order), tokens["erp_write"]
    assert _act(client, tokens["erp"], po, "acknowledge").status_code == 403  # erp:read cannot write
    acknowledged = _act(client, rw, po, "acknowledge", {"erp_reference": "AUFNR-1000042"}).get_json()
    assert acknowledged["status"] == "acknowledged" and acknowledged["erp_reference"] == "AUFNR-1000042"
    assert acknowledged["order_status"] == "confirmed"
    assert _act(client, rw, po, "start").get_json()["status"] == "in_production"
    first = _act(client, rw, po, "ship", {"shipment_reference": "SF1234567890"})
    again = _act(client, rw, po, "ship", {"shipment_reference": "SF-other"})
    assert first.status_code == again.status_code == 200
    assert first.get_json() == again.get_json()  # the first reference stands, nothing changes
    assert first.get_json()["shipment_reference"] == "SF1234567890"
    assert _act(client, rw, po, "acknowledge").status_code == 200  # receipt was recorded before: no-op
    refused = _act(client, rw, po, "cancel", {"reason": "too late"})
    assert refused.status_code == 409
    problem = refused.get_json()
    assert problem["reason"] == "invalid_transition" and problem["current_status"] == "shipped"
    assert problem["allowed_actions"] == []
    status = client.get(f"/api/v1/orders/{order['number']}", headers=bearer(tokens["erp"])).get_json()
    assert status["status"] == "shipped" and status["production_orders"][0]["status"] == "shipped"
    types = [e["type"] for e in _feed(client, tokens["erp"], f"?order={order['number']}")["items"]]
    assert types == [
        "order.created",
        "production_order.released",
        "production_order.acknowledged",
        "production_order.in_production",
        "production_order.shipped",
    ]


def test_reject_and_cancel_need_a_reason_and_end_the_order(client: FlaskClient, tokens: dict[str, str]) -> None:
    rw = tokens["erp_write"]
    rejected, cancelled = _po(_place(client)), _po(_place(client))
    missing = _act(client, rw, rejected, "reject")
    assert missing.status_code == 422 and "reason" in json.dumps(missing.get_json()["errors"])
    body = _act(client, rw, rejected, "reject", {"reason": "oak is out of stock"}).get_json()
    assert (body["status"], body["order_status"], body["status_reason"]) == ("rejected", "rejected", "oak is out of stock")
    assert _act(client, rw, rejected, "start").status_code == 409
    _act(client, rw, cancelled, "start")
    body = _act(client, rw, cancelled, "cancel", {"reason": "buyer withdrew"}).get_json()
    assert body["status"] == "cancelled" and body["status_changed_at"] is not None
    assert _act(client, rw, cancelled, "ship").get_json()["allowed_actions"] == []
    assert _act(client, rw, "PO-1999-000001", "cancel", {"reason": "x"}).status_code == 404


def test_lists_filter_by_status_and_updated_since(client: FlaskClient, tokens: dict[str, str]) -> None:
    orders = [_place(client) for _ in range(3)]
    erp, rw = bearer(tokens["erp"]), tokens["erp_write"]
    later = (datetime.now(UTC) + timedelta(seconds=1)).replace(microsecond=0)
    time.sleep(max(0.0, (later - datetime.now(UTC)).total_seconds()) + 0.05)
    _act(client, rw, _po(orders[1]), "acknowledge")
    since = later.isoformat().replace("+00:00", "Z")
    changed = client.get(f"/api/v1/production-orders?updated_since={since}", headers=erp).get_json()["items"]
    assert [i["number"] for i in changed] == [_po(orders[1])]
    changed_orders = client.get(f"/api/v1/orders?updated_since={since}", headers=erp).get_json()["items"]
    assert [o["number"] for o in changed_orders] == [orders[1]["number"]]
    released = client.get("/api/v1/production-orders?status=released", headers=erp).get_json()["items"]
    assert [i["number"] for i in released] == [_po(orders[0]), _po(orders[2])]
    both = client.get("/api/v1/production-orders?status=released&status=acknowledged", headers=erp).get_json()
    assert len(both["items"]) == 3
    confirmed = client.get("/api/v1/orders?status=confirmed", headers=erp).get_json()["items"]
    assert [o["number"] for o in confirmed] == [orders[1]["number"]]
    naive = client.get("/api/v1/orders?updated_since=2026-01-01T00:00:00", headers=erp)
    assert naive.status_code == 422 and "updated_since" in json.dumps(naive.get_json()["errors"])


def test_the_changes_feed_is_gapless_and_ordered_per_order(client: FlaskClient, tokens: dict[str, str]) -> None:
    a, b = _place(client), _place(client)
    _act(client, tokens["erp_write"], _po(a), "acknowledge")
    _act(client, tokens["erp_write"], _po(b), "reject", {"reason": "no"})
    feed = _feed(client, tokens["erp"], "?after=0&limit=100")
    items = feed["items"]
    assert [e["sequence"] for e in items] == list(range(1, 7)) and feed["last_sequence"] == 6 and not feed["has_more"]
    for number in (a["number"], b["number"]):
        mine = [e for e in items if e["order_number"] == number]
        assert [e["order_sequence"] for e in mine] == [1, 2, 3]
    # Polling: resume after the last sequence processed; an empty page keeps it.
    first = _feed(client, tokens["erp"], "?after=0&limit=4")
    assert first["has_more"] and first["last_sequence"] == 4
    rest = _feed(client, tokens["erp"], f"?after={first['last_sequence']}&limit=4")
    assert [e["sequence"] for e in rest["items"]] == [5, 6] and not rest["has_more"]
    empty = _feed(client, tokens["erp"], "?after=6")
    assert empty == {"items": [], "last_sequence": 6, "has_more": False}
    only = _feed(client, tokens["erp"], "?type=production_order.rejected")["items"]
    assert [(e["order_number"], e["data"]["production_order"]["status_reason"]) for e in only] == [(b["number"], "no")]
    etag = client.get("/api/v1/events", headers=bearer(tokens["erp"])).headers["ETag"]
    assert client.get("/api/v1/events", headers={**bearer(tokens["erp"]), "If-None-Match": etag}).status_code == 304


def test_a_catalog_limited_token_sees_only_its_catalogs_events(
    client: FlaskClient, factory: sessionmaker[Session], bike_order: dict[str, Any], tokens: dict[str, str]
) -> None:
    _place(client)
    bike = post_order(client, bike_order, "feed-bike").get_json()
    with factory() as session:
        limited = create_token(session, "bikes", ["erp:read"], "wuhan-bikes")[1]
        session.commit()
    numbers = {e["order_number"] for e in _feed(client, limited)["items"]}
    assert numbers == {bike["number"]}


class Capture:
    """A webhook sender recording what would have been posted; answers with queued statuses (then 204)."""

    def __init__(self, statuses: list[int] | None = None) -> None:
        self.sent: list[tuple[str, bytes, dict[str, str]]] = []
        self.statuses = statuses or []

    def __call__(self, url: str, body: bytes, headers: Mapping[str, str], timeout: float) -> int:
        self.sent.append((url, body, dict(headers)))
        return self.statuses.pop(0) if self.statuses else 204


def test_webhooks_carry_the_feed_sequence_and_verify_with_standardwebhooks(
    client: FlaskClient, factory: sessionmaker[Session], tokens: dict[str, str]
) -> None:
    hooks = bearer(tokens["hooks"])
    created = client.post("/api/v1/webhooks", json={"url": "https://erp.example.com/c2m"}, headers=hooks)
    assert created.status_code == 201 and created.headers["Location"].endswith(str(created.get_json()["id"]))
    endpoint = created.get_json()
    order = _place(client)
    _act(client, tokens["erp_write"], _po(order), "acknowledge")
    capture = Capture()
    drain(factory, send=capture)
    feed = {e["id"]: e for e in _feed(client, tokens["erp"])["items"]}
    assert len(capture.sent) == 3
    for _url, body, headers in capture.sent:
        payload = Webhook(endpoint["secret"]).verify(body, headers)
        assert payload == feed[headers["webhook-id"]]  # the webhook body is the feed item
    sequences = [json.loads(body)["order_sequence"] for _u, body, _h in capture.sent]
    assert sorted(sequences) == [1, 2, 3]


def test_rotating_a_secret_signs_with_both_for_a_day(
    client: FlaskClient, factory: sessionmaker[Session], tokens: dict[str, str]
) -> None:
    hooks = bearer(tokens["hooks"])
    endpoint = client.post("/api/v1/webhooks", json={"url": "https://erp.example.com/c2m"}, headers=hooks).get_json()
    rotated = client.post(f"/api/v1/webhooks/{endpoint['id']}/rotate-secret", headers=hooks).get_json()
    assert rotated["secret"] != endpoint["secret"] and rotated["previous_secret_expires_at"] is not None
    _place(client)
    capture = Capture()
    drain(factory, send=capture)
    _url, body, headers = capture.sent[0]
    assert len(headers["webhook-signature"].split()) == 2
    Webhook(endpoint["secret"]).verify(body, headers)
    Webhook(rotated["secret"]).verify(body, headers)
    listed = client.get("/api/v1/webhooks", headers=hooks).get_json()["items"]
    assert all("secret" not in e for e in listed)


def test_deliveries_show_attempts_next_try_and_last_error(
    client: FlaskClient, factory: sessionmaker[Session], tokens: dict[str, str]
) -> None:
    hooks = bearer(tokens["hooks"])
    ok = client.post("/api/v1/webhooks", json={"url": "https://ok.example.com/h"}, headers=hooks).get_json()
    bad = client.post(
        "/api/v1/webhooks",
        json={"url": "https://down.example.com/h", "event_types": ["order.created"], "description": "flaky"},
        headers=hooks,
    ).get_json()
    _place(client)
    statuses = {"https://ok.example.com/h": 204, "https://down.example.com/h": 503}

    def send(url: str, body: bytes, headers: Mapping[str, str], timeout: float) -> int:
        return statuses[url]

    drain(factory, send=send)
    down = client.get(f"/api/v1/webhooks/{bad['id']}/deliveries", headers=hooks).get_json()["items"]
    assert [(d["type"], d["state"], d["attempts"], d["last_error"]) for d in down] == [
        ("order.created", "pending", 1, "HTTP 503")
    ]
    assert down[0]["next_attempt_at"] is not None
    fine = client.get(f"/api/v1/webhooks/{ok['id']}/deliveries", headers=hooks).get_json()["items"]
    assert {d["state"] for d in fine} == {"delivered"} and len(fine) == 2
    assert all(d["last_error"] is None and d["next_attempt_at"] is None for d in fine)
    disabled = client.post(f"/api/v1/webhooks/{bad['id']}/disable", headers=hooks).get_json()
    assert disabled["active"] is False and disabled["disabled_at"] is not None
    again = client.post(f"/api/v1/webhooks/{bad['id']}/disable", headers=hooks).get_json()
    assert again["disabled_at"] == disabled["disabled_at"]
    assert client.get(f"/api/v1/webhooks/{bad['id']}/deliveries", headers=hooks).get_json()["items"][0]["state"] == (
        "disabled"
    )


def test_webhook_management_needs_an_unlimited_webhooks_token(
    client: FlaskClient, factory: sessionmaker[Session], tokens: dict[str, str]
) -> None:
    with factory() as session:
        limited = create_token(session, "bikes", ["webhooks:manage"], "wuhan-bikes")[1]
        session.commit()
    response = client.post("/api/v1/webhooks", json={"url": "https://x.example.com/"}, headers=bearer(limited))
    assert response.status_code == 403
    assert client.get("/api/v1/webhooks", headers=bearer(tokens["erp_write"])).status_code == 403
    bad = client.post("/api/v1/webhooks", json={"url": "https://x.example.com/", "event_types": ["nope"]},
                      headers=bearer(tokens["hooks"]))
    assert bad.status_code == 422


def test_cli_rotates_secrets_and_shows_deliveries(
    client: FlaskClient, db_url: str, factory: sessionmaker[Session]
) -> None:
    from click.testing import CliRunner

    from web.commands.webhook import webhook_group

    runner = CliRunner()
    added = runner.invoke(
        webhook_group, ["add", "https://erp.example.com/h", "--description", "SAP PI", "--url", db_url]
    )
    assert added.exit_code == 0, added.output
    old = added.output.split("secret: ")[1].split()[0]
    endpoint_id = added.output.split()[1].rstrip(":")
    assert "(SAP PI)" in runner.invoke(webhook_group, ["list", "--url", db_url]).output
    rotated = runner.invoke(webhook_group, ["rotate", endpoint_id, "--url", db_url])
    assert rotated.exit_code == 0 and "secret: whsec_" in rotated.output and old not in rotated.output
    order = _place(client)
    drain(factory, send=Capture([500]))
    shown = runner.invoke(webhook_group, ["deliveries", endpoint_id, "--url", db_url])
    assert shown.exit_code == 0, shown.output
    lines = shown.output.splitlines()
    assert any("order.created" in line and order["number"] in line and "pending" in line and "HTTP 500" in line
               for line in lines), shown.output
    assert runner.invoke(webhook_group, ["rotate", "999", "--url", db_url]).exit_code != 0


@pytest.mark.parametrize(
    ("address", "field"),
    [
        ({**ADDRESS, "country": "cn"}, "delivery_address.country"),
        ({**ADDRESS, "name": "  "}, "delivery_address.name"),
        ({**ADDRESS, "street": "x" * 501}, "delivery_address.street"),
        ({**ADDRESS, "phone": "12"}, "delivery_address.phone"),
        ({**ADDRESS, "zip": "1"}, "delivery_address.zip"),
        ({**ADDRESS, "city": 7}, "delivery_address.city"),
    ],
)
def test_the_service_checks_addresses_for_every_caller(
    factory: sessionmaker[Session], address: dict[str, Any], field: str
) -> None:
    from usecases.errors import UseCaseError
    from usecases.orders import place_order

    with factory() as session, pytest.raises(UseCaseError) as caught:
        place_order(session, idempotency_key=str(uuid.uuid4()), scope="public", delivery_address=address, **BOX)
    assert caught.value.reason == "invalid_delivery_address" and caught.value.extra["field"] == field


def test_the_service_stores_a_trimmed_address_with_every_field(factory: sessionmaker[Session]) -> None:
    from usecases.orders import place_order

    with factory() as session:
        body = place_order(
            session,
            idempotency_key="addr",
            scope="public",
            delivery_address={"name": " Li Wei ", "street": "1 Road", "city": "Wuhan", "country": "CN", "phone": ""},
            **BOX,
        ).body
    assert body["delivery_address"] == {
        "name": "Li Wei", "street": "1 Road", "city": "Wuhan", "postal_code": None, "country": "CN", "phone": None
    }
