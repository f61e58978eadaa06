"""Idempotency keys are scoped per caller and expire; abandoned configurations are cleaned up."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from click.testing import CliRunner
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from tests.security.conftest import BIKE
from usecases.cleanup import clean_up
from usecases.records import ConfigurationRecord, IdempotencyKey
from web.cli import main


def finished(client: FlaskClient, address: str = "127.0.0.1") -> str:
    env = {"REMOTE_ADDR": address}
    created = client.post("/api/v1/configurations", json={"product": BIKE[1], "catalog": BIKE[0]}, environ_base=env)
    cid = str(created.get_json()["id"])
    client.post(f"/api/v1/configurations/{cid}/complete", json={"objective": "defaults", "apply": True}, environ_base=env)
    return cid


def order(client: FlaskClient, cid: str, key: str, address: str) -> Any:
    return client.post(
        "/api/v1/orders", json={"configuration_id": cid}, headers={"Idempotency-Key": key},
        environ_base={"REMOTE_ADDR": address},
    )


def test_an_anonymous_key_never_replays_another_callers_order(client: FlaskClient) -> None:
    key = uuid.uuid4().hex
    first = order(client, finished(client), key, "10.0.0.1")
    assert first.status_code == 201
    again = order(client, finished(client, "10.0.0.2"), key, "10.0.0.2")
    assert again.status_code == 201, again.get_json()
    assert again.get_json()["number"] != first.get_json()["number"]
    assert "access_token" in again.get_json()


def test_a_key_is_replayed_for_its_caller_until_it_expires(app: Flask, client: FlaskClient) -> None:
    key = uuid.uuid4().hex
    cid = finished(client)
    first = order(client, cid, key, "10.0.0.3")
    replay = order(client, cid, key, "10.0.0.3")
    assert replay.status_code == 201 and replay.get_json()["number"] == first.get_json()["number"]
    assert order(client, finished(client), key, "10.0.0.3").status_code == 422  # reused with another body
    with Session(app.extensions["c2m.engine"]) as session:
        session.execute(
            update(IdempotencyKey).where(IdempotencyKey.key == key).values(created_at=datetime.now(UTC) - timedelta(days=2))
        )
        session.commit()
    fresh = order(client, finished(client), key, "10.0.0.3")
    assert fresh.status_code == 201 and fresh.get_json()["number"] != first.get_json()["number"]


def test_abandoned_configurations_are_deleted_ordered_ones_kept(app: Flask, client: FlaskClient, db_url: str) -> None:
    ordered = finished(client)
    assert order(client, ordered, uuid.uuid4().hex, "10.0.0.4").status_code == 201
    abandoned = finished(client)
    recent = finished(client)
    old = datetime.now(UTC) - timedelta(days=40)
    with Session(app.extensions["c2m.engine"]) as session:
        session.execute(
            update(ConfigurationRecord).where(ConfigurationRecord.id.in_([ordered, abandoned])).values(updated_at=old)
        )
        session.commit()
        report = clean_up(session)
        left = set(session.scalars(select(ConfigurationRecord.id)))
    assert report.configurations >= 1
    assert abandoned not in left and ordered in left and recent in left
    assert client.get(f"/api/v1/configurations/{abandoned}").status_code == 404
    result = CliRunner().invoke(main, ["cleanup", "--url", db_url])
    assert result.exit_code == 0 and "deleted 0 configurations" in result.output, result.output
