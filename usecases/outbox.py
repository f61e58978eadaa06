"""Webhooks: events written to the outbox with the change they report, delivered by ``c2m worker``.

Two ways to deliver share one per-event step (:func:`deliver_claimed`): the
job engine's sweeper claims due events (:func:`schedule_due`) and queues one
job per event with the lease it holds; without a job engine, :func:`drain`
claims a batch and delivers it in the same process.

Delivery follows the Standard Webhooks scheme (https://www.standardwebhooks.com):
the body is ``{"id", "type", "timestamp", "sequence", "order_number",
"order_sequence", "data": {...}}`` (the same object the changes feed
``GET /api/v1/events`` lists), and three headers
let the receiver check it: ``webhook-id`` (the event's id, the same on every
retry so receivers can drop duplicates), ``webhook-timestamp`` (seconds since
the epoch, at delivery) and ``webhook-signature`` (``v1,<base64 HMAC-SHA256>``
of ``id.timestamp.body`` under the endpoint's ``whsec_`` secret; during the
day after a secret rotation a second signature under the previous secret).

Ordering. ``sequence`` is gapless and increases in commit order over all
events (:func:`next_sequence`); ``order_sequence`` counts 1, 2, 3, ... per
order. Deliveries are retried independently, so a receiver may get an order's
events out of order; a gap in ``order_sequence`` says an earlier event is
still on its way (or can be read from the changes feed).

The worker claims due events, posts each to every active endpoint subscribed
to its type and records the outcome. A failed event is retried with
exponential backoff and jitter; the endpoints that already accepted it are
remembered and skipped. After ``max_attempts`` the event is given up
(``failed_at`` is set: the dead letter, listed by ``c2m worker --status``).

Claiming is safe with several workers: on PostgreSQL with ``SELECT ... FOR
UPDATE SKIP LOCKED``; on SQLite (a single machine) by a compare-and-set update
of ``next_attempt_at``. Either way a claim is a lease: the claimed rows'
``next_attempt_at`` moves ``lease`` into the future, so a worker that dies
mid-delivery only delays its events, never loses them. Leases are renewed per
event while a batch runs (see :func:`drain`), and a worker asked to stop
(SIGTERM) finishes the delivery in flight and hands the rest back at once.
"""

from __future__ import annotations

import base64
import json
import random
import secrets
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, cast

from sqlalchemy import (
    Integer,
    String,
    Table,
    Text,
    bindparam,
    func,
    insert,
    literal,
    select,
    union_all,
    update,
)
from sqlalchemy import cast as sql_cast
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.orm.attributes import set_committed_value
from standardwebhooks import Webhook

from usecases.records import EventCounter, OrderRecord, OutboxEvent, WebhookEndpoint

EVENT_TYPES = (
    "order.created",
    "production_order.released",
    "production_order.acknowledged",
    "production_order.in_production",
    "production_order.shipped",
    "production_order.rejected",
    "production_order.cancelled",
)
"""Event types the application emits; an endpoint subscribes to some or to ``*`` (all)."""

DEFAULT_MAX_ATTEMPTS = 8
BACKOFF_BASE = timedelta(seconds=30)
BACKOFF_CAP = timedelta(hours=6)
DEFAULT_TIMEOUT = 10.0
"""Seconds to wait for a receiver's answer."""
DEFAULT_LEASE = timedelta(minutes=5)
"""How long a claim keeps other workers off an event; longer than a batch's deliveries take."""
MAX_ERROR_TEXT = 500
SECRET_OVERLAP = timedelta(hours=24)
"""After a rotation the previous secret still signs deliveries this long, so receivers can switch over."""
COUNTER = "events"


class WebhookError(ValueError):
    """An endpoint definition is not acceptable (bad URL, unknown event type)."""

    reason = "invalid_webhook"


# --------------------------------------------------------------------------- endpoints


def new_secret() -> str:
    """A fresh signing secret in the ``whsec_<base64>`` form receivers' libraries accept.

    >>> s = new_secret(); s.startswith("whsec_") and len(base64.b64decode(s[6:])) == 32
    True
    """
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode("ascii")


