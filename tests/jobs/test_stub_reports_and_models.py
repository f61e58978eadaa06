"""Catalog checks and version diffs as jobs, publishing that compiles each model once, a model over
the request's compile budget left to the compile job, and the workers' heartbeats: on Dramatiq's
``StubBroker`` with a real Dramatiq worker, against the real database."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

import usecases.compiled_models
from catalog.files import load_catalog_text
from catalog.services import import_catalog
from jobs.engine import Jobs, hook_publishing, send_report
from jobs.heartbeat import WorkerHeartbeat, forget_all_in_memory
from jobs.settings import install_compile_settings
from jobs.status import engine_status, jobs_status
from tests.admin.conftest import BOXES
from tests.jobs.conftest import run_jobs
from usecases.catalogs import ModelCaches, get_configurator
from usecases.check_reports import get_report, list_reports, request_check, run_report
from usecases.compile_guard import check_catalog_compiles
from usecases.compiled_models import QUEUED, ArtifactStore, ModelPreparing
from usecases.publishing import publish_checked
from usecases.records import CatalogReportRecord, CompiledModelRecord
from usecases.version_diff import request_diff

BOXES_V2 = BOXES.replace("- {id: large, when: size == large, add: \"5.00\", label: Large}",
                         "- {id: large, when: size == large, add: \"7.00\", label: Large}")


@pytest.fixture
def compiles(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every in-process compilation of ``usecases.compiled_models.prepare`` (the job's)."""
    seen: list[str] = []
    original = usecases.compiled_models._compile

    def spy(catalog: Any, product: Any, *args: Any) -> Any:
        seen.append(product.code)
        return original(catalog, product, *args)

    monkeypatch.setattr(usecases.compiled_models, "_compile", spy)
    return seen


def _draft(session: Session, text: str = BOXES) -> int:
    info = import_catalog(session, load_catalog_text(text), source="boxes.yaml")
    session.commit()
    return info.number


def _rows(session: Session) -> list[tuple[str, str, str | None]]:
    session.commit()  # a new read transaction: what the jobs committed since
    return [(r.product_code, r.status, r.detail) for r in session.scalars(select(CompiledModelRecord))]


def test_publishing_compiles_each_model_once_and_the_job_finds_it_stored(
    stub_jobs: Jobs, db: Session, compiles: list[str]
) -> None:
    hook_publishing()
    published = publish_checked(db, "boxes", number=_draft(db), actor="test")
    db.commit()
    assert published.compiled == ("box",)  # the guard's compilation, stored
    assert stub_jobs.broker.queues["models"].qsize() == 1
    run_jobs(stub_jobs)
    assert compiles == []  # compile-on-publish found the artifact: nothing compiled again
    assert [(code, status) for code, status, _ in _rows(db)] == [("box", "ready")]
    caches = ModelCaches(artifacts=ArtifactStore(lambda: Session(db.get_bind(), expire_on_commit=False)))
    loaded = get_configurator(load_catalog_text(BOXES), "box", published.info.content_hash, caches=caches)
    assert caches.artifact_loads == 1 and caches.compiles == 0
    assert loaded.count([]) == 9  # 2 sizes x lid x 3 widths, without the 3 large boxes with no lid


def test_a_draft_checked_at_upload_is_checked_again_when_published_and_never_compiled_by_the_job(
    stub_jobs: Jobs, db: Session, compiles: list[str]
) -> None:
    catalog = load_catalog_text(BOXES)
    assert check_catalog_compiles(catalog, session=db).compiled == ("box",)  # the upload's guard
    number = _draft(db)
    # Publishing holds the budget in force (the upload's artifact may come from a more generous one):
    # the guard compiles again and replaces the artifact; the compile job finds it ready.
    published = publish_checked(db, "boxes", number=number, actor="test")
    db.commit()
    assert published.compiled == ("box",)
    run_jobs(stub_jobs)
    assert compiles == []
    assert [(code, status) for code, status, _ in _rows(db)] == [("box", "ready")]


