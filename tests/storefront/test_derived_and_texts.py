"""Derived values shown read-only (never as a choice) and the buyer's free texts (engraving) in the storefront."""

from __future__ import annotations

import re

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.storefront.conftest import start
from tests.storefront.test_storefront import ADDRESS, choose, post
from usecases import configurations as configs
from web import database

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


def _texts_post(client: FlaskClient, config: str, text: str, lang: str = "en") -> object:
    return post(client, f"{config}/texts?lang={lang}", **{"text-engraving": text})


@pytest.mark.parametrize("lang", ["en", "zh_CN"])
def test_the_engraving_field_shows_its_label_limit_and_hint_in_both_languages(client: FlaskClient, lang: str) -> None:
    config = start(client)
    page = client.get(f"{config}?view=all&lang={lang}").get_data(as_text=True)
    field = re.search(r'<input type="text" id="text-engraving" name="text-engraving"[^>]*>', page)
    assert field and 'maxlength="20"' in field.group(0)
    label = {"en": "Top tube engraving", "zh_CN": "上管刻字"}[lang]
    hint = {"en": "Up to 20 letters, digits and spaces.", "zh_CN": "最多 20 个字母、数字或空格。"}[lang]
    assert f'<label for="text-engraving">{label}' in page and hint in page


def test_a_saved_engraving_survives_reload_share_quote_and_reaches_the_order(
    demo_app: Flask, client: FlaskClient
) -> None:
    config = start(client)
    saved = _texts_post(client, config, "  Anna 2026 ")
    assert saved.status_code == 303  # type: ignore[attr-defined]
    page = client.get(f"{config}?view=all&lang=en").get_data(as_text=True)
    assert 'value="Anna 2026"' in page  # kept trimmed, shown again after a reload
    post(client, f"{config}/complete", objective="defaults")
    summary = client.get(f"{config}/summary?lang=en").get_data(as_text=True)
    assert re.search(r'data-text="engraving"><th scope="row">Top tube engraving</th><td colspan="2">Anna 2026<', summary)
    with demo_app.app_context():
        token = configs.get_configuration(database.session(), config.rsplit("/", 1)[1]).share_token
    assert "Anna 2026" in client.get(f"/s/{token}?lang=en").get_data(as_text=True)
    link = post(client, f"{config}/quote").headers["Location"]  # type: ignore[attr-defined]
    _texts_post(client, config, "Changed later")  # the quote is a frozen snapshot
    quote = client.get(f"{link}?lang=en").get_data(as_text=True)
    assert "Anna 2026" in quote and "Changed later" not in quote
    from tests.storefront.test_quote_orders import _order_form

    from_quote = client.post(f"{link}/order", data=_order_form(client, quote))
    assert from_quote.status_code == 303, from_quote.get_data(as_text=True)[:500]
    quoted = client.get(from_quote.headers["Location"]).get_data(as_text=True)
    assert "Anna 2026" in quoted and "Changed later" not in quoted  # ordered with the texts as quoted
    from tests.storefront.test_checkout_quotes import idempotency_key

    summary = client.get(f"{config}/summary?lang=en").get_data(as_text=True)
    placed = post(client, f"{config}/order", name="Li Wei", email="li.wei@example.com", quantity="1",
                  idempotency_key=idempotency_key(summary), **ADDRESS)
    assert placed.status_code == 303, placed.get_data(as_text=True)[:2000]  # type: ignore[attr-defined]
    thanks = client.get(placed.headers["Location"]).get_data(as_text=True)  # type: ignore[attr-defined]
    assert "Top tube engraving" in thanks and "Changed later" in thanks


def test_a_text_the_pattern_refuses_is_named_next_to_its_field_and_nothing_is_lost(
    demo_app: Flask, client: FlaskClient
) -> None:
    config = start(client)
    _texts_post(client, config, "Anna")
    refused = _texts_post(client, config, "Anna <3", lang="zh_CN")
    assert refused.status_code == 422  # type: ignore[attr-defined]
    html = refused.get_data(as_text=True)  # type: ignore[attr-defined]
    assert 'value="Anna &lt;3"' in html  # what the buyer typed is still there
    assert re.search(r'id="text-engraving"[^>]*aria-invalid="true"', html)
    assert re.search(r'<p class="error" id="text-engraving-error" data-testid="text-error">[^<]*[\u4e00-\u9fff]', html)
    with demo_app.app_context():
        cfg = configs.get_configuration(database.session(), config.rsplit("/", 1)[1])
        assert cfg.texts == {"engraving": "Anna"}  # nothing stored from the refused form
    too_long = _texts_post(client, config, "A" * 21)
    assert too_long.status_code == 422 and "At most 20 characters" in too_long.get_data(as_text=True)  # type: ignore[attr-defined]


def test_a_text_field_without_wording_shows_its_pattern_required_mark_and_limit(demo_app: Flask) -> None:
    from decimal import Decimal

    from catalog.snapshot import Label, Product, TextField
    from web.storefront.views import text_error, texts_view

    monogram = TextField("monogram", Label("Monogram", "字母组合"), max_length=3, min_length=2, pattern="[A-Z]*",
                         required=True)
    product = Product("p", Label("P"), Decimal(1), (), texts=(monogram,))
    with demo_app.test_request_context("/?lang=zh_CN"):
        (view,) = texts_view(product, {"monogram": "AB"})
        assert view["label"] == "字母组合" and view["required"] and view["max_length"] == 3
        assert "[A-Z]*" in view["hint"] and view["value"] == "AB"
        assert text_error(monogram, "AB") is None
        assert text_error(monogram, "") == "请填写此文字：此项为必填。"
        assert text_error(monogram, "A") == "至少 2 个字符；当前为 1 个。"
        assert text_error(monogram, "ab") == "此文字包含不允许使用的字符。"
        assert text_error(monogram, "ABCD") == "最多 3 个字符；当前为 4 个。"
