"""The one path to publishing a catalog version: check the exact content, then publish it.

The command line (``c2m catalog import --publish``, ``c2m catalog publish``),
the API (upload with ``?publish=true``, ``POST .../publish``) and the
workspace's publish button all call :func:`publish_checked`:

1. the content to publish is fixed (the catalog being imported, or the
   stored draft) together with its content hash;
2. every catalog check runs on that content (``bom.checks.check_catalog``,
   against the version in force for count changes); an error raises
   :class:`ChecksFailed` and nothing is stored;
3. one transaction locks the catalog row, verifies that the draft still has
   the checked content hash (:class:`DraftChanged` otherwise, so a draft
   swapped while the checks ran is never published unchecked), publishes,
   and stores the warnings with the version (:class:`usecases.records.CatalogVersionCheck`).

``skip_checks`` is for emergencies (a check that is wrong or too slow for
a fix that must ship): the checks do not run, and who skipped them and why is
logged and stored with the version, where the workspace, the API and
``c2m catalog versions`` show it. Nothing here imports Flask.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import event, select
from sqlalchemy.orm import Session

from catalog.errors import CatalogError
from catalog.files import content_hash
from catalog.models import CatalogRecord, CatalogVersion, VersionStatus
from catalog.repository import CatalogRepository
from catalog.services import (
    CatalogNotFound,
    CatalogVersionInfo,
    VersionImmutable,
    VersionNotFound,
    import_catalog,
    list_versions,
    load_version,
    publish_version,
)
from catalog.snapshot import Catalog
from configurator.checks import CatalogReport, Finding, Severity
from usecases.check_reports import finding_json, finding_line
from usecases.compile_guard import check_catalog_compiles
from usecases.records import CatalogVersionCheck

log = logging.getLogger("c2m.publish")

__all__ = [
    "ChecksFailed",
    "DraftChanged",
    "Published",
    "SkipReasonMissing",
    "VersionChecks",
    "check_content",
    "compile_jobs_available",
    "on_compile_jobs",
    "on_published",
    "publish_checked",
    "version_checks",
]


class ChecksFailed(CatalogError):
    """The catalog checks found errors: the version is not published (nothing is stored)."""

    reason = "checks_failed"

    def __init__(self, code: str, report: CatalogReport, source: str) -> None:
        errors = report.errors
        super().__init__(
            f"catalog {code!r} is not published: the checks found {len(errors)} error(s) "
            f"and {len(report.warnings)} warning(s)"
        )
        self.report = report
        self.source = source
        self.errors = [finding_line(f, source) for f in errors]

    def findings_json(self) -> list[dict[str, Any]]:
        shown = (Severity.ERROR, Severity.WARNING)
        return [finding_json(f, self.source) for f in self.report.all_findings() if f.severity in shown]


class DraftChanged(CatalogError):
    """The draft was changed while its checks ran: publish again to check the new content."""

    reason = "conflict"

    def __init__(self, code: str, number: int, checked: str, stored: str) -> None:
        super().__init__(
            f"version {number} of catalog {code!r} changed while it was being checked "
            f"(checked sha256 {checked[:12]}, now {stored[:12]}): publish again"
        )


class SkipReasonMissing(CatalogError):
    """Skipping the checks needs a reason (it is stored with the version)."""

    reason = "skip_reason_missing"

    def __init__(self) -> None:
        super().__init__("skipping the catalog checks needs a reason (it is logged and shown on the version)")


@dataclass(frozen=True, slots=True)
class Published:
    """A version published through the checks: its info, the report (None when skipped)."""

    info: CatalogVersionInfo
    report: CatalogReport | None
    skipped: bool
    compiled: tuple[str, ...] = ()
    """Products whose model this publish compiled (and stored: each under the budget in force)."""
    deferred: tuple[str, ...] = ()
    """Products over the request's compile budget, "preparing" until the compile job stores them."""

    @property
    def warnings(self) -> tuple[Finding, ...]:
        return self.report.warnings if self.report is not None else ()


@dataclass(frozen=True, slots=True)
class VersionChecks:
    """What was stored about the checks of a published version."""

    checked_at: datetime
    content_hash: str
    skipped: bool
    skipped_by: str | None
    skip_reason: str | None
    warning_count: int
    findings: list[dict[str, Any]]

    def as_json(self, *, findings: bool = True) -> dict[str, Any]:
        """The stored checks; without ``findings`` (public listings) only the summary, not the warnings' text."""
        return {
            "checked_at": self.checked_at,
            "content_hash": self.content_hash,
            "skipped": self.skipped,
            "skipped_by": self.skipped_by if findings else None,
            "skip_reason": self.skip_reason if findings else None,
            "warnings": self.warning_count,
            "findings": self.findings if findings else None,
        }

    def short(self) -> str:
        """``ok``, ``3 warnings`` or ``SKIPPED``, for listings."""
        if self.skipped:
            return "SKIPPED"
        if self.warning_count:
            return f"{self.warning_count} warning{'s' if self.warning_count != 1 else ''}"
        return "ok"


