"""Products, catalogs, upload and publish over the API."""

from __future__ import annotations

from io import BytesIO
from typing import Any

import pytest
from flask.testing import FlaskClient

from catalog.demo import demo_catalog_paths

PROBLEM = "application/problem+json"

SHOP_YAML = """\
format: c2m-catalog/1
code: lamp-shop
name: {en: Lamp shop, zh-CN: 灯具店}
currency: EUR
products:
  - code: lamp
    name: {en: Lamp, zh-CN: 台灯}
    base_price: "20.00"
    attributes:
      - {code: dimmable, name: {en: Dimmable, zh-CN: 可调光}, type: bool, default: false}
"""


def test_products_lists_every_product_in_force_with_pagination(client: FlaskClient) -> None:
    response = client.get("/api/v1/products")
    assert response.status_code == 200
    codes = {(p["catalog"], p["code"]) for p in response.get_json()["items"]}
    assert codes == {
        ("wuhan-bikes", "city-ebike"),
        ("foshan-wardrobes", "modular-wardrobe"),
        ("foshan-wardrobes", "pax-system"),
    }
    assert response.get_json()["total"] == 3
    page = client.get("/api/v1/products?page=2&page_size=1").get_json()
    assert (len(page["items"]), page["page"], page["total"]) == (1, 2, 3)
    assert client.get("/api/v1/products?page_size=0").status_code == 422


@pytest.mark.parametrize(
    ("language", "name"),
    [
        ("zh-CN,zh;q=0.9,en;q=0.5", "武汉城市电助力自行车"),
        ("en-US", "Wuhan city e-bike"),
        (None, "Wuhan city e-bike"),
    ],
)
def test_products_are_labelled_by_accept_language(
    client: FlaskClient, language: str | None, name: str
) -> None:
    headers = {"Accept-Language": language} if language else {}
    products = client.get("/api/v1/products", headers=headers).get_json()["items"]
    bike = next(p for p in products if p["code"] == "city-ebike")
    assert bike["name"] == name


def test_product_detail_has_attributes_groups_rules_and_base_price(client: FlaskClient) -> None:
    response = client.get("/api/v1/products/city-ebike", headers={"Accept-Language": "zh-CN"})
    assert response.status_code == 200
    body = response.get_json()
    assert body["base_price"] == "6999.00" and body["currency"] == "CNY"
    frame = next(a for a in body["attributes"] if a["code"] == "frame_material")
    assert frame["label"] == "车架材料" and frame["kind"] == "enum"
    assert {"value": "carbon", "label": "碳纤维", "description": None} in frame["values"]
    assert any(r["rule_id"] == "carbon-no-rack" and "碳纤维" in r["message"] for r in body["rules"])
    assert body["groups"][0]["code"] == "frame"


def test_unknown_product_is_a_404_problem(client: FlaskClient) -> None:
    response = client.get("/api/v1/products/unicycle")
    assert response.status_code == 404
    assert response.mimetype == PROBLEM
    assert response.get_json()["reason"] == "product_not_found"


def test_catalogs_lists_versions(client: FlaskClient) -> None:
    body = client.get("/api/v1/catalogs").get_json()
    bikes = next(c for c in body if c["code"] == "wuhan-bikes")
    assert bikes["current_version"] == 1
    assert bikes["versions"][0]["status"] == "published"
    assert bikes["versions"][0]["products"][0]["code"] == "city-ebike"


@pytest.mark.parametrize(
    ("headers", "status", "reason"),
    [
        ({}, 401, "unauthorized"),
        ({"Authorization": "Bearer c2m_not-a-token"}, 401, "unauthorized"),
        ({"Authorization": "Basic abc"}, 401, "unauthorized"),
    ],
)
def test_upload_without_a_valid_token_is_refused(
    client: FlaskClient, headers: dict[str, str], status: int, reason: str
) -> None:
    response = client.post(
        "/api/v1/catalogs", data=SHOP_YAML, content_type="application/yaml", headers=headers
    )
    assert response.status_code == status
    assert response.get_json()["reason"] == reason