def add_endpoint(
    session: Session, url: str, event_types: Sequence[str] = (), *, description: str | None = None
) -> WebhookEndpoint:
    """Register ``url`` for ``event_types`` (all when empty) with a new secret; flushes, does not commit.

    :raise WebhookError: the URL is not http(s) or an event type is unknown.
    """
    parsed = urllib.parse.urlsplit(url)
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        raise WebhookError(f"webhook URL must be an absolute http:// or https:// URL, got {url!r}")
    unknown = sorted(set(event_types) - set(EVENT_TYPES) - {"*"})
    if unknown:
        raise WebhookError(f"unknown event type(s) {', '.join(unknown)}; known: {', '.join(EVENT_TYPES)}")
    types = "*" if not event_types or "*" in event_types else " ".join(sorted(set(event_types)))
    row = WebhookEndpoint(
        url=url, secret=new_secret(), event_types=types, active=True, created_at=_now(), description=description
    )
    session.add(row)
    session.flush()
    return row


def rotate_secret(endpoint: WebhookEndpoint, *, now: datetime | None = None) -> str:
    """Give ``endpoint`` a new secret; the old one keeps signing (as a second signature) for
    :data:`SECRET_OVERLAP`. Returns the new secret. The caller commits."""
    moment = now or _now()
    endpoint.previous_secret = endpoint.secret
    endpoint.previous_secret_expires_at = moment + SECRET_OVERLAP
    endpoint.secret = new_secret()
    return endpoint.secret


def disable_endpoint(endpoint: WebhookEndpoint, *, now: datetime | None = None) -> None:
    """Stop deliveries to ``endpoint`` (idempotent: the first disabling time stands). The caller commits."""
    if endpoint.active or endpoint.disabled_at is None:
        endpoint.active = False
        endpoint.disabled_at = endpoint.disabled_at or now or _now()


def signing_secrets(endpoint: WebhookEndpoint, at: datetime) -> list[str]:
    """The secrets that sign a delivery at ``at``: the current one, and the previous one while it overlaps."""
    out = [endpoint.secret]
    expires = endpoint.previous_secret_expires_at
    if endpoint.previous_secret and expires is not None and at < expires:
        out.append(endpoint.previous_secret)
    return out


def subscribes(endpoint: WebhookEndpoint, event_type: str) -> bool:
    types = endpoint.event_types.split()
    return "*" in types or event_type in types


# --------------------------------------------------------------------------- events


def next_sequence(session: Session, count: int = 1) -> int:
    """Take the next ``count`` event sequence numbers in the caller's transaction; returns the last.

    An ``UPDATE ... RETURNING`` of the one counter row: its row lock holds a
    concurrent writer until this transaction ends, so numbers are committed in
    increasing order, and a rolled-back transaction gives its number back (no gaps).
    """
    counter = cast(Table, EventCounter.__table__)
    take = (
        update(counter)
        .where(counter.c.name == COUNTER)
        .values(value=counter.c.value + count)
        .returning(counter.c.value)
    )
    # A Core statement on the session's connection (the ORM's bulk-update bookkeeping is not
    # needed), after the pending work the session would have flushed for an ORM statement.
    if session.autoflush:
        session.flush()
    taken = session.connection().execute(take).scalar_one_or_none()
    if taken is None:  # a database without the migration's seed row: create it (once, race-free)
        dialect = session.get_bind().dialect.name
        seed = (postgresql_insert if dialect == "postgresql" else sqlite_insert)(EventCounter)
        session.execute(seed.values(name=COUNTER, value=0).on_conflict_do_nothing(index_elements=["name"]))
        taken = session.connection().execute(take).scalar_one()
    return int(taken)


def _next_order_sequence(session: Session, order: OrderRecord, count: int = 1) -> int:
    """Take ``count`` more sequence numbers of ``order``'s events; returns the last."""
    session.flush()
    value = session.execute(
        update(OrderRecord)
        .where(OrderRecord.id == order.id)
        .values(event_count=OrderRecord.event_count + count)
        .returning(OrderRecord.event_count)
        .execution_options(synchronize_session=False)
    ).scalar_one()
    set_committed_value(order, "event_count", int(value))
    return int(value)


