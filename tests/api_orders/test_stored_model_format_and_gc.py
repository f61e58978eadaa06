"""A stored model of an older artifact format is refused with a logged reason, compiled again and stored in
the current one; a large model's configurator is frozen out of the garbage collector, boundedly."""

from __future__ import annotations

import gc
import logging

import pytest
from flask import Flask
from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from catalog.demo import demo_catalog_paths
from catalog.files import load_catalog_file
from configurator.artifacts import FORMAT_VERSION
from usecases import catalogs
from usecases.catalogs import ModelCaches, get_configurator
from usecases.records import CompiledModelRecord

from .test_compiled_models import _content_hash, _fresh_app, _new_configuration, _publish_tiny


def test_an_artifact_of_an_older_format_is_logged_compiled_again_and_stored_in_the_current_one(
    app: Flask, factory: sessionmaker[Session], caplog: pytest.LogCaptureFixture
) -> None:
    code = _publish_tiny(factory)
    with factory() as session:
        content_hash = _content_hash(session, code)
        row = session.scalars(select(CompiledModelRecord).where(CompiledModelRecord.content_hash == content_hash)).one()
        record_id = row.id
        # As an older release wrote it: its bytes are never read (here, ones no release could read).
        session.execute(update(CompiledModelRecord).where(CompiledModelRecord.id == record_id)
                        .values(format_version=FORMAT_VERSION - 1, artifact=b"an older layout"))
        session.commit()
    other = _fresh_app(app)
    try:
        with caplog.at_level(logging.WARNING, logger="usecases.catalogs"):
            response = _new_configuration(other.test_client(), code)
        assert response.status_code == 201, response.get_json()
        assert f"compiled model record {record_id}" in caplog.text
        assert f"artifact format {FORMAT_VERSION - 1}, this release reads format {FORMAT_VERSION}" in caplog.text
        caches = other.extensions["c2m.caches"]
        assert (caches.artifact_rejects, caches.artifact_loads, caches.compiles) == (1, 0, 1)
    finally:
        other.extensions["c2m.engine"].dispose()
    with factory() as session:
        rows = session.scalars(select(CompiledModelRecord).where(CompiledModelRecord.content_hash == content_hash)
                               .order_by(CompiledModelRecord.format_version)).all()
        # The older row stays for the processes of the older release; the current one is stored beside it.
        assert [(r.format_version, r.status) for r in rows] == [(FORMAT_VERSION - 1, "ready"), (FORMAT_VERSION, "ready")]
    third = _fresh_app(app)
    try:
        assert _new_configuration(third.test_client(), code).status_code == 201
        caches = third.extensions["c2m.caches"]
        assert (caches.artifact_rejects, caches.artifact_loads, caches.compiles) == (0, 1, 0)
    finally:
        third.extensions["c2m.engine"].dispose()


@pytest.fixture
def gc_calls(monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    """Counts of gc.freeze / gc.unfreeze / gc.collect calls (the real ones still run); unfrozen afterwards."""
    calls = {"freeze": 0, "unfreeze": 0, "collect": 0, "full": 0}
    for name in ("freeze", "unfreeze", "collect"):
        real = getattr(gc, name)

        def spy(*args, _name=name, _real=real, **kwargs):  # type: ignore[no-untyped-def]
            calls[_name] += 1
            if _name == "collect" and args in ((), (2,)) and kwargs.get("generation", 2) == 2:
                calls["full"] += 1
            return _real(*args, **kwargs)

        monkeypatch.setattr(gc, name, spy)
    monkeypatch.setattr(catalogs, "_last_freeze", None)
    yield calls
    gc.unfreeze()


def test_a_large_models_configurator_is_frozen_once_cached_and_unfrozen_after_an_eviction(
    gc_calls: dict[str, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    catalog = load_catalog_file(demo_catalog_paths()[0])
    code = catalog.products[0].code
    caches = ModelCaches(configurator_size=1)
    monkeypatch.setattr(catalogs, "FREEZE_MIN_VARIABLES", 1)  # every demo model counts as large here
    get_configurator(catalog, code, "gc-hash", backend="mdd", caches=caches)
    # The young generations only: a full pass would walk the whole heap.
    assert (gc_calls["collect"], gc_calls["full"], gc_calls["freeze"], gc_calls["unfreeze"]) == (1, 0, 1, 0)
    assert gc.get_freeze_count() > 0 and caches.stats()["gc_frozen_objects"] == gc.get_freeze_count()
    get_configurator(catalog, code, "gc-hash", backend="mdd", caches=caches)  # a hit: nothing to freeze
    assert gc_calls["freeze"] == 1
    # Another backend's configurator evicts the first (size 1): unfrozen first, so it can be collected.
    get_configurator(catalog, code, "gc-hash", backend="sat", caches=caches)
    assert (gc_calls["collect"], gc_calls["full"], gc_calls["freeze"], gc_calls["unfreeze"]) == (2, 1, 2, 1)
    caches.clear()  # dropping every entry counts as well
    get_configurator(catalog, code, "gc-hash", backend="mdd", caches=caches)
    assert (gc_calls["freeze"], gc_calls["unfreeze"]) == (3, 2)


def test_small_models_and_the_setting_off_freeze_nothing(gc_calls: dict[str, int], monkeypatch: pytest.MonkeyPatch) -> None:
    catalog = load_catalog_file(demo_catalog_paths()[0])
    code = catalog.products[0].code
    get_configurator(catalog, code, "gc-small", backend="mdd", caches=ModelCaches())
    assert gc_calls["freeze"] == 0  # the demo models are far below FREEZE_MIN_VARIABLES
    monkeypatch.setattr(catalogs, "FREEZE_MIN_VARIABLES", 1)
    monkeypatch.setattr(catalogs, "current_settings", lambda: {"GC_FREEZE": False})
    get_configurator(catalog, code, "gc-off", backend="mdd", caches=ModelCaches())
    assert gc_calls["freeze"] == 0
