"""A real server on 127.0.0.1 (random port) with the workspace's test database, and Debian's chromium.

Skipped, with the reason, when ``/usr/bin/chromium`` or the playwright package is missing.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from tests.conftest import skip_browser_tests_when_unavailable

if TYPE_CHECKING:
    from playwright.sync_api import Browser


def pytest_configure(config: pytest.Config) -> None:
    """Assertions wait as long as actions do: a loaded CI machine answers slower than a laptop."""
    try:
        from playwright.sync_api import expect
    except ImportError:
        return
    expect.set_options(timeout=15_000)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    skip_browser_tests_when_unavailable(items, Path(__file__).resolve().parent)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    from werkzeug.serving import make_server

    from tests.admin.conftest import populate
    from web import create_app

    url = f"sqlite:///{tmp_path_factory.mktemp('browser-admin') / 'admin.sqlite'}"
    populate(url)
    app = create_app({"DATABASE_URL": url, "SECRET_KEY": "browser-admin-tests", "RATELIMIT_ENABLED": False})
    httpd = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield {"url": f"http://127.0.0.1:{httpd.server_port}", "app": app}
    finally:
        httpd.shutdown()
        thread.join(timeout=5)
        app.extensions["c2m.engine"].dispose()


@pytest.fixture(scope="module")
def browser(chromium_browser: Browser) -> Browser:
    """The one browser of the test session (see tests/conftest.py)."""
    return chromium_browser
