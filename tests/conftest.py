"""Shared fixtures: databases.

``database_url`` runs a test on a fresh temporary SQLite file and, when
``C2M_TEST_DATABASE_URL`` names a PostgreSQL database, also on PostgreSQL in a
schema of its own (created for the test, dropped after it), so tests never see
each other's rows even when run in parallel.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from catalog.db import make_engine, upgrade_database

POSTGRES_URL = os.environ.get("C2M_TEST_DATABASE_URL", "").strip()

# The per-click time budget guards production workers against a query that runs away; the suite runs
# on a shared, loaded machine where a first click (which also sets up the click's weights) can take
# seconds. Tests check behaviour, not latency: give every click a generous budget (the budget itself
# is tested with explicit values in tests/faults/test_click_budget.py).
os.environ.setdefault("C2M_CLICK_BUDGET_MS", "60000")
import usecases.settings as _usecase_settings  # noqa: E402

_usecase_settings.DEFAULT_CLICK_BUDGET_MS = 60_000.0

DATABASES = [pytest.param("sqlite", id="sqlite")]
if POSTGRES_URL:
    DATABASES.append(pytest.param("postgresql", id="postgresql", marks=pytest.mark.postgres))


def _postgres_schema_url(schema: str) -> str:
    # libpq's "options" sets search_path for every connection of the URL, so
    # migrations, triggers and the ORM all work inside the test's schema.
    url = make_url(POSTGRES_URL).update_query_dict({"options": f"-csearch_path={schema}"})
    return url.render_as_string(hide_password=False)


@pytest.fixture(params=DATABASES)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty database (no tables): a temp SQLite file, or a fresh PostgreSQL schema."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'test.sqlite'}"
        return
    schema = f"test_{uuid.uuid4().hex[:16]}"
    admin = make_engine(POSTGRES_URL)
    try:
        with admin.begin() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        yield _postgres_schema_url(schema)
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture
def migrated_url(database_url: str) -> str:
    """The database of ``database_url`` upgraded to the latest migration."""
    upgrade_database(database_url)
    return database_url


@pytest.fixture
def engine(migrated_url: str) -> Iterator[Engine]:
    """An engine on a migrated database (foreign keys, write-once triggers in place)."""
    eng = make_engine(migrated_url)
    yield eng
    eng.dispose()


@pytest.fixture
def session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


@pytest.fixture
def session(session_factory: sessionmaker[Session]) -> Iterator[Session]:
    """A session on a migrated database; closed (uncommitted work rolled back) after the test."""
    with session_factory() as s:
        yield s


CHROMIUM = Path(os.environ.get("C2M_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def skip_browser_tests_when_unavailable(items: list[pytest.Item], folder: Path) -> None:
    """Mark the tests in ``folder`` skipped, with the reason, when playwright or chromium is missing
    (and let them ignore the development server's dropped-connection file warnings)."""
    import importlib.util
    import shutil

    # The test servers are werkzeug's development server in a thread: when the browser drops a
    # connection while a static file streams (a page navigated away), werkzeug leaves that file to
    # the garbage collector, which reports it as an unraisable ResourceWarning. That is the test
    # server's, not the application's: ignore it in the browser folders only.
    for item in items:
        if Path(str(item.fspath)).resolve().parent == folder:
            item.add_marker(
                pytest.mark.filterwarnings("ignore:Exception ignored in:pytest.PytestUnraisableExceptionWarning")
            )
    reason = None
    if importlib.util.find_spec("playwright") is None:
        reason = "playwright (python package) is not installed"
    elif not CHROMIUM.exists() or shutil.which(str(CHROMIUM)) is None:
        reason = f"{CHROMIUM} is not installed (apt-get install chromium)"
    if reason is None:
        return
    for item in items:
        if Path(str(item.fspath)).resolve().parent == folder:
            item.add_marker(pytest.mark.skip(reason=reason))


@pytest.fixture(scope="session")
def chromium_browser() -> Iterator[Any]:
    """Debian's chromium driven by playwright, one per test process.

    Playwright's sync API refuses a second instance while one is running in the
    same process, so every browser test folder shares this one.
    """
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()