def event_payload(row: OutboxEvent) -> dict[str, Any]:
    """The event as receivers and the changes feed see it.

    Events written before sequence numbers existed get theirs from the row (the
    migration numbered them in outbox order); their order fields stay null.
    """
    payload: dict[str, Any] = json.loads(row.payload)
    payload.setdefault("id", row.event_id)
    payload.setdefault("sequence", row.sequence)
    payload.setdefault("order_number", row.order_number)
    payload.setdefault("order_sequence", row.order_sequence)
    return payload


def enqueue(
    session: Session,
    event_type: str,
    data: Mapping[str, Any],
    *,
    now: datetime | None = None,
    order: OrderRecord | None = None,
) -> OutboxEvent:
    """Add an event to the outbox in the caller's transaction (it is sent only if that commits).

    The event takes the next ``sequence`` and, for an ``order``, that order's next ``order_sequence``.
    """
    (row,) = enqueue_many(session, [(event_type, data)], now=now, order=order)
    return row


def enqueue_many(
    session: Session,
    events: Sequence[tuple[str, Mapping[str, Any]]],
    *,
    now: datetime | None = None,
    order: OrderRecord | None = None,
    new_order: bool = False,
) -> list[OutboxEvent]:
    """:func:`enqueue` of several ``(event_type, data)`` in their order, with one statement per counter.

    ``new_order``: ``order`` was inserted in this transaction with ``event_count`` set to
    the number of these events, its first ones (numbered from 1 without another statement).

    The global counter's row lock is held from here to the end of the caller's
    transaction and serialises every writer of events: call this last, just
    before committing, and flush other pending work first.
    """
    rows = [OutboxEvent(**values) for values in _event_rows(session, events, now, order, new_order)]
    session.add_all(rows)
    return rows


def insert_events(
    session: Session,
    events: Sequence[tuple[str, Mapping[str, Any]]],
    *,
    now: datetime | None = None,
    order: OrderRecord | None = None,
    new_order: bool = False,
) -> int:
    """:func:`enqueue_many` written at once with Core statements on the session's connection
    (no unit of work, no row objects); returns the number of events.

    On PostgreSQL the counter's ``UPDATE … RETURNING`` and the events' ``INSERT`` are one
    statement (a data-modifying ``WITH``): the counter's row lock is taken one round trip
    before the commit, not two. Elsewhere (and on a database without the counter's seed
    row) the counter is taken first, then the events are inserted.

    For callers that write rows once and do not read them back in the transaction (an order).
    """
    if not events:
        return 0
    _check_types(events)
    moment = now or _now()
    order_sequences = _order_sequences(session, len(events), order, new_order)
    if session.get_bind().dialect.name == "postgresql":
        rows = _event_values(events, moment, order, None, order_sequences)
        taken = session.connection().execute(_counted_insert(len(rows)), _counted_parameters(rows)).scalars().all()
        if len(taken) == len(rows):
            return len(rows)
        # No counter row (nothing was inserted): seed it and go the general way.
    last = next_sequence(session, len(events))
    rows = _event_values(events, moment, order, range(last - len(events) + 1, last + 1), order_sequences)
    session.connection().execute(_INSERT_EVENT, rows)
    return len(rows)


_OUTBOX = cast(Table, OutboxEvent.__table__)
_COUNTER = cast(Table, EventCounter.__table__)
_INSERT_EVENT = insert(_OUTBOX)
_SEQUENCE_SLOT = "\x00sequence\x00"
"""Stands for an event's sequence number in its payload until the counter hands it out in SQL:
a NUL is always escaped in JSON, so only this text serialises to :data:`_SEQUENCE_SLOT_JSON`."""
_SEQUENCE_SLOT_JSON = '"sequence":"\\u0000sequence\\u0000"'


def _counted_insert(count: int) -> Any:
    """:func:`_counted_insert_statement` of ``count``: built at import for the usual counts."""
    statement = _COUNTED_INSERTS.get(count)
    return statement if statement is not None else _counted_insert_statement(count)


