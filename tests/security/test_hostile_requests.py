"""Hostile requests: each gets a 4xx problem (never a 500, never a stack trace), and the server
stays healthy afterwards."""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Any

import pytest
from flask.testing import FlaskClient

from tests.security.conftest import BIKE, place_order

DEEP = "[" * 1000 + "]" * 1000
BIG = 2**31
HUGE = 2**70


def configuration(client: FlaskClient) -> str:
    created = client.post("/api/v1/configurations", json={"product": BIKE[1], "catalog": BIKE[0]})
    assert created.status_code == 201
    return str(created.get_json()["id"])


def raw_json(client: FlaskClient, method: str, path: str, text: str, **kwargs: Any) -> Any:
    return client.open(path, method=method, data=text.encode("utf-8", "surrogatepass"), content_type="application/json", **kwargs)


def assert_problem(response: Any, *statuses: int, field: str | None = None) -> dict[str, Any]:
    assert response.status_code in statuses, (response.status_code, response.get_data(as_text=True)[:500])
    if response.mimetype == "application/problem+json":
        problem: dict[str, Any] = response.get_json()
        assert problem["status"] == response.status_code
        if field is not None:
            assert field in (problem.get("field") or "") or field in problem["detail"], problem
        return problem
    return {}


@pytest.fixture(autouse=True)
def healthy_after(client: FlaskClient) -> Any:
    yield
    assert client.get("/healthz").status_code == 200
    assert client.get("/api/v1/products").status_code == 200


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/shared/%00",
        "/api/v1/products?catalog=%00",
        "/api/v1/products/city-ebike?catalog=%00",
        "/api/v1/products/%00",
        "/api/v1/orders/%00",
        "/api/v1/configurations/%00",
        "/api/v1/production-orders?cursor=%00",
        "/s/%00",
        "/orders/%00",
        "/p/%00/x",
        "/configure/%00",
        "/api/v1/production-orders/%00",
    ],
)
def test_nul_in_path_or_query(client: FlaskClient, token: Callable[..., dict[str, str]], path: str) -> None:
    response = client.get(path, headers=token("erp:read"))
    assert_problem(response, 400, 404)


@pytest.mark.parametrize(
    "path",
    [
        f"/api/v1/products?page={BIG}",
        f"/api/v1/products?page_size={HUGE}",
        f"/api/v1/production-orders?cursor={HUGE}",
        f"/api/v1/production-orders?limit={HUGE}",
        f"/api/v1/orders/{HUGE}",
        f"/api/v1/production-orders/{HUGE}",
        f"/orders/{HUGE}",
    ],
)
def test_out_of_range_integers_in_the_url(client: FlaskClient, token: Callable[..., dict[str, str]], path: str) -> None:
    assert_problem(client.get(path, headers=token("erp:read")), 400, 404, 422)


def test_out_of_range_version_in_the_path(client: FlaskClient, token: Callable[..., dict[str, str]]) -> None:
    response = client.post(f"/api/v1/catalogs/wuhan-bikes/versions/{HUGE}/publish", json={}, headers=token("catalog:write"))
    assert_problem(response, 404)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"product": "a\u0000b", "catalog": BIKE[0]}, "product"),
        ({"product": BIKE[1], "catalog": BIKE[0], "version": BIG}, "version"),
        ({"product": BIKE[1], "catalog": BIKE[0], "version": HUGE}, "version"),
        ({"product": BIKE[1], "catalog": BIKE[0], "version": -HUGE}, "version"),
    ],
)
def test_hostile_configuration_bodies(client: FlaskClient, body: dict[str, Any], field: str) -> None:
    assert_problem(client.post("/api/v1/configurations", json=body), 422, field=field)


@pytest.mark.parametrize(
    ("text", "field"),
    [
        ('{"product": "\\ud800", "catalog": "wuhan-bikes"}', "product"),
        ('{"product": "city-ebike", "catalog": "wuhan-bikes", "x": ' + DEEP + "}", "body"),
        ('{"product": "city-ebike", "catalog": "wuhan-bikes", "version": NaN}', "body"),
        ('{"product": "city-ebike", "catalog": "wuhan-bikes", "version": 1e999}', "version"),
        ('{"product": "city-ebike", "catalog": "wuhan-bikes", "version": ' + "9" * 5000 + "}", "body"),
        ('{"\\u0000": 1}', "body"),
    ],
)
def test_hostile_json_text(client: FlaskClient, text: str, field: str) -> None:
    assert_problem(raw_json(client, "POST", "/api/v1/configurations", text), 400, 422, field=field)


def test_lone_surrogate_as_an_attribute_code(client: FlaskClient) -> None:
    cid = configuration(client)
    text = '{"attribute": "\\ud800", "value": "x"}'
    assert_problem(raw_json(client, "POST", f"/api/v1/configurations/{cid}/decisions", text), 422, field="attribute")
    assert_problem(client.delete(f"/api/v1/configurations/{cid}/decisions/%ED%A0%80"), 404, 422)


def test_nul_in_a_customer_name(client: FlaskClient) -> None:
    order = place_order(client, *BIKE)
    assert order
    cid = configuration(client)
    client.post(f"/api/v1/configurations/{cid}/complete", json={"objective": "defaults", "apply": True})
    body = {"configuration_id": cid, "customer_name": "a\u0000b"}
    response = client.post("/api/v1/orders", json=body, headers={"Idempotency-Key": "nul-name"})
    assert_problem(response, 422, field="customer_name")


@pytest.mark.parametrize("content_type", ["text/plain", "application/xml", "application/x-www-form-urlencoded", ""])
def test_wrong_content_type_is_415(client: FlaskClient, content_type: str) -> None:
    response = client.post("/api/v1/configurations", data=b'{"product": "city-ebike"}', content_type=content_type)
    problem = assert_problem(response, 415)
    assert "application/json" in problem["detail"]


def test_catalog_upload_accepts_yaml_but_not_xml(client: FlaskClient, token: Callable[..., dict[str, str]]) -> None:
    response = client.post("/api/v1/catalogs", data=b"<catalog/>", content_type="application/xml", headers=token("catalog:write"))
    assert_problem(response, 415)


def test_nul_in_a_form_field(client: FlaskClient) -> None:
    response = client.post("/admin/login", data={"email": "a\u0000@x", "password": "p"})
    assert response.status_code == 400


def chunked(client: FlaskClient, path: str, body: bytes, headers: dict[str, str]) -> Any:
    return client.post(
        path,
        input_stream=io.BytesIO(body),
        headers={"Transfer-Encoding": "chunked", **headers},
        environ_overrides={"wsgi.input_terminated": True},
    )


def test_a_chunked_body_over_the_limit_is_413_not_truncated(
    make_app: Callable[..., Any], token: Callable[..., dict[str, str]]
) -> None:
    app = make_app(MAX_CONTENT_LENGTH=2000)
    client = app.test_client()
    headers = {**token("catalog:write"), "Content-Type": "application/yaml"}
    text = b"format: c2m-catalog/1\ncode: chunky\nname: C\ncurrency: CNY\n" + b"# padding\n" * 300
    response = chunked(client, "/api/v1/catalogs", text, headers)
    assert_problem(response, 413)
    # The same body announced by Content-Length: 413 too.
    assert_problem(client.post("/api/v1/catalogs", data=text, headers=headers), 413)
    # Within the limit, a chunked body arrives whole.
    small = text[:300].rsplit(b"\n", 1)[0] + b"\n"
    response = chunked(client, "/api/v1/catalogs", small, headers)
    assert response.status_code == 201, response.get_json()
    assert client.get("/healthz").status_code == 200
