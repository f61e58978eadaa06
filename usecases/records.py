"""ORM models of the application layer: configurations, orders, production
orders, API tokens, webhooks and their outbox, users.

They hang off the one ``catalog.db.Base`` so Alembic sees one schema. The
engine (configurator, bom) never sees these rows: the use cases turn them
into decisions and snapshots. Only decisions are stored for a configuration;
implied values are recomputed on every read against the pinned catalog version.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import (
    CheckConstraint,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, deferred, mapped_column, relationship

from catalog.db import Base
from catalog.models import DecimalText, UtcDateTime


class ConfigurationRecord(Base):
    """A buyer's configuration in progress: ordered decisions pinned to a catalog version."""

    __tablename__ = "configurations"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    share_token: Mapped[str] = mapped_column(String(64), unique=True)
    catalog_code: Mapped[str] = mapped_column(Text)
    version_number: Mapped[int] = mapped_column(Integer)
    content_hash: Mapped[str] = mapped_column(String(64))
    product_code: Mapped[str] = mapped_column(Text)
    decisions: Mapped[str] = mapped_column(Text, default="[]")
    """JSON list of ``{"attribute": ..., "value": ...}`` in the order they were made."""
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())
    revision: Mapped[int] = mapped_column(Integer, server_default="1")
    """Counts stored changes (1 when created). Every UPDATE is conditional on the
    revision read, so of two writers that read the same revision only one wins."""

    changes: Mapped[str | None] = mapped_column(Text, nullable=True)
    """JSON list of ``[revision, [attribute, ...]]``: the attributes each recent revision changed
    (``"*"``: all), newest last, bounded; a late change is rebased only across revisions listed here."""

    texts: Mapped[str | None] = mapped_column(Text, nullable=True)
    """JSON object: the buyer's free texts (engraving, monogram) by text field code; NULL when none."""

    __mapper_args__ = {"version_id_col": revision}


