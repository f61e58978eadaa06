"""The price a buyer sees next to a value is exactly what clicking it does to the total.

Clicks every offered value of the e-bike (buttons and checkboxes) from the default configuration,
compares the shown delta with the change of the total, checks that the total is still that of a
complete configuration (no attribute left open), and takes the click back.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

import pytest

from tests.browser.test_storefront_browser import start_bike

pytestmark = pytest.mark.slow

try:
    from playwright.sync_api import Page, expect
except ImportError:  # skipped by conftest
    Page = Any  # type: ignore[assignment,misc]


def amount(text: str) -> Decimal:
    """``¥9,324.00`` -> 9324.00; ``+¥300.00`` / ``−¥120.00`` -> signed; "no extra cost" -> 0."""
    match = re.search(r"([+\-−]?)¥([\d,]+\.\d\d)", text)
    if match is None:
        return Decimal(0)
    value = Decimal(match.group(2).replace(",", ""))
    return -value if match.group(1) in ("-", "−") else value


def test_every_values_delta_is_the_change_of_the_total(page: Page, server: dict[str, Any]) -> None:
    start_bike(page, server)
    mismatches: list[str] = []
    ids = page.eval_on_selector_all(
        "#panel .choice:not(.is-selected):not(.is-impossible), #panel .check:not(.is-impossible) input",
        "els => els.map(e => e.id)",
    )
    ids = [i for i in ids if i]
    assert len(ids) > 40
    for value_id in ids:
        before = amount(page.locator("#panel [data-testid=total]").inner_text())
        target = page.locator(f'[id="{value_id}"]')
        if target.count() == 0 or target.get_attribute("aria-disabled") == "true":
            continue
        if target.evaluate("e => e.tagName") == "INPUT":
            shown = page.locator(f'label[for="{value_id}"] .choice-meta').inner_text()
            if target.is_checked():
                continue
            target.check()
        else:
            shown = target.locator(".choice-meta").inner_text()
            target.click()
        expect(page.locator("#undo")).to_be_enabled()
        page.wait_for_function("() => !document.querySelector('.htmx-request')")
        after = amount(page.locator("#panel [data-testid=total]").inner_text())
        if after - before != amount(shown):
            mismatches.append(f"{value_id}: shown {shown!r}, total {before} -> {after}")
        open_now = page.eval_on_selector_all("#panel .badge-open", "els => els.map(e => e.closest('fieldset').id)")
        if open_now:
            mismatches.append(f"{value_id}: the total {after} is of an incomplete configuration (open: {open_now})")
        page.click("#undo")
        expect(page.locator("#undo")).to_be_disabled()
    assert not mismatches, "\n".join(mismatches)