def _counted_insert_statement(count: int) -> Any:
    """``WITH taken AS (UPDATE event_counters … RETURNING value) INSERT INTO outbox … SELECT …
    FROM taken RETURNING sequence``: row ``i`` of ``count`` gets ``value - (count - 1 - i)``, in
    its column and in its payload's slot. The rows' values are bound (:func:`_counted_parameters`),
    so one statement per ``count`` serves every call and SQLAlchemy's compiled cache serves it."""
    taken = (
        update(_COUNTER)
        .where(_COUNTER.c.name == COUNTER)
        .values(value=_COUNTER.c.value + count)
        .returning(_COUNTER.c.value)
        .cte("taken")
    )
    selects = []
    for i in range(count):
        sequence = taken.c.value - (count - 1 - i)
        payload = func.replace(
            bindparam(f"payload_{i}", type_=Text()),
            literal(_SEQUENCE_SLOT_JSON, Text()),
            literal('"sequence":', Text()) + sql_cast(sequence, Text()),
        )
        selects.append(
            select(
                bindparam(f"event_id_{i}", type_=String()),
                bindparam(f"event_type_{i}", type_=String()),
                sequence,
                bindparam(f"order_number_{i}", type_=String()),
                bindparam(f"order_sequence_{i}", type_=Integer()),
                payload,
                bindparam(f"created_at_{i}", type_=_OUTBOX.c.created_at.type),
                literal(0, Integer()),
                bindparam(f"next_attempt_at_{i}", type_=_OUTBOX.c.next_attempt_at.type),
            ).select_from(taken)
        )
    columns = ["event_id", "event_type", "sequence", "order_number", "order_sequence", "payload", "created_at",
               "attempts", "next_attempt_at"]  # fmt: skip
    source = selects[0] if count == 1 else union_all(*selects)
    return insert(_OUTBOX).from_select(columns, source).returning(_OUTBOX.c.sequence)


_COUNTED_INSERTS = {count: _counted_insert_statement(count) for count in range(1, 5)}
"""The statements of up to four events (an order writes two), built once: constants, not a cache."""
_COUNTED_FIELDS = ("event_id", "event_type", "order_number", "order_sequence", "payload", "created_at", "next_attempt_at")


def _counted_parameters(rows: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """The bound values of :func:`_counted_insert` for ``rows``."""
    return {f"{name}_{i}": row[name] for i, row in enumerate(rows) for name in _COUNTED_FIELDS}


def _check_types(events: Sequence[tuple[str, Mapping[str, Any]]]) -> None:
    for event_type, _ in events:
        if event_type not in EVENT_TYPES:
            raise ValueError(f"unknown event type {event_type!r}")


def _order_sequences(session: Session, count: int, order: OrderRecord | None, new_order: bool) -> list[int | None]:
    """The ``order_sequence`` of ``count`` new events (of ``order``, if any; see :func:`enqueue_many`)."""
    if order is not None and new_order:
        if order.event_count != count:
            raise ValueError(f"a new order's event_count must be {count}, the number of its first events")
        return list(range(1, count + 1))
    if order is not None:
        last_of_order = _next_order_sequence(session, order, count)
        return list(range(last_of_order - count + 1, last_of_order + 1))
    return [None] * count


def _event_rows(
    session: Session,
    events: Sequence[tuple[str, Mapping[str, Any]]],
    now: datetime | None,
    order: OrderRecord | None,
    new_order: bool,
) -> list[dict[str, Any]]:
    """The outbox rows' columns of ``events``, their sequence numbers taken (see :func:`enqueue_many`)."""
    _check_types(events)
    if not events:
        return []
    moment = now or _now()
    count = len(events)
    order_sequences = _order_sequences(session, count, order, new_order)
    last = next_sequence(session, count)
    return _event_values(events, moment, order, range(last - count + 1, last + 1), order_sequences)


def _event_values(
    events: Sequence[tuple[str, Mapping[str, Any]]],
    moment: datetime,
    order: OrderRecord | None,
    sequences: Sequence[int] | None,
    order_sequences: Sequence[int | None],
) -> list[dict[str, Any]]:
    """The rows' columns; without ``sequences``, :data:`_SEQUENCE_SLOT` stands for them in the payloads."""
    rows = []
    for i, ((event_type, data), order_sequence) in enumerate(zip(events, order_sequences, strict=True)):
        sequence: int | str = sequences[i] if sequences is not None else _SEQUENCE_SLOT
        event_id = str(uuid.uuid4())
        payload = {
            "id": event_id,
            "type": event_type,
            "timestamp": moment.isoformat(timespec="seconds"),
            "sequence": sequence,
            "order_number": order.number if order is not None else None,
            "order_sequence": order_sequence,
            "data": dict(data),
        }
        rows.append(
            {
                "event_id": event_id,
                "event_type": event_type,
                "sequence": sequence if sequences is not None else None,
                "order_number": order.number if order is not None else None,
                "order_sequence": order_sequence,
                "payload": json.dumps(payload, ensure_ascii=False, separators=(",", ":"), sort_keys=True),
                "created_at": moment,
                "attempts": 0,
                "next_attempt_at": moment,
            }
        )
    return rows


def backoff_delay(attempts: int, *, rng: random.Random | None = None) -> timedelta:
    """How long to wait after the ``attempts``-th failed attempt.

    ``BACKOFF_BASE * 2**(attempts-1)``, capped at ``BACKOFF_CAP``, then scaled
    by a random factor in [0.5, 1] ("equal jitter"), so receivers coming back
    from an outage are not hit by every worker at the same instant.

    >>> backoff_delay(1, rng=random.Random(0)) <= timedelta(seconds=30)
    True
    >>> backoff_delay(30, rng=random.Random(0)) <= BACKOFF_CAP
    True
    """
    if attempts < 1:
        raise ValueError("attempts starts at 1")
    ceiling = min(BACKOFF_BASE * (2 ** min(attempts - 1, 32)), BACKOFF_CAP)
    factor = 0.5 + 0.5 * (rng or _rng).random()
    return timedelta(seconds=round(ceiling.total_seconds() * factor, 3))


_rng = random.Random()


# --------------------------------------------------------------------------- delivery


@dataclass(frozen=True, slots=True)
class Attempt:
    """The outcome of posting one event to one endpoint."""

    endpoint_id: int
    ok: bool
    status: int | None
    error: str | None


Sender = Callable[[str, bytes, Mapping[str, str], float], int]
"""Posts ``body`` with ``headers`` to ``url`` within ``timeout`` seconds; returns the HTTP status.
Raises ``OSError`` (``urllib.error.URLError`` included) when no answer comes."""


def urllib_send(url: str, body: bytes, headers: Mapping[str, str], timeout: float) -> int:
    """The default :data:`Sender`: a plain POST with urllib; redirects are not followed."""

    class _NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args: Any, **kwargs: Any) -> None:
            return None

    opener = urllib.request.build_opener(_NoRedirect)
    request = urllib.request.Request(url, data=body, headers=dict(headers), method="POST")
    try:
        with opener.open(request, timeout=timeout) as response:
            return int(response.status)
    except urllib.error.HTTPError as exc:
        return int(exc.code)


