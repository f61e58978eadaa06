"""The ERP side: cursor pagination, representations, ETag, acknowledgement, and auth on every operation."""

from __future__ import annotations

import csv
import functools
import io
import json
import warnings
from typing import Any

import pytest
from flask.testing import FlaskClient
from lxml import etree
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bom.export import BOM_CSV_COLUMNS, PARTS_CSV_COLUMNS
from usecases.orders import place_order
from usecases.records import OutboxEvent
from web.api.erp import OPERATIONS_CSV_COLUMNS

from .conftest import B2MML_DIR, bearer, post_order


def _place_boxes(factory: sessionmaker[Session], n: int) -> list[str]:
    numbers = []
    with factory() as session:
        for i in range(n):
            decisions = [{"attribute": "size", "value": "small"}, {"attribute": "width", "value": 100}]
            body = place_order(
                session,
                idempotency_key=f"box-{i}",
                scope="public",
                catalog="tiny-shop",
                product="box",
                decisions=decisions,
                quantity=1 + i,
            ).body
            numbers.append(body["number"])
    return numbers


@pytest.fixture
def placed(factory: sessionmaker[Session]) -> list[str]:
    """Order numbers of 25 tiny boxes, oldest first."""
    return _place_boxes(factory, 25)


def _pages(client: FlaskClient, path: str, token: str, limit: int) -> list[list[dict[str, Any]]]:
    pages, cursor = [], None
    while True:
        query = f"?limit={limit}" + (f"&after={cursor}" if cursor else "")
        response = client.get(path + query, headers=bearer(token))
        assert response.status_code == 200, response.get_json()
        page = response.get_json()
        pages.append(page["items"])
        cursor = page["next"]
        if cursor is None:
            return pages


def test_production_orders_page_through_without_duplicates_or_gaps(
    client: FlaskClient, placed: list[str], tokens: dict[str, str]
) -> None:
    pages = _pages(client, "/api/v1/production-orders", tokens["erp"], 10)
    assert [len(p) for p in pages] == [10, 10, 5]
    numbers = [item["order_number"] for page in pages for item in page]
    assert numbers == placed
    assert [item["quantity"] for page in pages for item in page] == list(range(1, 26))


def test_orders_page_through_without_duplicates_or_gaps(
    client: FlaskClient, placed: list[str], tokens: dict[str, str]
) -> None:
    pages = _pages(client, "/api/v1/orders", tokens["erp"], 10)
    assert [item["number"] for page in pages for item in page] == placed
    assert all("access_token" not in item for page in pages for item in page)


def test_an_items_cursor_resumes_after_it_and_sees_new_orders(
    client: FlaskClient, factory: sessionmaker[Session], placed: list[str], tokens: dict[str, str]
) -> None:
    everything = client.get("/api/v1/production-orders?limit=100", headers=bearer(tokens["erp"])).get_json()
    assert everything["next"] is None
    last = everything["items"][-1]["cursor"]
    assert client.get(
        f"/api/v1/production-orders?after={last}", headers=bearer(tokens["erp"])
    ).get_json() == {
        "items": [],
        "next": None,
    }
    newer = _place_boxes(factory, 1)  # idempotency key box-0 again: replayed, no new order
    assert newer == placed[:1]
    post_order(
        client,
        {"catalog": "tiny-shop", "product": "box", "decisions": [{"attribute": "width", "value": 300}]},
        "n",
    )
    fresh = client.get(f"/api/v1/production-orders?after={last}", headers=bearer(tokens["erp"])).get_json()
    assert len(fresh["items"]) == 1


@pytest.mark.parametrize("cursor", ["garbage", "eyJrIjoib3JkZXIiLCJpIjoxfQ", "eyJrIjoicG8iLCJpIjotMX0"])
def test_a_foreign_or_broken_cursor_is_a_bad_request(
    client: FlaskClient, tokens: dict[str, str], cursor: str
) -> None:
    # the second is a valid cursor of the *orders* listing, the third has a negative id
    response = client.get(f"/api/v1/production-orders?after={cursor}", headers=bearer(tokens["erp"]))
    assert response.status_code == 400 and response.get_json()["reason"] == "invalid_cursor"


def _first(client: FlaskClient, token: str) -> dict[str, Any]:
    return client.get("/api/v1/production-orders?limit=1", headers=bearer(token)).get_json()["items"][0]


def test_json_document_is_the_stored_canonical_bytes_with_the_hash_as_etag(
    client: FlaskClient, placed: list[str], tokens: dict[str, str]
) -> None:
    item = _first(client, tokens["erp"])
    response = client.get(f"/api/v1/production-orders/{item['number']}", headers=bearer(tokens["erp"]))
    assert response.status_code == 200 and response.mimetype == "application/json"
    assert response.headers["ETag"] == f'"{item["document_sha256"]}"'
    assert "Accept" in response.headers["Vary"]
    import hashlib

    assert hashlib.sha256(response.data).hexdigest() == item["document_sha256"]
    document = json.loads(response.data)
    assert document["format"] == "c2m-production-order/1" and document["number"] == item["number"]


