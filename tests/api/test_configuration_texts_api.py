"""The buyer's free texts (engraving) on a configuration through the REST API."""

from __future__ import annotations

from flask.testing import FlaskClient

BASE = "/api/v1/configurations"


def test_texts_are_created_replaced_shared_and_checked_with_the_field_named(client: FlaskClient) -> None:
    created = client.post(BASE, json={"product": "city-ebike", "texts": {"engraving": " Anna 2026 "}})
    assert created.status_code == 201, created.get_json()
    body = created.get_json()
    assert body["texts"] == {"engraving": "Anna 2026"}
    cid = body["id"]
    assert client.get(f"{BASE}/{cid}").get_json()["texts"] == {"engraving": "Anna 2026"}
    assert client.get(f"/api/v1/shared/{body['share_token']}").get_json()["texts"] == {"engraving": "Anna 2026"}

    replaced = client.put(f"{BASE}/{cid}/texts", json={"texts": {"engraving": "Li Wei"}, "revision": body["revision"]})
    assert replaced.status_code == 200, replaced.get_json()
    assert replaced.get_json()["texts"] == {"engraving": "Li Wei"}
    assert replaced.get_json()["decisions"] == body["decisions"]  # the decisions stay as they were

    refused = client.put(f"{BASE}/{cid}/texts", json={"texts": {"engraving": "Li <3"}})
    assert refused.status_code == 422
    problem = refused.get_json()
    assert problem["reason"] == "invalid_text" and problem["field"] == "texts.engraving"
    assert "allowed characters" in problem["detail"]
    too_long = client.put(f"{BASE}/{cid}/texts", json={"texts": {"engraving": "x" * 21}})
    assert too_long.status_code == 422 and too_long.get_json()["field"] == "texts.engraving"
    unknown = client.put(f"{BASE}/{cid}/texts", json={"texts": {"monogram": "AB"}})
    assert unknown.status_code == 422 and unknown.get_json()["field"] == "texts.monogram"
    assert client.get(f"{BASE}/{cid}").get_json()["texts"] == {"engraving": "Li Wei"}  # nothing lost

    stale = client.put(f"{BASE}/{cid}/texts", json={"texts": {}, "revision": body["revision"]})
    assert stale.status_code == 409
    cleared = client.put(f"{BASE}/{cid}/texts", json={"texts": {"engraving": ""}})
    assert cleared.status_code == 200 and cleared.get_json()["texts"] == {}


def test_a_bad_text_at_creation_creates_nothing(client: FlaskClient) -> None:
    refused = client.post(BASE, json={"product": "city-ebike", "texts": {"engraving": "ä"}})
    assert refused.status_code == 422 and refused.get_json()["field"] == "texts.engraving"