def signed_headers(
    endpoint_secret: str | Sequence[str], event_id: str, body: str, at: datetime
) -> dict[str, str]:
    """The Standard Webhooks headers for ``body`` sent at ``at`` (one signature per secret,
    space-separated, as the scheme allows during a rotation)."""
    secrets_ = [endpoint_secret] if isinstance(endpoint_secret, str) else list(endpoint_secret)
    signature = " ".join(Webhook(secret).sign(event_id, at, body) for secret in secrets_)
    return {
        "content-type": "application/json",
        "user-agent": "c2m-webhooks/1",
        "webhook-id": event_id,
        "webhook-timestamp": str(int(at.timestamp())),
        "webhook-signature": signature,
    }


def deliver(
    event: OutboxEvent,
    endpoints: Iterable[WebhookEndpoint],
    *,
    send: Sender = urllib_send,
    timeout: float = DEFAULT_TIMEOUT,
    now: Callable[[], datetime] | None = None,
) -> list[Attempt]:
    """Post ``event`` to each endpoint; 2xx is success, anything else (or no answer) a failure."""
    clock = now or _now
    out: list[Attempt] = []
    body = event.payload.encode("utf-8")
    for endpoint in endpoints:
        at = clock()
        headers = signed_headers(signing_secrets(endpoint, at), event.event_id, event.payload, at)
        try:
            status = send(endpoint.url, body, headers, timeout)
        except (OSError, ValueError) as exc:  # URLError, timeouts, refused connections, bad URLs
            out.append(Attempt(endpoint.id, False, None, f"{type(exc).__name__}: {exc}"))
            continue
        ok = 200 <= status < 300
        out.append(Attempt(endpoint.id, ok, status, None if ok else f"HTTP {status}"))
    return out


# --------------------------------------------------------------------------- the worker


