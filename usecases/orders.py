"""Placing orders, once per Idempotency-Key, and reading them back for buyers and the ERP.

:func:`place_order` validates the configuration once against the catalog
version it is pinned to, prices it, explodes its BOM once and schedules a
production order (pure computation, before any write; kept in the
application's cache of computed orders under everything it depends on, so the
same complete configuration ordered again on the same day is not computed
again), then stores in ONE short transaction: the order (decisions, complete
configuration, version, price and breakdown, the frozen canonical BOM and its
SHA-256) and its number, the production order (canonical document and its
SHA-256, the BOM's bytes serialised once), the idempotency key with the answer,
and the outbox events ``order.created`` and ``production_order.released``.
On PostgreSQL that is four statements and the commit, and the reads (key,
configuration, catalog version) and the writes share one transaction and one
pooled connection; elsewhere six statements.

Idempotency. The key row is keyed (key, scope) and written in the transaction
before the events. Two requests with one key therefore race on that insert: on
PostgreSQL the second insert waits for the first transaction and then fails
with a unique violation; on SQLite writers queue on the database lock and the
second one fails the same way. The loser rolls back (its order with it), reads
the winner's committed row and gives back its stored answer (same body). A
failure rolls back the key with everything else, so a request that was refused
can be retried with the same key once fixed. Keys are scoped per API token (or
``public``): two clients never see each other's responses.

Numbers. ``SO-<year>-<id>`` and ``PO-<year>-<id>`` come from the order row's id
(on PostgreSQL in the insert, from the table's sequence; elsewhere after the
insert, a placeholder written first): the database hands out ids, so numbers
are unique and race-free on every backend without a counter table.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import math
import re
import secrets
import time
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from typing import Any, cast

from sqlalchemy import Table, Text, bindparam, case, delete, func, insert, select, update
from sqlalchemy import cast as sql_cast
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session

from bom import (
    BillOfMaterials,
    ProductionOrder,
    RoutedOperation,
    WorkCalendar,
    canonical_json,
    create_production_order,
    digest,
    explode,
    order_document,
    route,
    to_json_value,
)
from bom.documents import DocumentInvalid, production_order_from_document
from catalog.snapshot import Catalog, Product
from configurator import (
    AnyDecision,
    AttributeValue,
    Configurator,
    Decision,
    PriceBreakdown,
    SetElement,
    State,
    price,
)
from configurator.texts import InvalidText
from usecases.catalogs import LoadedCatalog, current_caches, get_configurator, load_catalog, load_pinned
from usecases.configurations import decision_from_json, decision_to_json, get_configuration
from usecases.errors import UseCaseError
from usecases.instrumentation import fault_delay, timed
from usecases.outbox import enqueue, event_payload, insert_events
from usecases.records import IdempotencyKey, OrderRecord, OutboxEvent, ProductionOrderRecord

__all__ = [
    "MAX_QUANTITY",
    "PUBLIC_SCOPE",
    "Cursor",
    "ORDER_STATUSES",
    "PRODUCTION_ORDER_STATUSES",
    "TRANSITIONS",
    "acknowledge",
    "check_delivery_address",
    "due_date_for",
    "find_order",
    "find_production_order",
    "list_events",
    "list_orders",
    "list_production_orders",
    "order_body",
    "place_order",
    "production_order_summary",
    "request_hash",
    "transition",
]

PUBLIC_SCOPE = "public"
MAX_QUANTITY = 10_000
PENDING_PREFIX = "pending-"
WRITE_RETRIES = 5
"""Attempts at the write transaction when the database says it is busy (SQLite lock timeout, deadlock)."""
IN_PROGRESS_WAIT = 5.0
"""Seconds a request waits for another request holding its key before answering 409."""


# --------------------------------------------------------------------------- request fingerprint


def request_hash(body: Mapping[str, Any]) -> str:
    """SHA-256 of a request body's canonical JSON (key order and absent/null fields do not matter).

    >>> request_hash({"a": 1, "b": None}) == request_hash({"a": 1})
    True
    """
    plain = {k: v for k, v in body.items() if v is not None}
    text = json.dumps(plain, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


# --------------------------------------------------------------------------- scheduling


def due_date_for(
    product: Product,
    bom: BillOfMaterials,
    operations: Sequence[RoutedOperation],
    today: date,
    calendar: WorkCalendar,
) -> date:
    """The promised due date: ``today`` plus the production lead time in working days.

    Lead time = the longest material lead time of the BOM's parts (materials
    are ordered in parallel) + the working days the routing needs, operations
    one after another + the product's own assembly lead time.

    >>> from decimal import Decimal
    >>> from catalog.snapshot import Label
    >>> p = Product("p", Label("P"), Decimal(0), (), lead_time_days=1)
    >>> b = BillOfMaterials("c", "CNY", "p", Label("P"), 1, (), (), (), Decimal(0))
    >>> due_date_for(p, b, (), date(2025, 3, 7), WorkCalendar())   # a Friday: next working day
    datetime.date(2025, 3, 10)
    """
    materials = max((part.lead_time_days for part in bom.parts), default=0)
    seconds = sum(math.ceil(op.duration * 60) for op in operations)
    production = math.ceil(seconds / calendar.seconds_per_day)
    return calendar.add_working_days(today, materials + production + product.lead_time_days)


# --------------------------------------------------------------------------- placing


@dataclass(frozen=True, slots=True)
class _Computed:
    """What an order of complete ``values`` computes before anything is written: a pure
    function of the catalog content, the product, the values, the quantity, the texts, the
    day and the work calendar, so it is kept in the application's ``orders`` cache under
    exactly these (:func:`_computed_key`).

    ``document`` is the production order's canonical JSON with :data:`_NUMBER_SLOT` for its
    number, ``None`` when the slot cannot be placed (then the document is serialised per order).
    """

    values: dict[str, AttributeValue]
    breakdown: PriceBreakdown
    production: ProductionOrder
    bom_bytes: bytes
    bom_text: str
    bom_hash: str
    configuration: str
    price_breakdown: str
    document: bytes | None


@dataclass(frozen=True, slots=True)
class _Prepared:
    """Everything computed for an order before the write transaction."""

    loaded: LoadedCatalog
    product: Product
    configuration_id: str | None
    decisions: tuple[AnyDecision, ...]
    computed: _Computed


@dataclass(frozen=True, slots=True)
class PlacedOrder:
    """What placing an order gave: the order as the API shows it, with its one-time ``access_token``.

    ``replayed``: the Idempotency-Key had been used with this very request before, and this is
    the answer stored then (no second order). ``document`` is ``body`` as stored JSON text.
    """

    body: dict[str, Any]
    document: str
    replayed: bool

    @property
    def number(self) -> str:
        return str(self.body["number"])


def place_order(
    session: Session,
    *,
    idempotency_key: str,
    scope: str,
    configuration_id: str | None = None,
    catalog: str | None = None,
    version: int | None = None,
    product: str | None = None,
    decisions: Sequence[Mapping[str, Any]] | None = None,
    quantity: int = 1,
    customer_name: str | None = None,
    customer_email: str | None = None,
    locale: str = "en",
    purchase_order_ref: str | None = None,
    delivery_address: Mapping[str, Any] | None = None,
    notes: str | None = None,
    today: date | None = None,
    calendar: WorkCalendar | None = None,
    texts: Mapping[str, Any] | None = None,
) -> PlacedOrder:
    """Place an order (or give back the answer already given for ``idempotency_key``).

    Either ``configuration_id`` (a saved configuration, pinned to its catalog
    version) or ``catalog`` + ``product`` + ``decisions`` (``version``
    defaults to the one in force). ``texts`` default to the saved configuration's
    texts. The configuration is validated once and
    exploded once. The session must have no pending work; this function commits.

    :raise UseCaseError: ``idempotency_key_reused`` (same key, other body),
        ``idempotency_in_progress``, ``configuration_incomplete`` /
        ``configuration_conflict`` / ``configuration_invalid``,
        ``configuration_not_found``, ``version_archived``, ``invalid_quantity``,
        ``invalid_delivery_address``; domain errors (unknown catalog, product,
        attribute, invalid value) propagate.
    """
    body: dict[str, Any] = {
        "configuration_id": configuration_id,
        "catalog": catalog,
        "version": version,
        "product": product,
        "decisions": list(decisions) if decisions is not None else None,
        "quantity": quantity,
        "customer_name": customer_name,
        "customer_email": customer_email,
        "locale": locale,
    }
    extras = {
        "purchase_order_ref": purchase_order_ref,
        "delivery_address": dict(delivery_address) if delivery_address is not None else None,
        "notes": notes,
        "texts": dict(texts) if texts else None,
    }
    body.update({k: v for k, v in extras.items() if v is not None})  # absent ones keep older fingerprints
    fingerprint = request_hash(body)
    session.rollback()  # start from a clean slate: this function owns its transactions
    existing = _read_key(session, idempotency_key, scope)
    if existing is not None and _expired(existing):
        # An old key is forgotten: the retry window is over, the key may be used afresh.
        session.connection().execute(_DELETE_KEY, {"key": idempotency_key, "scope": scope})
        session.commit()
        existing = None
    if existing is not None:
        return _replay(session, existing, fingerprint)

    if isinstance(quantity, bool) or not 1 <= quantity <= MAX_QUANTITY:
        session.rollback()
        raise UseCaseError("invalid_quantity", f"quantity must be 1..{MAX_QUANTITY}", field="quantity")
    address = check_delivery_address(delivery_address) if delivery_address is not None else None
    try:
        prepared = _prepare(
            session,
            configuration_id=configuration_id,
            catalog=catalog,
            version=version,
            product=product,
            decisions=decisions,
            quantity=quantity,
            today=today or datetime.now(UTC).date(),
            calendar=calendar or WorkCalendar(),
            texts=texts or {},
        )
    except BaseException:
        session.rollback()
        raise
    if session.get_bind().dialect.name != "postgresql":
        # SQLite: a transaction that read and then writes fails when another writer got in
        # between, so the write transaction starts afresh with its first write. PostgreSQL
        # goes on in the same transaction (read committed: nothing read is relied on as locked).
        session.rollback()

    for attempt in range(WRITE_RETRIES):
        try:
            return _store(
                session,
                prepared,
                idempotency_key=idempotency_key,
                scope=scope,
                fingerprint=fingerprint,
                quantity=quantity,
                customer_name=customer_name,
                customer_email=customer_email,
                locale=locale,
                purchase_order_ref=purchase_order_ref,
                delivery_address=address,
                notes=notes,
            )
        except IntegrityError:
            session.rollback()
            winner = _wait_for_key(session, idempotency_key, scope)
            if winner is None:
                raise  # a violation of something other than the key
            return _replay(session, winner, fingerprint)
        except OperationalError as exc:
            session.rollback()
            if not _is_busy(exc) or attempt == WRITE_RETRIES - 1:
                raise
            time.sleep(0.05 * (2**attempt))
    raise AssertionError("unreachable")


def _is_busy(exc: OperationalError) -> bool:
    text = str(exc.orig).lower()
    return "locked" in text or "deadlock" in text or "could not serialize" in text


def _read_key(session: Session, key: str, scope: str) -> IdempotencyKey | None:
    """The key's row as it is in the database (a transient record: read, never added), or None.

    One Core ``SELECT`` by primary key on the session's connection (its transaction goes on).
    """
    row = session.connection().execute(_READ_KEY, {"key": key, "scope": scope}).one_or_none()
    return IdempotencyKey(**row._mapping) if row is not None else None


_KEYS = cast(Table, IdempotencyKey.__table__)
_KEY_IS = (_KEYS.c.key == bindparam("key")) & (_KEYS.c.scope == bindparam("scope"))
_READ_KEY = select(*_KEYS.c).where(_KEY_IS)
_DELETE_KEY = delete(_KEYS).where(_KEY_IS)


def _wait_for_key(session: Session, key: str, scope: str) -> IdempotencyKey | None:
    """The key row another request committed; waits briefly while its response is not yet stored."""
    deadline = time.monotonic() + IN_PROGRESS_WAIT
    while True:
        row = _read_key(session, key, scope)
        if row is None or row.status_code is not None or time.monotonic() > deadline:
            return row
        session.rollback()
        time.sleep(0.05)


IDEMPOTENCY_KEY_TTL = timedelta(hours=24)
"""How long a finished request's Idempotency-Key is remembered (and replayed) for its caller."""


