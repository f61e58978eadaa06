"""The storefront on a demo database, driven with Flask's test client (no browser)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from web import create_app
from web.commands.serve import load_demo_database

CSRF_RE = re.compile(r'name="csrf_token" value="([^"]+)"')


def make_app(db: Path) -> Flask:
    url = f"sqlite:///{db}"
    load_demo_database(url)
    return create_app({"DATABASE_URL": url, "SECRET_KEY": "storefront-tests", "TESTING": True,
                       "RATELIMIT_ENABLED": False})


@pytest.fixture(scope="session")
def demo_app(tmp_path_factory: pytest.TempPathFactory) -> Flask:
    """One demo database for the read-mostly tests (each test starts its own configurations)."""
    return make_app(tmp_path_factory.mktemp("storefront") / "demo.sqlite")


@pytest.fixture
def client(demo_app: Flask) -> Iterator[FlaskClient]:
    with demo_app.test_client() as c:
        yield c


def csrf_token(client: FlaskClient) -> str:
    page = client.get("/?lang=en").get_data(as_text=True)
    match = CSRF_RE.search(page)
    assert match, "no CSRF token on the product list"
    return match.group(1)


def start(client: FlaskClient, catalog: str = "wuhan-bikes", product: str = "city-ebike") -> str:
    """Start configuring ``product`` through the product page form; the configuration's path."""
    response = client.post(f"/p/{catalog}/{product}/configure", data={"csrf_token": csrf_token(client)})
    assert response.status_code == 303
    return response.headers["Location"]