class QuoteRecord(Base):
    """A saved quote: a frozen snapshot of a configuration, its catalog version and its price,
    valid until a date. Opened by its token; later edits of the configuration do not change it."""

    __tablename__ = "quotes"
    __table_args__ = (CheckConstraint("quantity >= 1", name="quote_quantity_positive"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    token: Mapped[str] = mapped_column(String(64), unique=True)
    configuration_id: Mapped[str | None] = mapped_column(String(36))
    """The live configuration it was taken from (kept apart: the quote never follows it)."""
    catalog_code: Mapped[str] = mapped_column(Text)
    version_number: Mapped[int] = mapped_column(Integer)
    content_hash: Mapped[str] = mapped_column(String(64))
    product_code: Mapped[str] = mapped_column(Text)
    decisions: Mapped[str] = mapped_column(Text)
    """JSON list of the decisions in force when the quote was saved."""
    configuration: Mapped[str] = mapped_column(Text)
    """JSON object: every attribute's value (attribute -> value) at that moment."""
    sources: Mapped[str] = mapped_column(Text, default="{}")
    """JSON object: where each value came from (your choice, rule, default, finish for me)."""
    texts: Mapped[str | None] = mapped_column(Text, nullable=True)
    """JSON object: the buyer's free texts when the quote was saved (NULL when none)."""
    quantity: Mapped[int] = mapped_column(Integer, default=1)
    currency: Mapped[str] = mapped_column(String(3))
    unit_price: Mapped[Decimal] = mapped_column(DecimalText())
    price_breakdown: Mapped[str] = mapped_column(Text)
    """JSON object: base, lines (label in every language, amount), total of one unit."""
    ready_on: Mapped[str | None] = mapped_column(String(10))
    """The delivery date estimated when the quote was saved (ISO date), for ``quantity``."""
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    valid_until: Mapped[str] = mapped_column(String(10))
    """Last day (ISO date) on which the quoted price holds."""


class OrderRecord(Base):
    """An accepted order: decisions, the catalog version, and the frozen BOM with its hash."""

    __tablename__ = "orders"
    __table_args__ = (
        CheckConstraint("quantity >= 1", name="quantity_positive"),
        Index("ix_orders_created_at", "created_at"),
        Index("ix_orders_updated_at", "updated_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    number: Mapped[str] = mapped_column(String(32), unique=True)
    configuration_id: Mapped[str | None] = mapped_column(String(36))
    catalog_code: Mapped[str] = mapped_column(Text)
    version_number: Mapped[int] = mapped_column(Integer)
    content_hash: Mapped[str] = mapped_column(String(64))
    product_code: Mapped[str] = mapped_column(Text)
    decisions: Mapped[str] = mapped_column(Text)
    """JSON list of the buyer's decisions."""
    configuration: Mapped[str] = mapped_column(Text)
    """JSON object: the complete configuration (attribute -> value) that was ordered."""
    quantity: Mapped[int] = mapped_column(Integer, default=1)
    currency: Mapped[str] = mapped_column(String(3))
    price_total: Mapped[Decimal] = mapped_column(DecimalText())
    price_breakdown: Mapped[str] = mapped_column(Text)
    bom: Mapped[str] = mapped_column(Text)
    """Canonical JSON of the frozen BOM."""
    bom_hash: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(24), default="accepted")
    customer_name: Mapped[str | None] = mapped_column(Text)
    customer_email: Mapped[str | None] = mapped_column(Text)
    locale: Mapped[str] = mapped_column(String(8), default="en")
    due_date: Mapped[str | None] = mapped_column(String(10))
    access_token_hash: Mapped[str | None] = mapped_column(String(64))
    """SHA-256 of the order's access token (given once, on creation) that opens its status page."""
    purchase_order_ref: Mapped[str | None] = mapped_column(Text)
    """The buyer's own purchase-order reference (a business buyer's PO number)."""
    delivery_address: Mapped[str | None] = mapped_column(Text)
    """JSON object: name, street, city, postal_code, country (ISO 3166-1 alpha-2), phone."""
    notes: Mapped[str | None] = mapped_column(Text)
    """The buyer's notes to the manufacturer."""
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    updated_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    """Last change of the order or one of its production orders (the changes feed filters on it)."""
    event_count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    """Events emitted for this order so far: the last event's ``order_sequence``."""

    production_orders: Mapped[list[ProductionOrderRecord]] = relationship(back_populates="order")


class ProductionOrderRecord(Base):
    """The manufacturing work an order creates, as the ERP pulls it."""

    __tablename__ = "production_orders"
    __table_args__ = (Index("ix_production_orders_updated_at", "updated_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    number: Mapped[str] = mapped_column(String(32), unique=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="RESTRICT"))
    document: Mapped[str] = mapped_column(Text)
    """Canonical JSON of the production order."""
    document_hash: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(24), default="released")
    acknowledged_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    acknowledged_by: Mapped[str | None] = mapped_column(Text)
    erp_reference: Mapped[str | None] = mapped_column(Text)
    """The ERP's own reference for this production order (e.g. its manufacturing order number)."""
    shipment_reference: Mapped[str | None] = mapped_column(Text)
    """The ERP's shipment or tracking reference, given when the order is marked shipped."""
    status_reason: Mapped[str | None] = mapped_column(Text)
    """Why the ERP rejected or cancelled the production order."""
    status_changed_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    status_changed_by: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    updated_at: Mapped[datetime | None] = mapped_column(UtcDateTime())

    order: Mapped[OrderRecord] = relationship(back_populates="production_orders")


class IdempotencyKey(Base):
    """The first response given for an ``Idempotency-Key``, replayed for retries.

    The primary key makes concurrent requests with one key race on the insert:
    exactly one wins and creates the order, the others read its response.
    """

    __tablename__ = "idempotency_keys"

    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    scope: Mapped[str] = mapped_column(String(64), primary_key=True)
    """Who used the key (token id or ``public``): keys of different callers never collide."""
    request_hash: Mapped[str] = mapped_column(String(64))
    status_code: Mapped[int | None] = mapped_column(Integer)
    response_body: Mapped[str | None] = mapped_column(Text)
    order_id: Mapped[int | None] = mapped_column(ForeignKey("orders.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())


class ApiToken(Base):
    """An API token; only its SHA-256 is stored."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(Text)
    prefix: Mapped[str] = mapped_column(String(16))
    """The first characters of the token, shown in listings to recognise it."""
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    scopes: Mapped[str] = mapped_column(Text)
    """Space-separated scopes (``web.auth.SCOPES``)."""
    catalog_code: Mapped[str | None] = mapped_column(Text)
    """When set, the token reaches only this catalog: its versions, orders and production orders."""
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    last_used_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UtcDateTime())


class WebhookEndpoint(Base):
    """Where events are delivered, signed with the endpoint's secret (Standard Webhooks)."""

    __tablename__ = "webhook_endpoints"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    url: Mapped[str] = mapped_column(Text)
    secret: Mapped[str] = mapped_column(Text)
    """``whsec_``-prefixed base64 secret."""
    event_types: Mapped[str] = mapped_column(Text, default="*")
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    description: Mapped[str | None] = mapped_column(Text)
    previous_secret: Mapped[str | None] = mapped_column(Text)
    """The secret before the last rotation: deliveries are signed with both until it expires."""
    previous_secret_expires_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    disabled_at: Mapped[datetime | None] = mapped_column(UtcDateTime())


class OutboxEvent(Base):
    """An event written in the same transaction as the change it reports.

    The worker claims due rows (``FOR UPDATE SKIP LOCKED`` on PostgreSQL),
    delivers them, and retries with backoff; ``event_id`` is stable across
    retries so receivers can de-duplicate.
    """

    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_due", "delivered_at", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    event_id: Mapped[str] = mapped_column(String(64), unique=True)
    event_type: Mapped[str] = mapped_column(String(64))
    sequence: Mapped[int | None] = mapped_column(Integer, unique=True)
    """Position in the changes feed: gapless and increasing in commit order (see ``EventCounter``)."""
    order_number: Mapped[str | None] = mapped_column(String(32), index=True)
    order_sequence: Mapped[int | None] = mapped_column(Integer)
    """1, 2, 3, ... per order: a receiver that sees a gap knows an earlier event is still coming."""
    payload: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UtcDateTime())
    delivered_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    last_error: Mapped[str | None] = mapped_column(Text)
    failed_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    """Set when delivery was given up after the last attempt (dead letter)."""
    delivered_endpoints: Mapped[str | None] = mapped_column(Text)
    """Space-separated ids of the endpoints that accepted the event, so retries skip them."""


class EventCounter(Base):
    """The last sequence number handed to an event (one row, ``name = 'events'``).

    Taking a number is an ``UPDATE`` of this row in the transaction that writes the
    event: the row lock makes a second writer wait until the first commits, so
    sequence numbers become visible in increasing order without gaps.
    """

    __tablename__ = "event_counters"

    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    value: Mapped[int] = mapped_column(Integer, default=0)


class User(Base):
    """A manufacturer's staff member (workspace login)."""

    __tablename__ = "users"
    __table_args__ = (CheckConstraint("role IN ('admin', 'editor', 'viewer')", name="role_known"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    email: Mapped[str] = mapped_column(Text, unique=True)
    password_hash: Mapped[str] = mapped_column(Text)
    """argon2id hash."""
    role: Mapped[str] = mapped_column(String(16))
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())


class CatalogVersionCheck(Base):
    """What the catalog checks said when a version was published, kept with the version.

    One row per published version: the warnings (errors block publishing, so a
    checked version has none) with the content hash they were computed on,
    or, when checks were skipped with ``--skip-checks``, who skipped them and why.
    """

    __tablename__ = "catalog_version_checks"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    version_id: Mapped[int] = mapped_column(
        ForeignKey("catalog_versions.id", ondelete="CASCADE"), unique=True
    )
    content_hash: Mapped[str] = mapped_column(String(64))
    checked_at: Mapped[datetime] = mapped_column(UtcDateTime())
    skipped: Mapped[bool] = mapped_column(default=False)
    skipped_by: Mapped[str | None] = mapped_column(Text)
    skip_reason: Mapped[str | None] = mapped_column(Text)
    warning_count: Mapped[int] = mapped_column(Integer, default=0)
    findings: Mapped[str] = mapped_column(Text, default="[]")
    """JSON list of the warnings (``usecases.check_reports.finding_json``)."""


class UserSession(Base):
    """A workspace sign-in: the session cookie names it, so the server can revoke it.

    Signing out revokes the row; changing a password or disabling the user revokes
    every row of the user. A cookie naming a revoked (or unknown) row signs nobody in,
    even though its signature is still valid.
    """

    __tablename__ = "user_sessions"

    id_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    """SHA-256 of the random session id carried in the signed cookie."""
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)


class CompiledModelRecord(Base):
    """The compiled model of one product of one catalog content, shared by every process.

    Content-addressed: ``model_key`` is the catalog content hash and the product
    code, ``backend`` the backend asked for ("auto" or a name); together with
    ``format_version`` they name one compilation, which never changes. ``status``
    is ``preparing`` while some process compiles it, ``ready`` with the artifact
    (``configurator.artifacts``), or ``failed`` when the model does not compile
    within the budget (``detail`` says why).
    """

    __tablename__ = "compiled_models"
    __table_args__ = (
        UniqueConstraint("model_key", "backend", "format_version", name="uq_compiled_models_key"),
        CheckConstraint("status IN ('preparing', 'ready', 'failed')", name="compiled_model_status"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    model_key: Mapped[str] = mapped_column(Text)
    content_hash: Mapped[str] = mapped_column(String(64), index=True)
    product_code: Mapped[str] = mapped_column(Text)
    backend: Mapped[str] = mapped_column(String(16))
    format_version: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16))
    compiled_backend: Mapped[str | None] = mapped_column(String(16), nullable=True)
    """The backend that compiled it (what "auto" chose)."""
    artifact: Mapped[bytes | None] = deferred(mapped_column(LargeBinary, nullable=True))
    artifact_sha256: Mapped[str | None] = mapped_column(String(64), nullable=True)
    size_bytes: Mapped[int | None] = mapped_column(Integer, nullable=True)
    compile_seconds: Mapped[float | None] = mapped_column(Float, nullable=True)
    detail: Mapped[str | None] = mapped_column(Text, nullable=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    """Compile jobs started on it (``usecases.compile_guard.prepare_capped``): a job killed or lost
    every time ends the model ``failed`` after ``C2M_COMPILE_JOB_ATTEMPTS`` of them."""
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())


class CatalogReportRecord(Base):
    """A catalog check or version diff run as a background job, and its result.

    ``request_key`` names what was asked (the kind and the content hashes compared), so asking
    again for the same contents returns the same row instead of queueing the work twice. ``status``
    goes ``queued`` → ``running`` → ``done`` (``result`` holds the JSON) or ``failed`` (``error``,
    after the job's retries); a failed attempt that will be retried is ``queued`` again with its
    ``error``. ``owner`` is the job (``job:<message id>``) running it: a job redelivered after its
    worker died has the same id and takes the row over.
    """

    __tablename__ = "catalog_reports"
    __table_args__ = (
        UniqueConstraint("request_key", name="uq_catalog_reports_request_key"),
        CheckConstraint("kind IN ('check', 'diff')", name="catalog_report_kind"),
        CheckConstraint("status IN ('queued', 'running', 'done', 'failed')", name="catalog_report_status"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(8))
    catalog_code: Mapped[str] = mapped_column(String(64), index=True)
    version_number: Mapped[int] = mapped_column(Integer)
    """The version checked, or side B of a diff."""
    base_number: Mapped[int | None] = mapped_column(Integer, nullable=True)
    """The version compared against (count changes of a check, side A of a diff)."""
    request_key: Mapped[str] = mapped_column(String(160))
    status: Mapped[str] = mapped_column(String(16))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    owner: Mapped[str | None] = mapped_column(String(80), nullable=True)
    requested_by: Mapped[str | None] = mapped_column(Text, nullable=True)
    result: Mapped[str | None] = deferred(mapped_column(Text, nullable=True))
    """JSON: the check report (``summary`` and ``findings``) or the diff (``diff_json`` and ``lines``)."""
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    started_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    finished_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