def public_scope(address: str | None) -> str:
    """The idempotency scope of an anonymous caller: per client address, so one buyer's key
    never replays another buyer's order.

    >>> public_scope("10.0.0.1") == public_scope("10.0.0.1") != public_scope("10.0.0.2")
    True
    """
    return f"{PUBLIC_SCOPE}:{hashlib.sha256((address or '').encode()).hexdigest()[:32]}"


def _expired(row: IdempotencyKey, now: datetime | None = None) -> bool:
    moment = now or datetime.now(UTC)
    return row.status_code is not None and row.created_at < moment - IDEMPOTENCY_KEY_TTL


def forget_expired_keys(session: Session, *, now: datetime | None = None) -> int:
    """Delete finished idempotency keys older than :data:`IDEMPOTENCY_KEY_TTL`; commits."""
    moment = now or datetime.now(UTC)
    result = session.execute(
        delete(IdempotencyKey).where(
            IdempotencyKey.status_code.is_not(None), IdempotencyKey.created_at < moment - IDEMPOTENCY_KEY_TTL
        )
    )
    session.commit()
    return int(getattr(result, "rowcount", 0) or 0)


def _replay(session: Session, row: IdempotencyKey, fingerprint: str) -> PlacedOrder:
    done, stored, same = row.status_code is not None, row.response_body, row.request_hash == fingerprint
    session.rollback()
    if not same:
        raise UseCaseError(
            "idempotency_key_reused",
            "this Idempotency-Key was already used with a different request body; use a new key for a new order",
        )
    if not done or stored is None:
        raise UseCaseError(
            "idempotency_in_progress",
            "a request with this Idempotency-Key is still being processed",
            retry_after=1,
        )
    return PlacedOrder(body=json.loads(stored), document=stored, replayed=True)


