"""Catalog check reports in the formats pipelines read: linter lines, JSON and JUnit XML.

One finding is one line ``FILE:LINE:COL: severity: product: message [check]``,
the way ruff, eslint (unix format) and compilers print, so editors and CI
annotate the right line. JSON is the machine form (also what the API returns
and what is stored with a published version); JUnit XML has one test case per
product and check, so GitHub and GitLab list what passed and what failed.

The second half keeps checks (and, with :mod:`usecases.version_diff`, diffs) run as
background jobs: a request is a ``catalog_reports`` row, a job fills in its result.

Nothing here imports Flask: the command line uses it too.
"""

from __future__ import annotations

import json
import traceback
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from catalog.errors import CatalogError
from catalog.services import CatalogVersionInfo, VersionNotFound, list_versions, load_version
from catalog.snapshot import SourceLoc
from configurator.checks import CatalogReport, Finding, Severity
from usecases.errors import UseCaseError
from usecases.records import CatalogReportRecord

__all__ = [
    "CheckedFile",
    "ReportInfo",
    "ReportNotFound",
    "get_report",
    "list_reports",
    "not_sent",
    "request_check",
    "request_report",
    "run_report",
    "finding_json",
    "finding_line",
    "junit_xml",
    "location",
    "report_json",
    "summary_text",
]


@dataclass(frozen=True, slots=True)
class CheckedFile:
    """The checks of one catalog file: ``problems`` when it could not be read (then no ``report``)."""

    path: str
    report: CatalogReport | None
    problems: tuple[tuple[SourceLoc | None, str], ...] = ()
    product_locs: Mapping[str, SourceLoc] | None = None

    def findings(self) -> tuple[Finding, ...]:
        return self.report.all_findings() if self.report is not None else ()

    def count(self, severity: Severity) -> int:
        own = sum(1 for f in self.findings() if f.severity is severity)
        return own + (len(self.problems) if severity is Severity.ERROR else 0)


def location(finding: Finding, path: str, product_locs: Mapping[str, SourceLoc] | None = None) -> SourceLoc:
    """Where a finding points: its own position, else its product's, else the top of the file."""
    if finding.loc is not None:
        return finding.loc
    if product_locs and finding.product in product_locs:
        return product_locs[finding.product]
    return SourceLoc(path, 1, 1)


def finding_line(finding: Finding, path: str, product_locs: Mapping[str, SourceLoc] | None = None) -> str:
    """The linter line of a finding.

    >>> f = Finding("dead_value", Severity.WARNING, "bike", "frame=carbon", "frame: carbon can never be chosen",
    ...             loc=SourceLoc("shop.yaml", 12, 9))
    >>> finding_line(f, "shop.yaml")
    'shop.yaml:12:9: warning: bike: frame: carbon can never be chosen [dead_value]'
    """
    loc = location(finding, path, product_locs)
    return f"{loc.file}:{loc.line}:{loc.column}: {finding.severity.value}: {finding.product}: {finding.message} [{finding.check}]"


def finding_json(
    finding: Finding, path: str, product_locs: Mapping[str, SourceLoc] | None = None
) -> dict[str, Any]:
    """A finding as JSON (values of a configuration as strings, sets as sorted lists)."""
    loc = location(finding, path, product_locs)
    return {
        "file": loc.file,
        "line": loc.line,
        "column": loc.column,
        "severity": finding.severity.value,
        "check": finding.check,
        "product": finding.product,
        "subject": finding.subject,
        "message": finding.message,
        "msgid": finding.msgid or None,
        "params": dict(finding.params),
        "configuration": {code: _json_value(value) for code, value in finding.configuration},
        "rules": list(finding.rules),
    }


def _json_value(value: object) -> object:
    if isinstance(value, frozenset):
        return sorted(value)
    return value


def report_json(files: Sequence[CheckedFile]) -> dict[str, Any]:
    """The JSON report of ``c2m catalog check``: per file, products with counts and every finding."""
    out: list[dict[str, Any]] = []
    for checked in files:
        findings: list[dict[str, Any]] = [
            {
                "file": loc.file if loc else checked.path,
                "line": loc.line if loc else 0,
                "column": loc.column if loc else 0,
                "severity": "error",
                "check": "catalog_file",
                "product": None,
                "subject": None,
                "message": message,
                "configuration": {},
                "rules": [],
            }
            for loc, message in checked.problems
        ]
        findings += [finding_json(f, checked.path, checked.product_locs) for f in checked.findings()]
        report = checked.report
        out.append(
            {
                "file": checked.path,
                "catalog": report.catalog if report else None,
                "products": [
                    {
                        "code": p.product,
                        "configurations": p.count,
                        "previous_configurations": p.previous_count,
                        "seconds": round(sum(s for _, s in p.timings), 3),
                    }
                    for p in (report.products if report else ())
                ],
                "errors": checked.count(Severity.ERROR),
                "warnings": checked.count(Severity.WARNING),
                "findings": findings,
            }
        )
    return {
        "errors": sum(f["errors"] for f in out),
        "warnings": sum(f["warnings"] for f in out),
        "files": out,
    }


