"""The workspace's check and version-diff pages with a job engine: they show the stored report, or
send its job and show it queued (refreshing) until done, and never compute the check or the
semantic diff in the request; without a job engine they compute in the request as before. And the
jobs page lists the compiled models still preparing or failed, in English and in 简体中文."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

import jobs.db
import jobs.engine
import web.admin.views
from catalog.files import load_catalog_text
from catalog.services import import_catalog
from jobs.engine import Jobs
from jobs.settings import JobSettings
from tests.admin.conftest import BOXES
from tests.admin.test_translations import DATA, ENGLISH, _Text
from tests.jobs.conftest import run_jobs
from usecases.records import CatalogReportRecord, CompiledModelRecord

REFRESH = 'data-job-state="queued"'  # admin.js asks for the page again until the state changes
PRICIER = BOXES.replace('- {id: large, when: size == large, add: "5.00", label: Large}',
                        '- {id: large, when: size == large, add: "7.00", label: Large}')


@pytest.fixture
def stub_jobs(app: Flask, monkeypatch: pytest.MonkeyPatch) -> Iterator[Jobs]:
    monkeypatch.setenv("C2M_DATABASE_URL", app.config["DATABASE_URL"])  # what the jobs run on
    engine = jobs.engine.install(jobs.engine.build_broker("stub://", JobSettings.from_env()))
    yield engine
    engine.broker.flush_all()
    engine.broker.close()
    jobs.engine.reset()
    jobs.db.dispose()


@pytest.fixture
def no_request_compute(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fail the test if the page checks or diffs in the request."""

    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("computed in the request")

    for name in ("check_catalog", "semantic_diff", "affected_records"):
        monkeypatch.setattr(web.admin.views, name, refuse)


def _reports(factory: sessionmaker[Session]) -> list[CatalogReportRecord]:
    with factory() as session:
        return list(session.scalars(select(CatalogReportRecord)))


def test_the_checks_page_shows_the_stored_report_or_queues_its_job(
    login: Callable[[str], FlaskClient], stub_jobs: Jobs, factory: sessionmaker[Session], no_request_compute: None
) -> None:
    viewer = login("viewer")
    response = viewer.get("/admin/catalogs/boxes/checks")
    assert response.status_code == 303 and "/admin/reports/" in response.headers["Location"]
    page = viewer.get(response.headers["Location"]).get_data(as_text=True)
    assert 'id="report-status">queued<' in page and REFRESH in page and "check of boxes v1" in page
    assert stub_jobs.broker.queues["reports"].qsize() == 1
    again = viewer.get("/admin/catalogs/boxes/checks")  # viewed again: the same report, no second job
    assert again.headers["Location"] == response.headers["Location"]
    assert stub_jobs.broker.queues["reports"].qsize() == 1 and len(_reports(factory)) == 1

    run_jobs(stub_jobs)
    page = viewer.get(viewer.get("/admin/catalogs/boxes/checks").headers["Location"]).get_data(as_text=True)
    assert 'id="report-status">done<' in page and REFRESH not in page and 'id="report-findings"' in page
    assert stub_jobs.broker.queues["reports"].qsize() == 0 and len(_reports(factory)) == 1
    chinese = viewer.get(response.headers["Location"] + "?lang=zh_CN").get_data(as_text=True)
    assert "boxes 版本 1 的检查" in chinese and "check of" not in chinese  # the title in the reader's language


def test_a_failed_check_is_shown_failed_on_view_not_run_again(
    login: Callable[[str], FlaskClient], stub_jobs: Jobs, factory: sessionmaker[Session], no_request_compute: None
) -> None:
    viewer = login("viewer")
    location = viewer.get("/admin/catalogs/boxes/checks").headers["Location"]
    with factory() as session:
        row = session.scalars(select(CatalogReportRecord)).one()
        row.status, row.error, row.finished_at = "failed", "MemoryError", datetime.now(UTC)
        session.commit()
    stub_jobs.broker.flush_all()
    assert viewer.get("/admin/catalogs/boxes/checks").headers["Location"] == location
    page = viewer.get(location).get_data(as_text=True)
    assert 'id="report-status">failed<' in page and "MemoryError" in page and REFRESH not in page
    assert stub_jobs.broker.queues["reports"].qsize() == 0  # "Run it again" (an editor) queues it


def test_a_check_whose_job_could_not_be_sent_is_sent_when_viewed_again(
    login: Callable[[str], FlaskClient], stub_jobs: Jobs, factory: sessionmaker[Session],
    no_request_compute: None, monkeypatch: pytest.MonkeyPatch,
) -> None:
    viewer = login("viewer")
    real_send = jobs.engine.send_report

    def broker_away(report_id: int) -> str:
        raise ConnectionError("Redis is away")

    monkeypatch.setattr(jobs.engine, "send_report", broker_away)
    location = viewer.get("/admin/catalogs/boxes/checks").headers["Location"]
    page = viewer.get(location).get_data(as_text=True)
    assert 'id="report-status">failed<' in page and "not queued: ConnectionError: Redis is away" in page
    monkeypatch.setattr(jobs.engine, "send_report", real_send)
    assert viewer.get("/admin/catalogs/boxes/checks").headers["Location"] == location
    assert 'id="report-status">queued<' in viewer.get(location).get_data(as_text=True)
    assert stub_jobs.broker.queues["reports"].qsize() == 1


