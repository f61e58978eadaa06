"""The storefront in Debian's chromium (playwright), against a real server: with and without JavaScript."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from catalog.db import make_engine
from usecases.records import OrderRecord

pytestmark = pytest.mark.slow

try:
    from playwright.sync_api import Page, expect
except ImportError:  # skipped by conftest
    Page = Any  # type: ignore[assignment,misc]


def start_bike(page: Page, server: dict[str, Any], lang: str = "en", *, view: str | None = "all") -> None:
    """Start configuring the e-bike; ``view="all"`` opens the all-on-one-page view, ``None`` the guided steps."""
    page.goto(f"{server['url']}/p/wuhan-bikes/city-ebike?lang={lang}")
    page.click("#start")
    page.wait_for_url(re.compile(r"/configure/[0-9a-f-]{36}"))
    if view is not None:
        page.goto(f"{page.url.split('?')[0]}?view={view}")


def fill_order(page: Page, name: str, email: str) -> None:
    """The order form's contact and delivery fields."""
    page.fill("#name", name)
    page.fill("#email", email)
    page.fill("#phone", "+86 138 0013 8000")
    page.fill("#street", "88 Zhongshan Road")
    page.fill("#postal_code", "430000")
    page.fill("#city", "Wuhan")


def total(page: Page) -> str:
    return page.locator("#panel [data-testid=total]").inner_text()


def orders(server: dict[str, Any]) -> int:
    engine = make_engine(server["database_url"])
    try:
        with Session(engine) as s:
            return int(s.scalar(select(func.count()).select_from(OrderRecord)) or 0)
    finally:
        engine.dispose()


def test_configure_end_to_end_with_htmx_and_keyboard(page: Page, server: dict[str, Any], artifacts: Path) -> None:
    start_bike(page, server)
    url = page.url
    price = total(page)
    page.focus("#v-frame_material-steel")
    page.keyboard.press("Enter")  # keyboard only: a focused value button submits its form
    expect(page.locator("#v-frame_material-steel")).to_have_attribute("aria-pressed", "true")
    assert page.url == url  # htmx swapped the panel: no navigation
    expect(page.locator("#v-frame_material-steel")).to_be_focused()  # focus survives the swap
    assert total(page) != price
    expect(page.locator("#live")).to_contain_text("Total: ¥")
    page.check("#v-accessories-panniers")  # a set element: htmx submits on change
    expect(page.locator("#v-accessories-panniers")).to_be_checked()
    expect(page.locator("#status")).to_contain_text("Accessories")
    page.click("#finish-defaults")
    expect(page.locator("#progress-text")).to_contain_text("All 20 options decided.")
    page.screenshot(path=str(artifacts / "configure-en.png"), full_page=True)
    page.click("#review")
    expect(page.locator("[data-testid=delivery]")).to_have_text(re.compile(r"\w+ \d+, \d{4}"))
    fill_order(page, "Li Wei", "li.wei@example.com")
    page.screenshot(path=str(artifacts / "summary-en.png"), full_page=True)
    page.click("#place-order")
    expect(page.locator("[data-testid=order-number]")).to_have_text(re.compile(r"SO-\d{4}-\d+"))
    page.screenshot(path=str(artifacts / "order-en.png"), full_page=True)


def test_greyed_value_shows_its_reason_and_repair_works(page: Page, server: dict[str, Any], artifacts: Path) -> None:
    start_bike(page, server)
    page.click("#v-frame_material-carbon")
    expect(page.locator("#v-frame_material-carbon")).to_have_attribute("aria-pressed", "true")
    greyed = page.locator("#v-frame_style-step_through")
    expect(greyed).to_have_attribute("aria-disabled", "true")
    greyed.focus()  # aria-disabled keeps it focusable: Enter asks why
    page.keyboard.press("Enter")
    why = page.locator("#why")
    expect(why).to_contain_text("Carbon frames come in the diamond style only.")
    expect(why).to_contain_text("Frame material: Carbon fibre")
    expect(why).to_be_focused()
    page.screenshot(path=str(artifacts / "why-en.png"), full_page=False)
    page.click("#repair-button")
    expect(page.locator("#v-frame_style-step_through")).to_have_attribute("aria-pressed", "true")
    expect(page.locator("#v-frame_material-carbon")).to_have_attribute("aria-pressed", "false")
    expect(page.locator("#why")).to_have_count(0)


def test_double_clicked_order_button_makes_one_order(page: Page, server: dict[str, Any]) -> None:
    start_bike(page, server)
    page.click("#finish-cheapest")
    expect(page.locator("#progress-text")).to_contain_text("All 20 options decided.")
    page.click("#review")
    fill_order(page, "Wang Fang", "wang.fang@example.com")
    before = orders(server)
    page.dblclick("#place-order")
    expect(page.locator("[data-testid=order-number]")).to_be_visible()
    assert orders(server) == before + 1


def test_double_clicked_order_button_without_javascript_makes_one_order(
    nojs_page: Page, server: dict[str, Any]
) -> None:
    page = nojs_page
    start_bike(page, server)
    page.click("#finish-defaults")
    page.click("#review")
    fill_order(page, "Zhao Lei", "zhao.lei@example.com")
    before = orders(server)
    page.dblclick("#place-order")  # no script guards the form here: the idempotency key does
    expect(page.locator("[data-testid=order-number]")).to_be_visible()
    page.wait_for_timeout(300)
    assert orders(server) == before + 1


