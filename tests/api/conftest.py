"""Fixtures of the API tests: an app on a migrated database with the demo catalogs published."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from catalog.db import make_engine, sqlite_file, upgrade_database
from catalog.demo import demo_catalog_paths
from catalog.files import load_catalog_file
from catalog.services import import_catalog
from configurator.rules.catalog_check import expression_checker
from web import create_app
from web.auth import create_token
from web.limits import limiter


def seed_demo(url: str) -> None:
    """Import and publish every demo catalog."""
    engine = make_engine(url)
    try:
        with Session(engine) as session:
            for path in demo_catalog_paths():
                import_catalog(
                    session, load_catalog_file(path, expression_checker=expression_checker), publish=True
                )
            session.commit()
    finally:
        engine.dispose()


def make_app(url: str, **config: Any) -> Flask:
    settings: dict[str, Any] = {"TESTING": True, "DATABASE_URL": url, "SECRET_KEY": "test", "REDIS_URL": None}
    settings.update(config)
    app = create_app(settings)
    if limiter.enabled:
        limiter.reset()  # one limiter per process: counters of earlier apps must not leak in
    return app


@pytest.fixture(scope="session")
def demo_sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite file with the demo catalogs published, built once and copied per test."""
    path = tmp_path_factory.mktemp("api-template") / "demo.sqlite"
    url = f"sqlite:///{path}"
    upgrade_database(url)
    seed_demo(url)
    return path


@pytest.fixture
def demo_url(database_url: str, demo_sqlite_template: Path) -> str:
    """``database_url`` migrated, with the demo catalogs imported and published."""
    target = sqlite_file(database_url)
    if target is not None:
        shutil.copyfile(demo_sqlite_template, target)
        return database_url
    upgrade_database(database_url)
    seed_demo(database_url)
    return database_url


@pytest.fixture
def app(demo_url: str) -> Iterator[Flask]:
    application = make_app(demo_url, RATELIMIT_ENABLED=False)
    yield application
    application.extensions["c2m.engine"].dispose()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def token_for(app: Flask) -> Any:
    """``token_for("catalog:write")`` -> an Authorization header with a fresh token of those scopes."""

    def make(*scopes: str) -> dict[str, str]:
        engine = app.extensions["c2m.engine"]
        with Session(engine) as session:
            _row, secret = create_token(session, "test", list(scopes))
            session.commit()
        return {"Authorization": f"Bearer {secret}"}

    return make