def _prepare(
    session: Session,
    *,
    configuration_id: str | None,
    catalog: str | None,
    version: int | None,
    product: str | None,
    decisions: Sequence[Mapping[str, Any]] | None,
    quantity: int,
    today: date,
    calendar: WorkCalendar,
    texts: Mapping[str, Any],
) -> _Prepared:
    if configuration_id is not None:
        saved = get_configuration(session, configuration_id)  # 404 configuration_not_found
        if saved.catalog.content_hash != saved.record.content_hash:
            raise UseCaseError(
                "catalog_version_mismatch",
                f"configuration {configuration_id} was made on content {saved.record.content_hash[:12]} "
                f"but version {saved.catalog.number} holds {saved.catalog.content_hash[:12]}",
            )
        if saved.invalid:
            raise UseCaseError(
                "configuration_invalid",
                "decisions that do not fit the catalog version: "
                + "; ".join(f"#{i.index}: {i.detail}" for i in saved.invalid),
                violations=[{"rule": i.reason, "message": i.detail, "attributes": []} for i in saved.invalid],
            )
        loaded, item, engine, chosen = saved.catalog, saved.product, saved.configurator, saved.history
        # The buyer's texts (an engraving) travel with the saved configuration unless the order names its own.
        texts = texts or saved.texts
    else:
        if catalog is None or product is None or decisions is None:
            raise UseCaseError(
                "missing_configuration",
                "give either configuration_id, or catalog, product and decisions",
                field="configuration_id",
            )
        loaded = load_catalog(session, catalog, version)
        item = loaded.product(product)
        chosen = tuple(decision_from_json(item, d) for d in decisions)
        engine = get_configurator(loaded.catalog, item.code, loaded.content_hash)
    if loaded.status != "published":
        raise UseCaseError(
            "version_archived",
            f"version {loaded.number} of catalog {loaded.code!r} is withdrawn from sale; configure the product again",
        )
    effective = engine.check(chosen)
    values = _decided_values(item, effective)
    if values is None:
        # Some attribute was left to the engine: take the state as the buyer saw it
        # (implied and default-filled values included), refusing conflicts and gaps.
        values = _settled_values(engine.state(effective), item)
    key = _computed_key(loaded.content_hash, item.code, values, quantity, texts, today, calendar)
    caches = current_caches()
    computed = caches.orders.get(key) if key is not None else None
    if computed is None:
        computed = _compute(loaded, item, engine, values, quantity, texts, today, calendar)
        if key is not None:
            computed = caches.orders.put(key, computed)
    return _Prepared(
        loaded=loaded,
        product=item,
        configuration_id=configuration_id,
        decisions=effective,
        computed=computed,
    )


_NUMBER_SLOT = "\x00number\x00"
"""Stands for the production order's number in a cached document: a NUL is always escaped
in JSON, so only this text serialises to :data:`_NUMBER_SLOT_JSON`."""
_NUMBER_SLOT_JSON = b'"\\u0000number\\u0000"'