@dataclass(slots=True)
class DrainReport:
    """What one pass of the worker did."""

    claimed: int = 0
    delivered: int = 0
    retrying: int = 0
    failed: int = 0
    released: int = 0
    """Claimed but handed back unsent (the worker was asked to stop)."""
    lost: int = 0
    """Claimed, but another worker took the lease over before delivery started."""
    errors: list[str] = field(default_factory=list)


def _due(now: datetime) -> Any:
    return (
        OutboxEvent.delivered_at.is_(None),
        OutboxEvent.failed_at.is_(None),
        OutboxEvent.next_attempt_at <= now,
    )


def claim(session: Session, *, batch: int, now: datetime, lease: timedelta = DEFAULT_LEASE) -> list[int]:
    """Claim up to ``batch`` due events (oldest first) for this worker; commits the claim."""
    until = now + lease
    if session.get_bind().dialect.name == "postgresql":
        ids = list(
            session.scalars(
                select(OutboxEvent.id)
                .where(*_due(now))
                .order_by(OutboxEvent.id)
                .limit(batch)
                .with_for_update(skip_locked=True)
            )
        )
        if ids:
            session.execute(update(OutboxEvent).where(OutboxEvent.id.in_(ids)).values(next_attempt_at=until))
        session.commit()
        return ids
    candidates = session.execute(
        select(OutboxEvent.id, OutboxEvent.next_attempt_at)
        .where(*_due(now))
        .order_by(OutboxEvent.id)
        .limit(batch)
    ).all()
    session.rollback()
    claimed: list[int] = []
    for event_id, seen in candidates:
        # Compare-and-set: only the worker that still sees the old due time gets the row.
        result = session.execute(
            update(OutboxEvent)
            .where(
                OutboxEvent.id == event_id,
                OutboxEvent.next_attempt_at == seen,
                OutboxEvent.delivered_at.is_(None),
            )
            .values(next_attempt_at=until)
        )
        session.commit()
        if result.rowcount == 1:  # type: ignore[attr-defined]
            claimed.append(event_id)
    return claimed


def _leases(session: Session, ids: Sequence[int]) -> dict[int, datetime]:
    """The lease (``next_attempt_at``) each claimed event holds now, as stored."""
    rows = session.execute(select(OutboxEvent.id, OutboxEvent.next_attempt_at).where(OutboxEvent.id.in_(ids))).all()
    session.rollback()
    return {event_id: until for event_id, until in rows}


def _move_lease(session: Session, event_id: int, held: datetime, until: datetime) -> datetime | None:
    """Compare-and-set the lease of one event this worker holds; None when another worker took it."""
    result = session.execute(
        update(OutboxEvent)
        .where(
            OutboxEvent.id == event_id,
            OutboxEvent.next_attempt_at == held,
            OutboxEvent.delivered_at.is_(None),
            OutboxEvent.failed_at.is_(None),
        )
        .values(next_attempt_at=until)
    )
    session.commit()
    if result.rowcount != 1:  # type: ignore[attr-defined]
        return None
    stored = session.scalar(select(OutboxEvent.next_attempt_at).where(OutboxEvent.id == event_id))
    session.rollback()
    return stored


def release(session: Session, leases: Mapping[int, datetime], *, now: datetime) -> int:
    """Hand claimed events this worker will not deliver back to the queue (due at once); commits."""
    released = 0
    for event_id, held in leases.items():
        if _move_lease(session, event_id, held, now) is not None:
            released += 1
    return released


def schedule_due(
    session: Session, *, batch: int = 500, now: datetime | None = None, lease: timedelta = DEFAULT_LEASE
) -> list[tuple[int, datetime]]:
    """Claim up to ``batch`` due events for the job queue: ``(id, lease)`` pairs; commits.

    The job engine's sweeper calls this and sends one delivery job per pair. The
    claim is the same lease :func:`drain` takes: if the job is lost (the broker
    dropped it, its worker died), the lease runs out and the next sweep sends it
    again. The job delivers only while it still holds that exact lease
    (:func:`deliver_claimed`), so a job sent twice delivers once.
    """
    ids = claim(session, batch=batch, now=now or _now(), lease=lease)
    leases = _leases(session, ids)
    return [(event_id, leases[event_id]) for event_id in ids if event_id in leases]


