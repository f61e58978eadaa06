"""Consistency at the seams: archival seen by every path, corrupt stored rows named, never guessed."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import update
from sqlalchemy.orm import Session, sessionmaker

from catalog.files import load_catalog_text
from catalog.services import archive_version, import_catalog
from usecases.configurations import create_configuration, get_configuration
from usecases.records import ConfigurationRecord

from .conftest import TINY_CATALOG, bearer, complete_decisions, post_order


def _saved_bike(factory: sessionmaker[Session]) -> str:
    decisions = complete_decisions(factory, "wuhan-bikes", "city-ebike")
    with factory() as session:
        saved = create_configuration(session, "city-ebike", decisions, catalog_code="wuhan-bikes")
        session.commit()
        return saved.id


def test_archived_version_cannot_be_ordered_through_a_saved_configuration(
    client: FlaskClient, factory: sessionmaker[Session]
) -> None:
    code = f"tiny-{uuid.uuid4().hex[:8]}"  # its own catalog: archival cannot be undone
    decisions = [
        {"attribute": "size", "value": "small"},
        {"attribute": "lid", "value": False},
        {"attribute": "width", "value": 200},
    ]
    with factory() as session:
        import_catalog(
            session,
            load_catalog_text(TINY_CATALOG.replace("code: tiny-shop", f"code: {code}"), format="yaml"),
            publish=True,
        )
        configuration_id = create_configuration(session, "box", decisions, catalog_code=code).id
        session.commit()
    # The configuration is read (its version loaded) before the archival, as the buyer's page would.
    assert client.get(f"/api/v1/configurations/{configuration_id}").status_code == 200
    with factory() as session:
        archive_version(session, code, 1)
        session.commit()
    response = post_order(client, {"configuration_id": configuration_id, "quantity": 1}, "after-archive")
    assert response.status_code == 409, response.get_json()
    assert response.get_json()["reason"] == "version_archived"


def test_corrupt_stored_decisions_are_an_error_naming_the_record_and_are_kept(
    client: FlaskClient, factory: sessionmaker[Session]
) -> None:
    configuration_id = _saved_bike(factory)
    with factory() as session:
        session.execute(
            update(ConfigurationRecord)
            .where(ConfigurationRecord.id == configuration_id)
            .values(decisions="[{")
        )
        session.commit()
    response = client.get(f"/api/v1/configurations/{configuration_id}")
    problem = response.get_json()
    assert response.status_code == 409 and problem["reason"] == "stored_record_corrupt"
    assert configuration_id in problem["detail"] and problem["field"] == "decisions"
    # A decision sent now is refused too: the stored history is not replaced by a guess.
    sent = client.post(
        f"/api/v1/configurations/{configuration_id}/decisions", json={"attribute": "frame_size", "value": "M"}
    )
    assert sent.status_code == 409
    with factory() as session:
        assert session.get(ConfigurationRecord, configuration_id).decisions == "[{"  # type: ignore[union-attr]


def test_a_stored_history_that_is_not_a_list_is_refused(factory: sessionmaker[Session]) -> None:
    from usecases.errors import UseCaseError

    configuration_id = _saved_bike(factory)
    with factory() as session:
        session.execute(
            update(ConfigurationRecord)
            .where(ConfigurationRecord.id == configuration_id)
            .values(decisions='{"a": 1}')
        )
        session.commit()
    with factory() as session, pytest.raises(UseCaseError) as caught:
        get_configuration(session, configuration_id)
    assert caught.value.reason == "stored_record_corrupt" and f"configuration {configuration_id}" in str(
        caught.value
    )


EXPORTS = (
    ("", "text/csv"),
    ("?table=parts", "text/csv"),
    ("?table=operations", "text/csv"),
    ("", "application/xml"),
    ("/operations-definition", "application/xml"),
)


def _exports(client: FlaskClient, number: str, token: str) -> list[bytes]:
    out = []
    for suffix, accept in EXPORTS:
        path, _, query = suffix.partition("?")
        url = f"/api/v1/production-orders/{number}{path}" + (f"?{query}" if query else "")
        response = client.get(url, headers={**bearer(token), "Accept": accept})
        assert response.status_code == 200, (url, accept, response.get_data(as_text=True)[:300])
        out.append(response.data)
    return out


def test_exports_render_the_stored_document_and_stay_byte_stable_when_the_code_changes(
    client: FlaskClient, bike_order: dict[str, Any], tokens: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    number = post_order(client, bike_order, "stable").get_json()["production_orders"][0]["number"]
    before = _exports(client, number, tokens["erp"])

    # Today's code would explode, route and schedule the order differently (here: not at all).
    def changed(*_args: object, **_kwargs: object) -> None:
        raise AssertionError("exports must not re-explode a stored order")

    for name in ("create_production_order", "explode", "route"):
        monkeypatch.setattr(f"usecases.orders.{name}", changed)
    assert _exports(client, number, tokens["erp"]) == before


def test_a_stored_document_that_does_not_match_its_hash_is_a_problem_naming_it_not_a_500(
    client: FlaskClient, bike_order: dict[str, Any], tokens: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    number = post_order(client, bike_order, "drift").get_json()["production_orders"][0]["number"]
    monkeypatch.setattr("usecases.orders.digest", lambda _production: "0" * 64)
    url = f"/api/v1/production-orders/{number}"
    for accept in ("text/csv", "application/xml"):
        response = client.get(url, headers={**bearer(tokens["erp"]), "Accept": accept})
        problem = response.get_json()
        assert response.status_code == 409 and problem["reason"] == "stored_record_corrupt", problem
        assert f"production order {number}" in problem["detail"]