def _computed_key(
    content_hash: str,
    product: str,
    values: Mapping[str, AttributeValue],
    quantity: int,
    texts: Mapping[str, Any],
    today: date,
    calendar: WorkCalendar,
) -> tuple[Any, ...] | None:
    """The cache key of :func:`_compute`: everything its answer depends on (the values with
    their types, in their order), or None when some part cannot be a key."""
    key = (
        content_hash,
        product,
        tuple((name, type(value).__name__, value) for name, value in values.items()),
        quantity,
        tuple(sorted((str(name), type(text).__name__, text) for name, text in texts.items())),
        today,
        calendar,
    )
    try:
        hash(key)
    except TypeError:
        return None
    return key


def _compute(
    loaded: LoadedCatalog,
    item: Product,
    engine: Configurator,
    values: dict[str, AttributeValue],
    quantity: int,
    texts: Mapping[str, Any],
    today: date,
    calendar: WorkCalendar,
) -> _Computed:
    """Validate complete ``values``, price them, explode, route and schedule, serialise the documents."""
    violations = engine.validate(values)
    if violations:
        raise UseCaseError(
            "configuration_invalid",
            "; ".join(f"{v.rule_id}: {v.message.en}" for v in violations),
            violations=[
                {"rule": v.rule_id, "message": v.message.en, "attributes": list(v.attributes)}
                for v in violations
            ],
        )
    with timed("bom"):  # web.observability: pricing, BOM explosion, routing, scheduling
        breakdown = price(item, values, currency=loaded.catalog.currency)
        try:
            # Validated just above with the configurator: the explosion does not check the rules again.
            bom = explode(loaded.catalog, item.code, values, quantity=quantity, texts=texts, rules_checked=True)
        except InvalidText as exc:
            raise UseCaseError("invalid_text", str(exc), field=f"texts.{exc.field}") from None
        routed = route(loaded.catalog, bom)
        due = due_date_for(item, bom, routed, today, calendar)
        production = create_production_order(
            loaded.catalog,
            str(loaded.number),
            loaded.content_hash,
            item.code,
            values,
            quantity=quantity,
            due_date=due,
            number=PENDING_PREFIX,
            calendar=calendar,
            today=today,
            exploded=(bom, routed),
        )
        bom_bytes = canonical_json(bom)  # serialised once, hashed once
        bom_hash = hashlib.sha256(bom_bytes).hexdigest()
        document: bytes | None = order_document(
            replace(production, number=_NUMBER_SLOT), bom_hash, bom_bytes=bom_bytes
        )
        if document is not None and (
            document.count(_NUMBER_SLOT_JSON) != 1 or document.count(b"\\u0000number") != 1
        ):  # pragma: no cover - the number placed in more than its own field
            document = None
    return _Computed(
        values=values,
        breakdown=breakdown,
        production=production,
        bom_bytes=bom_bytes,
        bom_text=bom_bytes.decode("utf-8"),
        bom_hash=bom_hash,
        configuration=json.dumps(to_json_value(values), ensure_ascii=False, sort_keys=True),
        price_breakdown=json.dumps(_price_json(breakdown, quantity), ensure_ascii=False),
        document=document,
    )


def _production_document(computed: _Computed, number: str) -> bytes:
    """The production order's canonical JSON with ``number``: the cached document with the
    number in its slot, byte for byte what :func:`bom.order_document` gives."""
    if computed.document is None:  # pragma: no cover - see _compute
        production = replace(computed.production, number=number)
        return order_document(production, computed.bom_hash, bom_bytes=computed.bom_bytes)
    return computed.document.replace(_NUMBER_SLOT_JSON, json.dumps(number, ensure_ascii=False).encode("utf-8"))


def _decided_values(item: Product, effective: Sequence[AnyDecision]) -> dict[str, AttributeValue] | None:
    """The configuration when the buyer decided every attribute (sets as a whole), else None.

    Then no propagation is needed: :meth:`Configurator.validate` checks every
    rule on the complete values, which is both the re-validation and far
    cheaper than computing a state with every value's price.
    """
    decided = {d.attribute: d.value for d in effective if isinstance(d, Decision)}
    if any(isinstance(d, SetElement) for d in effective) or len(decided) != len(item.attributes):
        return None
    return {a.code: decided[a.code] for a in item.attributes}


def _settled_values(state: State, item: Product) -> dict[str, AttributeValue]:
    if state.conflict is not None:
        rules = [r.rule_id for r in state.conflict.rules]
        raise UseCaseError(
            "configuration_conflict",
            "the decisions cannot all hold: "
            + ", ".join(str(d) for d in state.conflict.decisions)
            + (f" (rules: {', '.join(rules)})" if rules else ""),
            decisions=[str(d) for d in state.conflict.decisions],
            rules=rules,
        )
    values = state.values()
    missing = [a.code for a in item.attributes if a.code not in values]
    if missing:
        raise UseCaseError(
            "configuration_incomplete", f"not chosen yet: {', '.join(missing)}", missing=missing
        )
    return values


def order_number(order_id: int, year: int) -> str:
    """The order number of order row ``order_id`` created in ``year``.

    >>> order_number(42, 2026)
    'SO-2026-000042'
    """
    return f"SO-{year}-{order_id:06d}"


def production_order_number(order_id: int, year: int) -> str:
    """The production order number of order row ``order_id`` created in ``year``.

    >>> production_order_number(42, 2026)
    'PO-2026-000042'
    """
    return f"PO-{year}-{order_id:06d}"


def _price_json(breakdown: PriceBreakdown, quantity: int) -> dict[str, Any]:
    return {
        "currency": breakdown.currency,
        "base": str(breakdown.base),
        "lines": [
            {
                "rule": line.rule_id,
                "label": {"en": line.label.en, "zh-CN": line.label.zh_CN or line.label.en},
                "amount": str(line.amount),
                "attributes": list(line.decisions),
            }
            for line in breakdown.lines
        ],
        "unit_total": str(breakdown.total),
        "quantity": quantity,
        "total": str(breakdown.total * quantity),
    }


