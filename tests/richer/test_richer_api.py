"""Decimal values and derived attributes through the REST API (a catalog imported into a fresh database)."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner
from flask import Flask

from web import create_app
from web.cli import main
from web.commands.serve import load_demo_database

DESK = Path(__file__).parent / "desk.yaml"


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Flask:
    url = f"sqlite:///{tmp_path_factory.mktemp('richer') / 'shop.sqlite'}"
    load_demo_database(url)
    result = CliRunner().invoke(main, ["catalog", "import", str(DESK), "--publish"], env={"C2M_DATABASE_URL": url})
    assert result.exit_code == 0, result.output
    return create_app({"DATABASE_URL": url, "SECRET_KEY": "richer", "TESTING": True, "RATELIMIT_ENABLED": False})


def test_decimal_decisions_and_read_only_derived_values(app: Flask) -> None:
    client = app.test_client()
    created = client.post("/api/v1/configurations", json={"catalog": "shop", "product": "desk"}).get_json()
    cid = created["id"]
    height = next(a for a in created["state"]["attributes"] if a["code"] == "height")
    assert (height["kind"], height["min"], height["max"], height["step"], height["places"]) == (
        "decimal", "70.0", "80.0", "2.5", 1,
    )
    assert [v["value"] for v in height["values"]] == ["70.0", "72.5", "75.0", "77.5", "80.0"]
    assert {a["code"] for a in created["state"]["attributes"]} == {"frame", "top", "width", "height"}
    answer = client.post(f"/api/v1/configurations/{cid}/decisions", json={"attribute": "height", "value": 72.5})
    assert answer.status_code == 200
    refused = client.post(f"/api/v1/configurations/{cid}/decisions", json={"attribute": "height", "value": "72.4"})
    assert refused.status_code == 422
    assert "allowed a decimal 70.0..80.0 in steps of 2.5" in refused.get_json()["detail"]
    refused = client.post(f"/api/v1/configurations/{cid}/decisions", json={"attribute": "legs", "value": 4})
    assert refused.status_code in (404, 422)  # a derived attribute is never a choice
    for attribute, value in (("frame", "fixed"), ("top", "oak"), ("width", 1200)):
        client.post(f"/api/v1/configurations/{cid}/decisions", json={"attribute": attribute, "value": value})
    state = client.get(f"/api/v1/configurations/{cid}").get_json()["state"]
    derived = {d["code"]: d["value"] for d in state["derived"]}
    assert derived == {"legs": 4, "top_price": "120.50"}
    assert state["price"]["total"] == "420.50"


def test_storefront_page_renders_decimal_values(app: Flask) -> None:
    import re

    client = app.test_client()
    page = client.get("/?lang=en").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert token
    started = client.post("/p/shop/desk/configure", data={"csrf_token": token.group(1)})
    assert started.status_code == 303
    page = client.get(started.headers["Location"] + "?lang=en")
    assert page.status_code == 200 and "72.5" in page.get_data(as_text=True)


def test_an_order_carries_the_buyers_texts_to_its_production_order(app: Flask) -> None:
    client = app.test_client()
    decisions = [
        {"attribute": "frame", "value": "fixed"},
        {"attribute": "top", "value": "oak"},
        {"attribute": "width", "value": 1400},
        {"attribute": "height", "value": "75.0"},
    ]
    body = {"catalog": "shop", "product": "desk", "decisions": decisions, "texts": {"engraving": "Anna<3"}}
    refused = client.post("/api/v1/orders", json=body, headers={"Idempotency-Key": "richer-bad"})
    assert refused.status_code == 422, refused.get_json()
    problem = refused.get_json()
    assert problem["reason"] == "invalid_text" and "engraving" in problem["detail"]
    body["texts"] = {"engraving": "Anna B"}
    placed = client.post("/api/v1/orders", json=body, headers={"Idempotency-Key": "richer-ok"})
    assert placed.status_code == 201, placed.get_json()
    from sqlalchemy import create_engine, text

    engine = create_engine(app.config["DATABASE_URL"])
    with engine.connect() as connection:
        document = connection.execute(text("SELECT document FROM production_orders ORDER BY id DESC LIMIT 1")).scalar()
    import json

    stored = json.loads(document)
    assert stored["texts"] == {"engraving": "Anna B"}
    assert [i.get("texts") for i in stored["bom"]["items"]][-1] == {"engraving": "Anna B"}