PublishedHook = Callable[[str, int, str], None]
_published_hooks: list[PublishedHook] = []
_PENDING = "c2m.published"


_compile_jobs: list[Callable[[], bool]] = []


def on_compile_jobs(available: Callable[[], bool]) -> None:
    """Tell publishing how to know whether a job engine runs compile jobs (the job engine installs
    it). Only then is a model over the request's time budget accepted, and compiled by a job."""
    if available not in _compile_jobs:
        _compile_jobs.append(available)


def compile_jobs_available() -> bool:
    return any(check() for check in _compile_jobs)


def on_published(hook: PublishedHook) -> None:
    """Call ``hook(code, number, content_hash)`` after each commit that published a version through
    :func:`publish_checked` (the job engine hooks compile-on-publish here). A failing hook is logged;
    the version stays published."""
    if hook not in _published_hooks:
        _published_hooks.append(hook)


@event.listens_for(Session, "after_commit")
def _announce_published(session: Session) -> None:
    for code, number, digest in session.info.pop(_PENDING, ()):
        for hook in list(_published_hooks):
            try:
                hook(code, number, digest)
            except Exception:
                log.exception("catalog %s version %s published; the after-publish hook failed", code, number)


@event.listens_for(Session, "after_rollback")
def _forget_published(session: Session) -> None:
    session.info.pop(_PENDING, None)


def _previous(session: Session, code: str, before: int | None) -> Catalog | None:
    """The latest published (or archived) version before ``before``: the base of count changes."""
    try:
        versions = list_versions(session, code)
    except CatalogNotFound:
        return None
    published = [
        v for v in versions if v.status is not VersionStatus.DRAFT and (before is None or v.number < before)
    ]
    if not published:
        return None
    return load_version(session, code, published[-1].number)[1]


def check_content(
    session: Session,
    catalog: Catalog,
    *,
    number: int | None = None,
    backend: str = "auto",
    progress: Callable[[str], None] | None = None,
) -> CatalogReport:
    """Every catalog check on ``catalog``, against the last version published before ``number``."""
    from bom.checks import check_catalog

    return check_catalog(
        catalog,
        previous=_previous(session, catalog.code, number),
        backend=backend,
        catalog_key=f"check:{content_hash(catalog)}",
        progress=progress,
    )


