"""Derived values shown read-only (never as a choice) and the buyer's free texts (engraving) in the storefront."""

from __future__ import annotations

import re

import pytest
from flask.testing import FlaskClient

from tests.storefront.conftest import start
from tests.storefront.test_storefront import choose, post

SEAT = {"en": ("Seat tube length", "540 mm", "follows from Frame size"),
        "zh_CN": ("立管长度", "540 mm", "由 车架尺码 得出")}


def _derived_row(html: str) -> str:
    match = re.search(r'data-derived="seat_tube_mm">(.*?)</(?:div|tr)>', html, re.S)
    assert match, "no read-only row for the seat tube length"
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", match.group(1)))


@pytest.mark.parametrize("lang", ["en", "zh_CN"])
def test_a_derived_value_is_shown_read_only_on_configure_summary_and_quote(client: FlaskClient, lang: str) -> None:
    label, value, follows = SEAT[lang]
    config = start(client)
    choose(client, config, "frame_size", "size_l")
    page = client.get(f"{config}?view=all&lang={lang}").get_data(as_text=True)
    row = _derived_row(page)
    assert label in row and value in row and follows in row, row
    # never a choice: no input, button or select names it
    assert not re.search(r'name="(?:attribute|value)" value="seat_tube_mm"', page)
    assert 'data-attribute="seat_tube_mm"' not in page and 'id="attr-seat_tube_mm"' not in page
    summary = client.get(f"{config}/summary?lang={lang}").get_data(as_text=True)
    assert value in _derived_row(summary)
    post(client, f"{config}/complete", objective="defaults")
    link = post(client, f"{config}/quote").headers["Location"]  # type: ignore[attr-defined]
    quote = client.get(f"{link}?lang={lang}").get_data(as_text=True)
    assert label in _derived_row(quote) and value in _derived_row(quote)


def test_the_derived_value_follows_the_choice_it_depends_on(client: FlaskClient) -> None:
    config = start(client)
    choose(client, config, "frame_size", "size_s")
    assert "440 mm" in _derived_row(client.get(f"{config}?view=all&lang=en").get_data(as_text=True))
    choose(client, config, "frame_size", "size_xl")
    assert "580 mm" in _derived_row(client.get(f"{config}?view=all&lang=en").get_data(as_text=True))
