"""The OpenAPI document is exact: real responses of every operation validate against it.

A scenario walks every operation of ``/api/v1/openapi.json`` (storefront,
manufacturer and ERP ones, successes and problems) through the Flask test
client, and every request and response is checked with openapi-core, a strict
validator: response schemas say ``additionalProperties: false``, so a field
the document does not declare fails, as does a missing required one, a wrong
type or an undeclared status code or content type.
"""

from __future__ import annotations

import json
import re
import uuid
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Request

from .conftest import TINY_CATALOG, bearer

openapi_core = pytest.importorskip("openapi_core", reason="openapi-core is a test extra")
from openapi_core import Config, OpenAPI  # noqa: E402
from openapi_core.contrib.werkzeug import WerkzeugOpenAPIRequest, WerkzeugOpenAPIResponse  # noqa: E402


def _text(value: bytes | str, **_: Any) -> str:
    return value.decode("utf-8") if isinstance(value, bytes) else value


class Checked:
    """A test client wrapper validating every exchange against the document; records what it saw."""

    def __init__(self, client: FlaskClient, spec: dict[str, Any]) -> None:
        self.client = client
        config = Config(
            extra_media_type_deserializers={
                "application/problem+json": json.loads,
                **{t: _text for t in ("application/yaml", "text/yaml", "text/csv", "application/xml")},
            }
        )
        self.openapi = OpenAPI.from_dict(spec, config=config)
        self.templates = [
            (re.compile("^" + re.sub(r"\{[^}]+\}", "[^/]+", path) + "$"), path, set(ops) - {"parameters"})
            for path, ops in spec["paths"].items()
        ]
        self.seen: set[tuple[str, str, int]] = set()

    def operation(self, method: str, path: str) -> str:
        for pattern, template, methods in self.templates:
            if pattern.match(path) and method.lower() in methods:
                return template
        raise AssertionError(f"{method} {path} is not in the OpenAPI document")

    def __call__(self, method: str, url: str, expect: int, **kwargs: Any) -> Any:
        response = self.client.open(url, method=method, **kwargs)
        assert response.status_code == expect, (method, url, response.status_code, response.get_data(as_text=True))
        # The app consumed the request body: validate a twin built from the same arguments.
        twin = Request(EnvironBuilder(path=url, method=method, **kwargs).get_environ())
        request = WerkzeugOpenAPIRequest(twin)
        if expect < 400:  # problem cases often break the document on purpose (no token, bad values)
            self.openapi.validate_request(request)
        self.openapi.validate_response(request, WerkzeugOpenAPIResponse(response))
        self.seen.add((method.lower(), self.operation(method, url.split("?")[0]), response.status_code))
        return response


@pytest.fixture
def checked(app: Flask, client: FlaskClient) -> Checked:
    return Checked(client, client.get("/api/v1/openapi.json").get_json())


