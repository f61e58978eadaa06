"""Every storefront page in both languages: axe-core finds no serious or critical violation, the page
fits a 390 px phone without sideways scrolling, and screenshots at 1366 and 390 px are saved to
test-artifacts/screens/ (git-ignored) for review."""

from __future__ import annotations

import re
from datetime import date, timedelta
from typing import Any

import pytest
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from catalog.db import make_engine
from tests.browser.conftest import ARTIFACTS, serious_violations
from tests.browser.test_storefront_browser import fill_order
from usecases.records import ConfigurationRecord, QuoteRecord

pytestmark = pytest.mark.slow

try:
    from playwright.sync_api import Browser, Page, expect
except ImportError:  # skipped by conftest
    Browser = Page = Any  # type: ignore[assignment,misc]

SCREENS = ARTIFACTS / "screens"


def _make_pages(browser: Browser, server: dict[str, Any]) -> list[tuple[str, str]]:
    """Walk through the shop once (configure, quote, order) and return every page worth checking."""
    base = server["url"]
    context = browser.new_context(viewport={"width": 1366, "height": 900})
    page = context.new_page()
    try:
        page.goto(f"{base}/p/wuhan-bikes/city-ebike?lang=en")
        page.click("#start")
        page.wait_for_url(re.compile(r"/configure/[0-9a-f-]{36}$"))
        configure = page.url.removeprefix(base)
        page.goto(f"{base}{configure}?view=all")
        page.click("#v-frame_material-carbon")
        expect(page.locator("#v-frame_material-carbon")).to_have_attribute("aria-pressed", "true")
        page.click("#finish-defaults")
        expect(page.locator("#progress-text")).to_contain_text("All 20 options decided.")
        page.goto(f"{base}{configure}/summary")
        page.click("#save-quote")
        page.wait_for_url(re.compile(r"/q/[\w-]+$"))
        quote = page.url.removeprefix(base)
        page.goto(f"{base}{configure}/summary")
        page.click("#save-quote")
        page.wait_for_url(re.compile(r"/q/[\w-]+$"))
        expired = page.url.removeprefix(base)
        page.goto(f"{base}{configure}/summary")
        fill_order(page, "Li Wei", "li.wei@example.com")
        page.click("#place-order")
        expect(page.locator("[data-testid=order-number]")).to_be_visible()
        thanks = page.url.removeprefix(base)
        status = page.locator("#status-link").get_attribute("href")
    finally:
        context.close()
    engine = make_engine(server["database_url"])
    try:
        with Session(engine) as s:
            s.execute(update(QuoteRecord).where(QuoteRecord.token == expired.rsplit("/", 1)[1])
                      .values(valid_until=(date.today() - timedelta(days=1)).isoformat()))
            token = s.scalars(select(ConfigurationRecord.share_token)
                              .where(ConfigurationRecord.id == configure.rsplit("/", 1)[1])).one()
            s.commit()
    finally:
        engine.dispose()
    return [
        ("index", "/"), ("product", "/p/wuhan-bikes/city-ebike"), ("wardrobe", "/p/foshan-wardrobes/modular-wardrobe"),
        ("configure-step", f"{configure}?view=frame"), ("configure-all", f"{configure}?view=all"),
        ("configure-why", f"{configure}?view=frame&why=frame_style&value=mixte"),
        ("summary", f"{configure}/summary?quantity=2"), ("quote", quote), ("quote-expired", expired),
        ("order-placed", thanks), ("order-status", str(status)), ("shared", f"/s/{token}"),
        ("not-found", "/q/no-such-quote"),
    ]


@pytest.fixture(scope="module")
def pages(browser: Browser, server: dict[str, Any]) -> list[tuple[str, str]]:
    return _make_pages(browser, server)


@pytest.mark.parametrize("lang", ["en", "zh_CN"])
def test_every_storefront_page_is_accessible_fits_a_phone_and_is_captured(
    browser: Browser, server: dict[str, Any], pages: list[tuple[str, str]], lang: str
) -> None:
    SCREENS.mkdir(parents=True, exist_ok=True)
    base = server["url"]
    problems: list[str] = []
    for width, height in ((1366, 900), (390, 844)):
        context = browser.new_context(viewport={"width": width, "height": height}, locale="en-US",
                                      is_mobile=width < 600, has_touch=width < 600)
        page = context.new_page()
        try:
            for name, path in pages:
                page.goto(f"{base}{path}{'&' if '?' in path else '?'}lang={lang}")
                expect(page.locator("html")).to_have_attribute("lang", "zh-CN" if lang == "zh_CN" else "en")
                if name in ("configure-all", "summary", "quote"):  # derived values, read-only, are checked too
                    expect(page.locator("[data-derived=seat_tube_mm]").first).to_be_visible()
                if name == "configure-all":  # the engraving field (label, hint, limit) is checked too
                    expect(page.locator("#text-engraving")).to_be_visible()
                problems += [f"{name} ({lang}, {width} px): {v}" for v in serious_violations(page)]
                scroll = page.evaluate("document.documentElement.scrollWidth")
                if scroll > width:
                    problems.append(f"{name} ({lang}) is {scroll} px wide at {width} px")
                page.screenshot(path=str(SCREENS / f"storefront-{name}-{lang}-{width}.png"), full_page=True)
        finally:
            context.close()
    assert not problems, "\n".join(problems)
