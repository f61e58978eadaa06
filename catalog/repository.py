"""Queries on stored catalogs (SQLAlchemy 2.x ``select()``), kept out of the use cases.

The repository returns ORM rows and never commits; ``catalog.services`` owns
transactions and turns rows into frozen values. Every query refreshes rows
already in the session (``populate_existing``): sessions here often keep
objects across commits (``expire_on_commit=False``), and a check such as the
content hash at publication must see what the database holds now.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session, defer, selectinload
from sqlalchemy.sql import Select

from catalog.models import CatalogRecord, CatalogVersion, VersionStatus

_FRESH = {"populate_existing": True}


class CatalogRepository:
    """Catalog rows of one session."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def get(self, code: str, *, for_update: bool = False) -> CatalogRecord | None:
        """The catalog ``code``; ``for_update`` locks its row (PostgreSQL) so that
        concurrent imports of one catalog number their versions one after the other."""
        query = select(CatalogRecord).where(CatalogRecord.code == code)
        if for_update:
            query = query.with_for_update()
        return self.session.scalars(query, execution_options=_FRESH).one_or_none()

    def add(self, record: CatalogRecord) -> None:
        self.session.add(record)
        self.session.flush()

    def all(self) -> Sequence[CatalogRecord]:
        return self.session.scalars(
            select(CatalogRecord).order_by(CatalogRecord.code), execution_options=_FRESH
        ).all()

    def version(self, catalog_id: int, number: int, *, with_content: bool = True) -> CatalogVersion | None:
        """Version ``number``; without ``with_content`` only its row (status, validity,
        hash), the document deferred and the product rows not loaded."""
        query = _versions(with_content).where(
            CatalogVersion.catalog_id == catalog_id, CatalogVersion.number == number
        )
        return self.session.scalars(query, execution_options=_FRESH).one_or_none()

    def by_code(self, code: str, number: int) -> CatalogVersion | None:
        """Version ``number`` of catalog ``code`` in one query (catalog joined), its row only
        (status, validity, hash; the document deferred): the read of every click and order
        on a saved configuration. None when the catalog or the version does not exist."""
        query = (
            _versions(False)
            .join(CatalogRecord, CatalogRecord.id == CatalogVersion.catalog_id)
            .where(CatalogRecord.code == code, CatalogVersion.number == number)
        )
        return self.session.scalars(query, execution_options=_FRESH).one_or_none()

    def effective_by_code(self, code: str, at: datetime) -> CatalogVersion | None:
        """:meth:`effective` of catalog ``code`` in one query (catalog joined), its row only."""
        query = _in_force(_versions(False).join(CatalogRecord, CatalogRecord.id == CatalogVersion.catalog_id), at)
        return self.session.scalars(query.where(CatalogRecord.code == code), execution_options=_FRESH).first()

    def document(self, version_id: int) -> str:
        """The stored document of a version (read when a content cache misses)."""
        document = self.session.scalar(select(CatalogVersion.document).where(CatalogVersion.id == version_id))
        if document is None:
            raise LookupError(f"catalog version row {version_id} has no document")
        return document

    def versions(self, catalog_id: int) -> Sequence[CatalogVersion]:
        query = (
            select(CatalogVersion)
            .where(CatalogVersion.catalog_id == catalog_id)
            .order_by(CatalogVersion.number)
            .options(selectinload(CatalogVersion.products))
        )
        return self.session.scalars(query, execution_options=_FRESH).all()

    def draft(self, catalog_id: int) -> CatalogVersion | None:
        query = (
            select(CatalogVersion)
            .where(
                CatalogVersion.catalog_id == catalog_id, CatalogVersion.status == VersionStatus.DRAFT.value
            )
            .options(selectinload(CatalogVersion.products))
        )
        return self.session.scalars(query, execution_options=_FRESH).one_or_none()

    def last_number(self, catalog_id: int) -> int:
        """The highest version number of the catalog, 0 when it has none."""
        query = select(func.max(CatalogVersion.number)).where(CatalogVersion.catalog_id == catalog_id)
        return self.session.scalar(query) or 0

    def effective(self, catalog_id: int, at: datetime, *, with_content: bool = True) -> CatalogVersion | None:
        """The published version in force at ``at``.

        Among published versions whose validity window contains ``at``, the one
        whose window opened last wins (then the higher number): publishing a
        version with a future ``valid_from`` schedules it without touching the
        version currently on sale. Archived versions are withdrawn from sale.
        This and :meth:`effective_by_code` (the same conditions, :func:`_in_force`)
        are the only queries of "the version in force": the storefront, the API
        and the workspace all reach them through here.
        """
        query = _in_force(_versions(with_content), at).where(CatalogVersion.catalog_id == catalog_id)
        return self.session.scalars(query, execution_options=_FRESH).first()


def _in_force(query: Select[CatalogVersion], at: datetime) -> Select[CatalogVersion]:
    """``query`` narrowed to published versions in force at ``at``, the one in force first."""
    return (
        query.where(
            CatalogVersion.status == VersionStatus.PUBLISHED.value,
            CatalogVersion.valid_from <= at,
            or_(CatalogVersion.valid_to.is_(None), CatalogVersion.valid_to > at),
        )
        .order_by(CatalogVersion.valid_from.desc(), CatalogVersion.number.desc())
        .limit(1)
    )


def _versions(with_content: bool) -> Select[CatalogVersion]:
    if with_content:
        return select(CatalogVersion).options(selectinload(CatalogVersion.products))
    return select(CatalogVersion).options(defer(CatalogVersion.document))