def test_chinese_storefront_shows_chinese(page: Page, server: dict[str, Any], artifacts: Path) -> None:
    page.goto(f"{server['url']}/?lang=zh_CN")
    expect(page.locator("h1")).to_have_text("为您定制，按单生产")
    expect(page.locator("html")).to_have_attribute("lang", "zh-CN")
    page.screenshot(path=str(artifacts / "index-zh-CN.png"), full_page=True)
    start_bike(page, server, "zh_CN")
    expect(page.locator("#review")).to_have_text("查看并下单")
    page.click("#v-frame_material-carbon")
    expect(page.locator("#v-frame_style-mixte")).to_have_attribute("aria-disabled", "true")
    page.click("#v-frame_style-mixte", force=True)  # greyed (aria-disabled) but clickable
    expect(page.locator("#why")).to_contain_text("碳纤维车架仅提供菱形款式。")
    page.screenshot(path=str(artifacts / "configure-zh-CN.png"), full_page=False)
    page.goto(f"{server['url']}/")
    page.screenshot(path=str(artifacts / "index-en-from-cookie-zh-CN.png"))
    expect(page.locator("h1")).to_have_text("为您定制，按单生产")  # the cookie remembers the choice


def test_no_javascript_path_configures_explains_and_repairs(
    nojs_page: Page, server: dict[str, Any], artifacts: Path
) -> None:
    page = nojs_page
    page.goto(f"{server['url']}/?lang=en")
    page.screenshot(path=str(artifacts / "index-en.png"), full_page=True)
    start_bike(page, server)
    page.click("#v-frame_material-carbon")  # a full form POST, 303, GET
    expect(page.locator("#v-frame_material-carbon")).to_have_attribute("aria-pressed", "true")
    expect(page.locator("#status")).to_contain_text("Updated:")
    page.click("#v-frame_style-step_through", force=True)
    assert "why=frame_style" in page.url
    expect(page.locator("#why")).to_contain_text("Carbon frames come in the diamond style only.")
    page.click("#repair-button")
    expect(page.locator("#v-frame_style-step_through")).to_have_attribute("aria-pressed", "true")
    # The set attribute's "Update" button is visible without JavaScript.
    page.check("#v-accessories-panniers")
    page.locator("#attr-accessories button.nojs-only").click()
    expect(page.locator("#v-accessories-panniers")).to_be_checked()
    page.screenshot(path=str(artifacts / "configure-nojs-en.png"), full_page=False)


def test_wardrobe_picture_changes_with_the_doors(page: Page, server: dict[str, Any], artifacts: Path) -> None:
    page.goto(f"{server['url']}/p/foshan-wardrobes/modular-wardrobe?lang=en")
    page.click("#start")
    page.wait_for_url(re.compile(r"/configure/"))
    page.goto(f"{page.url.split('?')[0]}?view=all")
    doors = page.locator("#panel svg.wardrobe g.door")
    count = doors.count()
    page.click("#v-door_count-2")
    expect(doors).to_have_count(2)
    assert count != 2
    page.select_option("#sel-width", "1200")  # htmx submits the select on change
    expect(page.locator("#panel svg.wardrobe")).to_contain_text("1200 mm")
    page.screenshot(path=str(artifacts / "wardrobe-en.png"), full_page=False)


def test_a_change_right_after_a_panel_swap_is_not_lost(page: Page, server: dict[str, Any]) -> None:
    """A control of a freshly swapped-in panel answers at once, not only after htmx's settle delay.

    The change is made in the first task after the swap (a fast second tap); htmx's default settle
    delay (20 ms) bound the new panel's controls only later, and the change silently went nowhere.
    """
    page.goto(f"{server['url']}/p/foshan-wardrobes/modular-wardrobe?lang=en")
    page.click("#start")
    page.wait_for_url(re.compile(r"/configure/"))
    page.goto(f"{page.url.split('?')[0]}?view=all")
    page.evaluate(
        """() => {
            document.body.addEventListener("htmx:afterSwap", function once(event) {
                if (!event.detail.target || event.detail.target.id !== "panel") { return; }
                document.body.removeEventListener("htmx:afterSwap", once);
                setTimeout(function () {
                    var select = document.getElementById("sel-width");
                    select.value = "1200";
                    select.dispatchEvent(new Event("change", { bubbles: true }));
                }, 0);
            });
        }"""
    )
    page.click("#v-door_count-2")
    expect(page.locator("#panel svg.wardrobe g.door")).to_have_count(2)
    expect(page.locator("#panel svg.wardrobe")).to_contain_text("1200 mm")
    expect(page.locator("#sel-width")).to_have_value("1200")


def test_a_tap_far_down_the_page_keeps_the_tapped_choice_in_view(phone_page: Page, server: dict[str, Any]) -> None:
    """On a phone, the panel htmx swaps in takes the old panel's place under the finger: the browser's
    scroll anchoring, holding on to the old panel while the new one was inserted above it, used to
    jump the view by a whole panel's height (about 2,900 px on the wardrobe) to the page's foot."""
    page = phone_page
    page.goto(f"{server['url']}/p/foshan-wardrobes/modular-wardrobe?lang=en")
    page.click("#start")
    page.wait_for_url(re.compile(r"/configure/"))
    page.goto(f"{page.url.split('?')[0]}?view=all")
    button = page.locator("#v-door_count-2")
    button.scroll_into_view_if_needed()
    before = page.evaluate("window.scrollY")
    assert before > 500, "the choice should be far down the page for this test to mean anything"
    button.tap()
    expect(button).to_have_attribute("aria-pressed", "true")
    box = button.bounding_box()
    assert box is not None
    assert 0 <= box["y"] and box["y"] + box["height"] <= 844, (before, page.evaluate("window.scrollY"), box)