def summary_text(files: Sequence[CheckedFile], seconds: float) -> str:
    """``2 errors, 1 warning in 3 files (5 products, 1.2 s)``."""
    errors = sum(f.count(Severity.ERROR) for f in files)
    warnings = sum(f.count(Severity.WARNING) for f in files)
    products = sum(len(f.report.products) for f in files if f.report is not None)
    return (
        f"{_plural(errors, 'error')}, {_plural(warnings, 'warning')} in {_plural(len(files), 'file')} "
        f"({_plural(products, 'product')}, {seconds:.1f} s)"
    )


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


# Test cases of the JUnit report: one per product and check family; golden tests
# and BOM requirements one per test / requirement, so CI lists them by name.
_FAMILIES = {
    "void_product": "model",
    "check_failed": "model",
    "dead_value": "values",
    "forced_value": "values",
    "redundant_rule": "redundant rules",
    "bom_item": "bom items",
    "bom_quantity": "bom quantities",
    "count_change": "model",
    "product_change": "catalog",
}


def _case_name(finding: Finding) -> str:
    if finding.check == "golden_test":
        return f"golden test {finding.subject}"
    if finding.check == "bom_requirement":
        return f"bom requirement {finding.subject}"
    return _FAMILIES.get(finding.check, finding.check)


def junit_xml(files: Sequence[CheckedFile]) -> bytes:
    """JUnit XML: a test suite per file, a test case per product and check; errors are failures,
    warnings are printed in the case's ``system-out`` (they do not fail the case)."""
    from lxml import etree

    root = etree.Element("testsuites", name="c2m catalog check")
    total_tests = total_failures = 0
    for checked in files:
        suite = etree.SubElement(root, "testsuite", name=checked.path)
        cases: dict[tuple[str, str], list[Finding]] = {}
        if checked.report is not None:
            for product in checked.report.products:
                for name in ("model", "values", "redundant rules", "bom items", "bom quantities"):
                    cases[(product.product, name)] = []
        for finding in checked.findings():
            cases.setdefault((finding.product, _case_name(finding)), []).append(finding)
        tests = failures = 0
        if checked.problems:
            tests += 1
            failures += 1
            case = etree.SubElement(suite, "testcase", classname=checked.path, name="catalog file")
            failure = etree.SubElement(
                case, "failure", message=f"{len(checked.problems)} problem(s) in the file"
            )
            failure.text = "\n".join(_problem_line(checked.path, loc, m) for loc, m in checked.problems)
        for (code, name), findings in cases.items():
            tests += 1
            case = etree.SubElement(suite, "testcase", classname=f"{checked.path}.{code}", name=name)
            errors = [f for f in findings if f.severity is Severity.ERROR]
            others = [f for f in findings if f.severity is not Severity.ERROR]
            if errors:
                failures += 1
                failure = etree.SubElement(case, "failure", message=errors[0].message, type=errors[0].check)
                failure.text = "\n".join(finding_line(f, checked.path, checked.product_locs) for f in errors)
            if others:
                out = etree.SubElement(case, "system-out")
                out.text = "\n".join(finding_line(f, checked.path, checked.product_locs) for f in others)
        suite.set("tests", str(tests))
        suite.set("failures", str(failures))
        suite.set("errors", "0")
        total_tests += tests
        total_failures += failures
    root.set("tests", str(total_tests))
    root.set("failures", str(total_failures))
    root.set("errors", "0")
    return bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True))


def _problem_line(path: str, loc: SourceLoc | None, message: str) -> str:
    return message if loc is None else f"{loc}: {message}"


# --------------------------------------------------------------------------- checks and diffs as jobs
#
# A check or a diff of a large catalog can take minutes: the workspace and ``c2m jobs check|diff``
# ask for one (:func:`request_check`, :func:`usecases.version_diff.request_diff`), which stores a
# ``queued`` row in ``catalog_reports``; the job engine runs it (:func:`run_report`) and stores the
# result there. The row is the source of truth: a job sent twice, or redelivered after its worker
# died, finds the row and either takes it over (same job) or leaves it (done, or run by another).

REPORT_STALE_S = 3600.0
"""Seconds after which a ``running`` row of another job is taken as abandoned (longer than a job's time limit)."""


