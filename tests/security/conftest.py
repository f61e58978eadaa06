"""Fixtures of the security tests: a populated SQLite database (copied per test), the app on it,
API tokens (optionally limited to one catalog), a placed order per demo catalog."""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Engine, inspect, text
from sqlalchemy.orm import Session

from catalog.db import Base, make_engine, upgrade_database
from catalog.demo import demo_catalog_paths
from catalog.files import load_catalog_file
from catalog.services import import_catalog
from web import create_app
from web.auth import create_token

BIKE = ("wuhan-bikes", "city-ebike")
WARDROBE = ("foshan-wardrobes", "modular-wardrobe")


def add_missing_columns(engine: Engine) -> None:
    """Columns of the models the migration does not create yet (e.g. api_tokens.catalog_code);
    a no-op once the migration is regenerated."""
    inspector = inspect(engine)
    with engine.begin() as conn:
        for table in Base.metadata.sorted_tables:
            if not inspector.has_table(table.name):
                continue
            present = {c["name"] for c in inspector.get_columns(table.name)}
            for column in table.columns:
                if column.name not in present:
                    ddl = column.type.compile(engine.dialect)
                    conn.execute(text(f"ALTER TABLE {table.name} ADD COLUMN {column.name} {ddl}"))


def populate(url: str) -> None:
    """Migrate ``url`` and import + publish the demo catalogs."""
    upgrade_database(url)
    engine = make_engine(url)
    try:
        add_missing_columns(engine)
        with Session(engine) as session:
            for path in demo_catalog_paths():
                import_catalog(session, load_catalog_file(path), publish=True)
            session.commit()
    finally:
        engine.dispose()


@pytest.fixture(scope="session")
def template_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("security-template") / "template.sqlite"
    populate(f"sqlite:///{path}")
    return path


@pytest.fixture
def db_url(template_db: Path, tmp_path: Path) -> str:
    target = tmp_path / "app.sqlite"
    shutil.copyfile(template_db, target)
    return f"sqlite:///{target}"


@pytest.fixture
def make_app(db_url: str) -> Iterator[Callable[..., Flask]]:
    apps: list[Flask] = []

    def build(**overrides: Any) -> Flask:
        config = {"DATABASE_URL": db_url, "TESTING": True, "SECRET_KEY": "test-secret", "RATELIMIT_ENABLED": False}
        config.update(overrides)
        app = create_app(config)
        apps.append(app)
        return app

    yield build
    for app in apps:
        app.extensions["c2m.engine"].dispose()


@pytest.fixture
def app(make_app: Callable[..., Flask]) -> Flask:
    return make_app()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def token(app: Flask) -> Callable[..., dict[str, str]]:
    """``token("erp:read", catalog="wuhan-bikes")`` -> Authorization header of a fresh token."""

    def make(*scopes: str, catalog: str | None = None) -> dict[str, str]:
        engine = app.extensions["c2m.engine"]
        with Session(engine) as session:
            _row, secret = create_token(session, f"t-{uuid.uuid4().hex[:6]}", list(scopes), catalog)
            session.commit()
        return {"Authorization": f"Bearer {secret}"}

    return make


def place_order(client: FlaskClient, catalog: str, product: str) -> dict[str, Any]:
    """Create a configuration of ``product``, let the engine finish it, order it; returns the 201 body."""
    created = client.post("/api/v1/configurations", json={"product": product, "catalog": catalog})
    assert created.status_code == 201, created.get_json()
    cid = created.get_json()["id"]
    done = client.post(f"/api/v1/configurations/{cid}/complete", json={"objective": "defaults", "apply": True})
    assert done.status_code == 200, done.get_json()
    placed = client.post(
        "/api/v1/orders", json={"configuration_id": cid}, headers={"Idempotency-Key": uuid.uuid4().hex}
    )
    assert placed.status_code == 201, placed.get_json()
    return placed.get_json()  # type: ignore[no-any-return]
