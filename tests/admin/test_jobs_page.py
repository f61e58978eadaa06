"""The workspace's jobs page: the job engine's queues and failures, the webhook outbox, in English and
in 简体中文; given-up webhook events can be queued again by an admin."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import update
from sqlalchemy.orm import Session, sessionmaker

import jobs.engine
from jobs.engine import Jobs
from jobs.settings import JobSettings
from tests.admin.conftest import post
from tests.admin.test_translations import DATA, ENGLISH, _Text
from usecases.outbox import enqueue
from usecases.records import OutboxEvent


@pytest.fixture
def stub_jobs() -> Iterator[Jobs]:
    engine = jobs.engine.install(jobs.engine.build_broker("stub://", JobSettings.from_env()))
    yield engine
    engine.broker.flush_all()
    engine.broker.close()
    jobs.engine.reset()


@pytest.fixture
def given_up(factory: sessionmaker[Session]) -> str:
    """One webhook event given up after its attempts."""
    with factory() as session:
        row = enqueue(session, "order.created", {"n": 1})
        session.commit()
        session.execute(
            update(OutboxEvent)
            .where(OutboxEvent.id == row.id)
            .values(failed_at=row.created_at, attempts=8, last_error="endpoint 1: HTTP 503")
        )
        session.commit()
        return row.event_id


def test_jobs_page_shows_queues_failures_and_the_outbox(
    app: Flask, login: Callable[[str], FlaskClient], stub_jobs: Jobs, given_up: str
) -> None:
    stub_jobs.prepare_version.send("boxes", 1)
    stub_jobs.failures.memory.appendleft(
        '{"message_id": "m1", "queue": "models", "actor": "prepare_version", "args": ["nope", 3], '
        '"error": "CatalogNotFound: catalog \'nope\' not found", "retries": 0, "given_up": true, "at": 0}'
    )
    html = login("viewer").get("/admin/jobs").get_data(as_text=True)
    assert '<td><code>models</code></td><td class="num">1</td>' in html  # one compile job waiting
    assert "prepare_version(nope, 3)" in html and "CatalogNotFound" in html and "given up" in html
    assert given_up in html and "endpoint 1: HTTP 503" in html
    assert "Retry the given-up events" not in html  # viewers see, admins act


def test_jobs_page_without_a_job_engine_says_how_to_configure_one(
    login: Callable[[str], FlaskClient], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("C2M_BROKER_URL", raising=False)
    monkeypatch.delenv("C2M_REDIS_URL", raising=False)
    jobs.engine.reset()
    html = login("viewer").get("/admin/jobs").get_data(as_text=True)
    assert "No job engine is configured" in html and "C2M_BROKER_URL" in html
    assert 'id="outbox"' in html


def test_jobs_page_in_chinese_has_no_english_sentences(
    login: Callable[[str], FlaskClient], stub_jobs: Jobs, given_up: str
) -> None:
    response = login("admin").get("/admin/jobs?lang=zh_CN")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "后台任务" in html and "重试已放弃的事件" in html
    parser = _Text()
    parser.feed(html)
    english = [t for t in parser.nodes if ENGLISH.search(t) and not any(d in t for d in DATA)]
    assert not english, english


def test_an_admin_queues_the_given_up_webhooks_again(
    login: Callable[[str], FlaskClient], factory: sessionmaker[Session], given_up: str
) -> None:
    assert post(login("editor"), "/admin/jobs/webhooks/retry").status_code == 403
    response = post(login("admin"), "/admin/jobs/webhooks/retry", follow_redirects=True)
    assert response.status_code == 200
    assert "1 webhook event(s) queued again." in response.get_data(as_text=True)
    with factory() as session:
        row = session.query(OutboxEvent).filter_by(event_id=given_up).one()
        assert row.failed_at is None and row.attempts == 0


def test_jobs_page_says_no_worker_is_alive_with_what_waits(
    login: Callable[[str], FlaskClient], stub_jobs: Jobs
) -> None:
    from jobs.heartbeat import WorkerHeartbeat, forget_all_in_memory

    forget_all_in_memory()
    stub_jobs.cleanup.send()
    html = login("viewer").get("/admin/jobs").get_data(as_text=True)
    assert 'id="jobs-problem"' in html and "No job worker is alive" in html and "1 job(s) waiting" in html
    assert "No worker alive." in html
    beat = WorkerHeartbeat(stub_jobs.settings.namespace, 5.0, ("models", "reports"))
    beat.after_worker_boot(stub_jobs.broker, None)
    try:
        html = login("viewer").get("/admin/jobs").get_data(as_text=True)
    finally:
        beat.before_worker_shutdown(stub_jobs.broker, None)
    assert 'id="jobs-problem"' not in html and "models, reports" in html


def test_an_editor_queues_a_check_job_and_sees_it_queued_then_done(
    app: Flask, login: Callable[[str], FlaskClient], stub_jobs: Jobs, factory: sessionmaker[Session],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from tests.jobs.conftest import run_jobs

    assert post(login("viewer"), "/admin/catalogs/boxes/checks/job").status_code == 403
    editor = login("editor")
    response = post(editor, "/admin/catalogs/boxes/checks/job")
    assert response.status_code == 303
    page = editor.get(response.headers["Location"]).get_data(as_text=True)
    assert 'id="report-status">queued<' in page and "check of boxes v1" in page
    assert "check of boxes v1" in editor.get("/admin/jobs").get_data(as_text=True)
    monkeypatch.setenv("C2M_DATABASE_URL", app.config["DATABASE_URL"])
    run_jobs(stub_jobs)
    page = editor.get(response.headers["Location"]).get_data(as_text=True)
    assert 'id="report-status">done<' in page and 'id="report-findings"' in page
    again = post(editor, "/admin/catalogs/boxes/checks/job", follow_redirects=True).get_data(as_text=True)
    assert "Already done: check of boxes v1." in again  # the stored report, not a second job


def test_without_a_job_engine_a_check_job_is_not_queued_and_the_page_says_so(
    login: Callable[[str], FlaskClient], monkeypatch: pytest.MonkeyPatch, factory: sessionmaker[Session]
) -> None:
    from usecases.check_reports import list_reports

    monkeypatch.delenv("C2M_BROKER_URL", raising=False)
    monkeypatch.delenv("C2M_REDIS_URL", raising=False)
    jobs.engine.reset()
    page = post(login("editor"), "/admin/catalogs/boxes/checks/job", follow_redirects=True).get_data(as_text=True)
    assert "Not queued: no job engine is configured" in page  # said, and nothing stored to wait forever
    with factory() as session:
        assert list_reports(session) == []


def test_the_catalog_page_shows_a_model_left_to_the_compile_job_as_preparing(
    login: Callable[[str], FlaskClient], factory: sessionmaker[Session]
) -> None:
    from catalog.services import load_version
    from usecases.compiled_models import QUEUED, mark_queued

    with factory() as session:
        info = load_version(session, "boxes")[0]
        mark_queued(session, info.content_hash, ["box"], "auto")
        session.commit()
    html = login("viewer").get("/admin/catalogs/boxes").get_data(as_text=True)
    assert 'id="compiled-models"' in html and 'class="model-preparing"' in html
    assert "preparing: a compile job stores it" in html and QUEUED in html


def test_readyz_reports_the_job_engine_without_a_worker_and_with_one(app: Flask, stub_jobs: Jobs) -> None:
    from jobs.heartbeat import WorkerHeartbeat, forget_all_in_memory

    forget_all_in_memory()
    stub_jobs.prepare_version.send("boxes", 1)
    response = app.test_client().get("/readyz")
    assert response.status_code == 200  # this process serves requests; the jobs wait in the broker
    figures = response.get_json()["jobs"]
    assert figures["status"] == "no_worker" and figures["workers_alive"] == 0 and figures["queued"] == 1
    assert figures["oldest_queued_s"] is not None and "no job worker is alive" in figures["problem"]
    beat = WorkerHeartbeat(stub_jobs.settings.namespace, 5.0, ("models",))
    beat.after_worker_boot(stub_jobs.broker, None)
    try:
        figures = app.test_client().get("/readyz").get_json()["jobs"]
    finally:
        beat.before_worker_shutdown(stub_jobs.broker, None)
    assert figures["status"] == "ok" and figures["workers_alive"] == 1 and figures["problem"] is None


def test_readyz_without_a_job_engine_says_so(app: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("C2M_BROKER_URL", raising=False)
    monkeypatch.delenv("C2M_REDIS_URL", raising=False)
    jobs.engine.reset()
    figures = app.test_client().get("/readyz").get_json()["jobs"]
    assert figures["status"] == "not_configured" and figures["workers_alive"] == 0
