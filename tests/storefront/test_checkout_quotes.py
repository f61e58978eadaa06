"""Checkout with a delivery address, the total and ready date for the quantity, frozen quotes
(page, PDF, expiry) and the styled error pages in both languages."""

from __future__ import annotations

import json
import re
from datetime import timedelta

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from catalog.db import make_engine
from tests.storefront.conftest import csrf_token, start
from tests.storefront.test_storefront import ADDRESS, choose, post
from usecases.records import OrderRecord, QuoteRecord


def finish(client: FlaskClient, config: str) -> None:
    response = post(client, f"{config}/complete", objective="defaults")
    assert response.status_code == 303  # type: ignore[attr-defined]


def idempotency_key(html: str) -> str:
    key = re.search(r'name="idempotency_key" value="([0-9a-f]{32})"', html)
    assert key
    return key.group(1)


def test_summary_shows_total_and_ready_date_for_the_quantity(client: FlaskClient) -> None:
    config = start(client)
    finish(client, config)
    one = client.get(f"{config}/summary").get_data(as_text=True)
    three = client.get(f"{config}/summary?quantity=3").get_data(as_text=True)
    unit = re.search(r'data-testid="order-total">¥([\d,.]+)<', one)
    total = re.search(r'data-testid="order-total">¥([\d,.]+)<', three)
    assert unit and total
    assert float(total.group(1).replace(",", "")) == 3 * float(unit.group(1).replace(",", ""))
    assert f"¥{total.group(1)}</span></button>" in three  # the order button says the total, not the unit price
    assert 'data-testid="delivery"' in three
    fragment = client.get(f"{config}/totals?quantity=3", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert f"¥{total.group(1)}" in fragment and 'id="place-order-total" hx-swap-oob="true"' in fragment


def test_order_stores_the_delivery_address_notes_and_purchase_order_ref(client: FlaskClient) -> None:
    config = start(client)
    finish(client, config)
    html = client.get(f"{config}/summary?quantity=2").get_data(as_text=True)
    ready = re.search(r'name="shown_ready_on" value="([\d-]+)"', html)
    assert ready
    form = {"csrf_token": csrf_token(client), "idempotency_key": idempotency_key(html), "name": "Li Wei",
            "email": "li.wei@example.com", "quantity": "2", "shown_ready_on": ready.group(1),
            "notes": "Call before delivery", "purchase_order_ref": "PO-7781", **ADDRESS}
    placed = client.post(f"{config}/order", data=form)
    assert placed.status_code == 303
    number = placed.headers["Location"].split("/")[2]
    engine = make_engine(client.application.config["DATABASE_URL"])
    try:
        with Session(engine) as s:
            order = s.scalars(select(OrderRecord).where(OrderRecord.number == number)).one()
            assert json.loads(order.delivery_address or "{}") == {
                "name": "Li Wei", "phone": "+86 138 0013 8000", "street": "88 Zhongshan Road", "city": "Wuhan",
                "postal_code": "430000", "country": "CN"}
            assert order.notes == "Call before delivery" and order.purchase_order_ref == "PO-7781"
            assert order.quantity == 2 and order.due_date == ready.group(1)  # the date shown is the date promised
    finally:
        engine.dispose()


def test_missing_address_and_phone_are_named_next_to_their_fields(client: FlaskClient) -> None:
    config = start(client)
    finish(client, config)
    response = post(client, f"{config}/order", idempotency_key="b" * 32, name="Li", email="li@example.com",
                    quantity="1", phone="abc", street="", city="", postal_code="", country="XX")
    assert response.status_code == 422  # type: ignore[attr-defined]
    html = response.get_data(as_text=True)  # type: ignore[attr-defined]
    for message in ("Please enter a phone number like +86 138 0013 8000.", "Please enter the street and house number.",
                    "Please enter the city.", "Please enter the postal code, e.g. 430000.",
                    "Please choose the country of delivery."):
        assert message in html
    assert 'id="street" name="street"' in html and 'aria-describedby="street-error"' in html


def test_a_quote_is_a_frozen_snapshot_with_its_own_link_and_pdf(client: FlaskClient) -> None:
    config = start(client)
    choose(client, config, "frame_material", "steel")
    finish(client, config)
    saved = post(client, f"{config}/quote", quantity="2")
    assert saved.status_code == 303  # type: ignore[attr-defined]
    link = saved.headers["Location"]  # type: ignore[attr-defined]
    assert re.fullmatch(r"/q/[\w-]+", link)
    page = client.get(f"{link}?lang=en").get_data(as_text=True)
    assert "4130 chromoly steel" in page and "Valid until" in page and "version 1" in page
    total = re.search(r'data-testid="quote-total">([^<]+)<', page)
    assert total
    # Later edits of the configuration do not reach the quote.
    choose(client, config, "frame_material", "carbon")
    again = client.get(f"{link}?lang=en").get_data(as_text=True)
    assert "4130 chromoly steel" in again and "Carbon fibre" not in again.split("Configuration", 1)[1].split("Price", 1)[0]
    assert re.search(r'data-testid="quote-total">([^<]+)<', again).group(1) == total.group(1)  # type: ignore[union-attr]
    pdf = client.get(f"{link}/quote.pdf")
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf"
    assert pdf.data.startswith(b"%PDF-") and len(pdf.data) > 5000
    # Anyone with the link can start their own configuration from it; the quote stays as it was.
    copied = post(client, f"{link}/configure")
    assert copied.status_code == 303 and "/configure/" in copied.headers["Location"]  # type: ignore[attr-defined]
    assert copied.headers["Location"] != config  # type: ignore[attr-defined]


def test_an_expired_quote_answers_410_with_a_way_forward(client: FlaskClient) -> None:
    config = start(client)
    finish(client, config)
    link = post(client, f"{config}/quote").headers["Location"]  # type: ignore[attr-defined]
    engine = make_engine(client.application.config["DATABASE_URL"])
    try:
        with Session(engine) as s:
            record = s.scalars(select(QuoteRecord).where(QuoteRecord.token == link.rsplit("/", 1)[1])).one()
            from datetime import date

            record.valid_until = (date.today() - timedelta(days=1)).isoformat()
            s.commit()
    finally:
        engine.dispose()
    for path in (link, f"{link}/quote.pdf"):
        response = client.get(f"{path}?lang=en")
        assert response.status_code == 410
        assert "This quote has expired" in response.get_data(as_text=True)
    zh = client.get(f"{link}?lang=zh_CN").get_data(as_text=True)
    assert "此报价已过期" in zh
    assert post(client, f"{link}/configure").status_code == 303  # type: ignore[attr-defined]


def test_not_found_pages_are_styled_in_both_languages_without_developer_text(client: FlaskClient) -> None:
    for path in ("/q/nope", "/s/nope", "/configure/00000000-0000-0000-0000-000000000000", "/no/such/page",
                 "/p/wuhan-bikes/no-such-bike"):
        en = client.get(f"{path}?lang=en")
        assert en.status_code == 404, path
        html = en.get_data(as_text=True)
        assert "Page not found" in html and 'class="site-header"' in html, path
        assert "share token" not in html and "configuration_not_found" not in html and "<code>" not in html
        zh = client.get(f"{path}?lang=zh_CN").get_data(as_text=True)
        assert "页面未找到" in zh, path


def test_the_chinese_quote_pdf_embeds_a_chinese_font(client: FlaskClient) -> None:
    import shutil
    import subprocess

    fc_list = shutil.which("fc-list")
    if fc_list is None or "CJK" not in subprocess.run([fc_list], capture_output=True, text=True).stdout:
        pytest.skip("no CJK font installed (apt-get install fonts-noto-cjk)")
    config = start(client)
    finish(client, config)
    link = post(client, f"{config}/quote").headers["Location"]  # type: ignore[attr-defined]
    answer = client.get(f"{link}/quote.pdf?lang=zh_CN")
    assert answer.status_code == 200 and answer.mimetype == "application/pdf", (answer.status_code, answer.mimetype)
    pdf = answer.data
    import zlib

    texts = [pdf]
    for stream in re.findall(rb"stream\r?\n(.*?)\r?\nendstream", pdf, re.S):
        try:
            texts.append(zlib.decompress(stream))
        except zlib.error:
            continue
    fonts = {f for t in texts for f in re.findall(rb"/BaseFont\s*/([\w+\-]+)", t)}
    assert any(b"CJK" in f or b"SC" in f for f in fonts), fonts


def test_product_page_lists_only_values_some_configuration_can_use(client: FlaskClient) -> None:
    html = client.get("/p/wuhan-bikes/city-ebike?lang=en").get_data(as_text=True)
    gears = re.search(r"<dt>Number of gears</dt>\s*<dd>([^<]*)</dd>", html)
    assert gears
    shown = [v.strip() for v in gears.group(1).split("·")]
    assert "8" in shown and "2" not in shown and "4" not in shown and "6" not in shown
