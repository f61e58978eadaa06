"""Fixtures of the order and ERP API tests: a migrated database with the demo catalogs published,
the app on it, API tokens, and complete configurations of the demo products."""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import text
from sqlalchemy.orm import Session, sessionmaker

from catalog.db import make_engine, sqlite_file, upgrade_database
from catalog.demo import demo_catalog_paths
from catalog.files import load_catalog_file, load_catalog_text
from catalog.services import import_catalog
from configurator import Decision
from usecases.catalogs import get_configurator, load_catalog
from usecases.configurations import decision_to_json
from web import create_app
from web.auth import create_token

SHARED = Path(__file__).resolve().parents[2] / ".." / "shared"
B2MML_DIR = SHARED / "b2mml"

BIKE = ("wuhan-bikes", "city-ebike")
WARDROBE = ("foshan-wardrobes", "modular-wardrobe")

# A box whose 'width' has no default: left open, it makes a configuration incomplete.
TINY_CATALOG = """
format: c2m-catalog/1
code: tiny-shop
name: Tiny shop
currency: CNY
parts:
  - {code: BOX-S, name: Small box, uom: pc, cost: "2.00", lead_time_days: 2}
  - {code: BOX-L, name: Large box, uom: pc, cost: "3.00", lead_time_days: 4}
products:
  - code: box
    name: Box
    base_price: "10.00"
    lead_time_days: 1
    attributes:
      - {code: size, name: Size, type: enum, values: [{code: small, name: Small}, {code: large, name: Large}]}
      - {code: lid, name: Lid, type: bool, default: false}
      - {code: width, name: Width, type: int, min: 100, max: 300, step: 100, unit: mm}
    rules:
      - {id: large-needs-lid, rule: size == large -> lid, message: Large boxes need a lid.}
    prices:
      - {id: large, when: size == large, add: "5.00", label: Large}
    bom:
      - {pos: 10, item: BOX-S, qty: 1, when: size == small, op: 10}
      - {pos: 20, item: BOX-L, qty: 1, when: size == large, op: 10}
    routing:
      - {op: 10, name: Fold, work_center: FOLD, setup_min: 5, run_min: 3}
"""


def _populate(url: str) -> None:
    """Migrate, then import and publish the demo catalogs and the tiny shop."""
    upgrade_database(url)
    engine = make_engine(url)
    try:
        with Session(engine) as session:
            for path in demo_catalog_paths():
                import_catalog(session, load_catalog_file(path), publish=True)
            import_catalog(session, load_catalog_text(TINY_CATALOG, format="yaml"), publish=True)
            session.commit()
    finally:
        engine.dispose()  # closing the last connection checkpoints SQLite's WAL into the file


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One populated SQLite file per test session; each test gets a copy (migrating is the slow part)."""
    path = tmp_path_factory.mktemp("orders-template") / "template.sqlite"
    _populate(f"sqlite:///{path}")
    return path


APP_TABLES = (
    "idempotency_keys",
    "production_orders",
    "orders",
    "outbox",
    "webhook_endpoints",
    "api_tokens",
    "configurations",
    "event_counters",
)
"""Tables these tests write; emptied between tests that share a populated PostgreSQL schema."""


@pytest.fixture(scope="session")
def postgres_populated() -> Iterator[str]:
    """One populated PostgreSQL schema per test session (migrating a schema per test is slow)."""
    from tests.conftest import POSTGRES_URL, _postgres_schema_url

    schema = f"test_orders_{uuid.uuid4().hex[:12]}"
    admin = make_engine(POSTGRES_URL)
    try:
        with admin.begin() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        url = _postgres_schema_url(schema)
        _populate(url)
        yield url
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture
def db_url(database_url: str, request: pytest.FixtureRequest) -> str:
    """A migrated database with the demo catalogs and the tiny shop imported and published, no orders.

    SQLite: a copy of a file populated once. PostgreSQL: a schema populated once per
    session, its order-side tables emptied (identities restarted) before each test.
    """
    target = sqlite_file(database_url)
    if target is not None:
        shutil.copyfile(request.getfixturevalue("sqlite_template"), target)
        return database_url
    url: str = request.getfixturevalue("postgres_populated")
    engine = make_engine(url)
    try:
        with engine.begin() as conn:
            conn.execute(text(f"TRUNCATE {', '.join(APP_TABLES)} RESTART IDENTITY CASCADE"))
    finally:
        engine.dispose()
    return url


@pytest.fixture
def app(db_url: str) -> Iterator[Flask]:
    app = create_app(
        {"DATABASE_URL": db_url, "TESTING": True, "SECRET_KEY": "test", "RATE_LIMIT_ORDERS": "100000 per minute"}
    )
    yield app
    app.extensions["c2m.engine"].dispose()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def factory(app: Flask) -> sessionmaker[Session]:
    """Sessions on the app's database (for checking what the API stored)."""
    return sessionmaker(app.extensions["c2m.engine"], expire_on_commit=False)


@pytest.fixture
def tokens(factory: sessionmaker[Session]) -> dict[str, str]:
    """API token secrets by role: erp (erp:read), erp_write (erp:read erp:write), shop (orders:write),
    author (catalog:write), hooks (webhooks:manage)."""
    out: dict[str, str] = {}
    with factory() as session:
        for name, scopes in (
            ("erp", ["erp:read"]),
            ("erp_write", ["erp:read", "erp:write"]),
            ("shop", ["orders:write"]),
            ("author", ["catalog:write"]),
            ("hooks", ["webhooks:manage"]),
        ):
            out[name] = create_token(session, name, scopes)[1]
        session.commit()
    return out


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def complete_decisions(factory: sessionmaker[Session], catalog: str, product: str) -> list[dict[str, Any]]:
    """Every attribute decided: the engine's ``complete()`` of an empty configuration, as JSON decisions."""
    with factory() as session:
        loaded = load_catalog(session, catalog)
        engine = get_configurator(loaded.catalog, product, loaded.content_hash)
        return [decision_to_json(Decision(code, value)) for code, value in engine.complete([]).items()]


@pytest.fixture
def bike_order(factory: sessionmaker[Session]) -> dict[str, Any]:
    """A request body ordering a complete, valid city e-bike."""
    catalog, product = BIKE
    return {
        "catalog": catalog,
        "product": product,
        "decisions": complete_decisions(factory, *BIKE),
        "quantity": 1,
    }


@pytest.fixture
def wardrobe_order(factory: sessionmaker[Session]) -> dict[str, Any]:
    catalog, product = WARDROBE
    return {"catalog": catalog, "product": product, "decisions": complete_decisions(factory, *WARDROBE)}


def post_order(
    client: FlaskClient, body: dict[str, Any], key: str, headers: dict[str, str] | None = None
) -> Any:
    return client.post("/api/v1/orders", json=body, headers={"Idempotency-Key": key, **(headers or {})})