def _draft(factory: sessionmaker[Session]) -> None:
    with factory() as session:
        import_catalog(session, load_catalog_text(PRICIER), source="boxes.yaml")
        session.commit()


def test_the_diff_page_shows_the_stored_semantic_diff_or_queues_its_job(
    login: Callable[[str], FlaskClient], stub_jobs: Jobs, factory: sessionmaker[Session], no_request_compute: None
) -> None:
    _draft(factory)
    editor = login("editor")
    html = editor.get("/admin/catalogs/boxes/diff").get_data(as_text=True)
    assert 'id="diff-job"' in html and "runs as a background job" in html and REFRESH in html
    assert 'id="semantic-diff"' not in html
    assert 'id="diff-summary"' in html  # the structural summary and the text diff: cheap, still shown
    assert stub_jobs.broker.queues["reports"].qsize() == 1
    editor.get("/admin/catalogs/boxes/diff")
    assert stub_jobs.broker.queues["reports"].qsize() == 1 and len(_reports(factory)) == 1

    run_jobs(stub_jobs)
    html = editor.get("/admin/catalogs/boxes/diff").get_data(as_text=True)
    assert 'id="semantic-diff"' in html and REFRESH not in html and "Computed by a background job" in html
    assert '<tr id="semantic-box" class="status-changed">' in html
    assert "+2.00" in html  # the largest price change, from the stored diff
    assert 'id="affected-summary"' in html and "Run it again" in html


def test_without_a_job_engine_the_pages_compute_in_the_request(
    login: Callable[[str], FlaskClient], factory: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("C2M_BROKER_URL", raising=False)
    monkeypatch.delenv("C2M_REDIS_URL", raising=False)
    jobs.engine.reset()
    _draft(factory)
    editor = login("editor")
    checks = editor.get("/admin/catalogs/boxes/checks")
    assert checks.status_code == 200 and 'id="verdict"' in checks.get_data(as_text=True)
    html = editor.get("/admin/catalogs/boxes/diff").get_data(as_text=True)
    assert 'id="semantic-diff"' in html and 'id="diff-job"' not in html and "+2.00" in html
    assert _reports(factory) == []


def _models(factory: sessionmaker[Session]) -> None:
    from catalog.services import load_version
    from usecases.compiled_models import mark_queued

    with factory() as session:
        info = load_version(session, "boxes")[0]
        mark_queued(session, info.content_hash, ["box"], "auto")
        session.commit()
        row = session.scalars(select(CompiledModelRecord)).one()
        row.status, row.attempts = "failed", 3
        row.detail = "the compile job gave up after 3 attempt(s) (C2M_COMPILE_JOB_ATTEMPTS)"
        session.commit()


def test_the_jobs_page_lists_the_models_failed_with_their_reason_and_attempts(
    login: Callable[[str], FlaskClient], stub_jobs: Jobs, factory: sessionmaker[Session]
) -> None:
    html = login("viewer").get("/admin/jobs").get_data(as_text=True)
    assert 'id="models"' in html and "Every compiled model is ready." in html
    _models(factory)
    html = login("viewer").get("/admin/jobs").get_data(as_text=True)
    assert 'class="model-failed"' in html and "gave up after 3 attempt(s)" in html
    assert '<td class="num">3</td>' in html and "boxes v1" in html


def test_the_jobs_page_models_in_chinese_have_no_english_sentences(
    login: Callable[[str], FlaskClient], stub_jobs: Jobs, factory: sessionmaker[Session]
) -> None:
    _models(factory)
    html = login("viewer").get("/admin/jobs?lang=zh_CN").get_data(as_text=True)
    assert "尚未就绪的编译模型" in html
    parser = _Text()
    parser.feed(html)
    english = [t for t in parser.nodes if ENGLISH.search(t) and not any(d in t for d in DATA)]
    assert not english, english


def test_an_admin_queues_the_compile_of_a_failed_model_again(
    login: Callable[[str], FlaskClient], stub_jobs: Jobs, factory: sessionmaker[Session]
) -> None:
    from tests.admin.conftest import post

    _models(factory)
    assert "Compile again" not in login("editor").get("/admin/jobs").get_data(as_text=True)
    assert post(login("editor"), "/admin/jobs/models/prepare", {"code": "boxes", "number": "1"}).status_code == 403
    admin = login("admin")
    assert "Compile again" in admin.get("/admin/jobs").get_data(as_text=True)
    page = post(admin, "/admin/jobs/models/prepare", {"code": "boxes", "number": "1"}, follow_redirects=True)
    assert "Compile job queued for boxes v1." in page.get_data(as_text=True)
    (message,) = [stub_jobs.broker.queues["models"].get_nowait()]
    from dramatiq.message import Message

    decoded = Message.decode(message)
    assert (decoded.actor_name, decoded.args) == ("prepare_version", ("boxes", 1, True))
    stub_jobs.broker.queues["models"].task_done()