def test_upload_with_a_token_lacking_the_scope_is_forbidden(client: FlaskClient, token_for: Any) -> None:
    response = client.post(
        "/api/v1/catalogs", data=SHOP_YAML, content_type="application/yaml", headers=token_for("erp:read")
    )
    assert response.status_code == 403
    assert response.get_json()["required_scope"] == "catalog:write"


def test_upload_then_publish_puts_the_product_on_sale(client: FlaskClient, token_for: Any) -> None:
    auth = token_for("catalog:write")
    created = client.post("/api/v1/catalogs", data=SHOP_YAML, content_type="application/yaml", headers=auth)
    assert created.status_code == 201
    version = created.get_json()
    assert (version["catalog"], version["number"], version["status"]) == ("lamp-shop", 1, "draft")
    assert client.get("/api/v1/products/lamp").status_code == 404  # drafts are not on sale
    published = client.post("/api/v1/catalogs/lamp-shop/versions/1/publish", headers=auth)
    assert published.status_code == 200
    assert published.get_json()["status"] == "published"
    assert (
        client.get("/api/v1/products/lamp", headers={"Accept-Language": "zh-CN"}).get_json()["name"] == "台灯"
    )
    again = client.post("/api/v1/catalogs/lamp-shop/versions/1/publish", headers=auth)
    assert again.status_code == 409
    assert again.get_json()["reason"] == "version_immutable"


def test_upload_as_multipart_json_with_publish(client: FlaskClient, token_for: Any) -> None:
    document = demo_catalog_paths()[0].read_text(encoding="utf-8")
    response = client.post(
        "/api/v1/catalogs?publish=true",
        data={"file": (BytesIO(document.encode()), "bikes.yaml")},
        content_type="multipart/form-data",
        headers=token_for("catalog:write"),
    )
    assert response.status_code == 201
    assert response.get_json()["status"] == "published"
    assert response.get_json()["source"] == "bikes.yaml"


def test_invalid_catalog_lists_every_problem_with_its_position(client: FlaskClient, token_for: Any) -> None:
    broken = SHOP_YAML.replace("currency: EUR", "currency: euro").replace(
        'base_price: "20.00"', "base_price: cheap"
    )
    response = client.post(
        "/api/v1/catalogs", data=broken, content_type="application/yaml", headers=token_for("catalog:write")
    )
    assert response.status_code == 422
    body = response.get_json()
    assert body["reason"] == "catalog_invalid"
    assert any(line.startswith("upload.yaml:4:11: currency") for line in body["errors"])
    assert any(line.startswith("upload.yaml:8:") and "base_price" in line for line in body["errors"])


@pytest.mark.parametrize(
    ("data", "content_type", "status"),
    [
        (b"", "application/yaml", 400),
        (b"\xff\xfe broken", "application/yaml", 422),
        (b"{not json", "application/json", 422),
        (b"- just\n- a list\n", "application/yaml", 422),
    ],
)
def test_bad_uploads_are_problems_not_errors(
    client: FlaskClient, token_for: Any, data: bytes, content_type: str, status: int
) -> None:
    response = client.post(
        "/api/v1/catalogs", data=data, content_type=content_type, headers=token_for("catalog:write")
    )
    assert response.status_code == status
    assert response.mimetype == PROBLEM


def test_publish_unknown_version_is_404(client: FlaskClient, token_for: Any) -> None:
    response = client.post(
        "/api/v1/catalogs/wuhan-bikes/versions/9/publish", headers=token_for("catalog:write")
    )
    assert response.status_code == 404
    assert response.get_json()["reason"] == "version_not_found"


def test_openapi_document_lists_problem_responses(client: FlaskClient) -> None:
    spec = client.get("/api/v1/openapi.json").get_json()
    post = spec["paths"]["/api/v1/catalogs"]["post"]
    assert post["security"] == [{"bearerAuth": []}]
    assert "application/problem+json" in post["responses"]["422"]["content"]
    assert set(post["requestBody"]["content"]) >= {
        "application/json",
        "application/yaml",
        "multipart/form-data",
    }
