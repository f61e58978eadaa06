"""A real server on 127.0.0.1 (random port) with the workspace's test database, and Debian's chromium.

Skipped, with the reason, when ``/usr/bin/chromium`` or the playwright package is missing.
"""

from __future__ import annotations

import os
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = Path(os.environ.get("C2M_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]

try:
    from playwright.sync_api import Browser, sync_playwright
except ImportError:  # pragma: no cover - depends on the environment
    sync_playwright = None


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    reason = None
    if sync_playwright is None:
        reason = "playwright (python package) is not installed"
    elif not CHROMIUM.exists() or shutil.which(str(CHROMIUM)) is None:
        reason = f"{CHROMIUM} is not installed (apt-get install chromium)"
    if reason is None:
        return
    here = Path(__file__).resolve().parent
    for item in items:
        if Path(str(item.fspath)).resolve().parent == here:
            item.add_marker(pytest.mark.skip(reason=reason))


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