@dataclass(frozen=True, slots=True)
class EventOutcome:
    """What became of one claimed event: ``delivered``, ``retrying``, ``failed`` (given up) or
    ``lost`` (the lease was no longer this caller's: delivered or taken over meanwhile; nothing sent)."""

    status: str
    error: str | None = None
    lease: datetime | None = None
    retry_at: datetime | None = None
    """When ``retrying``: the event's next due time (``next_attempt_at``), the lease of its next attempt."""


def deliver_claimed(
    session: Session,
    event_id: int,
    held: datetime,
    *,
    max_attempts: int = DEFAULT_MAX_ATTEMPTS,
    send: Sender = urllib_send,
    timeout: float = DEFAULT_TIMEOUT,
    now: Callable[[], datetime] | None = None,
    rng: random.Random | None = None,
    lease: timedelta = DEFAULT_LEASE,
    on_leased: Callable[[datetime], None] | None = None,
) -> EventOutcome:
    """Deliver one event whose lease ``held`` the caller claimed, and record the outcome; commits.

    First the lease is moved (compare-and-set from ``held``) to cover this
    event's deliveries (``timeout`` per endpoint, plus ``lease``); if someone
    else moved it meanwhile nothing is sent (``lost``). Endpoints that already
    accepted the event on an earlier attempt are skipped; the event's id is the
    ``webhook-id`` of every attempt, so a receiver drops the duplicate that a
    crash between its answer and this record can cause. A failure is retried
    after :func:`backoff_delay`; after ``max_attempts`` the event is given up.
    ``on_leased(moment)`` runs once the lease is taken (the batch worker renews
    its other leases there).
    """
    clock = now or _now
    event = session.get(OutboxEvent, event_id)
    if event is None or event.delivered_at is not None or event.failed_at is not None:
        session.rollback()
        return EventOutcome("lost")
    done = set((event.delivered_endpoints or "").split())
    endpoints = [
        e
        for e in session.scalars(select(WebhookEndpoint).where(WebhookEndpoint.active.is_(True)))
        if subscribes(e, event.event_type) and str(e.id) not in done
    ]
    session.rollback()
    moment = clock()
    taken = _move_lease(session, event_id, held, moment + lease + timedelta(seconds=timeout * len(endpoints)))
    if taken is None:
        return EventOutcome("lost")
    if on_leased is not None:
        on_leased(moment)
    event = session.get(OutboxEvent, event_id)
    assert event is not None
    wanted = {e.id for e in endpoints}
    endpoints = [e for e in session.scalars(select(WebhookEndpoint)) if e.id in wanted]
    # Detached copies: reading them while receivers answer must not open a transaction
    # (on SQLite that would hold the write lock for the whole delivery).
    for row in (event, *endpoints):
        session.expunge(row)
    session.rollback()  # no transaction stays open while we wait on receivers
    attempts = deliver(event, endpoints, send=send, timeout=timeout, now=clock)
    done |= {str(a.endpoint_id) for a in attempts if a.ok}
    failures = [a for a in attempts if not a.ok]
    moment = clock()
    event = session.get(OutboxEvent, event_id)
    assert event is not None
    event.attempts += 1
    event.delivered_endpoints = " ".join(sorted(done, key=int)) or None
    if not failures:
        event.delivered_at = moment
        event.last_error = None
        outcome = EventOutcome("delivered", lease=taken)
    else:
        event.last_error = "; ".join(f"endpoint {a.endpoint_id}: {a.error}" for a in failures)[:MAX_ERROR_TEXT]
        if event.attempts >= max_attempts:
            event.failed_at = moment
            outcome = EventOutcome("failed", event.last_error, taken)
        else:
            event.next_attempt_at = moment + backoff_delay(event.attempts, rng=rng)
            outcome = EventOutcome("retrying", event.last_error, taken)
    session.commit()
    if outcome.status == "retrying":  # the stored value (the next attempt compares against it)
        stored = session.scalar(select(OutboxEvent.next_attempt_at).where(OutboxEvent.id == event_id))
        session.rollback()
        outcome = EventOutcome(outcome.status, outcome.error, outcome.lease, stored)
    return outcome