class ReportNotFound(UseCaseError):
    """No catalog report with this id."""

    def __init__(self, report_id: int) -> None:
        super().__init__("not_found", f"catalog report {report_id} does not exist", report_id=report_id)


@dataclass(frozen=True, slots=True)
class ReportInfo:
    """A catalog check or version diff asked for, its state and (when done) its result."""

    id: int
    kind: str
    catalog: str
    version: int
    base: int | None
    status: str
    attempts: int
    error: str | None
    requested_by: str | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    result: dict[str, Any] | None = None

    def title(self) -> str:
        """``check of shop v3 (against v2)`` / ``diff of shop v2 -> v3``."""
        if self.kind == "diff":
            return f"diff of {self.catalog} v{self.base} -> v{self.version}"
        against = f" (against v{self.base})" if self.base is not None else ""
        return f"check of {self.catalog} v{self.version}{against}"

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "kind": self.kind,
            "catalog": self.catalog,
            "version": self.version,
            "base": self.base,
            "status": self.status,
            "attempts": self.attempts,
            "error": self.error,
            "requested_by": self.requested_by,
            "created_at": self.created_at.isoformat(),
            "started_at": self.started_at.isoformat() if self.started_at else None,
            "finished_at": self.finished_at.isoformat() if self.finished_at else None,
            "result": self.result,
        }


def _info(row: CatalogReportRecord, *, with_result: bool = False) -> ReportInfo:
    result = json.loads(row.result) if with_result and row.result else None
    return ReportInfo(
        row.id, row.kind, row.catalog_code, row.version_number, row.base_number, row.status, row.attempts,
        row.error, row.requested_by, row.created_at, row.started_at, row.finished_at, result,
    )


def _now() -> datetime:
    return datetime.now(UTC)


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


NOT_SENT = "not queued: "
"""Start of the error of a report whose job could not be sent (:func:`not_sent`): asked again, even
by a page that does not run failed reports again, it is queued again."""


def request_report(
    session: Session,
    kind: str,
    request_key: str,
    code: str,
    version: int,
    base: int | None,
    *,
    requested_by: str | None = None,
    again: bool = False,
    requeue_failed: bool = True,
) -> tuple[ReportInfo, bool]:
    """The row for ``request_key``, created ``queued`` when there is none; returns it and whether a
    job must be sent (a new or failed row, or ``again`` on a finished one). Flushed, not committed:
    the caller commits, then sends the job. Without ``requeue_failed`` a failed row is returned as
    it is (a page that shows the report does not run a failing job again at every view), unless its
    job was never sent (the broker was away)."""
    row = session.scalars(
        select(CatalogReportRecord).where(CatalogReportRecord.request_key == request_key)
    ).one_or_none()
    if row is not None:
        if row.status in ("queued", "running") or (row.status == "done" and not again):
            return _info(row, with_result=True), False
        never_sent = (row.error or "").startswith(NOT_SENT)
        if row.status == "failed" and not again and not requeue_failed and not never_sent:
            return _info(row), False
        row.status, row.error, row.attempts, row.owner = "queued", None, 0, None
        row.started_at = row.finished_at = None
        row.created_at = _now()
        row.requested_by = requested_by
        session.flush()
        return _info(row), True
    row = CatalogReportRecord(
        kind=kind, catalog_code=code, version_number=version, base_number=base, request_key=request_key,
        status="queued", attempts=0, requested_by=requested_by, created_at=_now(),
    )
    try:
        with session.begin_nested():
            session.add(row)
    except IntegrityError:  # asked at the same moment by someone else: theirs is the one
        return request_report(session, kind, request_key, code, version, base, requested_by=requested_by,
                              requeue_failed=requeue_failed)
    return _info(row), True


def _resolve(session: Session, code: str, number: int | None) -> CatalogVersionInfo:
    """Version ``number`` of ``code``; without one the draft, else the version in force."""
    versions = list_versions(session, code)
    if number is None:
        draft = next((v for v in versions if v.is_draft), None)
        if draft is not None:
            return draft
        return load_version(session, code)[0]
    found = next((v for v in versions if v.number == number), None)
    if found is None:
        raise VersionNotFound(code, number)
    return found


def base_version(session: Session, code: str, before: int) -> CatalogVersionInfo | None:
    """The version in force, else the latest published or archived one, below ``before``."""
    try:
        current = load_version(session, code)[0]
    except CatalogError:
        current = None
    if current is not None and current.number < before:
        return current
    candidates = [v for v in list_versions(session, code) if not v.is_draft and v.number < before]
    return candidates[-1] if candidates else None


