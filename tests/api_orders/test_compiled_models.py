"""Compiled models shared through the database; the injected caches and their figures."""

from __future__ import annotations

import logging
import uuid
from datetime import UTC, datetime

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from catalog.files import load_catalog_text
from catalog.services import import_catalog
from configurator.artifacts import FORMAT_VERSION
from usecases.caching import BoundedCache
from usecases.compiled_models import prepare_version
from usecases.records import CompiledModelRecord
from web import create_app

from .conftest import TINY_CATALOG

DECISIONS = [{"attribute": "size", "value": "small"}, {"attribute": "width", "value": 200}]


def _publish_tiny(factory: sessionmaker[Session], *, prepare: bool = True) -> str:
    code = f"tiny-{uuid.uuid4().hex[:8]}"
    with factory() as session:
        info = import_catalog(
            session, load_catalog_text(TINY_CATALOG.replace("code: tiny-shop", f"code: {code}"), format="yaml"),
            publish=True,
        )
        session.commit()
        if prepare:
            prepared = prepare_version(session, code, info.number)
            assert [(m.product, m.status) for m in prepared] == [("box", "ready")]
    return code


def _fresh_app(app: Flask) -> Flask:
    """A second process's application on the same database: empty caches."""
    return create_app({**app.config, "TESTING": True})


def _new_configuration(client: FlaskClient, code: str):  # type: ignore[no-untyped-def]
    return client.post("/api/v1/configurations", json={"product": "box", "catalog": code, "decisions": DECISIONS})


def test_bounded_cache_counts_hits_misses_and_evictions() -> None:
    cache: BoundedCache[str, int] = BoundedCache("t", 2)
    assert cache.get("a") is None
    cache.put("a", 1)
    cache.put("b", 2)
    assert cache.get("a") == 1
    cache.put("c", 3)  # evicts b, the least recently used
    assert cache.get("b") is None
    stats = cache.stats()
    assert (stats.entries, stats.hits, stats.misses, stats.evictions) == (2, 1, 2, 1)
    with pytest.raises(ValueError, match="size must be at least 1"):
        BoundedCache("bad", 0)


def test_a_new_process_loads_the_stored_model_instead_of_compiling(
    app: Flask, factory: sessionmaker[Session]
) -> None:
    code = _publish_tiny(factory)
    other = _fresh_app(app)
    try:
        client = other.test_client()
        assert _new_configuration(client, code).status_code == 201
        assert _new_configuration(client, code).status_code == 201
        stats = client.get("/readyz").get_json()["models"]
        assert stats["artifact_loads"] == 1 and stats["compiles"] == 0
        configurators = next(c for c in stats["caches"] if c["name"] == "configurators")
        assert configurators["misses"] >= 1 and configurators["hits"] >= 1
        # Each application has its own caches: the first app has not loaded anything.
        assert app.extensions["c2m.caches"].artifact_loads == 0
    finally:
        other.extensions["c2m.engine"].dispose()


def test_a_model_being_prepared_answers_503_with_retry_after(
    client: FlaskClient, factory: sessionmaker[Session]
) -> None:
    code = _publish_tiny(factory, prepare=False)
    with factory() as session:
        content_hash = _content_hash(session, code)
        now = datetime.now(UTC)
        session.add(CompiledModelRecord(
            model_key=f"{content_hash}:box", content_hash=content_hash, product_code="box", backend="auto",
            format_version=FORMAT_VERSION, status="preparing", created_at=now, updated_at=now,
        ))
        session.commit()
    response = _new_configuration(client, code)
    assert response.status_code == 503, response.get_json()
    assert response.get_json()["reason"] == "model_preparing"
    # at least the model's wait (the rate limiter may raise it to its own window's reset)
    assert int(response.headers["Retry-After"]) >= 5
    assert "being prepared" in response.get_json()["detail"]


def _content_hash(session: Session, code: str) -> str:
    from usecases.catalogs import load_catalog

    return load_catalog(session, code).content_hash


def test_a_corrupt_stored_model_is_named_never_used_and_replaced(
    app: Flask, factory: sessionmaker[Session], caplog: pytest.LogCaptureFixture
) -> None:
    code = _publish_tiny(factory)
    with factory() as session:
        content_hash = _content_hash(session, code)
        row = session.scalars(select(CompiledModelRecord).where(CompiledModelRecord.content_hash == content_hash)).one()
        record_id, good = row.id, row.artifact
        assert good is not None
        session.execute(
            update(CompiledModelRecord).where(CompiledModelRecord.id == record_id).values(artifact=good[:-5] + b"xxxxx")
        )
        session.commit()
    other = _fresh_app(app)
    try:
        with caplog.at_level(logging.ERROR, logger="usecases.catalogs"):
            response = _new_configuration(other.test_client(), code)
        assert response.status_code == 201, response.get_json()
        assert f"compiled model record {record_id}" in caplog.text and "digest does not match" in caplog.text
        caches = other.extensions["c2m.caches"]
        assert (caches.artifact_rejects, caches.artifact_loads, caches.compiles) == (1, 0, 1)
    finally:
        other.extensions["c2m.engine"].dispose()
    with factory() as session:
        replaced = session.get(CompiledModelRecord, record_id)
        assert replaced is not None and replaced.status == "ready" and replaced.artifact is not None
        assert replaced.artifact[-5:] != b"xxxxx"


def test_publishing_through_the_api_prepares_the_models(
    client: FlaskClient, factory: sessionmaker[Session], tokens: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Without a job engine the publish request prepares them itself (with one, a job does).
    monkeypatch.delenv("C2M_BROKER_URL", raising=False)
    monkeypatch.delenv("C2M_REDIS_URL", raising=False)
    code = f"tiny-{uuid.uuid4().hex[:8]}"
    text = TINY_CATALOG.replace("code: tiny-shop", f"code: {code}")
    response = client.post(
        "/api/v1/catalogs?publish=true", data=text, content_type="application/yaml",
        headers={"Authorization": f"Bearer {tokens['author']}"},
    )
    assert response.status_code == 201, response.get_json()
    content_hash = response.get_json()["content_hash"]
    with factory() as session:
        rows = session.scalars(select(CompiledModelRecord).where(CompiledModelRecord.content_hash == content_hash)).all()
        assert [(r.product_code, r.status) for r in rows] == [("box", "ready")]
