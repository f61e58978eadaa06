"""A job worker killed with SIGKILL while it runs a catalog check job and a compile job (a model too
large for the request budget, left to the job at publishing), against the real Redis broker and a real
worker process: once a new worker runs, both jobs finish, nothing is lost and nothing is done twice
(one report, one artifact per product). Skipped without Redis (``C2M_TEST_BROKER_URL``)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from catalog.db import make_engine
from tests.jobs.test_kill_job_worker import BROKER_URL, REPO, _group_alive, namespace  # noqa: F401
from usecases.records import CatalogReportRecord, CompiledModelRecord

pytestmark = [pytest.mark.broker, pytest.mark.slow]
WARDROBES = REPO / "catalog" / "demo" / "wardrobes.yaml"


def _cli(args: list[str], env: dict[str, str], timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", "from web.cli import main; main()", *args],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=timeout,
    )


def _worker(env: dict[str, str], db_url: str, log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as out:
        return subprocess.Popen(
            [sys.executable, "-c", "from web.cli import main; main()", "worker", "--url", db_url,
             "--processes", "1", "--threads", "2", "--shutdown-timeout", "10"],
            cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
        )


def _state(db_url: str) -> tuple[list[CompiledModelRecord], list[CatalogReportRecord]]:
    engine = make_engine(db_url)
    try:
        with Session(engine) as session:
            return (list(session.scalars(select(CompiledModelRecord))),
                    list(session.scalars(select(CatalogReportRecord))))
    finally:
        engine.dispose()


def test_kill_9_during_a_check_job_and_a_compile_job_loses_nothing_and_repeats_nothing(
    migrated_url: str, namespace: str, tmp_path: Path  # noqa: F811
) -> None:
    env = {
        **os.environ,
        "C2M_BROKER_URL": BROKER_URL,
        "C2M_JOBS_NAMESPACE": namespace,
        "C2M_SOLVER_BACKEND": "mdd",
        "C2M_JOBS_HEARTBEAT_TIMEOUT_S": "3",
        "C2M_JOBS_HEARTBEAT_EVERY_S": "2",
        "C2M_JOBS_MAINTENANCE_CHANCE": "1000000",  # every command: a dead worker's jobs come back at once
        "C2M_JOBS_SWEEP_S": "0.5",
    }
    # A request could not compile these models (1 ns): publishing leaves them to the compile job.
    published = _cli(["catalog", "import", "--publish", "--url", migrated_url, str(WARDROBES)],
                     {**env, "C2M_COMPILE_BUDGET_S": "1e-9"})
    assert published.returncode == 0, published.stderr + published.stdout
    assert "models PREPARING" in published.stdout
    models, _ = _state(migrated_url)
    products = sorted(m.product_code for m in models)
    assert products and all(m.status == "preparing" for m in models)
    asked = _cli(["jobs", "check", "foshan-wardrobes", "--url", migrated_url], env)
    assert asked.returncode == 0, asked.stderr
    assert "queued report" in asked.stdout

    log = tmp_path / "worker.log"
    first = _worker(env, migrated_url, log)
    try:
        deadline = time.monotonic() + 300
        while not any(r.status == "running" for r in _state(migrated_url)[1]):
            assert time.monotonic() < deadline, log.read_text()
            assert first.poll() is None, log.read_text()
            time.sleep(0.05)
    finally:
        os.killpg(first.pid, signal.SIGKILL)
        first.wait(10)
    models, (report,) = _state(migrated_url)
    assert report.status == "running" and report.owner and report.owner.startswith("job:")

    second = _worker(env, migrated_url, log)
    try:
        deadline = time.monotonic() + 400
        while True:
            models, reports = _state(migrated_url)
            if reports[0].status in ("done", "failed") and all(m.status != "preparing" for m in models):
                break
            assert time.monotonic() < deadline, log.read_text()
            assert second.poll() is None, log.read_text()
            time.sleep(0.2)
        status = _cli(["jobs", "--url", migrated_url], env, timeout=60)
        second.send_signal(signal.SIGTERM)
        assert second.wait(30) == 0, log.read_text()
    finally:
        if _group_alive(second.pid):
            os.killpg(second.pid, signal.SIGKILL)
            second.wait(10)

    models, (report,) = _state(migrated_url)
    assert report.status == "done", report.error
    assert report.owner == reports[0].owner  # the redelivered message took its own row over
    assert report.attempts == 2  # the killed run and the one that finished: no third
    assert sorted(m.product_code for m in models) == products  # one artifact per product, no duplicate
    assert all(m.status == "ready" and m.compiled_backend == "mdd" and m.artifact_sha256 for m in models)
    assert "workers alive: 1" in status.stdout, status.stdout
    reports_line = next(line for line in status.stdout.splitlines() if line.startswith("reports"))
    assert reports_line.split()[1] == "0"
    shown = _cli(["jobs", "report", str(report.id), "--url", migrated_url], env, timeout=60)
    assert f"report {report.id}: check of foshan-wardrobes v1: done, 2 attempt(s)" in shown.stdout, shown.stdout


def _publish_preparing(env: dict[str, str], db_url: str) -> list[str]:
    """Publish the wardrobes with a request budget no compile meets: the models are left to the job."""
    published = _cli(["catalog", "import", "--publish", "--url", db_url, str(WARDROBES)],
                     {**env, "C2M_COMPILE_BUDGET_S": "1e-9"})
    assert published.returncode == 0, published.stderr + published.stdout
    models, _ = _state(db_url)
    assert models and all(m.status == "preparing" for m in models)
    return sorted(m.product_code for m in models)


def _compile_env(namespace: str) -> dict[str, str]:  # noqa: F811
    return {
        **os.environ,
        "C2M_BROKER_URL": BROKER_URL,
        "C2M_JOBS_NAMESPACE": namespace,
        "C2M_SOLVER_BACKEND": "mdd",
        "C2M_JOBS_HEARTBEAT_TIMEOUT_S": "3",
        "C2M_JOBS_HEARTBEAT_EVERY_S": "2",
        "C2M_JOBS_MAINTENANCE_CHANCE": "1000000",
        "C2M_JOBS_SWEEP_S": "0.5",
        "C2M_COMPILE_RESCUE_AFTER_S": "2",
    }


def _stop(worker: subprocess.Popen[bytes], log: Path) -> None:
    worker.send_signal(signal.SIGTERM)
    assert worker.wait(30) == 0, log.read_text()


def test_kill_9_during_a_compile_counts_an_attempt_and_the_model_fails_at_the_limit(
    migrated_url: str, namespace: str, tmp_path: Path  # noqa: F811
) -> None:
    """The worker (and the compile's child process, in its process group) killed while a model
    compiles: the redelivered job counts a second attempt; with ``C2M_COMPILE_JOB_ATTEMPTS=1`` the
    model is then failed with the reason, shown by ``c2m jobs``, instead of compiled for ever."""
    env = _compile_env(namespace)
    products = _publish_preparing(env, migrated_url)
    log = tmp_path / "worker.log"
    first = _worker(env, migrated_url, log)
    try:
        deadline = time.monotonic() + 300
        while not any(m.status == "preparing" and (m.detail or "").startswith("job:")
                      for m in _state(migrated_url)[0]):
            assert time.monotonic() < deadline, log.read_text()
            assert first.poll() is None, log.read_text()
            time.sleep(0.05)
    finally:
        os.killpg(first.pid, signal.SIGKILL)
        first.wait(10)
    killed = [m for m in _state(migrated_url)[0] if m.status == "preparing"]
    assert killed and all(m.attempts == 1 and (m.detail or "").startswith("job:") for m in killed)

    second = _worker({**env, "C2M_COMPILE_JOB_ATTEMPTS": "1"}, migrated_url, log)
    try:
        deadline = time.monotonic() + 300
        while any(m.status == "preparing" for m in _state(migrated_url)[0]):
            assert time.monotonic() < deadline, log.read_text()
            assert second.poll() is None, log.read_text()
            time.sleep(0.2)
        status = _cli(["jobs", "--url", migrated_url], env, timeout=60)
        _stop(second, log)
    finally:
        if _group_alive(second.pid):
            os.killpg(second.pid, signal.SIGKILL)
            second.wait(10)
    models, _ = _state(migrated_url)
    assert sorted(m.product_code for m in models) == products  # no duplicate row
    failed = [m for m in models if m.status == "failed"]
    assert sorted(m.product_code for m in failed) == sorted(m.product_code for m in killed)
    assert all("gave up after 1 attempt(s)" in (m.detail or "") for m in failed)
    assert all(m.status == "ready" for m in models if m not in failed)
    assert f"failed: {len(failed)}" in status.stdout, status.stdout
    assert "prepare_version('foshan-wardrobes', 1)  given up  usecases.compile_guard.ModelsNotCompiled" in status.stdout, status.stdout


def test_a_compile_job_deleted_from_redis_is_sent_again_by_the_sweeper(
    migrated_url: str, namespace: str, tmp_path: Path  # noqa: F811
) -> None:
    import redis

    env = _compile_env(namespace)
    products = _publish_preparing(env, migrated_url)
    client = redis.Redis.from_url(BROKER_URL)
    try:
        (message_id,) = client.lrange(f"{namespace}:models", 0, -1)
        pipe = client.pipeline()  # the message lost: gone from the queue and from the broker's store
        pipe.lrem(f"{namespace}:models", 0, message_id)
        pipe.hdel(f"{namespace}:models.msgs", message_id)
        pipe.execute()
        assert client.llen(f"{namespace}:models") == 0
    finally:
        client.close()
    log = tmp_path / "worker.log"
    worker = _worker(env, migrated_url, log)
    try:
        deadline = time.monotonic() + 300
        while any(m.status != "ready" for m in _state(migrated_url)[0]):
            assert time.monotonic() < deadline, log.read_text()
            assert worker.poll() is None, log.read_text()
            time.sleep(0.2)
        _stop(worker, log)
    finally:
        if _group_alive(worker.pid):
            os.killpg(worker.pid, signal.SIGKILL)
            worker.wait(10)
    models, _ = _state(migrated_url)
    assert sorted(m.product_code for m in models) == products
    assert all(m.status == "ready" and m.attempts == 2 for m in models)  # the lost job, the one that ran
    assert "compile job of catalog foshan-wardrobes v1 was lost; sent again" in log.read_text()
