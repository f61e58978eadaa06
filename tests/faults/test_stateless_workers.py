"""What lets several worker processes serve one shop: compiled models cached per process by
content hash (warmed on publish), rate limits shared in Redis, outbox rows claimed with
``FOR UPDATE SKIP LOCKED``, and read-only endpoints on the read replica."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from catalog.db import make_engine, upgrade_database
from tests.faults.conftest import REPO, needs_postgres
from tests.faults.test_model_too_large import oversized_catalog
from tests.security.conftest import populate
from usecases import catalogs
from usecases.outbox import drain, enqueue, new_secret
from usecases.records import OutboxEvent, WebhookEndpoint
from web import create_app
from web.auth import create_token

REDIS_URL = os.environ.get("C2M_TEST_REDIS_URL", "redis://127.0.0.1:6379/14")


def test_publishing_compiles_the_models_once_per_process_keyed_by_content_hash(db_url: str) -> None:
    app = create_app({"DATABASE_URL": db_url, "TESTING": True, "SECRET_KEY": "t", "RATELIMIT_ENABLED": False})
    client = app.test_client()
    try:
        with Session(app.extensions["c2m.engine"]) as session:
            _row, secret = create_token(session, "publisher", ["catalog:write"])
            session.commit()
        code = f"cache-{uuid.uuid4().hex[:8]}"
        text = oversized_catalog(code).replace("  - code: huge", "  - code: huge\n    image: x").split("  - code: huge")[0]
        caches = app.extensions["c2m.caches"]
        before = catalogs.cache_info(caches)
        uploaded = client.post(
            "/api/v1/catalogs?publish=true", data=text, content_type="application/yaml",
            headers={"Authorization": f"Bearer {secret}"},
        )
        assert uploaded.status_code == 201, uploaded.get_json()
        content_hash = uploaded.get_json()["content_hash"]
        warmed = catalogs.cache_info(caches)
        assert warmed["configurators"] - before["configurators"] == 2  # tiny + medium compiled on publish
        # The buyer's first request finds the compiled model: a hit, no compilation.
        created = client.post("/api/v1/configurations", json={"product": "medium", "catalog": code})
        assert created.status_code == 201
        after = catalogs.cache_info(caches)
        assert after["configurator_misses"] == warmed["configurator_misses"]
        assert after["configurator_hits"] > warmed["configurator_hits"]
        # Keyed by the content hash: the same object for the same version, whatever asks.
        loaded = catalogs.load_catalog(Session(app.extensions["c2m.engine"]), code)
        assert loaded.content_hash == content_hash
        first = catalogs.get_configurator(loaded.catalog, "medium", content_hash, backend="auto")
        assert catalogs.get_configurator(loaded.catalog, "medium", content_hash, backend="auto") is first
    finally:
        app.extensions["c2m.engine"].dispose()


def redis_client() -> Any:
    import redis

    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1)
    try:
        client.ping()
    except redis.exceptions.ConnectionError as exc:
        pytest.skip(f"Redis not reachable at {REDIS_URL}: {exc}")
    return client


REQUESTS_IN_A_PROCESS = """
import json, sys
from web import create_app
from web.limits import limiter
app = create_app({"TESTING": True, "SECRET_KEY": "t", "PUBLIC_RATE_LIMIT": "3 per minute",
                  "RATELIMIT_KEY_PREFIX": sys.argv[1]})