def _store(
    session: Session,
    prepared: _Prepared,
    *,
    idempotency_key: str,
    scope: str,
    fingerprint: str,
    quantity: int,
    customer_name: str | None,
    customer_email: str | None,
    locale: str,
    purchase_order_ref: str | None = None,
    delivery_address: Mapping[str, Any] | None = None,
    notes: str | None = None,
) -> PlacedOrder:
    """Write the order in one transaction: four statements and the commit on PostgreSQL, six elsewhere.

    The order row first (its id gives the numbers) with its number (elsewhere: then its
    number), the production order and the Idempotency-Key row with the answer, then the
    events, whose counter lock is taken last (on PostgreSQL with the events' insert).
    """
    now = datetime.now(UTC)
    computed = prepared.computed
    access_token = secrets.token_urlsafe(24)
    loaded = prepared.loaded
    events = ("order.created", "production_order.released")
    values: dict[str, Any] = {
        "number": PENDING_PREFIX + uuid.uuid4().hex[:24],
        "configuration_id": prepared.configuration_id,
        "catalog_code": loaded.code,
        "version_number": loaded.number,
        "content_hash": loaded.content_hash,
        "product_code": prepared.product.code,
        "decisions": json.dumps([decision_to_json(d) for d in prepared.decisions], ensure_ascii=False),
        "configuration": computed.configuration,
        "quantity": quantity,
        "currency": loaded.catalog.currency,
        "price_total": computed.breakdown.total * quantity,
        "price_breakdown": computed.price_breakdown,
        "bom": computed.bom_text,
        "bom_hash": computed.bom_hash,
        "status": "accepted",
        "customer_name": customer_name,
        "customer_email": customer_email,
        "locale": locale,
        "due_date": computed.production.due_date.isoformat(),
        "access_token_hash": _token_hash(access_token),
        "purchase_order_ref": purchase_order_ref,
        "delivery_address": (
            json.dumps(dict(delivery_address), ensure_ascii=False, sort_keys=True)
            if delivery_address is not None
            else None
        ),
        "notes": notes,
        "created_at": now,
        "updated_at": now,
        "event_count": len(events),
    }
    # Core statements on the session's connection: no unit of work for rows written once here.
    connection = session.connection()
    if connection.dialect.name == "postgresql":
        # One statement: the id from the table's sequence and the number made from it.
        order_id, number = connection.execute(
            _INSERT_NUMBERED_ORDER, {**values, "number_prefix": f"SO-{now.year}-"}
        ).one()
    else:
        order_id = connection.execute(_INSERT_ORDER, values).scalar_one()
        number = order_number(order_id, now.year)
        connection.execute(_SET_NUMBER, {"order_id": order_id, "number": number})
    order = OrderRecord(id=order_id, **{**values, "number": number})  # transient: read, never added
    po_number = production_order_number(order_id, now.year)
    document = _production_document(computed, po_number)
    po_row = ProductionOrderRecord(
        number=po_number,
        order_id=order_id,
        document=document.decode("utf-8"),
        document_hash=hashlib.sha256(document).hexdigest(),
        status="released",
        created_at=now,
        updated_at=now,
    )
    connection.execute(
        _INSERT_PRODUCTION_ORDER,
        {
            c: getattr(po_row, c)
            for c in ("number", "order_id", "document", "document_hash", "status", "created_at", "updated_at")
        },
    )
    body = order_body(order, [po_row])
    body["access_token"] = access_token
    answer = json.dumps(body, ensure_ascii=False)
    # The Idempotency-Key row with its answer: a concurrent request with the same key waits on
    # this insert and fails once this transaction commits (then it replays this answer).
    connection.execute(
        _INSERT_KEY,
        {
            "key": idempotency_key,
            "scope": scope,
            "request_hash": fingerprint,
            "status_code": _ANSWERED,
            "response_body": answer,
            "order_id": order_id,
            "created_at": now,
        },
    )
    # Fault tests: a worker killed here, mid-transaction, must leave no trace (C2M_TEST_SLOW_ORDER_S).
    # Before the event counter's lock below, so a slowed order never holds it.
    fault_delay("order")
    payloads = (
        {"order": order_event(order, [po_row])},
        {"production_order": production_order_summary(po_row, order)},
    )
    # Last before committing: the event counter's row lock serialises every order from here on.
    insert_events(session, list(zip(events, payloads, strict=True)), now=now, order=order, new_order=True)
    session.commit()
    return PlacedOrder(body=body, document=answer, replayed=False)


# Compiled once and cached: the values are bound per execution.
_ORDERS = cast(Table, OrderRecord.__table__)
_INSERT_ORDER = insert(_ORDERS).returning(_ORDERS.c.id)
_SET_NUMBER = update(_ORDERS).where(_ORDERS.c.id == bindparam("order_id")).values(number=bindparam("number"))


def _numbered_insert(columns: Sequence[str]) -> Any:
    """PostgreSQL: ``WITH next_order AS (SELECT nextval(<orders.id sequence>)) INSERT INTO orders
    (id, number, <columns>) SELECT id, :number_prefix || <id as order_number() writes it>, …
    RETURNING id, number`` (``columns``: the other columns, bound by name; ``number`` is ignored)."""
    following = select(func.nextval(func.pg_get_serial_sequence(_ORDERS.name, "id")).label("id")).cte("next_order")
    order_id = following.c.id
    digits = case(
        (order_id < 1_000_000, func.lpad(sql_cast(order_id, Text()), 6, "0")), else_=sql_cast(order_id, Text())
    )
    rest = [c for c in columns if c not in ("id", "number")]
    source = select(
        order_id,
        bindparam("number_prefix", type_=Text()) + digits,
        *(bindparam(c, type_=_ORDERS.c[c].type) for c in rest),
    ).select_from(following)
    return insert(_ORDERS).from_select(["id", "number", *rest], source).returning(_ORDERS.c.id, _ORDERS.c.number)


