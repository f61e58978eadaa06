"""Use cases on stored catalogs: import, publish, archive, list, load, export, edit drafts.

Plain functions taking a SQLAlchemy ``Session``; they return frozen values,
never ORM rows. A mutating function is atomic: called outside a transaction it
opens one and commits it; called inside the caller's transaction it works in a
savepoint (a failure undoes only its own work) and leaves the commit to the
caller.

Versions follow draft → published → archived. A catalog has at most one draft,
which imports and edits replace; a published version is write-once (checked
here, and by database triggers: see ``catalog.models``).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from functools import lru_cache

from sqlalchemy.orm import Session

from catalog.errors import CatalogError
from catalog.files import catalog_from_document, content_hash, document_from_catalog
from catalog.models import CatalogProduct, CatalogRecord, CatalogVersion, VersionStatus
from catalog.repository import CatalogRepository
from catalog.snapshot import Catalog, Label

# ---------------------------------------------------------------- errors


class CatalogNotFound(CatalogError):
    """No stored catalog has this code."""

    reason = "catalog_not_found"

    def __init__(self, code: str) -> None:
        super().__init__(f"catalog {code!r} not found")
        self.code = code


class VersionNotFound(CatalogError):
    """The catalog exists but not the requested version (or none fits the request)."""

    reason = "version_not_found"

    def __init__(self, code: str, number: int | None, detail: str | None = None) -> None:
        what = f"version {number} of catalog {code!r}" if number is not None else f"catalog {code!r}"
        super().__init__(detail or f"{what} not found")
        self.code = code
        self.number = number


class VersionImmutable(CatalogError):
    """The version is published (or archived): it is write-once."""

    reason = "version_immutable"

    def __init__(self, code: str, number: int, status: str, action: str) -> None:
        super().__init__(f"version {number} of catalog {code!r} is {status} and cannot be {action}")
        self.code = code
        self.number = number
        self.status = status


class VersionNotPublished(CatalogError):
    """The action needs a published version but this one is a draft."""

    reason = "version_not_published"

    def __init__(self, code: str, number: int, action: str) -> None:
        super().__init__(f"version {number} of catalog {code!r} is a draft and cannot be {action}")
        self.code = code
        self.number = number


class ContentHashMismatch(CatalogError):
    """A stored document no longer matches its content hash."""

    reason = "content_hash_mismatch"

    def __init__(self, code: str, number: int, stored: str, actual: str) -> None:
        super().__init__(
            f"version {number} of catalog {code!r}: stored content hash {stored} "
            f"does not match its document ({actual})"
        )
        self.code = code
        self.number = number


class InvalidValidity(CatalogError):
    """``valid_to`` must come after ``valid_from``."""

    reason = "invalid_validity"

    def __init__(self, valid_from: datetime, valid_to: datetime) -> None:
        super().__init__(
            f"valid_to {valid_to.isoformat()} must be later than valid_from {valid_from.isoformat()}"
        )


class CatalogCodeMismatch(CatalogError):
    """A catalog given to replace a draft has another code."""

    reason = "catalog_code_mismatch"

    def __init__(self, expected: str, given: str) -> None:
        super().__init__(f"the catalog has code {given!r}, expected {expected!r}")


# ---------------------------------------------------------------- values


@dataclass(frozen=True, slots=True)
class ProductSummary:
    """A product of a stored version, as listed without reading the document."""

    code: str
    name: Label
    base_price: Decimal
    currency: str


@dataclass(frozen=True, slots=True)
class CatalogVersionInfo:
    """What is known about a stored version, besides its content."""

    catalog_code: str
    number: int
    status: VersionStatus
    content_hash: str
    created_at: datetime
    published_at: datetime | None
    valid_from: datetime | None
    valid_to: datetime | None
    source: str | None
    comment: str | None
    products: tuple[ProductSummary, ...]

    @property
    def is_draft(self) -> bool:
        return self.status is VersionStatus.DRAFT

    def effective_at(self, at: datetime) -> bool:
        """True when this version is published and ``at`` lies in its validity window."""
        return (
            self.status is VersionStatus.PUBLISHED
            and self.valid_from is not None
            and self.valid_from <= at
            and (self.valid_to is None or at < self.valid_to)
        )


@dataclass(frozen=True, slots=True)
class CatalogInfo:
    """A stored catalog and where its versions stand."""

    code: str
    name: Label
    created_at: datetime
    version_count: int
    latest_number: int | None
    current_number: int | None
    """The published version in force now, if any."""
    draft_number: int | None


# ---------------------------------------------------------------- use cases


def import_catalog(
    session: Session,
    catalog: Catalog,
    *,
    source: str | None = None,
    publish: bool = False,
    comment: str | None = None,
    valid_from: datetime | None = None,
    valid_to: datetime | None = None,
) -> CatalogVersionInfo:
    """Store ``catalog`` as the draft of its catalog (created on first import), and publish it on request.

    The draft gets the next version number, or when the catalog already has a
    draft, that draft's content is replaced. ``source`` records where it came
    from (a file name). Everything happens in one transaction: on failure
    nothing is stored.

    >>> from sqlalchemy.orm import Session
    >>> from catalog.db import Base, make_engine
    >>> engine = make_engine("sqlite://")
    >>> Base.metadata.create_all(engine)  # tests and the CLI migrate instead
    >>> shop = Catalog("shop", Label("Shop", "商店"), "EUR", (), (), ())
    >>> with Session(engine) as session:
    ...     draft = import_catalog(session, shop, source="shop.yaml")
    ...     published = publish_version(session, "shop", draft.number)
    ...     info, catalog = load_version(session, "shop")
    >>> (draft.number, draft.status.value, published.status.value, catalog == shop)
    (1, 'draft', 'published', True)
    >>> engine.dispose()
    """
    with _atomic(session):
        repo = CatalogRepository(session)
        now = _now()
        record = repo.get(catalog.code, for_update=True)
        if record is None:
            record = CatalogRecord(
                code=catalog.code, name_en=catalog.name.en, name_zh=catalog.name.zh_CN, created_at=now
            )
            repo.add(record)
        else:
            record.name_en = catalog.name.en
            record.name_zh = catalog.name.zh_CN
        version = repo.draft(record.id)
        if version is None:
            version = CatalogVersion(
                catalog=record,
                number=repo.last_number(record.id) + 1,
                status=VersionStatus.DRAFT.value,
                created_at=now,
            )
            session.add(version)
        _fill_draft(session, version, catalog, source=source, comment=comment)
        if publish:
            _publish(version, catalog.code, valid_from=valid_from, valid_to=valid_to, now=now)
            session.flush()
        return _version_info(version, catalog.code)


def update_draft(
    session: Session, code: str, catalog: Catalog, *, source: str | None = None, comment: str | None = None
) -> CatalogVersionInfo:
    """Replace the content of the draft of catalog ``code`` (see ``create_draft`` to open one)."""
    if catalog.code != code:
        raise CatalogCodeMismatch(code, catalog.code)
    with _atomic(session):
        repo = CatalogRepository(session)
        record = _require_catalog(repo, code, for_update=True)
        version = repo.draft(record.id)
        if version is None:
            raise VersionNotFound(code, None, f"catalog {code!r} has no draft")
        record.name_en = catalog.name.en
        record.name_zh = catalog.name.zh_CN
        _fill_draft(session, version, catalog, source=source, comment=comment)
        return _version_info(version, code)


def create_draft(session: Session, code: str, *, from_number: int | None = None) -> CatalogVersionInfo:
    """Open a draft of catalog ``code`` as a copy of version ``from_number``.

    Without a number the copy is of the version in force now, else of the
    latest version. When the catalog already has a draft it is returned
    unchanged.
    """
    with _atomic(session):
        repo = CatalogRepository(session)
        record = _require_catalog(repo, code, for_update=True)
        existing = repo.draft(record.id)
        if existing is not None:
            return _version_info(existing, code)
        if from_number is not None:
            origin = _require_version(repo, record, from_number)
        else:
            origin = repo.effective(record.id, _now()) or _latest(repo, record)
        catalog = _parse_document(origin.document)
        version = CatalogVersion(
            catalog=record,
            number=repo.last_number(record.id) + 1,
            status=VersionStatus.DRAFT.value,
            created_at=_now(),
        )
        session.add(version)
        _fill_draft(
            session, version, catalog, source=origin.source, comment=f"copy of version {origin.number}"
        )
        return _version_info(version, code)


def discard_draft(session: Session, code: str) -> None:
    """Delete the draft of catalog ``code``."""
    with _atomic(session):
        repo = CatalogRepository(session)
        record = _require_catalog(repo, code, for_update=True)
        version = repo.draft(record.id)
        if version is None:
            raise VersionNotFound(code, None, f"catalog {code!r} has no draft")
        session.delete(version)
        session.flush()


def publish_version(
    session: Session,
    catalog_code: str,
    number: int,
    *,
    valid_from: datetime | None = None,
    valid_to: datetime | None = None,
) -> CatalogVersionInfo:
    """Publish draft ``number``: from then on it is write-once.

    The document is checked against its content hash first. ``valid_from``
    defaults to now; a later date schedules the version. Naive datetimes are
    taken as UTC.
    """
    with _atomic(session):
        repo = CatalogRepository(session)
        record = _require_catalog(repo, catalog_code, for_update=True)
        version = _require_version(repo, record, number)
        _publish(version, catalog_code, valid_from=valid_from, valid_to=valid_to, now=_now())
        session.flush()
        return _version_info(version, catalog_code)


def archive_version(session: Session, catalog_code: str, number: int) -> CatalogVersionInfo:
    """Withdraw published version ``number`` from sale; it stays readable (orders pin it)."""
    with _atomic(session):
        repo = CatalogRepository(session)
        record = _require_catalog(repo, catalog_code, for_update=True)
        version = _require_version(repo, record, number)
        if version.status == VersionStatus.DRAFT.value:
            raise VersionNotPublished(catalog_code, number, "archived")
        if version.status == VersionStatus.ARCHIVED.value:
            raise VersionImmutable(catalog_code, number, version.status, "archived again")
        version.status = VersionStatus.ARCHIVED.value
        session.flush()
        return _version_info(version, catalog_code)


def list_catalogs(session: Session, *, at: datetime | None = None) -> tuple[CatalogInfo, ...]:
    """Every stored catalog, by code, with its version numbers (``current`` as of ``at``, default now)."""
    repo = CatalogRepository(session)
    moment = _as_utc(at) if at is not None else _now()
    out: list[CatalogInfo] = []
    for record in repo.all():
        versions = repo.versions(record.id)
        current = repo.effective(record.id, moment)
        draft = next((v for v in versions if v.status == VersionStatus.DRAFT.value), None)
        out.append(
            CatalogInfo(
                code=record.code,
                name=Label(record.name_en, record.name_zh),
                created_at=record.created_at,
                version_count=len(versions),
                latest_number=versions[-1].number if versions else None,
                current_number=current.number if current is not None else None,
                draft_number=draft.number if draft is not None else None,
            )
        )
    return tuple(out)


def list_versions(session: Session, code: str) -> tuple[CatalogVersionInfo, ...]:
    """Every version of catalog ``code``, oldest first."""
    repo = CatalogRepository(session)
    record = _require_catalog(repo, code)
    return tuple(_version_info(v, code) for v in repo.versions(record.id))


def load_version(
    session: Session,
    code: str,
    number: int | None = None,
    *,
    published_only: bool = True,
    at: datetime | None = None,
) -> tuple[CatalogVersionInfo, Catalog]:
    """A stored version and its content.

    ``number=None`` means the published version in force at ``at`` (default
    now); with ``published_only=False`` the draft is preferred when there is
    one. With ``published_only`` (the default) drafts are never returned;
    archived versions are, when asked for by number, since orders pin them.
    """
    repo = CatalogRepository(session)
    record = _require_catalog(repo, code)
    version: CatalogVersion | None
    if number is not None:
        version = _require_version(repo, record, number)
        if published_only and version.status == VersionStatus.DRAFT.value:
            raise VersionNotFound(code, number, f"version {number} of catalog {code!r} is not published")
    else:
        version = None if published_only else repo.draft(record.id)
        if version is None:
            version = repo.effective(record.id, _as_utc(at) if at is not None else _now())
        if version is None:
            raise VersionNotFound(code, None, f"catalog {code!r} has no published version in force")
    return _version_info(version, code), _parse_document(version.document)


def export_catalog(session: Session, code: str, number: int | None = None) -> Catalog:
    """The content of version ``number`` of catalog ``code`` (any status); by default the version in force."""
    return load_version(session, code, number, published_only=number is None)[1]


# ---------------------------------------------------------------- internals


@contextmanager
def _atomic(session: Session) -> Iterator[None]:
    if session.in_transaction():
        with session.begin_nested():
            yield
    else:
        with session.begin():
            yield


def _now() -> datetime:
    return datetime.now(UTC)


def _as_utc(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def _require_catalog(repo: CatalogRepository, code: str, *, for_update: bool = False) -> CatalogRecord:
    record = repo.get(code, for_update=for_update)
    if record is None:
        raise CatalogNotFound(code)
    return record


def _require_version(repo: CatalogRepository, record: CatalogRecord, number: int) -> CatalogVersion:
    version = repo.version(record.id, number)
    if version is None:
        raise VersionNotFound(record.code, number)
    return version


def _latest(repo: CatalogRepository, record: CatalogRecord) -> CatalogVersion:
    versions = repo.versions(record.id)
    if not versions:
        raise VersionNotFound(record.code, None, f"catalog {record.code!r} has no versions")
    return versions[-1]


def _fill_draft(
    session: Session, version: CatalogVersion, catalog: Catalog, *, source: str | None, comment: str | None
) -> None:
    if version.status != VersionStatus.DRAFT.value:
        # The services only ever pass drafts; this guards against future callers.
        raise VersionImmutable(catalog.code, version.number, version.status, "changed")
    document = document_text(catalog)
    # Store only what reads back: a catalog built in code skips the file checks,
    # so run them on the document now rather than when someone loads it.
    _parse_document(document)
    version.document = document
    version.content_hash = content_hash(catalog)
    version.source = source
    version.comment = comment
    # Old product rows go first: the new ones may reuse their codes (unique per version).
    version.products.clear()
    session.flush()
    version.products.extend(
        CatalogProduct(
            position=index,
            code=product.code,
            name_en=product.name.en,
            name_zh=product.name.zh_CN,
            base_price=product.base_price,
            currency=catalog.currency,
        )
        for index, product in enumerate(catalog.products)
    )
    session.flush()


def _publish(
    version: CatalogVersion,
    code: str,
    *,
    valid_from: datetime | None,
    valid_to: datetime | None,
    now: datetime,
) -> None:
    if version.status != VersionStatus.DRAFT.value:
        raise VersionImmutable(code, version.number, version.status, "published again")
    catalog = _parse_document(version.document)
    actual = content_hash(catalog)
    if actual != version.content_hash or document_text(catalog) != version.document:
        raise ContentHashMismatch(code, version.number, version.content_hash, actual)
    start = _as_utc(valid_from) if valid_from is not None else now
    end = _as_utc(valid_to) if valid_to is not None else None
    if end is not None and end <= start:
        raise InvalidValidity(start, end)
    version.status = VersionStatus.PUBLISHED.value
    version.published_at = now
    version.valid_from = start
    version.valid_to = end


def document_text(catalog: Catalog) -> str:
    """The stored form of a catalog: its document as compact JSON, keys in document order.

    Equal catalogs give equal text. Keys are not sorted because some mappings
    (module ``params``, test ``set``) keep their order in the snapshot, and
    the stored version must read back as exactly the catalog that was imported.

    >>> document_text(Catalog("shop", Label("Shop"), "EUR", (), (), ()))[:60]
    '{"format":"c2m-catalog/1","code":"shop","name":{"en":"Shop",'
    """
    return json.dumps(document_from_catalog(catalog), ensure_ascii=False, separators=(",", ":"))


@lru_cache(maxsize=16)
def _parse_document(document: str) -> Catalog:
    # Catalogs are immutable values: documents read again (every storefront
    # request loads the version in force) are parsed once.
    return catalog_from_document(json.loads(document))


def _version_info(version: CatalogVersion, code: str) -> CatalogVersionInfo:
    return CatalogVersionInfo(
        catalog_code=code,
        number=version.number,
        status=VersionStatus(version.status),
        content_hash=version.content_hash,
        created_at=version.created_at,
        published_at=version.published_at,
        valid_from=version.valid_from,
        valid_to=version.valid_to,
        source=version.source,
        comment=version.comment,
        products=tuple(
            ProductSummary(p.code, Label(p.name_en, p.name_zh), p.base_price, p.currency)
            for p in version.products
        ),
    )
