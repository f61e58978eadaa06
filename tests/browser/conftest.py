"""A real storefront server on 127.0.0.1 (random port, demo database) and Debian's chromium.

Browser tests are skipped, with the reason, when ``/usr/bin/chromium`` or the
playwright package is missing. Screenshots go to ``test-artifacts/`` (gitignored).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from tests.conftest import skip_browser_tests_when_unavailable

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page


def pytest_configure(config: pytest.Config) -> None:
    """Assertions wait as long as actions do: a loaded CI machine answers slower than a laptop."""
    try:
        from playwright.sync_api import expect
    except ImportError:
        return
    expect.set_options(timeout=15_000)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    skip_browser_tests_when_unavailable(items, Path(__file__).resolve().parent)


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """The app on a fresh demo database, served by werkzeug in a thread."""
    from werkzeug.serving import make_server

    from web import create_app
    from web.commands.serve import load_demo_database

    db = tmp_path_factory.mktemp("browser") / "demo.sqlite"
    url = f"sqlite:///{db}"
    load_demo_database(url)
    app = create_app({"DATABASE_URL": url, "SECRET_KEY": "browser-tests", "RATELIMIT_ENABLED": False})
    httpd = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield {"url": f"http://127.0.0.1:{httpd.server_port}", "app": app, "database_url": url}
    finally:
        httpd.shutdown()
        thread.join(timeout=5)


@pytest.fixture(scope="session")
def browser(chromium_browser: Browser) -> Browser:
    """The one browser of the test session (see tests/conftest.py)."""
    return chromium_browser


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="en-US")
    context.set_default_timeout(15_000)
    pg = context.new_page()
    try:
        yield pg
    finally:
        context.close()


@pytest.fixture
def nojs_page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1280, "height": 900}, java_script_enabled=False, locale="en-US")
    context.set_default_timeout(15_000)
    pg = context.new_page()
    try:
        yield pg
    finally:
        context.close()


@pytest.fixture(scope="session")
def artifacts() -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS


def serious_violations(page: Page) -> list[str]:
    """axe-core's serious and critical violations on the page as it is now, one line each."""
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page)
    lines = []
    for violation in results.response["violations"]:
        if violation.get("impact") in ("serious", "critical"):
            targets = [", ".join(node["target"]) for node in violation["nodes"][:5]]
            lines.append(f"{violation['id']} ({violation['impact']}): {violation['help']} at {targets}")
    return lines


@pytest.fixture
def phone_page(browser: Browser) -> Iterator[Page]:
    """A 390 px wide phone screen (touch, device pixel ratio 3)."""
    context = browser.new_context(viewport={"width": 390, "height": 844}, device_scale_factor=2, is_mobile=True,
                                  has_touch=True, locale="en-US")
    context.set_default_timeout(15_000)
    pg = context.new_page()
    try:
        yield pg
    finally:
        context.close()