_INSERT_NUMBERED_ORDER = _numbered_insert([c.name for c in _ORDERS.c])
"""Every column of the order row bound by name (``_store`` gives them all), the id and number made in SQL."""
_INSERT_PRODUCTION_ORDER = insert(cast(Table, ProductionOrderRecord.__table__))
_INSERT_KEY = insert(_KEYS)
_ANSWERED = 201
"""``IdempotencyKey.status_code`` of a request that placed its order (the column keeps the
status the first answer had; a null one is a request still under way)."""


# --------------------------------------------------------------------------- reading


ADDRESS_FIELDS = ("name", "street", "city", "postal_code", "country", "phone")
ADDRESS_REQUIRED = ("name", "street", "city", "country")
ADDRESS_MAX = {"name": 200, "street": 500, "city": 200, "postal_code": 20, "country": 2, "phone": 40}
_COUNTRY = re.compile(r"^[A-Z]{2}$")
_PHONE = re.compile(r"^\+?[0-9][0-9 ()\-]{3,38}$")


def check_delivery_address(address: Mapping[str, Any]) -> dict[str, str | None]:
    """A delivery address with every field present (absent optional ones as null).

    ``name``, ``street``, ``city`` and ``country`` (ISO 3166-1 alpha-2, ``CN``) are
    required; ``postal_code`` and ``phone`` (digits, spaces, ``( ) -``, an optional
    leading ``+``) optional. Storefront forms and the API share these rules.

    >>> check_delivery_address({"name": "Li", "street": "1 Road", "city": "Wuhan", "country": "CN"})["phone"] is None
    True

    :raise UseCaseError: ``invalid_delivery_address`` naming the field (``delivery_address.<field>``).
    """

    def bad(name: str, message: str) -> UseCaseError:
        return UseCaseError(
            "invalid_delivery_address",
            f"delivery_address.{name}: {message}",
            field=f"delivery_address.{name}",
        )

    unknown = sorted(set(address) - set(ADDRESS_FIELDS))
    if unknown:
        raise bad(unknown[0], f"unknown field; the fields are {', '.join(ADDRESS_FIELDS)}")
    out: dict[str, str | None] = {}
    for name in ADDRESS_FIELDS:
        value = address.get(name)
        if isinstance(value, str):
            value = value.strip() or None
        if value is None:
            if name in ADDRESS_REQUIRED:
                raise bad(name, "required")
            out[name] = None
            continue
        if not isinstance(value, str):
            raise bad(name, "must be text")
        if len(value) > ADDRESS_MAX[name]:
            raise bad(name, f"at most {ADDRESS_MAX[name]} characters")
        if name == "country" and not _COUNTRY.match(value):
            raise bad(name, "an ISO 3166-1 alpha-2 country code such as CN or DE")
        if name == "phone" and not _PHONE.match(value):
            raise bad(name, "a phone number: digits, spaces, ( ) - and an optional leading +")
        out[name] = value
    return out


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def _iso(moment: datetime | None) -> str | None:
    return moment.astimezone(UTC).isoformat(timespec="seconds") if moment is not None else None


def order_event(order: OrderRecord, production_orders: Sequence[ProductionOrderRecord]) -> dict[str, Any]:
    """The ``order.created`` event data: what a receiver needs to react, not the whole BOM."""
    return {
        "number": order.number,
        "status": order.status,
        "catalog": order.catalog_code,
        "version": order.version_number,
        "product": order.product_code,
        "quantity": order.quantity,
        "currency": order.currency,
        "total": str(order.price_total),
        "due_date": order.due_date,
        "bom_sha256": order.bom_hash,
        "production_orders": [p.number for p in production_orders],
        "purchase_order_ref": order.purchase_order_ref,
        "created_at": _iso(order.created_at),
    }


def order_body(order: OrderRecord, production_orders: Sequence[ProductionOrderRecord]) -> dict[str, Any]:
    """An order as the API shows it (the buyer's status page data and the ERP's order record)."""
    return {
        "number": order.number,
        "status": order.status,
        "created_at": _iso(order.created_at),
        "catalog": order.catalog_code,
        "version": order.version_number,
        "content_hash": order.content_hash,
        "product": order.product_code,
        "configuration_id": order.configuration_id,
        "decisions": json.loads(order.decisions),
        "configuration": json.loads(order.configuration),
        "quantity": order.quantity,
        "currency": order.currency,
        "price": json.loads(order.price_breakdown),
        "due_date": order.due_date,
        "customer_name": order.customer_name,
        "customer_email": order.customer_email,
        "locale": order.locale,
        "purchase_order_ref": order.purchase_order_ref,
        "delivery_address": json.loads(order.delivery_address) if order.delivery_address else None,
        "notes": order.notes,
        "updated_at": _iso(order.updated_at or order.created_at),
        "bom_sha256": order.bom_hash,
        "production_orders": [
            {"number": p.number, "status": p.status, "document_sha256": p.document_hash}
            for p in production_orders
        ],
    }


def production_order_summary(row: ProductionOrderRecord, order: OrderRecord) -> dict[str, Any]:
    """A production order as listed to the ERP (the full document is a separate read)."""
    return {
        "number": row.number,
        "order_number": order.number,
        "status": row.status,
        "catalog": order.catalog_code,
        "version": order.version_number,
        "product": order.product_code,
        "quantity": order.quantity,
        "due_date": order.due_date,
        "document_sha256": row.document_hash,
        "created_at": _iso(row.created_at),
        "acknowledged_at": _iso(row.acknowledged_at),
        "acknowledged_by": row.acknowledged_by,
        "order_status": order.status,
        "erp_reference": row.erp_reference,
        "shipment_reference": row.shipment_reference,
        "status_reason": row.status_reason,
        "status_changed_at": _iso(row.status_changed_at),
        "updated_at": _iso(row.updated_at or row.created_at),
    }


