"""Guided configuring in chromium: one step at a time with next/back, the sticky price bar on a phone,
dead values hidden, readable counts, and answers that arrive out of order never undo a later click: two
fast clicks both land, and the page shows exactly the stored configuration and price."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.slow

try:
    from playwright.sync_api import Page, Route, expect
except ImportError:  # skipped by conftest
    Page = Route = Any  # type: ignore[assignment,misc]


def start(page: Page, server: dict[str, Any], product: str = "wuhan-bikes/city-ebike", lang: str = "en") -> str:
    page.goto(f"{server['url']}/p/{product}?lang={lang}")
    page.click("#start")
    page.wait_for_url(re.compile(r"/configure/[0-9a-f-]{36}$"))
    return page.url


def test_steps_one_at_a_time_with_next_back_and_progress(page: Page, server: dict[str, Any]) -> None:
    start(page, server)
    expect(page.locator("#step-of")).to_have_text("Step 1 of 6")
    expect(page.locator("section.step")).to_have_count(1)
    expect(page.locator("#step-frame")).to_be_visible()
    expect(page.locator("#nav-frame")).to_have_attribute("aria-current", "step")
    expect(page.locator("#step-back")).to_have_count(0)
    page.click("#step-next")
    expect(page.locator("#step-of")).to_have_text("Step 2 of 6")
    expect(page.locator("#step-drive")).to_be_visible()
    expect(page.locator("#step-frame")).to_have_count(0)
    expect(page.locator("#step-title-drive")).to_be_focused()
    assert page.url.endswith("view=drive")  # the step is in the address: reload and back button keep it
    # A choice keeps the buyer on the step they are on.
    page.click("#v-motor-mid_drive_pro")
    expect(page.locator("#v-motor-mid_drive_pro")).to_have_attribute("aria-pressed", "true")
    expect(page.locator("#step-of")).to_have_text("Step 2 of 6")
    page.click("#step-back")
    expect(page.locator("#step-of")).to_have_text("Step 1 of 6")
    page.click("#nav-extras")
    expect(page.locator("#step-extras")).to_be_visible()
    # The last step leads to the review.
    page.click("#nav-delivery")
    expect(page.locator("#step-next")).to_have_text(re.compile("Review and order"))
    # The whole form on one page for those who want it.
    page.click("#view-all")
    expect(page.locator("section.step")).to_have_count(6)
    expect(page.locator("#step-of")).to_have_count(0)


def test_steps_work_without_javascript(nojs_page: Page, server: dict[str, Any]) -> None:
    page = nojs_page
    start(page, server)
    expect(page.locator("section.step")).to_have_count(1)
    page.click("#step-next")
    expect(page.locator("#step-of")).to_have_text("Step 2 of 6")
    page.click("#v-motor-mid_drive_pro")  # a plain form post: the redirect comes back to the same step
    expect(page.locator("#v-motor-mid_drive_pro")).to_have_attribute("aria-pressed", "true")
    expect(page.locator("#step-of")).to_have_text("Step 2 of 6")
    page.click("#step-back")
    expect(page.locator("#step-frame")).to_be_visible()


def test_never_possible_values_are_hidden_and_counts_are_words(page: Page, server: dict[str, Any]) -> None:
    url = start(page, server)
    page.goto(f"{url}?view=drive")
    # 2, 4 and 6 gears exist in the catalog but no configuration can use them.
    for gears in (2, 4, 6):
        expect(page.locator(f"#v-gears-{gears}")).to_have_count(0)
    expect(page.locator("#v-gears-8")).to_have_count(1)
    count = page.locator("[data-testid=count]").inner_text()
    assert not re.search(r"\d{4}", count.replace(",", "")), count
    assert "Many combinations are still open." in count


def test_phone_keeps_price_and_review_in_a_bar_at_the_bottom(
    phone_page: Page, server: dict[str, Any], artifacts: Path
) -> None:
    page = phone_page
    start(page, server)
    bar = page.locator("[data-testid=price-bar]")
    expect(bar).to_be_visible()
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"the page is {width} px wide on a 390 px screen"
    page.click("#step-next")
    option = page.locator("#v-battery-wh720")
    option.scroll_into_view_if_needed()
    option.click()
    expect(option).to_have_attribute("aria-pressed", "true")
    box = bar.bounding_box()
    assert box is not None and abs(box["y"] + box["height"] - 844) < 2  # pinned to the bottom edge
    expect(bar.locator("[data-testid=bar-total]")).to_have_text(page.locator("#panel [data-testid=total]").inner_text())
    # the tapped option and the price are on the screen at the same time
    option_box = option.bounding_box()
    assert option_box is not None and 0 <= option_box["y"] < 844 - box["height"]
    page.screenshot(path=str(artifacts / "configure-step-390-en.png"))


def test_a_late_answer_to_an_earlier_click_never_replaces_a_later_one(page: Page, server: dict[str, Any]) -> None:
    url = start(page, server)
    page.goto(f"{url}?view=all")
    held: list[tuple[Route, Any]] = []

    def hold_first_set(route: Route) -> None:
        if not held:
            held.append((route, route.fetch()))  # the server has answered; the browser gets it later
        else:
            route.continue_()

    page.route(re.compile(r"/configure/[0-9a-f-]+/set$"), hold_first_set)
    page.click("#v-child_seat-true")  # first click: its answer is held back
    page.wait_for_timeout(300)
    assert held
    page.click("#v-express-true")  # second click: answered at once, the panel shows both choices
    expect(page.locator("#v-express-true")).to_have_attribute("aria-pressed", "true")
    expect(page.locator("#v-child_seat-true")).to_have_attribute("aria-pressed", "true")
    latest = page.locator("#live").inner_text()
    assert "Express" in latest
    page.evaluate("""() => { window.swapped = 0;
        document.addEventListener('htmx:afterSwap', () => { window.swapped += 1; }); }""")
    route, response = held[0]
    route.fulfill(response=response)  # the first answer arrives last; it predates the second click
    page.wait_for_timeout(500)
    assert page.evaluate("window.swapped") == 0  # dropped: neither the panel nor the live region changed
    expect(page.locator("#live")).to_have_text(latest)
    expect(page.locator("#v-express-true")).to_have_attribute("aria-pressed", "true")


def _pressed(page: Page) -> list[str]:
    return sorted(page.eval_on_selector_all("#panel button.choice[aria-pressed=true]", "els => els.map(e => e.id)"))


def _total(page: Page) -> str:
    return page.locator("#panel").get_attribute("data-total") or ""


@pytest.mark.parametrize(
    ("first", "second", "release"),
    [("#v-child_seat-true", "#v-express-true", "in order"),
     ("#v-rack-false", "#v-fenders-false", "reversed"),
     ("#v-child_seat-true", "#v-express-true", "reversed")],
)
def test_two_fast_clicks_on_a_slow_network_both_land_and_the_page_shows_what_is_stored(
    page: Page, server: dict[str, Any], first: str, second: str, release: str
) -> None:
    """Clicks 20 ms apart, each request held 400 ms by the network (and, reversed, reaching the server in
    the other order): the server applies the later-arriving click on top of the other, and the page ends
    up showing the stored configuration and its price, the same as a reload shows."""
    url = start(page, server)
    page.goto(f"{url}?view=all")
    held: list[Route] = []
    page.route(re.compile(r"/configure/[0-9a-f-]+/set$"), lambda route: held.append(route))
    page.click(first)
    page.wait_for_timeout(20)
    page.click(second)
    page.wait_for_timeout(400)  # the network's delay: both requests are still on their way
    assert len(held) == 2
    for route in (held if release == "in order" else list(reversed(held))):
        route.continue_()
        page.wait_for_timeout(50)
    expect(page.locator(first)).to_have_attribute("aria-pressed", "true")
    expect(page.locator(second)).to_have_attribute("aria-pressed", "true")
    page.wait_for_load_state("networkidle")
    shown = (_pressed(page), _total(page))
    page.unroute(re.compile(r"/configure/[0-9a-f-]+/set$"))
    page.reload()
    assert (_pressed(page), _total(page)) == shown  # the page showed exactly what is stored
    from usecases.configurations import read_configuration

    with server["app"].app_context():
        from web import database

        stored = read_configuration(database.engine(), url.rsplit("/", 1)[1])
        assert len(stored.raw) == 2
        assert f"{stored.state().price.total:.2f}" == shown[1]
