"""ORM models of stored catalogs: catalogs, their versions and a product index.

A version keeps the whole catalog as JSON text (``document``, see
``catalog.services.document_text``) with its content hash (SHA-256 of the
canonical JSON, ``catalog.files.content_hash``); the engine reads it back as a
``catalog.snapshot.Catalog``. ``catalog_products`` repeats a few fields of each
product only so that listings need not parse documents.

Published versions are write-once. The services check it, and triggers created
by the migration enforce it in the database as well (see
``migrations/versions/*_create_catalog_tables.py``).
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    CheckConstraint,
    DateTime,
    Dialect,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship
from sqlalchemy.types import TypeDecorator

from catalog.db import Base


class VersionStatus(StrEnum):
    """Life cycle of a catalog version: draft → published → archived."""

    DRAFT = "draft"
    PUBLISHED = "published"
    ARCHIVED = "archived"


class DecimalText(TypeDecorator[Decimal]):
    """A Decimal stored as its exact text.

    SQLite has no decimal type (SQLAlchemy would go through float); text keeps
    prices exact and identical on every backend.
    """

    impl = String(40)
    cache_ok = True

    def process_bind_param(self, value: Decimal | None, dialect: Dialect) -> str | None:
        return None if value is None else str(value)

    def process_result_value(self, value: Any | None, dialect: Dialect) -> Decimal | None:
        return None if value is None else Decimal(value)


class UtcDateTime(TypeDecorator[datetime]):
    """A point in time, always returned timezone-aware in UTC.

    PostgreSQL keeps the offset; SQLite stores plain text and would hand back
    naive values. Storing UTC everywhere keeps comparisons in SQL (validity
    windows) correct on both. Naive values given to us are taken as UTC.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        value = value.astimezone(UTC)
        # SQLite compares the stored text: keep one format without an offset.
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class CatalogRecord(Base):
    """A catalog, identified by its code; its content lives in its versions."""

    __tablename__ = "catalogs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(Text, unique=True)
    name_en: Mapped[str] = mapped_column(Text)
    name_zh: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())

    versions: Mapped[list[CatalogVersion]] = relationship(
        back_populates="catalog", order_by="CatalogVersion.number"
    )


class CatalogVersion(Base):
    """One version of a catalog: a draft, or a published (then archived) write-once snapshot."""

    __tablename__ = "catalog_versions"
    __table_args__ = (
        UniqueConstraint("catalog_id", "number"),
        CheckConstraint("number >= 1", name="number_positive"),
        CheckConstraint("status IN ('draft', 'published', 'archived')", name="status_known"),
        CheckConstraint("status = 'draft' OR published_at IS NOT NULL", name="published_has_date"),
        CheckConstraint(
            "valid_to IS NULL OR valid_from IS NULL OR valid_to > valid_from", name="valid_range"
        ),
        CheckConstraint("length(content_hash) = 64", name="content_hash_sha256"),
        # At most one draft per catalog: imports and edits replace it instead of piling up.
        Index(
            "uq_catalog_versions_one_draft",
            "catalog_id",
            unique=True,
            sqlite_where=text("status = 'draft'"),
            postgresql_where=text("status = 'draft'"),
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    catalog_id: Mapped[int] = mapped_column(ForeignKey("catalogs.id", ondelete="RESTRICT"))
    number: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16), default=VersionStatus.DRAFT.value)
    document: Mapped[str] = mapped_column(Text)
    content_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    published_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    valid_from: Mapped[datetime | None] = mapped_column(UtcDateTime())
    valid_to: Mapped[datetime | None] = mapped_column(UtcDateTime())
    source: Mapped[str | None] = mapped_column(Text)
    comment: Mapped[str | None] = mapped_column(Text)

    catalog: Mapped[CatalogRecord] = relationship(back_populates="versions")
    products: Mapped[list[CatalogProduct]] = relationship(
        back_populates="version",
        order_by="CatalogProduct.position",
        cascade="all, delete-orphan",
        passive_deletes=True,
    )


class CatalogProduct(Base):
    """A product of a version, denormalised for listings (the document stays the source of truth)."""

    __tablename__ = "catalog_products"
    __table_args__ = (UniqueConstraint("version_id", "code"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("catalog_versions.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(Integer)
    code: Mapped[str] = mapped_column(Text)
    name_en: Mapped[str] = mapped_column(Text)
    name_zh: Mapped[str] = mapped_column(Text, default="")
    base_price: Mapped[Decimal] = mapped_column(DecimalText())
    currency: Mapped[str] = mapped_column(String(3))

    version: Mapped[CatalogVersion] = relationship(back_populates="products")