def find_order(session: Session, number: str) -> OrderRecord | None:
    return session.scalars(select(OrderRecord).where(OrderRecord.number == number)).one_or_none()


def order_token_matches(order: OrderRecord, token: str) -> bool:
    """Constant-time check of an order access token."""
    if not order.access_token_hash:
        return False
    return hmac.compare_digest(order.access_token_hash, _token_hash(token))


def find_production_order(session: Session, number: str) -> ProductionOrderRecord | None:
    return session.scalars(
        select(ProductionOrderRecord).where(ProductionOrderRecord.number == number)
    ).one_or_none()


@dataclass(frozen=True, slots=True)
class Cursor:
    """An opaque position in a listing: the kind of listing and the last id seen.

    >>> Cursor.decode(Cursor("po", 42).encode(), "po")
    Cursor(kind='po', last_id=42)
    """

    kind: str
    last_id: int

    def encode(self) -> str:
        raw = json.dumps({"k": self.kind, "i": self.last_id}, separators=(",", ":")).encode("ascii")
        return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")

    @staticmethod
    def decode(text: str, kind: str) -> Cursor:
        """:raise UseCaseError ``invalid_cursor``: not a cursor of this listing."""
        try:
            raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
            data = json.loads(raw)
            if (
                data["k"] != kind
                or not isinstance(data["i"], int)
                or isinstance(data["i"], bool)
                or data["i"] < 0
            ):
                raise ValueError(text)
            return Cursor(kind, data["i"])
        except (ValueError, KeyError, TypeError, binascii.Error, UnicodeDecodeError):
            raise UseCaseError(
                "invalid_cursor", "'after' must be a cursor returned by this listing", field="after"
            ) from None


def list_production_orders(
    session: Session,
    *,
    after: str | None,
    limit: int,
    status: str | Sequence[str] | None = None,
    catalog: str | None = None,
    updated_since: datetime | None = None,
) -> tuple[list[dict[str, Any]], str | None]:
    """Production orders in creation order after the cursor; returns (items, next cursor or None).

    ``status`` keeps those in one of the given statuses, ``updated_since`` those
    changed at or after that moment (creation counts as a change); ``catalog``
    limits the listing to one catalog's orders (tokens limited to a catalog).
    """
    query = select(ProductionOrderRecord, OrderRecord).join(
        OrderRecord, ProductionOrderRecord.order_id == OrderRecord.id
    )
    if catalog is not None:
        query = query.where(OrderRecord.catalog_code == catalog)
    if after:
        query = query.where(ProductionOrderRecord.id > Cursor.decode(after, "po").last_id)
    if status:
        query = query.where(ProductionOrderRecord.status.in_([status] if isinstance(status, str) else status))
    if updated_since is not None:
        query = query.where(ProductionOrderRecord.updated_at >= updated_since)
    rows = session.execute(query.order_by(ProductionOrderRecord.id).limit(limit + 1)).all()
    page = rows[:limit]
    items = []
    for po, order in page:
        item = production_order_summary(po, order)
        item["cursor"] = Cursor("po", po.id).encode()
        items.append(item)
    following = Cursor("po", page[-1][0].id).encode() if len(rows) > limit else None
    return items, following


def list_orders(
    session: Session,
    *,
    after: str | None,
    limit: int,
    catalog: str | None = None,
    status: Sequence[str] | None = None,
    updated_since: datetime | None = None,
) -> tuple[list[dict[str, Any]], str | None]:
    """Orders in creation order after the cursor; returns (items, next cursor or None).

    ``status`` and ``updated_since`` filter as in :func:`list_production_orders`;
    ``catalog`` limits the listing to one catalog's orders (tokens limited to a catalog).
    """
    query = select(OrderRecord)
    if catalog is not None:
        query = query.where(OrderRecord.catalog_code == catalog)
    if after:
        query = query.where(OrderRecord.id > Cursor.decode(after, "order").last_id)
    if status:
        query = query.where(OrderRecord.status.in_(status))
    if updated_since is not None:
        query = query.where(OrderRecord.updated_at >= updated_since)
    rows = list(session.scalars(query.order_by(OrderRecord.id).limit(limit + 1)))
    page = rows[:limit]
    by_order: dict[int, list[ProductionOrderRecord]] = {o.id: [] for o in page}
    if page:
        for po in session.scalars(
            select(ProductionOrderRecord)
            .where(ProductionOrderRecord.order_id.in_(list(by_order)))
            .order_by(ProductionOrderRecord.id)
        ):
            by_order[po.order_id].append(po)
    items = []
    for order in page:
        item = order_body(order, by_order[order.id])
        item["cursor"] = Cursor("order", order.id).encode()
        items.append(item)
    following = Cursor("order", page[-1].id).encode() if len(rows) > limit else None
    return items, following


# --------------------------------------------------------------------------- lifecycle


@dataclass(frozen=True, slots=True)
class Transition:
    """An ERP action on a production order: the status it leads to and the statuses it starts from."""

    action: str
    target: str
    sources: tuple[str, ...]
    order_status: str
    """What the order's own status becomes."""


TRANSITIONS = {
    t.action: t
    for t in (
        Transition("acknowledge", "acknowledged", ("released",), "confirmed"),
        Transition("start", "in_production", ("released", "acknowledged"), "in_production"),
        Transition("ship", "shipped", ("acknowledged", "in_production"), "shipped"),
        Transition("reject", "rejected", ("released", "acknowledged"), "rejected"),
        Transition("cancel", "cancelled", ("released", "acknowledged", "in_production"), "cancelled"),
    )
}
"""released -> acknowledged -> in_production -> shipped; rejected (before production) and cancelled
(before shipping) end an order."""
PRODUCTION_ORDER_STATUSES = ("released", "acknowledged", "in_production", "shipped", "rejected", "cancelled")
ORDER_STATUSES = ("accepted", "confirmed", "in_production", "shipped", "rejected", "cancelled")


