"""Every workspace page in both languages: axe-core finds no serious or critical violation, the page
fits a 390 px phone without sideways scrolling, and screenshots at 1366 and 390 px are saved to
test-artifacts/screens/ (git-ignored) for review."""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.admin.conftest import BOXES, PASSWORD
from tests.browser.conftest import ARTIFACTS, serious_violations

pytestmark = pytest.mark.slow

SCREENS = ARTIFACTS / "screens"


def _sign_in(page: Page, base: str) -> None:
    page.goto(f"{base}/admin/login")
    page.fill("input[name=email]", "admin@example.com")
    page.fill("input[name=password]", PASSWORD)
    page.click("#login-form button[type=submit]")
    expect(page).to_have_url(re.compile(r"/admin/$"))


def _pages(page: Page, base: str) -> list[tuple[str, str]]:
    page.goto(f"{base}/admin/orders")
    order = page.locator("#orders tbody a").first.get_attribute("href")
    page.goto(f"{base}{order}")
    production = page.locator("a[href*='/admin/production-orders/']").first.get_attribute("href")
    return [
        ("dashboard", "/admin/"), ("upload", "/admin/upload"), ("orders", "/admin/orders"),
        ("order", str(order)), ("production-orders", "/admin/production-orders"),
        ("production-order", str(production)), ("users", "/admin/users"), ("catalog", "/admin/catalogs/boxes"),
        ("checks", "/admin/catalogs/boxes/checks"), ("diff", "/admin/catalogs/boxes/diff"),
        ("bench", "/admin/catalogs/boxes/bench"), ("new-catalog", "/admin/new"), ("login", "/admin/login"),
    ]


@pytest.mark.parametrize("lang", ["en", "zh_CN"])
def test_every_workspace_page_is_accessible_fits_a_phone_and_is_captured(
    server: dict[str, Any], browser: Browser, lang: str
) -> None:
    SCREENS.mkdir(parents=True, exist_ok=True)
    base = server["url"]
    problems: list[str] = []
    for width, height in ((1366, 900), (390, 844)):
        context = browser.new_context(viewport={"width": width, "height": height}, locale="en-US")
        page = context.new_page()
        try:
            _sign_in(page, base)
            for name, path in _pages(page, base):
                if name == "login":
                    context.clear_cookies()
                page.goto(f"{base}{path}{'&' if '?' in path else '?'}lang={lang}")
                expect(page.locator("html")).to_have_attribute("lang", "zh-CN" if lang == "zh_CN" else "en")
                if width == 1366:
                    problems += [f"{name} ({lang}): {v}" for v in serious_violations(page)]
                else:
                    scroll = page.evaluate("document.documentElement.scrollWidth")
                    if scroll > width:
                        problems.append(f"{name} ({lang}) is {scroll} px wide at {width} px")
                page.screenshot(path=str(SCREENS / f"workspace-{name}-{lang}-{width}.png"), full_page=True)
        finally:
            context.close()
    assert not problems, "\n".join(problems)


def test_upload_error_page_is_accessible_and_shows_the_file_once(server: dict[str, Any], browser: Browser) -> None:
    SCREENS.mkdir(parents=True, exist_ok=True)
    base = server["url"]
    broken = BOXES.replace("size == large -> lid", "size == larg -> lid")
    for lang in ("en", "zh_CN"):
        context = browser.new_context(viewport={"width": 390, "height": 844})
        page = context.new_page()
        try:
            _sign_in(page, base)
            page.goto(f"{base}/admin/upload?lang={lang}")
            page.set_input_files("input[name=file]", files=[{"name": "boxes.yaml", "mimeType": "text/yaml",
                                                              "buffer": broken.encode()}])
            page.click("#upload-form button[type=submit]")
            expect(page.locator(".problem")).to_have_count(1)
            expect(page.locator(".source-table")).to_have_count(0)
            page.wait_for_load_state("load")  # the stylesheet applied before measuring (slow on a loaded machine)
            assert page.evaluate("document.documentElement.scrollWidth") <= 390
            assert serious_violations(page) == []
            # the problem's line link takes the keyboard user to that line in the editor
            page.locator(".problem a").focus()
            page.keyboard.press("Enter")
            expect(page.locator("#catalog-text")).to_be_focused()
            page.screenshot(path=str(SCREENS / f"workspace-upload-error-{lang}-390.png"), full_page=True)
        finally:
            context.close()


def test_publishing_a_version_identical_to_the_one_in_force_is_refused(
    server: dict[str, Any], browser: Browser
) -> None:
    base = server["url"]
    page = browser.new_page()
    try:
        _sign_in(page, base)
        page.goto(f"{base}/admin/catalogs/boxes")
        if page.locator("form[action$='/draft'] button").count():
            page.locator("form[action$='/draft'] button").click()  # a draft that copies the version in force
        page.goto(f"{base}/admin/catalogs/boxes")
        draft = page.locator("[id^=publish-]").first
        number = (draft.get_attribute("id") or "").split("-")[1]
        draft.click()
        expect(page.locator(".flash")).to_contain_text(f"v{number} is identical to")
        expect(page.locator(f"#version-{number}")).to_contain_text("draft")
    finally:
        page.close()
