"""A saved quote is ordered at its frozen price while it is valid and its catalog version is on sale;
otherwise the quote page says why (archived version, ended sale period, expired quote) in the buyer's language."""

from __future__ import annotations

import json
import re
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from catalog.db import make_engine
from catalog.models import CatalogRecord, CatalogVersion
from catalog.services import archive_version
from tests.storefront.conftest import csrf_token, make_app, start
from tests.storefront.test_checkout_quotes import finish, idempotency_key
from tests.storefront.test_storefront import ADDRESS, post
from usecases.records import OrderRecord, QuoteRecord

ARCHIVED = {"en": "withdrawn from sale (archived)", "zh_CN": "已下架（归档）"}
ENDED = {"en": "ended on", "zh_CN": "销售期已于"}


@pytest.fixture
def own_app(tmp_path: Path) -> Flask:
    """A demo database of its own: these tests archive or end the bike's catalog version."""
    return make_app(tmp_path / "quotes.sqlite")


def _quote(client: FlaskClient, quantity: str = "2") -> str:
    config = start(client)
    finish(client, config)
    saved = post(client, f"{config}/quote", quantity=quantity)
    assert saved.status_code == 303  # type: ignore[attr-defined]
    return saved.headers["Location"]  # type: ignore[attr-defined,no-any-return]


def _order_form(client: FlaskClient, html: str) -> dict[str, str]:
    return {"csrf_token": csrf_token(client), "idempotency_key": idempotency_key(html), "name": "Li Wei",
            "email": "li.wei@example.com", **ADDRESS}


def _with_db(app: Flask) -> Session:
    return Session(make_engine(app.config["DATABASE_URL"]))


def _orders(app: Flask) -> list[OrderRecord]:
    with _with_db(app) as session:
        return list(session.scalars(select(OrderRecord)))


def test_a_valid_quote_is_ordered_at_its_frozen_price_and_configuration(client: FlaskClient) -> None:
    link = _quote(client, quantity="2")
    page = client.get(f"{link}?lang=en").get_data(as_text=True)
    assert "Order at this price" in page and 'id="quote-order-form"' in page
    quoted_total = re.search(r'data-testid="quote-total">([^<]+)<', page)
    assert quoted_total
    placed = client.post(f"{link}/order", data=_order_form(client, page))
    assert placed.status_code == 303, placed.get_data(as_text=True)[:500]
    number = placed.headers["Location"].split("/")[2]
    token = link.rsplit("/", 1)[1]
    with _with_db(client.application) as session:
        quote = session.scalars(select(QuoteRecord).where(QuoteRecord.token == token)).one()
        order = session.scalars(select(OrderRecord).where(OrderRecord.number == number)).one()
        price = json.loads(order.price_breakdown)
        assert Decimal(price["unit_total"]) == Decimal(quote.unit_price)
        assert order.quantity == quote.quantity == 2
        assert Decimal(price["total"]) == 2 * Decimal(quote.unit_price)
        assert json.loads(order.configuration) == json.loads(quote.configuration)
        assert order.version_number == quote.version_number
    # The same form sent twice (a double click) is the same order.
    again = client.post(f"{link}/order", data=_order_form(client, page) | {"idempotency_key": idempotency_key(page)})
    assert again.headers["Location"].split("/")[2] == number


@pytest.mark.parametrize("lang", ["en", "zh_CN"])
def test_a_quote_of_an_archived_version_says_so_and_is_not_ordered(own_app: Flask, lang: str) -> None:
    client = own_app.test_client()
    link = _quote(client)
    page = client.get(f"{link}?lang={lang}").get_data(as_text=True)
    form = _order_form(client, page)
    with _with_db(own_app) as session:
        archive_version(session, "wuhan-bikes", 1)
        session.commit()
    shown = client.get(f"{link}?lang={lang}").get_data(as_text=True)
    assert 'id="quote-order-problem"' in shown and ARCHIVED[lang] in shown
    assert 'id="quote-order-form"' not in shown
    refused = client.post(f"{link}/order?lang={lang}", data=form)
    assert refused.status_code == 409
    assert ARCHIVED[lang] in refused.get_data(as_text=True)
    assert _orders(own_app) == []


@pytest.mark.parametrize("lang", ["en", "zh_CN"])
def test_a_quote_of_a_version_whose_sale_ended_says_so_and_is_not_ordered(own_app: Flask, lang: str) -> None:
    client = own_app.test_client()
    link = _quote(client)
    form = _order_form(client, client.get(link).get_data(as_text=True))
    ended = datetime.now(UTC)  # after the version's valid_from (publishing), before the order
    with _with_db(own_app) as session:
        catalog_id = session.scalar(select(CatalogRecord.id).where(CatalogRecord.code == "wuhan-bikes"))
        session.execute(update(CatalogVersion).where(CatalogVersion.catalog_id == catalog_id,
                                                     CatalogVersion.number == 1)
                        .values(valid_to=ended))
        session.commit()
    shown = client.get(f"{link}?lang={lang}").get_data(as_text=True)
    assert 'id="quote-order-problem"' in shown and ENDED[lang] in shown
    refused = client.post(f"{link}/order?lang={lang}", data=form)
    assert refused.status_code == 409 and ENDED[lang] in refused.get_data(as_text=True)
    assert _orders(own_app) == []


def test_an_expired_quote_is_not_ordered(own_app: Flask) -> None:
    client = own_app.test_client()
    link = _quote(client)
    form = _order_form(client, client.get(link).get_data(as_text=True))
    with _with_db(own_app) as session:
        session.execute(update(QuoteRecord).values(valid_until=(date.today() - timedelta(days=1)).isoformat()))
        session.commit()
    refused = client.post(f"{link}/order?lang=en", data=form)
    assert refused.status_code == 410 and "This quote has expired" in refused.get_data(as_text=True)
    assert _orders(own_app) == []
