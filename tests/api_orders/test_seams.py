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


def test_exports_of_an_order_whose_rebuild_differs_are_a_problem_naming_it_not_a_500(
    client: FlaskClient, bike_order: dict[str, Any], tokens: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    number = post_order(client, bike_order, "drift").get_json()["production_orders"][0]["number"]
    # Today's code regenerating the order differently from what was stored:
    monkeypatch.setattr("usecases.orders.digest", lambda _production: "0" * 64)
    url = f"/api/v1/production-orders/{number}"
    for accept in ("text/csv", "application/xml"):
        response = client.get(url, headers={**bearer(tokens["erp"]), "Accept": accept})
        problem = response.get_json()
        assert response.status_code == 409 and problem["reason"] == "production_order_not_reproducible"
        assert number in problem["detail"]
    stored = client.get(url, headers={**bearer(tokens["erp"]), "Accept": "application/json"})
    assert stored.status_code == 200  # the stored document itself is still served byte for byte
