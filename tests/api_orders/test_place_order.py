"""Placing orders: what is stored, reproducibility of the BOM, idempotency, refusals."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session, sessionmaker

from bom import WorkCalendar, canonical_json, create_production_order, digest, explode
from usecases.catalogs import current_caches, load_catalog
from usecases.configurations import create_configuration
from usecases.orders import public_scope
from usecases.records import IdempotencyKey, OrderRecord, OutboxEvent, ProductionOrderRecord

from .conftest import bearer, complete_decisions, post_order

WIDTH = {"attribute": "width", "value": 200}


def _count(factory: sessionmaker[Session], model: type) -> int:
    with factory() as session:
        return int(session.scalar(select(func.count()).select_from(model)) or 0)


def test_placing_an_order_stores_order_bom_production_order_events_and_key(
    client: FlaskClient, factory: sessionmaker[Session], bike_order: dict[str, Any]
) -> None:
    response = post_order(client, {**bike_order, "quantity": 3, "customer_name": "李雷"}, "key-1")
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    year = datetime.now(UTC).year
    assert body["number"].startswith(f"SO-{year}-") and len(body["number"]) == len(f"SO-{year}-000001")
    assert response.headers["Location"] == f"/api/v1/orders/{body['number']}"
    assert len(body["access_token"]) >= 32
    assert body["price"]["quantity"] == 3
    assert Decimal(body["price"]["total"]) == Decimal(body["price"]["unit_total"]) * 3
    with factory() as session:
        order = session.scalars(select(OrderRecord)).one()
        assert (order.number, order.quantity, order.customer_name) == (body["number"], 3, "李雷")
        assert (
            order.status == "accepted" and order.catalog_code == "wuhan-bikes" and order.version_number == 1
        )
        assert order.access_token_hash == hashlib.sha256(body["access_token"].encode()).hexdigest()
        assert json.loads(order.decisions) == bike_order["decisions"]
        assert order.price_total == Decimal(body["price"]["total"])
        assert order.bom_hash == hashlib.sha256(order.bom.encode("utf-8")).hexdigest() == body["bom_sha256"]
        assert json.loads(order.bom)["quantity"] == 3
        po = session.scalars(select(ProductionOrderRecord)).one()
        assert po.order_id == order.id and po.status == "released"
        assert po.number == body["number"].replace("SO-", "PO-")
        assert po.document_hash == hashlib.sha256(po.document.encode("utf-8")).hexdigest()
        document = json.loads(po.document)
        assert document["number"] == po.number and document["bom_sha256"] == order.bom_hash
        assert document["due_date"] == order.due_date
        events = session.scalars(select(OutboxEvent).order_by(OutboxEvent.id)).all()
        assert [e.event_type for e in events] == ["order.created", "production_order.released"]
        assert len({e.event_id for e in events}) == 2
        created = json.loads(events[0].payload)
        assert created["type"] == "order.created" and created["data"]["order"]["number"] == order.number
        released = json.loads(events[1].payload)["data"]["production_order"]
        assert released["number"] == po.number and released["document_sha256"] == po.document_hash
        # The events' sequence numbers, consecutive, in their columns and their payloads (written in
        # SQL on PostgreSQL) alike; each payload is canonical JSON.
        assert events[1].sequence == events[0].sequence + 1
        for event, order_sequence in zip(events, (1, 2), strict=True):
            payload = json.loads(event.payload)
            assert (payload["sequence"], payload["order_sequence"]) == (event.sequence, order_sequence)
            assert payload["order_number"] == event.order_number == order.number
            assert event.payload == json.dumps(payload, ensure_ascii=False, separators=(",", ":"), sort_keys=True)
        key = session.get(IdempotencyKey, ("key-1", public_scope("127.0.0.1")))
        assert key is not None and key.status_code == 201 and key.order_id == order.id


def test_bom_regenerated_from_stored_decisions_and_version_is_byte_identical(
    client: FlaskClient, factory: sessionmaker[Session], wardrobe_order: dict[str, Any]
) -> None:
    # The second order of the same configuration takes its BOM and documents from the cache.
    for key in ("regen", "regen-cached"):
        body = post_order(client, {**wardrobe_order, "quantity": 2}, key).get_json()
        _check_regenerated(factory, body["number"])


def _check_regenerated(factory: sessionmaker[Session], number: str) -> None:
    with factory() as session:
        order = session.scalars(select(OrderRecord).where(OrderRecord.number == number)).one()
        loaded = load_catalog(session, order.catalog_code, order.version_number)
        assert loaded.content_hash == order.content_hash
        bom = explode(
            loaded.catalog, order.product_code, json.loads(order.configuration), quantity=order.quantity
        )
        assert canonical_json(bom) == order.bom.encode("utf-8")
        assert digest(bom) == order.bom_hash
        po = order.production_orders[0]
        # Regenerated from the stored decisions and pinned version (orders are scheduled on the
        # default calendar), the production order is the stored document to the byte.
        stored = json.loads(po.document)
        feasibility = stored.get("feasibility")
        rebuilt = create_production_order(
            loaded.catalog,
            str(order.version_number),
            loaded.content_hash,
            order.product_code,
            json.loads(order.configuration),
            quantity=order.quantity,
            due_date=date.fromisoformat(stored["due_date"]),
            number=po.number,
            calendar=WorkCalendar(),
            today=date.fromisoformat(feasibility["today"]) if feasibility else None,
            texts=stored.get("texts"),
        )
        assert canonical_json(rebuilt) == po.document.encode("utf-8")
        assert digest(rebuilt) == po.document_hash


def test_order_from_a_saved_configuration_keeps_its_id_and_pinned_version(
    client: FlaskClient, factory: sessionmaker[Session]
) -> None:
    decisions = complete_decisions(factory, "wuhan-bikes", "city-ebike")
    with factory() as session:
        saved = create_configuration(session, "city-ebike", decisions, catalog_code="wuhan-bikes")
        session.commit()
        configuration_id = saved.id
    response = post_order(client, {"configuration_id": configuration_id, "quantity": 1}, "from-saved")
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert body["configuration_id"] == configuration_id and body["version"] == 1
    assert body["decisions"] == decisions


def test_defaults_shown_to_the_buyer_complete_the_ordered_configuration(
    client: FlaskClient, factory: sessionmaker[Session]
) -> None:
    response = post_order(
        client, {"catalog": "wuhan-bikes", "product": "city-ebike", "decisions": []}, "defaults"
    )
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert body["decisions"] == []
    with factory() as session:
        loaded = load_catalog(session, "wuhan-bikes")
        attributes = [a.code for a in loaded.catalog.product("city-ebike").attributes]
    assert sorted(body["configuration"]) == sorted(attributes)


def test_due_date_is_today_plus_material_production_and_assembly_lead_time_in_working_days(
    client: FlaskClient,
) -> None:
    # tiny box, large: BOX-L (4 days) + 8 min of work (1 day) + 1 day assembly = 6 working days
    body = post_order(
        client,
        {
            "catalog": "tiny-shop",
            "product": "box",
            "decisions": [{"attribute": "size", "value": "large"}, WIDTH],
        },
        "due",
    ).get_json()
    today = datetime.now(UTC).date()
    assert body["due_date"] == WorkCalendar().add_working_days(today, 6).isoformat()
    assert date.fromisoformat(body["due_date"]).isoweekday() <= 5
    assert body["configuration"] == {"size": "large", "lid": True, "width": 200}  # the rule implies the lid
    assert body["price"]["unit_total"] == "15.00"


def test_same_key_and_body_replays_the_stored_response(
    client: FlaskClient, factory: sessionmaker[Session], bike_order: dict[str, Any]
) -> None:
    first = post_order(client, bike_order, "replay-me")
    # key order and JSON formatting do not matter: the body is compared by content
    reordered = dict(reversed(list(bike_order.items())))
    second = post_order(client, reordered, "replay-me")
    assert (first.status_code, second.status_code) == (201, 201)
    assert first.get_json() == second.get_json()
    assert _count(factory, OrderRecord) == 1


def test_same_key_with_another_body_is_refused(client: FlaskClient, bike_order: dict[str, Any]) -> None:
    assert post_order(client, bike_order, "k").status_code == 201
    response = post_order(client, {**bike_order, "quantity": 2}, "k")
    assert response.status_code == 422
    assert response.get_json()["reason"] == "idempotency_key_reused"
    assert response.content_type == "application/problem+json"


def test_missing_idempotency_key_is_a_bad_request(client: FlaskClient, bike_order: dict[str, Any]) -> None:
    response = client.post("/api/v1/orders", json=bike_order)
    assert response.status_code == 400
    assert response.get_json()["reason"] == "idempotency_key_missing"


def test_keys_are_scoped_per_token_so_clients_never_share_responses(
    client: FlaskClient, factory: sessionmaker[Session], bike_order: dict[str, Any], tokens: dict[str, str]
) -> None:
    public = post_order(client, bike_order, "shared-key")
    shop = post_order(client, bike_order, "shared-key", bearer(tokens["shop"]))
    assert (public.status_code, shop.status_code) == (201, 201)
    assert public.get_json()["number"] != shop.get_json()["number"]
    assert _count(factory, OrderRecord) == 2


def test_a_refused_order_does_not_use_up_its_key(
    client: FlaskClient, factory: sessionmaker[Session], bike_order: dict[str, Any]
) -> None:
    bad = {**bike_order, "decisions": [{"attribute": "frame_material", "value": "titanium"}]}
    refused = post_order(client, bad, "retry-after-fix")
    assert refused.status_code == 422 and refused.get_json()["reason"] == "invalid_value"
    assert post_order(client, bike_order, "retry-after-fix").status_code == 201
    assert _count(factory, IdempotencyKey) == 1


@pytest.mark.parametrize(
    ("decisions", "reason", "needle"),
    [
        ([], "configuration_incomplete", "width"),
        (
            [{"attribute": "size", "value": "large"}, {"attribute": "lid", "value": False}, WIDTH],
            "configuration_invalid",
            "large-needs-lid",
        ),
        ([{"attribute": "size", "value": "huge"}], "invalid_value", "huge"),
        ([{"attribute": "colour", "value": "red"}], "unknown_attribute", "colour"),
    ],
)
def test_incomplete_or_invalid_configurations_are_refused_naming_the_problem(
    client: FlaskClient,
    factory: sessionmaker[Session],
    decisions: list[dict[str, Any]],
    reason: str,
    needle: str,
) -> None:
    response = post_order(client, {"catalog": "tiny-shop", "product": "box", "decisions": decisions}, "bad")
    assert response.status_code == 422, response.get_json()
    problem = response.get_json()
    assert problem["reason"] == reason and needle in json.dumps(problem)
    assert _count(factory, OrderRecord) == 0 and _count(factory, OutboxEvent) == 0


def test_conflicting_partial_decisions_are_refused_with_the_culprits(
    client: FlaskClient, factory: sessionmaker[Session]
) -> None:
    decisions = [{"attribute": "frame_material", "value": "carbon"}, {"attribute": "rack", "value": True}]
    response = post_order(
        client, {"catalog": "wuhan-bikes", "product": "city-ebike", "decisions": decisions}, "c"
    )
    assert response.status_code == 422
    problem = response.get_json()
    assert problem["reason"] == "configuration_conflict" and "carbon-no-rack" in problem["rules"]


@pytest.mark.parametrize(
    ("body", "status", "reason"),
    [
        ({"catalog": "nowhere", "product": "x", "decisions": []}, 404, "catalog_not_found"),
        ({"catalog": "tiny-shop", "product": "crate", "decisions": []}, 404, "product_not_found"),
        ({"configuration_id": "0" * 36}, 404, "configuration_not_found"),
        ({"catalog": "tiny-shop", "decisions": []}, 422, "validation_error"),
        ({"catalog": "tiny-shop", "product": "box", "decisions": [], "quantity": 0}, 422, "validation_error"),
        ({"configuration_id": "abc", "catalog": "tiny-shop"}, 422, "validation_error"),
    ],
)
def test_bad_requests_get_specific_problems(
    client: FlaskClient, body: dict[str, Any], status: int, reason: str
) -> None:
    response = post_order(client, body, "x")
    assert (response.status_code, response.get_json()["reason"]) == (status, reason)


def test_order_status_page_opens_with_the_access_token_only(
    client: FlaskClient, bike_order: dict[str, Any], tokens: dict[str, str]
) -> None:
    created = post_order(client, bike_order, "status").get_json()
    number, token = created["number"], created["access_token"]
    by_query = client.get(f"/api/v1/orders/{number}?token={token}")
    by_header = client.get(f"/api/v1/orders/{number}", headers={"X-Order-Token": token})
    assert by_query.status_code == by_header.status_code == 200
    shown = by_query.get_json()
    assert "access_token" not in shown and shown["number"] == number
    assert shown["production_orders"][0]["status"] == "released"
    assert client.get(f"/api/v1/orders/{number}?token=wrong").status_code == 404
    assert client.get(f"/api/v1/orders/SO-1999-000001?token={token}").status_code == 404
    assert client.get(f"/api/v1/orders/{number}").status_code == 401
    assert client.get(f"/api/v1/orders/{number}", headers=bearer(tokens["erp"])).status_code == 200
    assert client.get(f"/api/v1/orders/{number}", headers=bearer(tokens["shop"])).status_code == 403


def test_a_replay_answers_the_first_answers_bytes(client: FlaskClient, bike_order: dict[str, Any]) -> None:
    first = post_order(client, bike_order, "bytes-1")
    second = post_order(client, bike_order, "bytes-1")
    assert (first.status_code, second.status_code) == (201, 201)
    assert first.data == second.data and first.headers["Location"] == second.headers["Location"]


def test_the_use_case_answers_a_placed_order_and_a_replay_without_http(
    factory: sessionmaker[Session], bike_order: dict[str, Any]
) -> None:
    from usecases.orders import PlacedOrder, place_order

    with factory() as session:
        placed = place_order(session, idempotency_key="uc-1", scope="public", **bike_order)
        again = place_order(session, idempotency_key="uc-1", scope="public", **bike_order)
    assert isinstance(placed, PlacedOrder) and not placed.replayed and again.replayed
    assert placed.number == placed.body["number"] == again.number
    assert json.loads(placed.document) == placed.body and again.document == placed.document
    assert _count(factory, OrderRecord) == 1


@pytest.mark.parametrize("source", ["decisions", "saved configuration"])
def test_an_order_is_validated_once_and_exploded_once(
    factory: sessionmaker[Session],
    wardrobe_order: dict[str, Any],
    monkeypatch: pytest.MonkeyPatch,
    source: str,
) -> None:
    import importlib

    import usecases.orders
    from usecases.orders import place_order

    # The package exports functions of the same names as these modules.
    explode_module, orders_module = (
        importlib.import_module("bom.explode"),
        importlib.import_module("bom.orders"),
    )

    if source == "saved configuration":
        with factory() as session:
            saved = create_configuration(
                session,
                wardrobe_order["product"],
                wardrobe_order["decisions"],
                catalog_code=wardrobe_order["catalog"],
            )
            request: dict[str, Any] = {"configuration_id": saved.record.id}
    else:
        request = wardrobe_order
    product = wardrobe_order["product"]
    calls: dict[str, list[Any]] = {"explode": [], "product rules checked by the explosion": []}
    explode_, rule_violations = usecases.orders.explode, explode_module.rule_violations

    def counting_explode(*args: Any, **kwargs: Any) -> Any:
        calls["explode"].append(kwargs.get("rules_checked", False))
        return explode_(*args, **kwargs)

    def counting_rule_violations(comp: Any, owner: Any, env: Any) -> Any:
        if owner.code == product:  # configurable modules' own rules are checked by the explosion only
            calls["product rules checked by the explosion"].append(owner.code)
        return rule_violations(comp, owner, env)

    monkeypatch.setattr(usecases.orders, "explode", counting_explode)
    monkeypatch.setattr(orders_module, "explode", counting_explode)
    monkeypatch.setattr(explode_module, "rule_violations", counting_rule_violations)
    current_caches().orders.clear()  # computed orders of this configuration from other tests
    with factory() as session:
        placed = place_order(session, idempotency_key=f"once-{source}", scope="public", **request)
    assert placed.number.startswith("SO-")
    # One explosion, told that the configurator validated the configuration just before.
    assert calls == {"explode": [True], "product rules checked by the explosion": []}
    # The same configuration ordered again: validation, BOM and documents come from the cache.
    validations: list[Any] = []
    monkeypatch.setattr(
        usecases.orders.Configurator, "validate", lambda *a, **k: validations.append(a) or ()
    )
    with factory() as session:
        again = place_order(session, idempotency_key=f"twice-{source}", scope="public", **request)
    assert again.number != placed.number and not again.replayed
    assert calls["explode"] == [True] and validations == []
    assert current_caches().orders.stats().hits >= 1


def test_an_order_from_a_saved_configuration_carries_its_texts_unless_the_order_names_its_own(
    client: FlaskClient, factory: sessionmaker[Session]
) -> None:
    decisions = complete_decisions(factory, "wuhan-bikes", "city-ebike")
    with factory() as session:
        saved = create_configuration(
            session, "city-ebike", decisions, catalog_code="wuhan-bikes", texts={"engraving": "Anna 2026"}
        )
        session.commit()
        configuration_id = saved.id

    def engraving_of(number: str) -> Any:
        with factory() as session:
            order = session.scalars(select(OrderRecord).where(OrderRecord.number == number)).one()
            po = session.scalars(
                select(ProductionOrderRecord).where(ProductionOrderRecord.order_id == order.id)
            ).one()
            return json.loads(po.document).get("texts")

    stored = post_order(client, {"configuration_id": configuration_id, "quantity": 1}, "texts-saved")
    assert stored.status_code == 201, stored.get_json()
    assert engraving_of(stored.get_json()["number"]) == {"engraving": "Anna 2026"}
    own = post_order(
        client, {"configuration_id": configuration_id, "quantity": 1, "texts": {"engraving": "Li Wei"}}, "texts-own"
    )
    assert own.status_code == 201, own.get_json()
    assert engraving_of(own.get_json()["number"]) == {"engraving": "Li Wei"}


def test_event_sequences_are_consecutive_in_columns_and_payloads_with_and_without_the_counter_row(
    client: FlaskClient, factory: sessionmaker[Session], bike_order: dict[str, Any]
) -> None:
    # The first order finds no counter row (emptied between tests) and seeds it; the others take
    # their numbers from it (on PostgreSQL in the statement that inserts the events).
    numbers = [post_order(client, bike_order, f"seq-{i}").get_json()["number"] for i in range(3)]
    with factory() as session:
        events = session.scalars(select(OutboxEvent).order_by(OutboxEvent.id)).all()
    first = events[0].sequence
    assert [e.sequence for e in events] == list(range(first, first + 6))
    assert [e.order_number for e in events] == [n for n in numbers for _ in range(2)]
    for event in events:
        payload = json.loads(event.payload)
        assert payload["sequence"] == event.sequence and payload["order_number"] == event.order_number
        assert payload["order_sequence"] == event.order_sequence in (1, 2)
        assert event.payload == json.dumps(payload, ensure_ascii=False, separators=(",", ":"), sort_keys=True)


def test_order_numbers_come_from_the_row_id_past_six_digits(
    client: FlaskClient, factory: sessionmaker[Session], bike_order: dict[str, Any]
) -> None:
    with factory() as session:
        if session.get_bind().dialect.name != "postgresql":
            pytest.skip("the id and number in one statement is PostgreSQL's path; SQLite's is tested above")
        session.execute(text("SELECT setval(pg_get_serial_sequence('orders', 'id'), 999998)"))
        session.commit()
    year = datetime.now(UTC).year
    numbers = [post_order(client, bike_order, f"big-{i}").get_json()["number"] for i in range(2)]
    assert numbers == [f"SO-{year}-999999", f"SO-{year}-1000000"]
    with factory() as session:
        rows = session.scalars(select(OrderRecord).order_by(OrderRecord.id)).all()
        assert [(r.id, r.number) for r in rows] == [(999999, numbers[0]), (1000000, numbers[1])]
        assert [p.number for r in rows for p in r.production_orders] == [n.replace("SO-", "PO-") for n in numbers]