@pytest.mark.parametrize("accept", ["application/json", "text/csv", "application/xml"])
def test_if_none_match_with_the_etag_answers_304(
    client: FlaskClient, placed: list[str], tokens: dict[str, str], accept: str
) -> None:
    number = _first(client, tokens["erp"])["number"]
    headers = {**bearer(tokens["erp"]), "Accept": accept}
    first = client.get(f"/api/v1/production-orders/{number}", headers=headers)
    etag = first.headers["ETag"]
    again = client.get(f"/api/v1/production-orders/{number}", headers={**headers, "If-None-Match": etag})
    assert again.status_code == 304 and again.data == b"" and again.headers["ETag"] == etag
    other = client.get(f"/api/v1/production-orders/{number}", headers={**headers, "If-None-Match": '"other"'})
    assert other.status_code == 200


def test_representations_have_distinct_etags(
    client: FlaskClient, placed: list[str], tokens: dict[str, str]
) -> None:
    number = _first(client, tokens["erp"])["number"]
    tags = {
        client.get(
            f"/api/v1/production-orders/{number}", headers={**bearer(tokens["erp"]), "Accept": a}
        ).headers["ETag"]
        for a in ("application/json", "text/csv", "application/xml")
    }
    assert len(tags) == 3


@pytest.mark.parametrize(
    ("table", "columns"),
    [("bom", BOM_CSV_COLUMNS), ("parts", PARTS_CSV_COLUMNS), ("operations", OPERATIONS_CSV_COLUMNS)],
)
def test_csv_tables_of_a_production_order(
    client: FlaskClient,
    bike_order: dict[str, Any],
    tokens: dict[str, str],
    table: str,
    columns: tuple[str, ...],
) -> None:
    number = post_order(client, bike_order, "csv").get_json()["production_orders"][0]["number"]
    response = client.get(
        f"/api/v1/production-orders/{number}?table={table}",
        headers={**bearer(tokens["erp"]), "Accept": "text/csv"},
    )
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert response.headers["Content-Disposition"] == f'attachment; filename="{number}-{table}.csv"'
    rows = list(csv.reader(io.StringIO(response.data.decode("utf-8"))))
    assert tuple(rows[0]) == columns and len(rows) > 2
    if table == "bom":
        assert {r[0] for r in rows[1:]} >= {"1", "2"}  # multi-level: module components at level 2


@functools.cache
def _schema(entry: str) -> Any:
    xmlschema = pytest.importorskip("xmlschema")
    path = B2MML_DIR / entry
    if not path.is_file():
        pytest.skip(f"../shared/b2mml not present: {path} is missing")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the shared folder leaves out unused BatchML includes
        return xmlschema.XMLSchema(str(path), validation="lax")


def test_xml_is_a_valid_b2mml_operations_schedule(
    client: FlaskClient, wardrobe_order: dict[str, Any], tokens: dict[str, str]
) -> None:
    number = post_order(client, wardrobe_order, "xml").get_json()["production_orders"][0]["number"]
    response = client.get(
        f"/api/v1/production-orders/{number}", headers={**bearer(tokens["erp"]), "Accept": "application/xml"}
    )
    assert response.status_code == 200 and response.mimetype == "application/xml"
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
    root = etree.fromstring(response.data, parser=parser)
    assert etree.QName(root).localname == "OperationsSchedule"
    assert root.findtext("{*}ID") == number
    _schema("B2MML-OperationsSchedule.xsd").validate(response.data.decode("utf-8"))


@pytest.mark.parametrize("accept", ["image/png", "text/html", "application/pdf"])
def test_unsupported_accept_is_406_listing_what_is_available(
    client: FlaskClient, placed: list[str], tokens: dict[str, str], accept: str
) -> None:
    number = _first(client, tokens["erp"])["number"]
    response = client.get(
        f"/api/v1/production-orders/{number}", headers={**bearer(tokens["erp"]), "Accept": accept}
    )
    assert response.status_code == 406
    assert response.get_json()["available"] == ["application/json", "text/csv", "application/xml"]


def test_unknown_production_order_is_404(client: FlaskClient, tokens: dict[str, str]) -> None:
    response = client.get("/api/v1/production-orders/PO-1999-000001", headers=bearer(tokens["erp"]))
    assert response.status_code == 404 and response.get_json()["reason"] == "production_order_not_found"
    ack = client.post(
        "/api/v1/production-orders/PO-1999-000001/acknowledge", headers=bearer(tokens["erp_write"])
    )
    assert ack.status_code == 404