def transition(
    session: Session,
    number: str,
    action: str,
    by: str,
    *,
    erp_reference: str | None = None,
    shipment_reference: str | None = None,
    reason: str | None = None,
    now: datetime | None = None,
) -> tuple[ProductionOrderRecord, bool] | None:
    """Apply the ERP's ``action`` to production order ``number``; commits.

    Idempotent: repeating an action that already took effect changes nothing and
    emits nothing (the first reference and reason stand). Returns ``(row, changed)``,
    or None when the number is unknown. The status change and its event are written
    in one transaction; a conditional update makes concurrent actions safe.

    :raise UseCaseError: ``invalid_transition`` when the current status does not allow ``action``.
    """
    rule = TRANSITIONS[action]
    moment = now or datetime.now(UTC)
    values: dict[str, Any] = {
        "status": rule.target,
        "status_changed_at": moment,
        "status_changed_by": by,
        "updated_at": moment,
    }
    if action == "acknowledge":
        values.update(acknowledged_at=moment, acknowledged_by=by)
    if reason is not None:
        values["status_reason"] = reason
    session.rollback()
    row = find_production_order(session, number)
    if row is None:
        session.rollback()
        return None
    if erp_reference is not None and row.erp_reference is None:
        values["erp_reference"] = erp_reference
    if shipment_reference is not None and row.shipment_reference is None:
        values["shipment_reference"] = shipment_reference
    result = session.execute(
        update(ProductionOrderRecord)
        .where(ProductionOrderRecord.id == row.id, ProductionOrderRecord.status.in_(rule.sources))
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    changed = result.rowcount == 1  # type: ignore[attr-defined]
    session.refresh(row)
    if not changed:
        done = row.status == rule.target or (action == "acknowledge" and row.acknowledged_at is not None)
        session.rollback()
        if done:
            return row, False
        raise UseCaseError(
            "invalid_transition",
            f"production order {number} is {row.status}; {action} needs it to be {' or '.join(rule.sources)}",
            current_status=row.status,
            allowed_actions=sorted(a for a, t in TRANSITIONS.items() if row.status in t.sources),
        )
    order = row.order
    session.execute(
        update(OrderRecord)
        .where(OrderRecord.id == order.id)
        .values(status=rule.order_status, updated_at=moment)
        .execution_options(synchronize_session=False)
    )
    session.refresh(order)
    enqueue(
        session,
        f"production_order.{rule.target}",
        {"production_order": production_order_summary(row, order)},
        now=moment,
        order=order,
    )
    session.commit()
    return row, True


def acknowledge(session: Session, number: str, by: str) -> ProductionOrderRecord | None:
    """Mark a production order received by the ERP; idempotent (the first acknowledgement stands).

    Returns the row (None when unknown). Commits; emits ``production_order.acknowledged`` once.
    """
    outcome = transition(session, number, "acknowledge", by)
    return outcome[0] if outcome is not None else None


# --------------------------------------------------------------------------- the changes feed


def list_events(
    session: Session,
    *,
    after: int,
    limit: int,
    types: Sequence[str] = (),
    order_number: str | None = None,
    catalog: str | None = None,
) -> tuple[list[dict[str, Any]], int, bool]:
    """Events with ``sequence`` > ``after`` in sequence order: (items, last sequence seen, more follow).

    The last sequence seen is ``after`` itself on an empty page, so a poller can always store it.
    ``catalog`` keeps the events of that catalog's orders (tokens limited to a catalog).
    """
    query = select(OutboxEvent).where(OutboxEvent.sequence > after)
    if types:
        query = query.where(OutboxEvent.event_type.in_(types))
    if order_number is not None:
        query = query.where(OutboxEvent.order_number == order_number)
    if catalog is not None:
        query = query.where(
            OutboxEvent.order_number.in_(
                select(OrderRecord.number).where(OrderRecord.catalog_code == catalog)
            )
        )
    rows = list(session.scalars(query.order_by(OutboxEvent.sequence).limit(limit + 1)))
    page = rows[:limit]
    items = [event_payload(r) for r in page]
    last = page[-1].sequence if page else after
    return items, int(last or after), len(rows) > limit


def stored_with_catalog(session: Session, row: ProductionOrderRecord) -> tuple[ProductionOrder, Catalog]:
    """The production order as stored (its canonical document read back, never re-exploded) and the
    content of the catalog version it was made from (labels, units for the exports).

    Exports are renderings of this, so they do not change when the explosion, routing or
    scheduling code does. The document read back must hash to the stored hash.

    :raise UseCaseError: ``stored_record_corrupt`` naming the production order when its
        document is not valid JSON, not in the production order format, or not the hashed one.
    """
    where = f"production order {row.number}"
    try:
        document = json.loads(row.document)
    except json.JSONDecodeError as exc:
        raise UseCaseError(
            "stored_record_corrupt", f"{where}: stored document is not valid JSON ({exc.msg})", record=where
        ) from None
    try:
        production = production_order_from_document(document, where)
    except DocumentInvalid as exc:
        raise UseCaseError("stored_record_corrupt", str(exc), record=where) from None
    if digest(production) != row.document_hash:
        raise UseCaseError(
            "stored_record_corrupt",
            f"{where}: stored document does not match its hash {row.document_hash[:12]}",
            record=where,
        )
    order = row.order
    loaded = load_pinned(session, order.catalog_code, order.version_number, production.catalog_hash)
    return production, loaded.catalog
