"""Checkout and quotes in chromium: the total and ready date follow the quantity before ordering,
the order carries the delivery address, a saved quote is a snapshot with a PDF, errors are styled."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from tests.browser.test_storefront_browser import fill_order, start_bike

pytestmark = pytest.mark.slow

try:
    from playwright.sync_api import Page, expect
except ImportError:  # skipped by conftest
    Page = Any  # type: ignore[assignment,misc]


def money(text: str) -> float:
    return float(re.sub(r"[^\d.]", "", text))


def test_quantity_updates_total_and_ready_date_then_the_order_keeps_them(
    page: Page, server: dict[str, Any], artifacts: Path
) -> None:
    start_bike(page, server)
    page.click("#finish-defaults")
    expect(page.locator("#progress-text")).to_contain_text("All 20 options decided.")
    page.click("#review")
    unit = money(page.locator("[data-testid=order-total]").inner_text())
    page.fill("#quantity", "3")
    expect(page.locator("[data-testid=quantity]")).to_have_text("3")
    expect(page.locator("[data-testid=order-total]")).not_to_have_text(re.compile(r"^¥" + f"{unit:,.2f}$"))
    total = page.locator("[data-testid=order-total]").inner_text()
    assert money(total) == pytest.approx(3 * unit)
    expect(page.locator("#place-order")).to_contain_text(total)  # the button says what will be paid
    ready = page.locator("[data-testid=delivery]").inner_text()
    fill_order(page, "Chen Jing", "chen.jing@example.com")
    page.screenshot(path=str(artifacts / "checkout-1366-en.png"), full_page=True)
    page.click("#place-order")
    expect(page.locator("[data-testid=order-number]")).to_be_visible()
    facts = page.locator(".facts").inner_text()
    assert "3" in facts and total in facts and ready in facts


def test_saved_quote_is_a_snapshot_with_pdf(page: Page, server: dict[str, Any], artifacts: Path) -> None:
    start_bike(page, server)
    page.click("#v-frame_material-steel")
    expect(page.locator("#v-frame_material-steel")).to_have_attribute("aria-pressed", "true")
    page.click("#finish-defaults")
    expect(page.locator("#progress-text")).to_contain_text("All 20 options decided.")
    configure_url = page.url
    page.click("#review")
    page.click("#save-quote")
    page.wait_for_url(re.compile(r"/q/[\w-]+$"))
    quote_url = page.url
    total = page.locator("[data-testid=quote-total]").inner_text()
    expect(page.locator("main")).to_contain_text("4130 chromoly steel")
    page.screenshot(path=str(artifacts / "quote-1366-en.png"), full_page=True)
    pdf = page.request.get(f"{quote_url}/quote.pdf")
    assert pdf.status == 200 and pdf.headers["content-type"] == "application/pdf"
    (artifacts / "quote-en.pdf").write_bytes(pdf.body())
    # Editing the configuration afterwards does not touch the quote.
    page.goto(configure_url)
    page.click("#v-frame_material-aluminium")
    expect(page.locator("#v-frame_material-aluminium")).to_have_attribute("aria-pressed", "true")
    page.goto(quote_url)
    expect(page.locator("main")).to_contain_text("4130 chromoly steel")
    expect(page.locator("[data-testid=quote-total]")).to_have_text(total)


@pytest.mark.parametrize(("lang", "title"), [("en", "Page not found"), ("zh_CN", "页面未找到")])
def test_unknown_links_get_a_styled_page(page: Page, server: dict[str, Any], lang: str, title: str,
                                         artifacts: Path) -> None:
    response = page.goto(f"{server['url']}/q/not-a-quote?lang={lang}")
    assert response is not None and response.status == 404
    expect(page.locator("h1")).to_have_text(title)
    expect(page.locator(".site-header")).to_be_visible()
    page.screenshot(path=str(artifacts / f"404-{lang}.png"))


def test_quantity_total_without_javascript(nojs_page: Page, server: dict[str, Any]) -> None:
    page = nojs_page
    start_bike(page, server)
    page.click("#finish-defaults")
    page.click("#review")
    unit = money(page.locator("[data-testid=order-total]").inner_text())
    page.fill("#quantity", "2")
    page.click(".quantity-row button")  # "Update total": a plain GET of the summary with the quantity
    expect(page.locator("[data-testid=quantity]")).to_have_text("2")
    assert money(page.locator("[data-testid=order-total]").inner_text()) == pytest.approx(2 * unit)
    fill_order(page, "Sun Li", "sun.li@example.com")
    page.click("#place-order")
    expect(page.locator("[data-testid=order-number]")).to_be_visible()
    expect(page.locator(".facts")).to_contain_text(f"{2 * unit:,.2f}")