def test_acknowledge_is_idempotent_and_records_who_and_when(
    client: FlaskClient, factory: sessionmaker[Session], placed: list[str], tokens: dict[str, str]
) -> None:
    number = _first(client, tokens["erp"])["number"]
    first = client.post(f"/api/v1/production-orders/{number}/acknowledge", headers=bearer(tokens["erp_write"]))
    second = client.post(f"/api/v1/production-orders/{number}/acknowledge", headers=bearer(tokens["erp_write"]))
    assert first.status_code == second.status_code == 200
    assert first.get_json() == second.get_json()
    ack = first.get_json()
    assert ack["status"] == "acknowledged" and ack["acknowledged_by"].startswith("erp_write (")
    assert ack["acknowledged_at"] is not None
    with factory() as session:
        types = list(session.scalars(select(OutboxEvent.event_type)))
    assert types.count("production_order.acknowledged") == 1
    released = client.get(
        "/api/v1/production-orders?status=released&limit=100", headers=bearer(tokens["erp"])
    )
    assert number not in [i["number"] for i in released.get_json()["items"]]
    assert len(released.get_json()["items"]) == 24


def _protected(number: str) -> list[tuple[str, str, str]]:
    return [
        ("GET", "/api/v1/orders", "erp"),
        ("GET", "/api/v1/production-orders", "erp"),
        ("GET", f"/api/v1/production-orders/{number}", "erp"),
        ("GET", "/api/v1/events", "erp"),
        ("GET", "/api/v1/catalogs/wuhan-bikes/item-master", "erp"),
        ("GET", f"/api/v1/production-orders/{number}/operations-definition", "erp"),
        ("POST", f"/api/v1/production-orders/{number}/acknowledge", "erp_write"),
    ]


@pytest.mark.parametrize("operation", range(7))
def test_erp_operations_need_their_scope(
    client: FlaskClient, bike_order: dict[str, Any], tokens: dict[str, str], operation: int
) -> None:
    number = post_order(client, bike_order, "auth").get_json()["production_orders"][0]["number"]
    method, path, role = _protected(number)[operation]
    cases = [
        ({}, 401),
        ({"Authorization": "Bearer c2m_not-a-real-token"}, 401),
        ({"Authorization": "Basic dXNlcjpwYXNz"}, 401),
        (bearer(tokens["shop"]), 403),
        (bearer(tokens["author"]), 403),
        (bearer(tokens["hooks"]), 403),
        *([(bearer(tokens["erp"]), 403)] if role == "erp_write" else []),
        (bearer(tokens[role]), 200),
    ]
    for headers, status in cases:
        response = client.open(path, method=method, headers=headers)
        assert response.status_code == status, (headers, response.get_json())
        if status != 200:
            assert response.content_type == "application/problem+json"


def test_placing_orders_is_public_or_needs_orders_write(
    client: FlaskClient, bike_order: dict[str, Any], tokens: dict[str, str]
) -> None:
    assert post_order(client, bike_order, "p1", {"Authorization": "Bearer c2m_nope"}).status_code == 401
    assert post_order(client, bike_order, "p2", bearer(tokens["erp"])).status_code == 403
    assert post_order(client, bike_order, "p3", bearer(tokens["author"])).status_code == 403
    assert post_order(client, bike_order, "p4", bearer(tokens["shop"])).status_code == 201
    assert post_order(client, bike_order, "p5").status_code == 201


def test_openapi_documents_every_order_and_erp_operation_with_its_problems(client: FlaskClient) -> None:
    spec = client.get("/api/v1/openapi.json").get_json()
    paths = spec["paths"]
    expected = {
        ("/api/v1/orders", "post"): {"201", "400", "401", "403", "404", "409", "422"},
        ("/api/v1/orders", "get"): {"200", "400", "401", "403"},
        ("/api/v1/orders/{number}", "get"): {"200", "401", "403", "404"},
        ("/api/v1/production-orders", "get"): {"200", "400", "401", "403"},
        ("/api/v1/production-orders/{number}", "get"): {"200", "304", "401", "403", "404", "406"},
        ("/api/v1/production-orders/{number}/acknowledge", "post"): {"200", "401", "403", "404", "409"},
    }
    for (path, method), statuses in expected.items():
        operation = paths[path][method]
        assert statuses <= set(operation["responses"]), (path, method, sorted(operation["responses"]))
    content = paths["/api/v1/production-orders/{number}"]["get"]["responses"]["200"]["content"]
    assert set(content) == {"application/json", "text/csv", "application/xml"}
    headers = [p for p in paths["/api/v1/orders"]["post"]["parameters"] if p["in"] == "header"]
    assert [(h["name"], h["required"]) for h in headers] == [("Idempotency-Key", True)]
