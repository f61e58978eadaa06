"""The compile job under its limits, and models left "preparing" by a lost job: on Dramatiq's
``StubBroker`` with a real Dramatiq worker, against the real database.

- a compile job runs each model in a child process capped in address space
  (``C2M_COMPILE_MEMORY_MB``) and time (``C2M_COMPILE_JOB_BUDGET_S``): a model over either ends the
  job failed and visible (the failure log, ``c2m jobs``), its row ``failed`` naming the product, the
  model key and the limit, and requests answer "too large" instead of "preparing";
- the sweeper sends the compile job again for a model preparing longer than
  ``C2M_COMPILE_RESCUE_AFTER_S`` whose job the broker lost, counts the attempts, and marks the model
  failed once ``C2M_COMPILE_JOB_ATTEMPTS`` are spent."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from catalog.files import load_catalog_text
from catalog.services import import_catalog
from jobs.engine import Jobs, hook_publishing
from jobs.settings import JobSettings, install_compile_settings
from jobs.status import jobs_status
from jobs.sweeper import live_compile_jobs, rescue_models
from tests.admin.conftest import BOXES
from tests.jobs.conftest import run_jobs
from usecases.catalogs import ModelCaches, ModelTooLarge, get_configurator
from usecases.compiled_models import QUEUED, ArtifactStore, ModelPreparing
from usecases.publishing import publish_checked
from usecases.records import CompiledModelRecord


def _publish_preparing(db: Session, settings: dict[str, Any]) -> str:
    """Publish the boxes with a request budget no compile meets: the model is left to the job."""
    hook_publishing()
    settings.update(SOLVER_BACKEND="mdd", COMPILE_BUDGET_S=1e-9)
    info = import_catalog(db, load_catalog_text(BOXES), source="boxes.yaml")
    db.commit()
    published = publish_checked(db, "boxes", number=info.number, actor="test")
    db.commit()
    assert published.deferred == ("box",)
    return published.info.content_hash


def _row(db: Session) -> CompiledModelRecord:
    db.commit()
    return db.scalars(select(CompiledModelRecord).execution_options(populate_existing=True)).one()


def _request(db: Session, content_hash: str) -> Any:
    caches = ModelCaches(artifacts=ArtifactStore(lambda: Session(db.get_bind(), expire_on_commit=False)))
    return get_configurator(load_catalog_text(BOXES), "box", content_hash, backend="mdd", caches=caches)


def _jobs_cli(url: str) -> str:
    from web.commands.worker import jobs_group

    result = CliRunner().invoke(jobs_group, ["--url", url])
    assert result.exit_code == 0, result.output
    return result.output


@pytest.mark.parametrize(
    ("env", "limit"),
    [
        ({"C2M_COMPILE_MEMORY_MB": "64"}, "memory budget of 64 MB"),
        ({"C2M_COMPILE_JOB_BUDGET_S": "1e-9"}, "time budget of 1e-09 s"),
    ],
    ids=["memory", "time"],
)
def test_a_compile_over_the_job_limits_ends_the_job_failed_and_the_model_too_large(
    stub_jobs: Jobs, jobs_db: str, db: Session, settings: dict[str, Any], monkeypatch: pytest.MonkeyPatch,
    env: dict[str, str], limit: str,
) -> None:
    content_hash = _publish_preparing(db, settings)
    monkeypatch.setenv("C2M_SOLVER_BACKEND", "mdd")
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    install_compile_settings()  # the worker's settings
    run_jobs(stub_jobs)

    row = _row(db)
    key = f"{content_hash}:box"
    assert row.status == "failed" and row.attempts == 1 and row.artifact is None
    assert limit in (row.detail or "") and key in (row.detail or "")
    (failure,) = stub_jobs.failures.recent(stub_jobs.broker)  # the job failed, visibly, not retried
    assert failure["actor"] == "prepare_version" and failure["given_up"]
    assert "ModelsNotCompiled" in failure["error"] and "'box'" in failure["error"] and limit in failure["error"]
    with pytest.raises(ModelTooLarge, match=limit):  # "too large", not "preparing" for ever
        _request(db, content_hash)
    shown = _jobs_cli(jobs_db)
    assert "models preparing: 0  failed: 1" in shown
    assert f"FAILED    box (boxes v1)  model {key}  attempts=1" in shown and limit in shown


def test_within_the_limits_the_job_compiles_in_its_child_and_the_worker_stays_up(
    stub_jobs: Jobs, db: Session, settings: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    content_hash = _publish_preparing(db, settings)
    monkeypatch.setenv("C2M_SOLVER_BACKEND", "mdd")
    monkeypatch.setenv("C2M_COMPILE_MEMORY_MB", "4096")
    install_compile_settings()
    run_jobs(stub_jobs)
    row = _row(db)
    assert (row.status, row.compiled_backend, row.attempts, row.detail) == ("ready", "mdd", 1, None)
    assert stub_jobs.failures.recent(stub_jobs.broker) == []
    assert _request(db, content_hash).count([]) == 9


def _lose(queue: Any) -> None:
    """Drop every message of a stub queue (as a broker that lost them)."""
    while not queue.empty():
        queue.get_nowait()
        queue.task_done()


def _age(db: Session, seconds: float) -> None:
    db.execute(update(CompiledModelRecord).values(updated_at=datetime.now(UTC) - timedelta(seconds=seconds)))
    db.commit()


def test_a_lost_compile_job_is_sent_again_by_the_sweeper_and_the_model_compiled(
    stub_jobs: Jobs, db: Session, settings: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    content_hash = _publish_preparing(db, settings)
    queue = stub_jobs.broker.queues["models"]
    assert live_compile_jobs(stub_jobs.broker)[1] == {("boxes", 1)}
    _lose(queue)  # the broker lost the message
    assert live_compile_jobs(stub_jobs.broker) == (set(), set())

    assert rescue_models(stub_jobs) == {"queued": 0, "failed": 0}  # not old enough yet
    _age(db, stub_jobs.settings.preparing_stale + 1)
    assert rescue_models(stub_jobs) == {"queued": 1, "failed": 0}
    assert rescue_models(stub_jobs) == {"queued": 0, "failed": 0}  # its marker is fresh again
    _age(db, stub_jobs.settings.preparing_stale + 1)
    assert rescue_models(stub_jobs) == {"queued": 0, "failed": 0}  # the job sent is in the queue
    assert queue.qsize() == 1
    assert _row(db).detail == QUEUED
    with pytest.raises(ModelPreparing):
        _request(db, content_hash)

    monkeypatch.setenv("C2M_SOLVER_BACKEND", "mdd")
    install_compile_settings()
    assert _row(db).attempts == 1  # the lost job counts as an attempt
    run_jobs(stub_jobs)
    row = _row(db)
    assert (row.status, row.attempts) == ("ready", 2)


def test_a_message_lost_every_time_ends_the_model_failed(
    stub_jobs: Jobs, db: Session, settings: dict[str, Any]
) -> None:
    _publish_preparing(db, settings)
    attempts = stub_jobs.settings.compile_attempts
    for _ in range(attempts - 1):
        _lose(stub_jobs.broker.queues["models"])
        _age(db, stub_jobs.settings.preparing_stale + 1)
        assert rescue_models(stub_jobs) == {"queued": 1, "failed": 0}
    _lose(stub_jobs.broker.queues["models"])
    _age(db, stub_jobs.settings.preparing_stale + 1)
    assert rescue_models(stub_jobs) == {"queued": 0, "failed": 1}
    row = _row(db)
    assert row.status == "failed" and row.attempts == attempts and "gave up" in (row.detail or "")


def test_a_job_lost_every_time_ends_the_model_failed_after_its_attempts(
    stub_jobs: Jobs, jobs_db: str, db: Session, settings: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    content_hash = _publish_preparing(db, settings)
    _lose(stub_jobs.broker.queues["models"])
    attempts = JobSettings.from_env().compile_attempts
    # A job took the marker and was lost each time (its worker killed, its message gone).
    db.execute(update(CompiledModelRecord).values(detail="job:lost-message", attempts=attempts))
    db.commit()
    _age(db, stub_jobs.settings.preparing_stale + 1)
    status = jobs_status(db, stub_jobs)
    (model,) = status.models
    assert (model.status, model.owner, model.attempts, model.versions) == ("preparing", "lost-message", attempts,
                                                                           (("boxes", 1),))
    assert rescue_models(stub_jobs) == {"queued": 0, "failed": 1}
    row = _row(db)
    assert row.status == "failed" and f"gave up after {attempts} attempt(s)" in (row.detail or "")
    with pytest.raises(ModelTooLarge, match="gave up"):
        _request(db, content_hash)
    assert "models preparing: 0  failed: 1" in _jobs_cli(jobs_db)

    # The operator asks again (`c2m jobs prepare`): fresh attempts, compiled.
    monkeypatch.setenv("C2M_SOLVER_BACKEND", "mdd")
    install_compile_settings()
    stub_jobs.prepare_version.send("boxes", 1, True)
    run_jobs(stub_jobs)
    row = _row(db)
    assert (row.status, row.attempts) == ("ready", 1)


def test_a_redelivered_job_counts_an_attempt_and_stops_at_the_limit(
    stub_jobs: Jobs, db: Session, settings: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A job whose worker died is redelivered with the same message id: it takes its own marker over
    and counts one more attempt; at the limit the model is failed instead of compiled again."""
    from jobs.actors import prepare

    _publish_preparing(db, settings)
    monkeypatch.setenv("C2M_COMPILE_JOB_ATTEMPTS", "2")
    db.execute(update(CompiledModelRecord).values(attempts=2))
    db.commit()
    with pytest.raises(Exception, match="gave up after 2 attempt"):
        prepare(db, "boxes", 1)
    assert _row(db).status == "failed"