def publish_checked(
    session: Session,
    code: str,
    *,
    catalog: Catalog | None = None,
    number: int | None = None,
    source: str | None = None,
    comment: str | None = None,
    valid_from: datetime | None = None,
    valid_to: datetime | None = None,
    skip_checks: bool = False,
    skip_reason: str | None = None,
    actor: str = "unknown",
    backend: str = "auto",
    progress: Callable[[str], None] | None = None,
) -> Published:
    """Check, then publish: ``catalog`` (imported and published at once) or the stored draft ``number``.

    Call it with no work in progress on ``session``: the read
    transaction is committed after the checks, before the publishing transaction
    takes the catalog's lock; the caller commits that last transaction.

    :raise ChecksFailed: an error finding (422); nothing is stored.
    :raise DraftChanged: the draft's content hash changed after it was read (409).
    :raise SkipReasonMissing: ``skip_checks`` without a ``skip_reason``.
    """
    if (catalog is None) == (number is None):
        raise ValueError("publish_checked needs either a catalog to import or a draft number")
    if skip_checks and not (skip_reason and skip_reason.strip()):
        raise SkipReasonMissing()
    if catalog is not None:
        if catalog.code != code:
            raise ValueError(f"catalog code {catalog.code!r} is not {code!r}")
        content, checked_hash, where = catalog, content_hash(catalog), source or f"{code}.yaml"
    else:
        assert number is not None
        info, content = load_version(session, code, number, published_only=False)
        if info.status is not VersionStatus.DRAFT:
            raise VersionImmutable(code, number, info.status.value, "published again")
        checked_hash, where = info.content_hash, info.source or f"{code}@{number}"
    # Never skipped: a model over the compile budget is refused before anything is stored or
    # checked (CatalogTooComplex, 422 catalog_too_complex), whatever the path to publishing.
    # The guard's compilation is the one kept: each model's artifact is stored as it compiles
    # (under the budget in force, even when an upload stored one before), so compile-on-publish
    # finds it ready.
    # With a job engine a model over the request's time budget is accepted and left to the
    # compile job (marked "preparing" below, with the version).
    if session.in_transaction():
        session.commit()
    guard = check_catalog_compiles(content, session=session, defer=compile_jobs_available())
    report: CatalogReport | None = None
    if skip_checks:
        log.warning(
            "catalog %s: publishing %s (sha256 %s) WITHOUT checks, by %s: %s",
            code,
            f"version {number}" if number is not None else f"import of {where}",
            checked_hash,
            actor,
            skip_reason,
        )
    else:
        report = check_content(session, content, number=number, backend=backend, progress=progress)
        if not report.publishable:
            raise ChecksFailed(code, report, where)
    # The checks may have taken minutes: end the read transaction they started, so the
    # publishing transaction below reads the draft as it is now (SQLite's WAL snapshot and
    # PostgreSQL's repeatable read would otherwise show the content as it was before them).
    if session.in_transaction():
        session.commit()
    published = _publish_locked(
        session,
        code,
        content=content,
        number=number,
        checked_hash=checked_hash,
        source=source,
        comment=comment,
        valid_from=valid_from,
        valid_to=valid_to,
    )
    record = CatalogVersionCheck(
        version_id=published[1],
        content_hash=published[0].content_hash,
        checked_at=datetime.now(UTC),
        skipped=skip_checks,
        skipped_by=actor if skip_checks else None,
        skip_reason=skip_reason.strip() if skip_checks and skip_reason else None,
        warning_count=len(report.warnings) if report is not None else 0,
        findings=json.dumps(
            [finding_json(f, where) for f in report.warnings] if report is not None else [],
            ensure_ascii=False,
        ),
    )
    session.add(record)
    if guard.deferred:
        from usecases.compile_guard import current_budget
        from usecases.compiled_models import mark_queued

        mark_queued(session, published[0].content_hash, list(guard.deferred), current_budget().backend)
        log.info("catalog %s version %s: %s left to the compile job (over the request budget)",
                 code, published[0].number, ", ".join(guard.deferred))
    session.flush()
    session.info.setdefault(_PENDING, []).append((code, published[0].number, published[0].content_hash))
    return Published(published[0], report, skip_checks, guard.compiled, guard.deferred)


def _publish_locked(
    session: Session,
    code: str,
    *,
    content: Catalog,
    number: int | None,
    checked_hash: str,
    source: str | None,
    comment: str | None,
    valid_from: datetime | None,
    valid_to: datetime | None,
) -> tuple[CatalogVersionInfo, int]:
    """Publish under the catalog's row lock, only if the content is still the checked one."""
    repo = CatalogRepository(session)
    if number is None:
        info = import_catalog(
            session,
            content,
            source=source,
            publish=True,
            comment=comment,
            valid_from=valid_from,
            valid_to=valid_to,
        )
        if info.content_hash != checked_hash:  # pragma: no cover - the same object was hashed
            raise DraftChanged(code, info.number, checked_hash, info.content_hash)
    else:
        record = repo.get(code, for_update=True)
        if record is None:
            raise CatalogNotFound(code)
        version = repo.version(record.id, number)
        if version is None:
            raise VersionNotFound(code, number)
        if version.content_hash != checked_hash:
            raise DraftChanged(code, number, checked_hash, version.content_hash)
        info = publish_version(session, code, number, valid_from=valid_from, valid_to=valid_to)
    version_id = session.scalar(
        select(CatalogVersion.id)
        .join(CatalogRecord, CatalogRecord.id == CatalogVersion.catalog_id)
        .where(CatalogRecord.code == code, CatalogVersion.number == info.number)
    )
    assert version_id is not None
    return info, version_id


def version_checks(session: Session, code: str) -> dict[int, VersionChecks]:
    """The stored checks of every version of catalog ``code`` that has them, by version number."""
    rows = session.execute(
        select(CatalogVersion.number, CatalogVersionCheck)
        .join(CatalogVersionCheck, CatalogVersionCheck.version_id == CatalogVersion.id)
        .join(CatalogRecord, CatalogRecord.id == CatalogVersion.catalog_id)
        .where(CatalogRecord.code == code)
    ).all()
    return {
        number: VersionChecks(
            checked_at=row.checked_at,
            content_hash=row.content_hash,
            skipped=row.skipped,
            skipped_by=row.skipped_by,
            skip_reason=row.skip_reason,
            warning_count=row.warning_count,
            findings=json.loads(row.findings),
        )
        for number, row in rows
    }
