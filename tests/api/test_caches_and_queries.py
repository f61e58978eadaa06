"""The application's caches are its own (a fresh app starts empty), count what they serve, and
a click reads the catalog version with one query."""

from __future__ import annotations

import importlib
import json
import pkgutil
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import event
from sqlalchemy.orm import Session

import usecases
import web
from tests.api.conftest import make_app
from usecases.caching import BoundedCache
from usecases.records import ConfigurationRecord

BASE = "/api/v1/configurations"
CARBON = {"attribute": "frame_material", "value": "carbon"}
STEEL = {"attribute": "frame_material", "value": "steel"}


def cache(stats: dict[str, Any], name: str) -> dict[str, Any]:
    return next(c for c in stats["caches"] if c["name"] == name)


def test_a_fresh_app_has_fresh_caches_and_readyz_counts_their_hits(app: Flask, demo_url: str) -> None:
    client = app.test_client()
    cid = client.post(BASE, json={"product": "city-ebike", "decisions": [CARBON]}).get_json()["id"]
    first = client.get("/readyz").get_json()["models"]
    assert cache(first, "states")["entries"] >= 1
    rendered_hits = cache(first, "rendered")["hits"]
    assert client.get(f"{BASE}/{cid}").status_code == 200
    assert client.get(f"{BASE}/{cid}").status_code == 200
    later = client.get("/readyz").get_json()["models"]
    # The same decisions on the same version: the rendered state is served from the cache.
    assert cache(later, "rendered")["hits"] >= rendered_hits + 2
    assert cache(later, "validations")["hits"] > cache(first, "validations")["hits"]
    assert cache(later, "catalogs")["hits"] > cache(first, "catalogs")["hits"]

    other = make_app(demo_url, RATELIMIT_ENABLED=False)
    try:
        assert other.extensions["c2m.caches"] is not app.extensions["c2m.caches"]
        fresh = other.test_client().get("/readyz").get_json()["models"]
        for entry in fresh["caches"]:
            assert (entry["entries"], entry["hits"], entry["misses"], entry["evictions"]) == (0, 0, 0, 0), entry
        # The other app computes the state itself: a miss in its caches, none of the first app's counted.
        assert other.test_client().get(f"{BASE}/{cid}").status_code == 200
        after = other.test_client().get("/readyz").get_json()["models"]
        assert cache(after, "states")["misses"] >= 1
        assert cache(client.get("/readyz").get_json()["models"], "states")["misses"] == cache(later, "states")["misses"]
    finally:
        other.extensions["c2m.engine"].dispose()


def test_no_module_level_caches_in_the_application_and_web_layers() -> None:
    found = []
    for package in (usecases, web):
        for info in pkgutil.walk_packages(package.__path__, f"{package.__name__}."):
            module = importlib.import_module(info.name)
            for name, value in vars(module).items():
                kind = type(value)  # the type, not the value: a context-local proxy is not evaluated
                if issubclass(kind, BoundedCache):
                    found.append(f"{info.name}.{name}")
                elif hasattr(kind, "cache_info") and value.__module__ == module.__name__:
                    # functools.lru_cache (or cache) on a function of this module.
                    found.append(f"{info.name}.{name}")
    # A cached constant (computed once, never a function of stored data) is not a cache of the application.
    assert found == ["web.accounts._dummy_hash"]


@contextmanager
def statements(app: Flask) -> Iterator[list[str]]:
    seen: list[str] = []

    def record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if not statement.lstrip().upper().startswith(("BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE")):
            seen.append(statement)

    engine = app.extensions["c2m.engine"]
    event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", record)


def test_a_click_reads_the_configuration_with_its_catalog_version_in_one_query(client: FlaskClient, app: Flask) -> None:
    cid = client.post(BASE, json={"product": "city-ebike", "decisions": [CARBON]}).get_json()["id"]
    assert client.post(f"{BASE}/{cid}/decisions", json=STEEL).status_code == 200  # models and states warm
    with statements(app) as seen:
        response = client.post(f"{BASE}/{cid}/decisions", json=CARBON)
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["revision"] == 3
    reads = [s for s in seen if s.lstrip().upper().startswith("SELECT")]
    writes = [s for s in seen if not s.lstrip().upper().startswith("SELECT")]
    assert len(reads) == 1, reads  # the configuration, its pinned version's status joined
    assert "catalog_versions" in reads[0] and "JOIN catalogs" in reads[0]
    assert len(writes) == 1 and writes[0].lstrip().upper().startswith("UPDATE CONFIGURATIONS"), writes
    assert "revision =" in writes[0].split("WHERE", 1)[1], writes  # conditional on the revision read


def test_ordering_a_saved_configuration_still_reads_the_version_status_each_time(client: FlaskClient, app: Flask) -> None:
    cid = client.post(BASE, json={"product": "city-ebike", "decisions": [CARBON]}).get_json()["id"]
    for _ in range(2):
        with statements(app) as seen:
            assert client.get(f"{BASE}/{cid}").status_code == 200
        assert sum("catalog_versions" in s for s in seen) == 1, seen


def test_a_click_on_stored_junk_and_completed_entries_answers_what_a_fresh_read_shows(
    client: FlaskClient, app: Flask
) -> None:
    """A click validates only the entry it adds; the answer equals re-validating every stored entry."""
    cid = client.post(BASE, json={"product": "city-ebike"}).get_json()["id"]
    assert client.post(f"{BASE}/{cid}/complete", json={"objective": "defaults", "apply": True}).status_code == 200
    with Session(app.extensions["c2m.engine"]) as session:
        record = session.get(ConfigurationRecord, cid)
        assert record is not None
        stored = json.loads(record.decisions)
        record.decisions = json.dumps([stored[0], "junk", {"attribute": "nope", "value": 1}, *stored[1:]])
        session.commit()
    before = client.get(f"{BASE}/{cid}").get_json()
    for click in (STEEL, CARBON, {"attribute": "nope", "value": 2}):
        answered = client.post(f"{BASE}/{cid}/decisions", json=click)
        if click["attribute"] == "nope":
            assert answered.status_code == 422  # a new decision must be valid; stored ones may not be
            continue
        assert answered.status_code == 200, answered.get_json()
        reread = client.get(f"{BASE}/{cid}").get_json()
        body = answered.get_json()
        for key in ("decisions", "invalid_decisions", "state", "revision"):
            assert body[key] == reread[key], key
    assert [i["index"] for i in before["invalid_decisions"]] == [1, 2]
    assert [i["decision"] for i in body["invalid_decisions"]] == ["junk", {"attribute": "nope", "value": 1}]
    assert any(isinstance(d, dict) and d.get("origin") == "completed" for d in body["decisions"])
