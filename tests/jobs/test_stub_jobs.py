"""The jobs on an in-process broker (Dramatiq's ``StubBroker`` and a real Dramatiq worker), against
a real webhook receiver and the real database: sweeping, one delivery per event, duplicate jobs,
retries, a lost message, compile-on-publish, cleanup, failures and the status."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import dramatiq
from click.testing import CliRunner
from sqlalchemy import select
from sqlalchemy.orm import Session

from catalog.db import make_engine
from catalog.files import load_catalog_text
from catalog.services import import_catalog
from jobs.engine import Jobs
from jobs.status import jobs_status
from jobs.sweeper import sweep_once
from tests.admin.conftest import BOXES
from tests.jobs.conftest import Receiver, add_events, run_jobs
from usecases import catalogs
from usecases.outbox import schedule_due
from usecases.publishing import publish_checked
from usecases.records import OutboxEvent


def events(url: str) -> list[OutboxEvent]:
    engine = make_engine(url)
    try:
        with Session(engine) as session:
            return list(session.scalars(select(OutboxEvent).order_by(OutboxEvent.id)))
    finally:
        engine.dispose()


def test_sweep_sends_one_job_per_due_event_and_each_is_delivered_once(
    stub_jobs: Jobs, jobs_db: str, receiver: Receiver
) -> None:
    ids = add_events(jobs_db, receiver, 5)
    assert sweep_once(stub_jobs) == 5
    assert sweep_once(stub_jobs) == 0  # claimed: a second sweeper (or sweep) sends nothing
    run_jobs(stub_jobs)
    assert sorted(receiver.deliveries) == sorted(ids)
    assert set(receiver.deliveries.values()) == {1}
    rows = events(jobs_db)
    assert all(r.delivered_at is not None and r.attempts == 1 for r in rows)


def test_a_job_sent_twice_delivers_once(stub_jobs: Jobs, jobs_db: str, receiver: Receiver) -> None:
    (event_id,) = add_events(jobs_db, receiver, 1)
    engine = make_engine(jobs_db)
    try:
        with Session(engine) as session:
            ((row_id, lease),) = schedule_due(session, lease=stub_jobs.settings.webhook_lease)
    finally:
        engine.dispose()
    for _ in range(2):  # the broker redelivering the same message
        stub_jobs.deliver_webhook.send(row_id, lease.isoformat())
    run_jobs(stub_jobs)
    assert receiver.deliveries == {event_id: 1}


def test_a_failing_receiver_is_retried_later_by_a_delayed_job(
    stub_jobs: Jobs, jobs_db: str, receiver: Receiver
) -> None:
    receiver.status = 503
    (event_id,) = add_events(jobs_db, receiver, 1)
    sent: list[object] = []

    class Sent(dramatiq.Middleware):
        def after_enqueue(self, broker: object, message: object, delay: int | None) -> None:
            sent.append(delay)

    stub_jobs.broker.add_middleware(Sent())
    engine = make_engine(jobs_db)
    try:
        with Session(engine) as session:
            ((row_id, lease),) = schedule_due(session, lease=stub_jobs.settings.webhook_lease)
    finally:
        engine.dispose()
    stub_jobs.deliver_webhook(row_id, lease.isoformat())  # the job, run here (no worker takes the retry)
    (row,) = events(jobs_db)
    assert row.attempts == 1 and row.delivered_at is None and row.last_error == "endpoint 1: HTTP 503"
    assert row.next_attempt_at > datetime.now(UTC)  # backoff
    engine = make_engine(jobs_db)
    try:
        with Session(engine) as session:
            counts = {q.name: q for q in jobs_status(session, stub_jobs).queues}
    finally:
        engine.dispose()
    assert counts["webhooks"].delayed == 1  # the next attempt waits in the delay queue
    assert isinstance(sent[0], int) and 14_000 <= sent[0] <= 30_000  # the outbox's backoff
    assert receiver.deliveries == {event_id: 1}


def test_a_lost_message_is_sent_again_by_the_sweeper_once_its_lease_ran_out(
    stub_jobs: Jobs, jobs_db: str, receiver: Receiver
) -> None:
    (event_id,) = add_events(jobs_db, receiver, 1)
    assert sweep_once(stub_jobs) == 1
    stub_jobs.broker.flush_all()  # the broker lost the message
    assert sweep_once(stub_jobs) == 0  # still leased
    time.sleep(stub_jobs.settings.webhook_lease.total_seconds() + 0.2)
    assert sweep_once(stub_jobs) == 1
    run_jobs(stub_jobs)
    assert receiver.deliveries == {event_id: 1}
    assert events(jobs_db)[0].delivered_at is not None


def test_publishing_queues_compile_on_publish_which_compiles_the_models(stub_jobs: Jobs, jobs_db: str) -> None:
    from jobs.engine import hook_publishing

    hook_publishing()
    engine = make_engine(jobs_db)
    try:
        with Session(engine) as session:
            info = import_catalog(session, load_catalog_text(BOXES), source="boxes.yaml")
            session.commit()
            publish_checked(session, "boxes", number=info.number, actor="test")
            assert stub_jobs.broker.queues["models"].qsize() == 0  # not before the commit
            session.commit()
    finally:
        engine.dispose()
    assert stub_jobs.broker.queues["models"].qsize() == 1
    catalogs.clear_caches()
    run_jobs(stub_jobs)
    assert catalogs.cache_info()["configurators"] == 1  # the box model, compiled by the job


def test_a_failing_job_is_listed_with_its_error_and_dead_lettered(stub_jobs: Jobs, jobs_db: str) -> None:
    stub_jobs.prepare_version.send("no-such-catalog", 1)  # not retried: no such catalog
    run_jobs(stub_jobs)
    engine = make_engine(jobs_db)
    try:
        with Session(engine) as session:
            status = jobs_status(session, stub_jobs)
    finally:
        engine.dispose()
    models = next(q for q in status.queues if q.name == "models")
    assert models.dead == 1 and models.queued == 0
    (failure,) = status.failures
    assert failure.actor == "prepare_version" and failure.args == ["no-such-catalog", 1] and failure.given_up
    assert "no-such-catalog" in failure.error


def test_cleanup_job_runs_the_cleanup(stub_jobs: Jobs, jobs_db: str) -> None:
    stub_jobs.cleanup.send()
    run_jobs(stub_jobs)
    engine = make_engine(jobs_db)
    try:
        with Session(engine) as session:
            status = jobs_status(session, stub_jobs)
    finally:
        engine.dispose()
    assert status.failures == ()
    assert all(q.queued == 0 and q.dead == 0 for q in status.queues)


def test_worker_status_without_a_job_engine_says_so_and_shows_the_outbox(
    jobs_db: str, receiver: Receiver, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    from web.commands.worker import jobs_group, worker_command

    monkeypatch.delenv("C2M_BROKER_URL", raising=False)
    monkeypatch.delenv("C2M_REDIS_URL", raising=False)
    add_events(jobs_db, receiver, 2)
    for command, args in ((worker_command, ["--status", "--url", jobs_db]), (jobs_group, ["--url", jobs_db])):
        result = CliRunner().invoke(command, args)
        assert result.exit_code == 0, result.output
        assert "job engine: not configured" in result.output
        assert "pending: 2  delivered: 0  given up: 0" in result.output


def test_worker_refuses_a_broker_url_it_cannot_use(jobs_db: str, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from web.commands.worker import worker_command

    monkeypatch.setenv("C2M_BROKER_URL", "amqp://guest:guest@127.0.0.1:5672/")
    result = CliRunner().invoke(worker_command, ["--url", jobs_db])
    assert result.exit_code == 2
    assert "C2M_BROKER_URL must be a redis:// URL" in result.output


def test_a_publish_stands_when_the_job_broker_is_down(jobs_db: str, monkeypatch, caplog) -> None:  # type: ignore[no-untyped-def]
    import jobs.engine
    from jobs.engine import hook_publishing

    monkeypatch.setenv("C2M_BROKER_URL", "redis://127.0.0.1:1/0")  # nothing listens there
    jobs.engine.reset()
    hook_publishing()
    engine = make_engine(jobs_db)
    try:
        with Session(engine) as session:
            info = import_catalog(session, load_catalog_text(BOXES), source="boxes.yaml")
            session.commit()
            published = publish_checked(session, "boxes", number=info.number, actor="test")
            session.commit()  # the hook fails after the commit: logged, the version stays published
        with Session(engine) as session:
            from catalog.services import list_versions

            assert [v.status.value for v in list_versions(session, "boxes")] == ["published"]
    finally:
        engine.dispose()
        jobs.engine.reset()
    assert published.info.number == info.number
    assert "the after-publish hook failed" in caplog.text
