"""The state endpoint: the light read path, conditional GET (ETag / If-None-Match), caching headers."""

from __future__ import annotations

import json
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from usecases import configurations as service
from usecases.records import ConfigurationRecord
from web import database
from web.api.configurations import respond_configuration

BASE = "/api/v1/configurations"
CARBON = {"attribute": "frame_material", "value": "carbon"}
STEEL = {"attribute": "frame_material", "value": "steel"}


def create(client: FlaskClient, decisions: list[dict[str, Any]]) -> dict[str, Any]:
    response = client.post(BASE, json={"product": "city-ebike", "decisions": decisions})
    assert response.status_code == 201, response.get_json()
    return response.get_json()  # type: ignore[no-any-return]


def test_state_carries_an_etag_and_revalidation_headers(client: FlaskClient) -> None:
    cid = create(client, [CARBON])["id"]
    response = client.get(f"{BASE}/{cid}")
    assert response.status_code == 200
    assert response.headers["ETag"].startswith('"') and len(response.headers["ETag"]) == 42
    assert response.headers["Cache-Control"] == "private, no-cache"
    assert "Accept-Language" in response.headers["Vary"]
    assert client.get(f"{BASE}/{cid}").headers["ETag"] == response.headers["ETag"]


@pytest.mark.parametrize("form", ["{}", "W/{}", '{}, "other"', "*"])
def test_matching_if_none_match_is_a_304_without_body(client: FlaskClient, form: str) -> None:
    cid = create(client, [CARBON])["id"]
    etag = client.get(f"{BASE}/{cid}").headers["ETag"]
    response = client.get(f"{BASE}/{cid}", headers={"If-None-Match": form.format(etag)})
    assert response.status_code == 304
    assert response.data == b""
    assert response.headers["ETag"] == etag
    assert response.headers["Cache-Control"] == "private, no-cache"


def test_etag_changes_after_a_decision_and_the_old_one_gets_the_new_state(client: FlaskClient) -> None:
    cid = create(client, [CARBON])["id"]
    before = client.get(f"{BASE}/{cid}").headers["ETag"]
    assert client.post(f"{BASE}/{cid}/decisions", json=STEEL).status_code == 200
    response = client.get(f"{BASE}/{cid}", headers={"If-None-Match": before})
    assert response.status_code == 200
    assert response.headers["ETag"] != before
    assert response.get_json()["decisions"][-1] == STEEL
    assert client.post(f"{BASE}/{cid}/undo").status_code == 200
    after_undo = client.get(f"{BASE}/{cid}", headers={"If-None-Match": response.headers["ETag"]})
    # Same decisions as at first, but updated_at moved on: another body, another tag.
    assert after_undo.status_code == 200 and after_undo.headers["ETag"] not in (
        before,
        response.headers["ETag"],
    )


def test_etag_differs_by_language_and_by_reasons(client: FlaskClient) -> None:
    cid = create(client, [CARBON])["id"]
    english = client.get(f"{BASE}/{cid}", headers={"Accept-Language": "en"}).headers["ETag"]
    chinese = client.get(f"{BASE}/{cid}", headers={"Accept-Language": "zh-CN"})
    assert chinese.headers["ETag"] != english
    assert (
        client.get(
            f"{BASE}/{cid}", headers={"Accept-Language": "zh-CN", "If-None-Match": english}
        ).status_code
        == 200
    )
    with_reasons = client.get(f"{BASE}/{cid}?reasons=true", headers={"Accept-Language": "en"})
    assert with_reasons.headers["ETag"] != english


def test_a_change_written_elsewhere_is_seen_on_the_next_read(app: Flask, client: FlaskClient) -> None:
    """No row is cached between requests: another worker's write shows at once, with a new tag."""
    cid = create(client, [CARBON])["id"]
    first = client.get(f"{BASE}/{cid}")
    with Session(app.extensions["c2m.engine"]) as session:
        record = session.get(ConfigurationRecord, cid)
        assert record is not None
        record.decisions = json.dumps([STEEL])
        session.commit()
    second = client.get(f"{BASE}/{cid}", headers={"If-None-Match": first.headers["ETag"]})
    assert second.status_code == 200
    assert second.get_json()["decisions"] == [STEEL]


def test_light_read_answers_exactly_what_the_session_read_answers(app: Flask, client: FlaskClient) -> None:
    cid = create(client, [CARBON, {"attribute": "gears", "value": 11}])["id"]
    with Session(app.extensions["c2m.engine"]) as session:
        record = session.get(ConfigurationRecord, cid)
        assert record is not None
        record.decisions = json.dumps([CARBON, {"attribute": "gears", "value": 99}, "junk"])
        session.commit()
    with app.test_request_context(f"{BASE}/{cid}", headers={"Accept-Language": "zh-CN"}):
        light = service.read_configuration(database.engine(), cid)
        full = service.get_configuration(database.session(), cid)
        assert light.history == full.history and light.invalid == full.invalid and light.raw == full.raw
        assert [i.index for i in light.invalid] == [1, 2]
        assert respond_configuration(light).data == respond_configuration(full).data


def test_light_read_refuses_to_be_stored(app: Flask, client: FlaskClient) -> None:
    cid = create(client, [CARBON])["id"]
    with app.test_request_context(f"{BASE}/{cid}"):
        light = service.read_configuration(database.engine(), cid)
        with pytest.raises(TypeError, match="read_configuration"):
            service.undo(database.session(), light)


@pytest.mark.parametrize("key", ["nope", "x" * 37, "00000000-0000-0000-0000-000000000000"])
def test_unknown_configuration_is_a_404_problem(client: FlaskClient, key: str) -> None:
    response = client.get(f"{BASE}/{key}")
    assert response.status_code == 404
    assert response.get_json()["reason"] == "configuration_not_found"


def test_shared_link_is_conditional_too(client: FlaskClient) -> None:
    token = create(client, [CARBON])["share_token"]
    first = client.get(f"/api/v1/shared/{token}")
    assert first.status_code == 200 and "id" not in first.get_json()
    again = client.get(f"/api/v1/shared/{token}", headers={"If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304 and again.data == b""


def test_openapi_documents_the_conditional_get(client: FlaskClient) -> None:
    spec = client.get("/api/v1/openapi.json").get_json()
    operation = spec["paths"]["/api/v1/configurations/{configuration_id}"]["get"]
    assert "304" in operation["responses"]
    assert "ETag" in operation["responses"]["200"]["headers"]
    assert any(p["name"] == "If-None-Match" and p["in"] == "header" for p in operation["parameters"])
