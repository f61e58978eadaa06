"""Fixtures of the workspace tests: a migrated database with a small catalog published and one order,
the app on it, and a signed-in client per role."""

from __future__ import annotations

import re
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session, sessionmaker

from catalog.db import make_engine, sqlite_file, upgrade_database
from catalog.files import load_catalog_text
from catalog.services import import_catalog
from web import create_app
from web.accounts import create_user

PASSWORD = "s3cret-password"
ROLES = ("viewer", "editor", "admin")

BOXES = """\
format: c2m-catalog/1
code: boxes
name: {en: Boxes, zh-CN: 盒子}
currency: CNY
parts:
  - {code: BOX-S, name: Small box, cost: "2.00", lead_time_days: 2}
  - {code: BOX-L, name: Large box, cost: "3.00", lead_time_days: 4}
  - {code: LID, name: Lid, cost: "1.00"}
modules:
  - code: BOX-KIT
    name: Box kit
    components:
      - {item: LID, qty: 1}
products:
  - code: box
    name: {en: Box, zh-CN: 盒子}
    base_price: "10.00"
    lead_time_days: 1
    attributes:
      - {code: size, name: Size, type: enum, values: [{code: small, name: Small}, {code: large, name: Large}], default: small}
      - {code: lid, name: Lid, type: bool, default: false}
      - {code: width, name: Width, type: int, min: 100, max: 300, step: 100, unit: mm, default: 100}
    rules:
      - {id: large-needs-lid, rule: size == large -> lid, message: Large boxes need a lid.}
    prices:
      - {id: large, when: size == large, add: "5.00", label: Large}
    bom:
      - {pos: 10, item: BOX-S, qty: 1, when: size == small, op: 10}
      - {pos: 20, item: BOX-L, qty: 1, when: size == large, op: 10}
      - {pos: 30, item: BOX-KIT, qty: 1, when: lid, op: 10}
    routing:
      - {op: 10, name: Fold, work_center: FOLD, setup_min: 5, run_min: 3}
    tests:
      - {id: large-without-lid, set: {size: large, lid: false}, expect: reject, reason: large-needs-lid}
      - {id: small-ok, set: {size: small}, expect: accept}
    requires:
      - {id: one-box, items: ["BOX-S", "BOX-L"], exactly: 1, message: One box}
"""


def populate(url: str) -> None:
    """Migrate; publish the boxes catalog; add one user per role and one order of a large box."""
    upgrade_database(url)
    engine = make_engine(url)
    try:
        with Session(engine) as session:
            import_catalog(session, load_catalog_text(BOXES), publish=True, source="boxes.yaml")
            for role in ROLES:
                create_user(session, f"{role}@example.com", PASSWORD, role)
            session.commit()
        from usecases.orders import place_order

        with Session(engine) as session:
            placed = place_order(
                session,
                idempotency_key="admin-test-order",
                scope="public",
                catalog="boxes",
                product="box",
                decisions=[
                    {"attribute": "size", "value": "large"},
                    {"attribute": "lid", "value": True},
                    {"attribute": "width", "value": 200},
                ],
                quantity=2,
                customer_name="Li Wei",
            )
            assert not placed.replayed and placed.number.startswith("SO-"), placed.body
    finally:
        engine.dispose()


@pytest.fixture(scope="session")
def admin_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("admin-template") / "template.sqlite"
    populate(f"sqlite:///{path}")
    return path


@pytest.fixture
def db_url(database_url: str, request: pytest.FixtureRequest) -> str:
    target = sqlite_file(database_url)
    if target is not None:
        shutil.copyfile(request.getfixturevalue("admin_template"), target)
    else:
        populate(database_url)
    return database_url


@pytest.fixture
def app(db_url: str) -> Iterator[Flask]:
    app = create_app(
        {
            "DATABASE_URL": db_url,
            "TESTING": True,
            "SECRET_KEY": "test",
            "WTF_CSRF_ENABLED": False,
            "RATELIMIT_ENABLED": False,
            "SOLVER_BACKEND": "auto",
        }
    )
    yield app
    app.extensions["c2m.engine"].dispose()


@pytest.fixture
def factory(app: Flask) -> sessionmaker[Session]:
    return sessionmaker(app.extensions["c2m.engine"], expire_on_commit=False)


@pytest.fixture
def anonymous(app: Flask) -> FlaskClient:
    return app.test_client()


CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_token(client: FlaskClient) -> str:
    """The CSRF token of the client's session (the login page always carries one)."""
    match = CSRF.search(client.get("/admin/login").get_data(as_text=True))
    assert match is not None
    return match.group(1)


def post(client: FlaskClient, url: str, data: dict[str, Any] | None = None, **kwargs: Any) -> Any:
    """A form post with the session's CSRF token, as the workspace's forms send it."""
    return client.post(url, data={"csrf_token": csrf_token(client), **(data or {})}, **kwargs)


@pytest.fixture
def login(app: Flask) -> Callable[[str], FlaskClient]:
    def sign_in(role: str) -> FlaskClient:
        client = app.test_client()
        response = post(client, "/admin/login", {"email": f"{role}@example.com", "password": PASSWORD})
        assert response.status_code == 302, response.get_data(as_text=True)
        return client

    return sign_in


@pytest.fixture
def editor(login: Callable[[str], FlaskClient]) -> FlaskClient:
    return login("editor")