def test_a_compile_stopped_by_a_shutdown_signal_is_not_a_failure_of_the_model(
    stub_jobs: Jobs, db: Session, settings: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """SIGTERM reaches the compile child with its worker's process group (a graceful shutdown): the
    model goes back to "queued for a compile job" for the retry, it is not recorded as too large."""
    import signal
    import subprocess
    import threading

    import usecases.compile_guard as guard
    from usecases.compile_guard import CompileBudget, CompileInterrupted, prepare_capped

    content_hash = _publish_preparing(db, settings)
    children: list[subprocess.Popen[bytes]] = []
    real_popen = subprocess.Popen

    def recording(*args: Any, **kwargs: Any) -> subprocess.Popen[bytes]:
        child = real_popen(*args, **kwargs)
        children.append(child)
        return child

    monkeypatch.setattr(guard.subprocess, "Popen", recording)
    outcome: list[BaseException | None] = []

    def run() -> None:
        try:
            prepare_capped(db, load_catalog_text(BOXES), content_hash, CompileBudget(backend="mdd"), owner="job:x")
            outcome.append(None)
        except BaseException as exc:  # noqa: BLE001 - handed to the test thread
            outcome.append(exc)

    thread = threading.Thread(target=run)
    thread.start()
    deadline = datetime.now(UTC) + timedelta(seconds=30)
    while not children:
        assert datetime.now(UTC) < deadline
        threading.Event().wait(0.01)
    children[0].send_signal(signal.SIGTERM)  # before it could have compiled (interpreter start-up)
    thread.join(60)
    assert isinstance(outcome[0], CompileInterrupted), outcome
    row = _row(db)
    assert (row.status, row.detail, row.attempts) == ("preparing", QUEUED, 1)