def _order_body(decisions: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    return {"catalog": "tiny-shop", "product": "box", "decisions": decisions, **extra}


SMALL = [{"attribute": "size", "value": "small"}, {"attribute": "width", "value": 100}]
LARGE = [{"attribute": "size", "value": "large"}, {"attribute": "lid", "value": True}, {"attribute": "width", "value": 300}]


def test_every_operation_answers_as_documented(
    checked: Checked, tokens: dict[str, str], app: Flask, bike_order: dict[str, Any], wardrobe_order: dict[str, Any]
) -> None:
    c = checked
    erp, erp_w, hooks, author = (bearer(tokens[k]) for k in ("erp", "erp_write", "hooks", "author"))

    # storefront: products and configurations
    c("GET", "/api/v1/products?page=1&page_size=5", 200)
    c("GET", "/api/v1/products/box?catalog=tiny-shop", 200)
    c("GET", "/api/v1/products/no-such-product", 404)
    c("GET", "/api/v1/catalogs", 200)
    created = c("POST", "/api/v1/configurations", 201, json={"product": "box", "catalog": "tiny-shop"}).get_json()
    cid, share = created["id"], created["share_token"]
    etag = c("GET", f"/api/v1/configurations/{cid}?reasons=true", 200).headers["ETag"]
    c("GET", f"/api/v1/configurations/{cid}", 304, headers={"If-None-Match": etag})
    c("GET", f"/api/v1/shared/{share}", 200)
    c("POST", f"/api/v1/configurations/{cid}/decisions", 200, json={"attribute": "size", "value": "small"})
    c("PUT", f"/api/v1/configurations/{cid}/decisions", 200, json={"decisions": SMALL})
    c("PUT", f"/api/v1/configurations/{cid}/texts", 200, json={"texts": {}})
    c("PUT", f"/api/v1/configurations/{cid}/texts", 422, json={"texts": {"engraving": "Anna"}})
    c("DELETE", f"/api/v1/configurations/{cid}/decisions/width", 200)
    c("POST", f"/api/v1/configurations/{cid}/undo", 200)
    c("GET", f"/api/v1/configurations/{cid}/explain?attribute=lid&value=false", 200)
    c("POST", f"/api/v1/configurations/{cid}/repair", 200, json={"attribute": "size", "value": "large"})
    c("POST", f"/api/v1/configurations/{cid}/complete", 200, json={})
    c("GET", "/api/v1/configurations/not-a-configuration", 404)

    # manufacturer: upload and publish a catalog version
    text = TINY_CATALOG.replace("Tiny shop", "Tiny shop, renamed")
    upload = c(
        "POST", "/api/v1/catalogs?comment=rename", 201, data=text, content_type="application/yaml", headers=author
    ).get_json()
    c("POST", f"/api/v1/catalogs/tiny-shop/versions/{upload['number']}/publish", 200, json={}, headers=author)
    diff = c("GET", f"/api/v1/catalogs/tiny-shop/diff?from=1&to={upload['number']}", 200, headers=author).get_json()
    assert (diff["a"], diff["b"]) == ("tiny-shop@1", f"tiny-shop@{upload['number']}")
    assert [p["status"] for p in diff["products"]] == ["same"], "only the catalog's name changed"
    c("GET", "/api/v1/catalogs/tiny-shop/diff?from=nope", 400, headers=author)
    c("GET", "/api/v1/catalogs/tiny-shop/diff", 401)
    c("POST", "/api/v1/catalogs", 422, data="format: c2m-catalog/1\ncode: [", content_type="application/yaml",
      headers=author)

    # storefront: orders
    details = {
        "purchase_order_ref": "PO-4711",
        "delivery_address": {
            "name": "Li Wei", "street": "1 Jiefang Road", "city": "Wuhan", "postal_code": "430000",
            "country": "CN", "phone": "+86 27 1234 5678",
        },
        "notes": "Leave at the gate",
    }
    placed = c("POST", "/api/v1/orders", 201, json=_order_body(LARGE, **details),  # with a price line
               headers={"Idempotency-Key": str(uuid.uuid4())}).get_json()
    c("POST", "/api/v1/orders", 400, json=_order_body(SMALL))
    c("POST", "/api/v1/orders", 422, json=_order_body(SMALL, delivery_address={"name": "x"}),
      headers={"Idempotency-Key": "k-bad"})
    number, po = placed["number"], placed["production_orders"][0]["number"]
    c("GET", f"/api/v1/orders/{number}?token={placed['access_token']}", 200)
    c("GET", f"/api/v1/orders/{number}", 200, headers={"X-Order-Token": placed["access_token"]})
    c("GET", f"/api/v1/orders/{number}", 401)
    others = [
        c("POST", "/api/v1/orders", 201, json=_order_body(SMALL, quantity=q),
          headers={"Idempotency-Key": str(uuid.uuid4())}).get_json()["production_orders"][0]["number"]
        for q in (2, 3)
    ]

    # ERP: lists with ETags and filters
    assert placed["price"]["lines"], "the order list must show price lines with their labels"
    page = c("GET", "/api/v1/orders?limit=2&status=accepted&updated_since=2020-01-01T00:00:00Z", 200, headers=erp)
    c("GET", "/api/v1/orders?limit=2&status=accepted&updated_since=2020-01-01T00:00:00Z", 304,
      headers={**erp, "If-None-Match": f'W/{page.headers["ETag"]}'})
    c("GET", "/api/v1/orders?after=not-a-cursor", 400, headers=erp)
    c("GET", "/api/v1/orders", 401)
    pos = c("GET", "/api/v1/production-orders?status=released&status=acknowledged", 200, headers=erp)
    c("GET", "/api/v1/production-orders?status=released&status=acknowledged", 304,
      headers={**erp, "If-None-Match": f'"other", {pos.headers["ETag"]}'})
    c("GET", "/api/v1/production-orders?status=nonsense", 422, headers=erp)
    c("GET", "/api/v1/production-orders", 403, headers=author)

    # ERP: documents (the demo products too: modules with their own configuration, set attributes)
    for demo in (bike_order, wardrobe_order):
        demo_po = c("POST", "/api/v1/orders", 201, json=demo, headers={"Idempotency-Key": str(uuid.uuid4())})
        demo_number = demo_po.get_json()["production_orders"][0]["number"]
        c("GET", f"/api/v1/production-orders/{demo_number}", 200, headers=erp)
        c("GET", f"/api/v1/production-orders/{demo_number}/operations-definition", 200, headers=erp)
    document = c("GET", f"/api/v1/production-orders/{po}", 200, headers=erp)
    c("GET", f"/api/v1/production-orders/{po}", 304, headers={**erp, "If-None-Match": f'W/"{document.get_etag()[0]}"'})
    c("GET", f"/api/v1/production-orders/{po}?table=operations", 200, headers={**erp, "Accept": "text/csv"})
    c("GET", f"/api/v1/production-orders/{po}", 200, headers={**erp, "Accept": "application/xml"})
    c("GET", f"/api/v1/production-orders/{po}", 406, headers={**erp, "Accept": "image/png"})
    c("GET", "/api/v1/production-orders/PO-1999-000001", 404, headers=erp)
    c("GET", f"/api/v1/production-orders/{po}/operations-definition", 200, headers=erp)
    c("GET", f"/api/v1/production-orders/{po}/operations-definition", 200, headers={**erp, "Accept": "application/xml"})
    c("GET", "/api/v1/catalogs/tiny-shop/item-master", 200, headers=erp)
    c("GET", "/api/v1/catalogs/tiny-shop/item-master?version=1", 200, headers={**erp, "Accept": "text/csv"})
    c("GET", "/api/v1/catalogs/tiny-shop/item-master", 200, headers={**erp, "Accept": "application/xml"})
    c("GET", "/api/v1/catalogs/no-such-catalog/item-master", 404, headers=erp)

    # ERP: lifecycle
    c("POST", f"/api/v1/production-orders/{po}/acknowledge", 403, headers=erp)
    c("POST", f"/api/v1/production-orders/{po}/acknowledge", 200, json={"erp_reference": "4500001234"}, headers=erp_w)
    c("POST", f"/api/v1/production-orders/{po}/start", 200, headers=erp_w)
    c("POST", f"/api/v1/production-orders/{po}/ship", 200, json={"shipment_reference": "SF123"}, headers=erp_w)
    c("POST", f"/api/v1/production-orders/{po}/reject", 409, json={"reason": "too late"}, headers=erp_w)
    c("POST", f"/api/v1/production-orders/{others[0]}/reject", 200, json={"reason": "no oak"}, headers=erp_w)
    c("POST", f"/api/v1/production-orders/{others[1]}/cancel", 200, json={"reason": "buyer"}, headers=erp_w)
    c("POST", f"/api/v1/production-orders/{others[1]}/cancel", 422, json={}, headers=erp_w)

    # ERP: the changes feed
    feed = c("GET", "/api/v1/events?after=0&limit=3", 200, headers=erp).get_json()
    c("GET", f"/api/v1/events?after={feed['last_sequence']}&type=production_order.shipped&order={number}", 200,
      headers=erp)
    c("GET", "/api/v1/events?after=-1", 422, headers=erp)

    # webhook endpoints
    hook = c("POST", "/api/v1/webhooks", 201, json={"url": "https://erp.example.com/hooks", "event_types": ["*"]},
             headers=hooks).get_json()
    c("POST", "/api/v1/webhooks", 422, json={"url": "ftp://nope"}, headers=hooks)
    c("GET", "/api/v1/webhooks", 200, headers=hooks)
    c("GET", f"/api/v1/webhooks/{hook['id']}", 200, headers=hooks)
    c("GET", "/api/v1/webhooks/999", 404, headers=hooks)
    c("POST", f"/api/v1/webhooks/{hook['id']}/rotate-secret", 200, headers=hooks)
    c("POST", f"/api/v1/webhooks/{hook['id']}/disable", 200, headers=hooks)
    c("POST", f"/api/v1/webhooks/{hook['id']}/enable", 200, headers=hooks)
    c("GET", f"/api/v1/webhooks/{hook['id']}/deliveries?limit=10", 200, headers=hooks)
    c("GET", "/api/v1/webhooks", 403, headers=erp)

    spec = c.client.get("/api/v1/openapi.json").get_json()
    operations = {(m, p) for p, ops in spec["paths"].items() for m in ops if m != "parameters"}
    succeeded = {(m, p) for m, p, status in c.seen if status < 400}
    assert operations - succeeded == set(), "operations never exercised with a success"


def test_documents_of_a_product_with_repeated_components_answer_as_documented(
    checked: Checked, tokens: dict[str, str], factory: Any
) -> None:
    """The wardrobe system's BOM lines carry their section (``instance``): the document declares it."""
    from .conftest import complete_decisions, post_order

    erp = bearer(tokens["erp"])
    body = {"catalog": "foshan-wardrobes", "product": "pax-system",
            "decisions": complete_decisions(factory, "foshan-wardrobes", "pax-system"), "quantity": 1}
    placed = post_order(checked.client, body, str(uuid.uuid4()))
    assert placed.status_code == 201, placed.get_data(as_text=True)
    number = placed.get_json()["production_orders"][0]["number"]
    document = checked("GET", f"/api/v1/production-orders/{number}", 200, headers=erp).get_json()
    sections = {i["instance"]["index"] for i in document["bom"]["items"] if "instance" in i}
    assert sections == {1, 2}  # two sections by default
    assert "section3_width" in document["bom"]["configuration"] and "section3_width" not in document["configuration"]
    bom = checked("GET", f"/api/v1/production-orders/{number}/operations-definition", 200, headers=erp).get_json()
    assert any(i.get("instance", {}).get("component") == "section" for i in bom["items"])
    csv_text = checked("GET", f"/api/v1/production-orders/{number}", 200,
                       headers={**erp, "Accept": "text/csv"}).get_data(as_text=True)
    assert csv_text.splitlines()[0].endswith(",instance_component,instance_index,instance_values")


@pytest.mark.parametrize(
    ("catalog", "product"),
    [("wuhan-bikes", "city-ebike"), ("foshan-wardrobes", "modular-wardrobe"), ("foshan-wardrobes", "pax-system")],
)
def test_every_demo_product_and_its_state_answer_as_documented(checked: Checked, catalog: str, product: str) -> None:
    """Every kind of attribute the demos use (decimal bounds as exact text, sets, ints) is declared."""
    detail = checked("GET", f"/api/v1/products/{product}?catalog={catalog}", 200).get_json()
    created = checked("POST", "/api/v1/configurations", 201, json={"catalog": catalog, "product": product}).get_json()
    state = checked("GET", f"/api/v1/configurations/{created['id']}", 200).get_json()["state"]
    for attribute in (*detail["attributes"], *state["attributes"]):
        if attribute["kind"] == "decimal":
            assert isinstance(attribute["min"], str) and isinstance(attribute["places"], int), attribute