def request_check(
    session: Session, code: str, number: int | None = None, *, requested_by: str | None = None,
    again: bool = False, requeue_failed: bool = True,
) -> tuple[ReportInfo, bool]:
    """Ask for every catalog check on version ``number`` (the draft, else the version in force) against
    the last version published before it. See :func:`request_report`."""
    target = _resolve(session, code, number)
    base = base_version(session, code, target.number)
    key = f"check:{code}:{target.content_hash}:{base.content_hash if base else '-'}"
    return request_report(session, "check", key, code, target.number, base.number if base else None,
                          requested_by=requested_by, again=again, requeue_failed=requeue_failed)


def not_sent(session: Session, report_id: int, error: str) -> None:
    """Its job could not be queued (the broker away): the row is ``failed`` with why, so asking
    again queues it again instead of waiting for a job that was never sent. Committed."""
    row = session.get(CatalogReportRecord, report_id, populate_existing=True)
    if row is not None and row.status == "queued":
        row.status, row.error, row.finished_at = "failed", f"{NOT_SENT}{error}"[:2000], _now()
    session.commit()


def get_report(session: Session, report_id: int) -> ReportInfo:
    row = session.get(CatalogReportRecord, report_id, populate_existing=True)
    if row is None:
        raise ReportNotFound(report_id)
    return _info(row, with_result=True)


def list_reports(session: Session, *, code: str | None = None, limit: int = 50) -> list[ReportInfo]:
    """The most recent reports asked for (of one catalog when given), newest first."""
    query = select(CatalogReportRecord).order_by(CatalogReportRecord.created_at.desc(), CatalogReportRecord.id.desc())
    if code is not None:
        query = query.where(CatalogReportRecord.catalog_code == code)
    return [_info(row) for row in session.scalars(query.limit(limit))]


ReportRunner = Callable[[Session, CatalogReportRecord, str], dict[str, Any]]


def run_report(
    session: Session, report_id: int, *, owner: str, final_attempt: bool = True, backend: str = "auto"
) -> ReportInfo:
    """Run the check or diff of row ``report_id`` and store its result (the job's body).

    Idempotent: a ``done`` row is returned as it is; a row ``running`` under another owner (and not
    abandoned) is left to it; the same ``owner`` (a redelivered job) takes its row over. A failure is
    stored on the row (``queued`` with the error while the job will be retried, ``failed`` on the
    ``final_attempt``) and raised again for the job engine's retry.

    :raise ReportNotFound: no such row (not worth retrying).
    """
    if session.in_transaction():
        session.commit()
    row = session.get(CatalogReportRecord, report_id, populate_existing=True)
    if row is None:
        raise ReportNotFound(report_id)
    if row.status == "done":
        return _info(row, with_result=True)
    if row.status == "running" and row.owner != owner and row.started_at is not None:
        if _now() - _aware(row.started_at) < timedelta(seconds=REPORT_STALE_S):
            return _info(row)
    row.status, row.owner, row.started_at = "running", owner, _now()
    row.attempts += 1
    session.commit()
    runner: ReportRunner
    if row.kind == "check":
        runner = _run_check
    else:
        from usecases.version_diff import run_diff

        runner = run_diff
    try:
        result = runner(session, row, backend)
    except Exception as exc:
        session.rollback()
        row = session.get(CatalogReportRecord, report_id, populate_existing=True)
        if row is not None:
            # No retry helps a version that is gone (or any refusal of the use cases): failed now.
            final_attempt = final_attempt or isinstance(exc, CatalogError | UseCaseError)
            row.status = "failed" if final_attempt else "queued"
            row.error = "".join(traceback.format_exception_only(type(exc), exc)).strip()[:2000]
            row.finished_at = _now() if final_attempt else None
            session.commit()
        raise
    row.result = json.dumps(result, ensure_ascii=False, default=str)
    row.status, row.error, row.finished_at = "done", None, _now()
    session.commit()
    return _info(row, with_result=True)


def _run_check(session: Session, row: CatalogReportRecord, backend: str) -> dict[str, Any]:
    from bom.checks import check_catalog

    info, content = load_version(session, row.catalog_code, row.version_number, published_only=False)
    previous = None
    if row.base_number is not None:
        previous = load_version(session, row.catalog_code, row.base_number, published_only=False)[1]
    report = check_catalog(
        content,
        previous=previous,
        backend=backend,
        catalog_key=f"draft:{info.content_hash}" if info.is_draft else info.content_hash,
    )
    source = info.source or f"{row.catalog_code}@{row.version_number}"
    checked = CheckedFile(source, report)
    return {
        "content_hash": info.content_hash,
        "publishable": report.publishable,
        "errors": checked.count(Severity.ERROR),
        "warnings": checked.count(Severity.WARNING),
        "products": report_json([checked])["files"][0]["products"],
        "findings": [finding_json(f, source) for f in report.all_findings()],
        "lines": [finding_line(f, source) for f in report.all_findings()],
    }