def test_a_model_over_the_request_budget_is_published_preparing_and_compiled_by_the_job(
    stub_jobs: Jobs, db: Session, settings: dict[str, Any], compiles: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    hook_publishing()
    settings.update(SOLVER_BACKEND="mdd", COMPILE_BUDGET_S=1e-9)  # no request can compile it in time
    published = publish_checked(db, "boxes", number=_draft(db), actor="test")
    db.commit()
    assert published.deferred == ("box",) and published.compiled == ()
    assert _rows(db) == [("box", "preparing", QUEUED)]
    caches = ModelCaches(artifacts=ArtifactStore(lambda: Session(db.get_bind(), expire_on_commit=False)))
    with pytest.raises(ModelPreparing):  # 503 model_preparing, never a compile in the request
        get_configurator(load_catalog_text(BOXES), "box", published.info.content_hash, caches=caches)
    assert caches.compiles == 0

    monkeypatch.setenv("C2M_SOLVER_BACKEND", "mdd")
    install_compile_settings()  # the worker's settings: the same backend, the job's time budget
    run_jobs(stub_jobs)
    assert stub_jobs.failures.recent(stub_jobs.broker) == []
    assert compiles == []  # compiled in the job's capped child process, never in the worker itself
    assert [(code, status) for code, status, _ in _rows(db)] == [("box", "ready")]
    assert db.scalars(select(CompiledModelRecord.attempts)).one() == 1
    loaded = get_configurator(load_catalog_text(BOXES), "box", published.info.content_hash, caches=caches)
    assert caches.artifact_loads == 1 and caches.compiles == 0 and loaded.backend.name == "mdd"


def test_without_a_job_engine_a_model_over_the_budget_is_still_refused(
    jobs_db: str, db: Session, settings: dict[str, Any]
) -> None:
    from usecases.compile_guard import CatalogTooComplex

    hook_publishing()
    settings.update(SOLVER_BACKEND="mdd", COMPILE_BUDGET_S=1e-9)
    with pytest.raises(CatalogTooComplex, match="time budget"):
        publish_checked(db, "boxes", number=_draft(db), actor="test")


def test_a_check_job_stores_its_report_and_asking_again_reuses_it(stub_jobs: Jobs, db: Session) -> None:
    number = _draft(db)
    report, new = request_check(db, "boxes", requested_by="test")
    db.commit()
    assert new and report.status == "queued" and report.version == number and report.base is None
    send_report(report.id)
    assert request_check(db, "boxes")[1] is False  # queued: not asked twice
    status = jobs_status(db, stub_jobs)
    assert next(q for q in status.queues if q.name == "reports").queued == 1
    run_jobs(stub_jobs)
    db.commit()  # a new read transaction: what the job committed
    done = get_report(db, report.id)
    assert done.status == "done" and done.attempts == 1 and done.error is None
    assert done.result is not None and done.result["publishable"] is True and done.result["errors"] == 0
    assert [p["code"] for p in done.result["products"]] == ["box"]
    same, new = request_check(db, "boxes")  # done: the stored report, no new job
    assert (same.id, same.status, new) == (report.id, "done", False)
    again, new = request_check(db, "boxes", again=True)
    assert new and again.status == "queued"


def test_a_diff_job_stores_the_diff_and_its_text(stub_jobs: Jobs, db: Session) -> None:
    hook_publishing()
    publish_checked(db, "boxes", number=_draft(db), actor="test")
    db.commit()
    v2 = _draft(db, BOXES_V2)
    report, new = request_diff(db, "boxes", 1, v2, requested_by="test")
    db.commit()
    send_report(report.id)
    run_jobs(stub_jobs)
    db.commit()  # a new read transaction: what the job committed
    done = get_report(db, report.id)
    assert done.status == "done", done.error
    assert done.result is not None
    (box,) = done.result["products"]
    assert box["product"] == "box" and box["price_changes"]
    assert any("price changes" in line for line in done.result["lines"])
    assert [r.id for r in list_reports(db, code="boxes")] == [report.id]


def test_a_failing_report_is_queued_with_its_error_then_failed_after_the_last_attempt(db: Session) -> None:
    number = _draft(db)
    report, _ = request_check(db, "boxes")
    db.commit()
    row = db.get(CatalogReportRecord, report.id)
    assert row is not None
    row.version_number = number + 5  # the version is gone: a refusal no retry helps
    db.commit()
    with pytest.raises(Exception, match="version"):
        run_report(db, report.id, owner="job:a", final_attempt=False)
    failed = get_report(db, report.id)
    assert failed.status == "failed" and "version" in (failed.error or "")


def test_a_redelivered_report_job_takes_its_row_over_and_another_job_leaves_it(db: Session) -> None:
    _draft(db)
    report, _ = request_check(db, "boxes")
    db.commit()
    row = db.get(CatalogReportRecord, report.id)
    assert row is not None
    row.status, row.owner, row.started_at = "running", "job:first", datetime.now(UTC)  # its worker died
    db.commit()
    assert run_report(db, report.id, owner="job:other").status == "running"  # not run twice at once
    done = run_report(db, report.id, owner="job:first")  # the same message, redelivered
    assert done.status == "done" and done.attempts == 1
    assert run_report(db, report.id, owner="job:third").status == "done"  # done: nothing runs again


def test_the_status_shows_no_worker_with_what_waits_then_the_worker_alive(stub_jobs: Jobs, db: Session) -> None:
    forget_all_in_memory()
    stub_jobs.cleanup.send()
    status = engine_status(stub_jobs)
    assert status.health == "no_worker" and status.queued == 1
    assert status.oldest_queued_s is not None and status.oldest_queued_s >= 0
    assert "no job worker is alive" in (status.problem() or "")
    assert status.summary()["workers_alive"] == 0
    beat = WorkerHeartbeat(stub_jobs.settings.namespace, 0.1, ("models",))
    beat.after_worker_boot(stub_jobs.broker, None)
    try:
        status = engine_status(stub_jobs)
        assert status.health == "ok" and len(status.workers) == 1 and status.problem() is None
        assert status.workers[0].queues == ("models",)
    finally:
        beat.before_worker_shutdown(stub_jobs.broker, None)
    assert engine_status(stub_jobs).workers == ()  # a clean stop removes the worker at once
