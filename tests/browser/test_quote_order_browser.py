"""Ordering a saved quote at its price in chromium, and the quote page of a version withdrawn from sale
(both languages, 1366 and 390 px, axe-core, screenshots in test-artifacts/screens/)."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy.orm import Session

from catalog.db import make_engine
from catalog.services import archive_version
from tests.browser.conftest import ARTIFACTS, serious_violations
from tests.browser.test_storefront_browser import fill_order

pytestmark = pytest.mark.slow

try:
    from playwright.sync_api import Browser, Page, expect
except ImportError:  # skipped by conftest
    Browser = Page = Any  # type: ignore[assignment,misc]

SCREENS = ARTIFACTS / "screens"


@pytest.fixture(scope="module")
def own_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """A server on a demo database of its own: this module withdraws the bike's catalog version from sale."""
    from werkzeug.serving import make_server

    from web import create_app
    from web.commands.serve import load_demo_database

    db = tmp_path_factory.mktemp("quote-orders") / "demo.sqlite"
    url = f"sqlite:///{db}"
    load_demo_database(url)
    app = create_app({"DATABASE_URL": url, "SECRET_KEY": "browser-tests", "RATELIMIT_ENABLED": False})
    httpd = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield {"url": f"http://127.0.0.1:{httpd.server_port}", "database_url": url}
    finally:
        httpd.shutdown()
        thread.join(timeout=5)


def _save_quote(page: Page, base: str) -> str:
    page.goto(f"{base}/p/wuhan-bikes/city-ebike?lang=en")
    page.click("#start")
    page.wait_for_url(re.compile(r"/configure/[0-9a-f-]{36}$"))
    page.goto(f"{page.url}?view=all")
    page.click("#finish-defaults")
    expect(page.locator("#progress-text")).to_contain_text("All 20 options decided.")
    page.goto(page.url.split("?")[0] + "/summary?quantity=2")
    page.click("#save-quote")
    page.wait_for_url(re.compile(r"/q/[\w-]+$"))
    return page.url.removeprefix(base)


def _check_and_capture(browser: Browser, base: str, path: str, name: str) -> list[str]:
    SCREENS.mkdir(parents=True, exist_ok=True)
    problems: list[str] = []
    for lang in ("en", "zh_CN"):
        for width, height in ((1366, 900), (390, 844)):
            context = browser.new_context(viewport={"width": width, "height": height}, is_mobile=width < 600,
                                          has_touch=width < 600)
            page = context.new_page()
            try:
                page.goto(f"{base}{path}?lang={lang}")
                problems += [f"{name} ({lang}, {width} px): {v}" for v in serious_violations(page)]
                scroll = page.evaluate("document.documentElement.scrollWidth")
                if scroll > width:
                    problems.append(f"{name} ({lang}) is {scroll} px wide at {width} px")
                page.screenshot(path=str(SCREENS / f"storefront-{name}-{lang}-{width}.png"), full_page=True)
            finally:
                context.close()
    return problems


def test_a_buyer_orders_a_quote_at_its_price_and_a_withdrawn_version_is_explained(
    browser: Browser, own_server: dict[str, Any]
) -> None:
    base = own_server["url"]
    context = browser.new_context(viewport={"width": 1366, "height": 900}, locale="en-US")
    page = context.new_page()
    try:
        ordered = _save_quote(page, base)
        withdrawn = _save_quote(page, base)
        page.goto(f"{base}{ordered}?lang=en")
        quoted = page.locator("[data-testid=quote-total]").inner_text()
        expect(page.locator("#order-quote")).to_contain_text(quoted)
        problems = _check_and_capture(browser, base, ordered, "quote-order")
        fill_order(page, "Li Wei", "li.wei@example.com")
        page.click("#order-quote")
        expect(page.locator("[data-testid=order-number]")).to_be_visible()
        assert quoted in page.content()  # the order is at the quoted total
    finally:
        context.close()
    engine = make_engine(own_server["database_url"])
    try:
        with Session(engine) as session:
            archive_version(session, "wuhan-bikes", 1)
            session.commit()
    finally:
        engine.dispose()
    context = browser.new_context(viewport={"width": 1366, "height": 900})
    page = context.new_page()
    try:
        for lang, text in (("en", "withdrawn from sale (archived)"), ("zh_CN", "已下架（归档）")):
            page.goto(f"{base}{withdrawn}?lang={lang}")
            expect(page.locator("#quote-order-problem")).to_contain_text(text)
            expect(page.locator("#order-quote")).to_have_count(0)
    finally:
        context.close()
    problems += _check_and_capture(browser, base, withdrawn, "quote-archived")
    assert not problems, "\n".join(problems)