def drain(
    factory: sessionmaker[Session],
    *,
    batch: int = 50,
    max_attempts: int = DEFAULT_MAX_ATTEMPTS,
    send: Sender = urllib_send,
    timeout: float = DEFAULT_TIMEOUT,
    now: Callable[[], datetime] | None = None,
    rng: random.Random | None = None,
    lease: timedelta = DEFAULT_LEASE,
    should_stop: Callable[[], bool] = lambda: False,
) -> DrainReport:
    """One pass without a job engine: claim due events, deliver them, record the outcomes.

    Leases are per event and renewed while the batch runs: before an event is
    delivered its lease is moved to cover its own deliveries (``timeout`` per
    endpoint, plus ``lease``), and the events still waiting in the batch get a
    fresh ``lease`` — so a slow receiver never lets another worker claim an
    event this worker is about to deliver or is delivering. An event whose lease
    another worker took over meanwhile is skipped. When ``should_stop()`` turns
    true (SIGTERM), the event being delivered is finished and recorded, and the
    rest of the batch is released at once for the next worker.
    """
    clock = now or _now
    report = DrainReport()
    with factory() as session:
        ids = claim(session, batch=batch, now=clock(), lease=lease)
        report.claimed = len(ids)
        leases = _leases(session, ids)
        for position, event_id in enumerate(ids):
            if should_stop():
                report.released = release(session, {i: leases[i] for i in ids[position:] if i in leases}, now=clock())
                break
            if event_id not in leases:
                report.lost += 1
                continue

            def renew_waiting(moment: datetime, position: int = position) -> None:
                for waiting in ids[position + 1 :]:
                    # Renewed when less than half its lease is left (not on every event: fewer writes).
                    if waiting in leases and leases[waiting] - moment < lease / 2:
                        renewed = _move_lease(session, waiting, leases[waiting], moment + lease)
                        if renewed is None:
                            del leases[waiting]
                        else:
                            leases[waiting] = renewed

            outcome = deliver_claimed(
                session,
                event_id,
                leases[event_id],
                max_attempts=max_attempts,
                send=send,
                timeout=timeout,
                now=clock,
                rng=rng,
                lease=lease,
                on_leased=renew_waiting,
            )
            if outcome.status == "lost":
                report.lost += 1  # another worker took it over (this worker was too slow)
                continue
            if outcome.status == "delivered":
                report.delivered += 1
            else:
                report.errors.append(f"{_event_id(session, event_id)}: {outcome.error}")
                if outcome.status == "failed":
                    report.failed += 1
                else:
                    report.retrying += 1
    return report


def _event_id(session: Session, row_id: int) -> str:
    value = session.scalar(select(OutboxEvent.event_id).where(OutboxEvent.id == row_id))
    session.rollback()
    return str(value)


@dataclass(frozen=True, slots=True)
class OutboxStatus:
    pending: int
    delivered: int
    failed: int
    dead_letters: tuple[OutboxEvent, ...]


def outbox_status(session: Session, *, limit: int = 20) -> OutboxStatus:
    """Counts of pending, delivered and given-up events, and the latest given-up ones."""

    def count(*where: Any) -> int:
        return int(session.scalar(select(func.count()).select_from(OutboxEvent).where(*where)) or 0)

    pending = count(OutboxEvent.delivered_at.is_(None), OutboxEvent.failed_at.is_(None))
    delivered = count(OutboxEvent.delivered_at.is_not(None))
    failed = count(OutboxEvent.failed_at.is_not(None))
    dead = tuple(
        session.scalars(
            select(OutboxEvent)
            .where(OutboxEvent.failed_at.is_not(None))
            .order_by(OutboxEvent.id.desc())
            .limit(limit)
        )
    )
    return OutboxStatus(pending, delivered, failed, dead)


def retry_failed(session: Session, *, event_id: str | None = None) -> int:
    """Put given-up events (or just ``event_id``) back in the queue with a fresh attempt budget; commits."""
    query = update(OutboxEvent).where(OutboxEvent.failed_at.is_not(None))
    if event_id is not None:
        query = query.where(OutboxEvent.event_id == event_id)
    result = session.execute(query.values(failed_at=None, attempts=0, next_attempt_at=_now()))
    session.commit()
    return int(result.rowcount)  # type: ignore[attr-defined]


def _now() -> datetime:
    return datetime.now(UTC)