client = app.test_client()
print(json.dumps([type(limiter.storage).__name__] + [client.get("/api/v1/products").status_code for _ in range(2)]))
"""


def test_rate_limits_live_in_redis_and_are_shared_by_every_process(db_url: str) -> None:
    redis = redis_client()
    prefix = f"c2m-test-{uuid.uuid4().hex[:8]}"
    env = {**os.environ, "C2M_DATABASE_URL": db_url, "C2M_REDIS_URL": REDIS_URL}
    try:
        # Two processes stand for two gunicorn workers: the second sees the first one's requests.
        seen = [
            json.loads(
                subprocess.run(
                    [sys.executable, "-c", REQUESTS_IN_A_PROCESS, prefix],
                    env=env, cwd=REPO, capture_output=True, text=True, timeout=60, check=True,
                ).stdout.strip().splitlines()[-1]
            )
            for _ in range(2)
        ]
        assert seen == [["RedisStorage", 200, 200], ["RedisStorage", 200, 429]]
        assert redis.keys(f"*{prefix}*"), "the counters are in Redis"
    finally:
        for key in redis.keys(f"*{prefix}*"):
            redis.delete(key)


@needs_postgres
def test_two_outbox_workers_never_deliver_the_same_row_twice(db_url: str) -> None:
    engine = make_engine(db_url, pool_size=10)
    factory = sessionmaker(engine, expire_on_commit=False)
    events = 60
    with factory() as session:
        session.add(
            WebhookEndpoint(url="http://127.0.0.1:9/never-called", secret=new_secret(), event_types="*",
                            active=True, created_at=datetime.now(UTC))
        )
        for i in range(events):
            enqueue(session, "order.created", {"order": {"number": f"SO-TEST-{i:03d}"}})
        session.commit()
    deliveries: list[tuple[str, str]] = []
    lock = threading.Lock()
    start = threading.Barrier(2)

    def worker(name: str) -> None:
        def send(url: str, body: bytes, headers: Mapping[str, str], timeout: float) -> int:
            with lock:
                deliveries.append((name, headers["webhook-id"]))
            threading.Event().wait(0.01)  # a receiver that takes a moment: claims overlap
            return 204

        start.wait()
        while drain(factory, batch=5, send=send).claimed:
            pass

    threads = [threading.Thread(target=worker, args=(n,)) for n in ("w1", "w2")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    try:
        ids = [event_id for _name, event_id in deliveries]
        assert len(ids) == len(set(ids)) == events  # every event once, none twice
        assert {name for name, _ in deliveries} == {"w1", "w2"}  # both workers took part
        with factory() as session:
            assert session.scalar(
                select(func.count()).select_from(OutboxEvent).where(OutboxEvent.delivered_at.is_(None))
            ) == 0
    finally:
        engine.dispose()


def test_read_only_endpoints_use_the_read_replica(tmp_path: Path) -> None:
    """The primary is empty, the "replica" holds the catalogs: whatever answers with catalog data
    read it from the replica (and a write endpoint still goes to the primary)."""
    primary, replica = f"sqlite:///{tmp_path / 'primary.sqlite'}", f"sqlite:///{tmp_path / 'replica.sqlite'}"
    populate(replica)
    upgrade_database(primary)  # same schema, no catalogs
    app = create_app({"DATABASE_URL": primary, "READ_DATABASE_URL": replica, "TESTING": True,
                      "SECRET_KEY": "t", "RATELIMIT_ENABLED": False})
    client = app.test_client()
    try:
        assert client.get("/api/v1/products").get_json()["total"] == 3  # the demo catalogs' products
        assert client.get("/api/v1/products/city-ebike").status_code == 200
        assert len(client.get("/api/v1/catalogs").get_json()) == 2
        assert client.get("/").status_code == 200 and "city" in client.get("/").get_data(as_text=True).lower()
        assert client.get("/p/wuhan-bikes/city-ebike").status_code == 200
        # Writes (and reads that must see them) go to the primary, which has no catalogs.
        created = client.post("/api/v1/configurations", json={"product": "city-ebike", "catalog": "wuhan-bikes"})
        assert created.status_code == 404
    finally:
        app.extensions["c2m.engine"].dispose()


def test_a_session_started_on_one_process_is_valid_on_another_with_the_same_key(db_url: str) -> None:
    """Sessions are signed cookies: any process with the same C2M_SECRET_KEY accepts them."""
    import re

    def app(secret: str) -> Any:
        return create_app({"DATABASE_URL": db_url, "TESTING": True, "SECRET_KEY": secret, "RATELIMIT_ENABLED": False})

    first, same_key, other_key = app("shared-secret"), app("shared-secret"), app("another-secret")
    try:
        browser = first.test_client()
        html = browser.get("/p/wuhan-bikes/city-ebike").get_data(as_text=True)
        token = re.search(r'name="csrf_token" value="([^"]+)"', html) or re.search(r'"X-CSRFToken": "([^"]+)"', html)
        assert token, "the product page carries a CSRF token"
        cookie = browser.get_cookie("session")
        assert cookie is not None
        for target, expected in ((same_key, {302, 303}), (other_key, {400})):
            client = target.test_client()
            client.set_cookie("session", cookie.value)
            response = client.post(
                "/p/wuhan-bikes/city-ebike/configure", headers={"X-CSRFToken": token.group(1)}
            )
            assert response.status_code in expected, (target.config["SECRET_KEY"], response.status_code)
    finally:
        for a in (first, same_key, other_key):
            a.extensions["c2m.engine"].dispose()
