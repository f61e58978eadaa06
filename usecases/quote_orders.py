"""Ordering a saved quote at its frozen price.

A quote (see :func:`usecases.configurations.save_quote`) froze a configuration,
the catalog version it was made on (by number and content hash), the itemised
price and a validity date. While it is valid, it can be ordered as it is: the
order is placed on that version with the quote's decisions and quantity, at
the quote's prices. Refused, with a stable reason, when:

- ``quote_expired``: the quote's validity date has passed (its price no longer holds);
- ``version_archived``: the catalog version was withdrawn from sale;
- ``version_expired``: the catalog version's sale period ended (``valid_to`` passed);
- ``quote_price_changed``: pricing the frozen configuration on its version no
  longer gives the frozen prices (a version's content is immutable, so this only
  happens when the pricing itself changed); the order is not placed at another
  price than the one quoted.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from sqlalchemy.orm import Session

from catalog.snapshot import AttributeKind, Product
from configurator import price
from usecases.catalogs import load_catalog
from usecases.configurations import Quote, get_quote
from usecases.errors import UseCaseError

if TYPE_CHECKING:
    from usecases.orders import PlacedOrder

__all__ = ["order_quote", "quote_order_problem"]


def _values(quote: Quote, product: Product) -> dict[str, Any]:
    """The quote's stored values as the engine takes them: sets as frozensets, decimals (stored as text) as Decimals."""
    decimal = {a.code for a in product.attributes if a.kind is AttributeKind.DECIMAL}
    return {
        k: frozenset(v) if isinstance(v, list) else Decimal(v) if k in decimal and isinstance(v, str) else v
        for k, v in quote.values.items()
    }


def quote_order_problem(session: Session, quote: Quote, *, now: datetime | None = None) -> UseCaseError | None:
    """Why ``quote`` cannot be ordered at its price now (see the module docstring), or ``None``."""
    moment = now or datetime.now(UTC)
    if quote.expired(moment.date()):
        return UseCaseError(
            "quote_expired",
            f"quote {quote.number} was valid until {quote.valid_until.isoformat()}",
            valid_until=quote.valid_until.isoformat(),
        )
    loaded = load_catalog(session, quote.catalog_code, quote.version_number)
    if loaded.status != "published":
        return UseCaseError(
            "version_archived",
            f"version {loaded.number} of catalog {loaded.code!r} is withdrawn from sale",
            version=loaded.number,
        )
    if loaded.valid_to is not None and loaded.valid_to <= moment:
        return UseCaseError(
            "version_expired",
            f"version {loaded.number} of catalog {loaded.code!r} was on sale until {loaded.valid_to.isoformat()}",
            version=loaded.number,
            valid_to=loaded.valid_to.isoformat(),
        )
    product = loaded.product(quote.product_code)
    now_priced = price(product, _values(quote, product), currency=loaded.catalog.currency)
    frozen = [line.amount for line in quote.lines]
    if (
        loaded.content_hash != quote.content_hash
        or now_priced.total != quote.unit_price
        or now_priced.base != quote.base
        or [line.amount for line in now_priced.lines] != frozen
    ):
        return UseCaseError(
            "quote_price_changed",
            f"quote {quote.number} was {quote.unit_price} {quote.currency} per unit; "
            f"its configuration is now priced {now_priced.total} {now_priced.currency}",
            quoted=str(quote.unit_price),
            now=str(now_priced.total),
        )
    return None


def order_quote(
    session: Session,
    token: str,
    *,
    idempotency_key: str,
    scope: str,
    customer_name: str | None,
    customer_email: str | None,
    locale: str = "en",
    delivery_address: Mapping[str, Any] | None = None,
    notes: str | None = None,
    purchase_order_ref: str | None = None,
    now: datetime | None = None,
) -> PlacedOrder:
    """Place the order of quote ``token``: its decisions and quantity on its catalog version, at its price.

    Returns :func:`usecases.orders.place_order`'s :class:`~usecases.orders.PlacedOrder` (a replay
    of the same idempotency key answers the stored order, as for any order).

    :raise QuoteNotFound: (404) no such quote.
    :raise UseCaseError: the quote cannot be ordered (:func:`quote_order_problem`), or
        :func:`~usecases.orders.place_order` refuses the order.
    """
    from usecases.orders import place_order

    quote = get_quote(session, token)
    problem = quote_order_problem(session, quote, now=now)
    session.rollback()  # place_order owns its transactions
    if problem is not None:
        raise problem
    return place_order(
        session,
        idempotency_key=idempotency_key,
        scope=scope,
        catalog=quote.catalog_code,
        version=quote.version_number,
        product=quote.product_code,
        # Every attribute as quoted (not only the buyer's decisions): the order is exactly the quoted configuration.
        decisions=[{"attribute": code, "value": value} for code, value in quote.values.items()],
        quantity=quote.quantity,
        customer_name=customer_name,
        customer_email=customer_email,
        locale=locale,
        delivery_address=delivery_address,
        notes=notes,
        purchase_order_ref=purchase_order_ref,
        texts=quote.texts,  # the texts as quoted, like the values
    )
