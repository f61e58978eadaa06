"""A job worker killed with SIGKILL in the middle of a webhook delivery, against the real Redis broker
and a real worker process (``c2m worker`` → Dramatiq): no event is lost, and the receiver, which
de-duplicates by ``webhook-id``, applies every event exactly once. Then SIGTERM stops the
replacement worker cleanly. And a publish from the command line queues its compile job there.

Needs Redis (``C2M_TEST_BROKER_URL``, default ``redis://127.0.0.1:6379/0``); skipped when it cannot
be reached. Keys live under a namespace of their own, deleted afterwards."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from catalog.db import make_engine
from tests.jobs.conftest import Receiver, add_events
from usecases.records import OutboxEvent

REPO = Path(__file__).resolve().parents[2]
BROKER_URL = os.environ.get("C2M_TEST_BROKER_URL", "redis://127.0.0.1:6379/0")
EVENTS = 12
THREADS = 2

pytestmark = [pytest.mark.broker, pytest.mark.slow]


@pytest.fixture
def namespace() -> Iterator[str]:
    import redis

    client = redis.Redis.from_url(BROKER_URL, socket_connect_timeout=1)
    try:
        client.ping()
    except (redis.RedisError, OSError) as exc:
        pytest.skip(f"the Redis job broker at {BROKER_URL} is unreachable ({exc}); set C2M_TEST_BROKER_URL")
    name = f"c2m-test-{uuid.uuid4().hex[:12]}"
    yield name
    keys = list(client.scan_iter(match=f"{name}:*"))
    if keys:
        client.delete(*keys)
    client.close()


def start_worker(db_url: str, namespace: str, log: Path) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "C2M_DATABASE_URL": db_url,
        "C2M_BROKER_URL": BROKER_URL,
        "C2M_JOBS_NAMESPACE": namespace,
        "C2M_JOBS_SWEEP_S": "0.3",
        "C2M_JOBS_WEBHOOK_LEASE_S": "3",
        "C2M_JOBS_HEARTBEAT_TIMEOUT_S": "3",
        "C2M_WEBHOOK_TIMEOUT_S": "4",
    }
    with log.open("ab") as out:
        return subprocess.Popen(
            [sys.executable, "-c", "from web.cli import main; main()", "worker", "--url", db_url,
             "--processes", "1", "--threads", str(THREADS), "--shutdown-timeout", "10"],
            cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
        )


def outbox(db_url: str) -> list[OutboxEvent]:
    engine = make_engine(db_url)
    try:
        with Session(engine) as session:
            return list(session.scalars(select(OutboxEvent).order_by(OutboxEvent.id)))
    finally:
        engine.dispose()


def test_kill_9_of_a_job_worker_loses_nothing_and_the_receiver_applies_each_event_once(
    migrated_url: str, namespace: str, receiver: Receiver, tmp_path: Path
) -> None:
    receiver.hold = True  # the first delivery gets no answer until the worker is dead
    ids = add_events(migrated_url, receiver, EVENTS)
    log = tmp_path / "worker.log"
    first = start_worker(migrated_url, namespace, log)
    try:
        assert receiver.first.wait(60), log.read_text()
        time.sleep(0.5)  # let the other thread deliver some of the rest
    finally:
        os.killpg(first.pid, signal.SIGKILL)
        first.wait(10)
    held = next(iter(receiver.deliveries))
    assert next(r for r in outbox(migrated_url) if r.event_id == held).delivered_at is None  # died mid-delivery
    receiver.release.set()  # the receiver now processes that first delivery: its effect is applied

    second = start_worker(migrated_url, namespace, log)
    try:
        deadline = time.monotonic() + 90
        while any(r.delivered_at is None for r in outbox(migrated_url)):
            assert time.monotonic() < deadline, log.read_text()
            assert second.poll() is None, log.read_text()
            time.sleep(0.2)
        second.send_signal(signal.SIGTERM)  # graceful: running jobs finish, the process exits 0
        assert second.wait(30) == 0, log.read_text()
    finally:
        if second.poll() is None:
            os.killpg(second.pid, signal.SIGKILL)
            second.wait(10)
        os.killpg(second.pid, signal.SIGKILL) if _group_alive(second.pid) else None

    assert sorted(receiver.effects) == sorted(ids)  # nothing lost, each applied once
    assert len(receiver.effects) == len(set(receiver.effects))
    assert receiver.deliveries[held] >= 2  # the killed delivery came again, with the same webhook-id
    assert sum(receiver.deliveries.values()) <= EVENTS + THREADS  # only what was in flight came twice
    rows = outbox(migrated_url)
    assert all(r.delivered_at is not None and r.failed_at is None for r in rows)

    status = subprocess.run(
        [sys.executable, "-c", "from web.cli import main; main()", "jobs", "--url", migrated_url],
        cwd=REPO, env={**os.environ, "C2M_BROKER_URL": BROKER_URL, "C2M_JOBS_NAMESPACE": namespace},
        capture_output=True, text=True, timeout=60,
    )
    assert status.returncode == 0, status.stderr
    assert f"pending: 0  delivered: {EVENTS}  given up: 0" in status.stdout
    webhooks = next(line for line in status.stdout.splitlines() if line.startswith("webhooks"))
    assert webhooks.split()[1] == "0"  # nothing left waiting


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True


def test_publishing_from_the_command_line_queues_compile_on_publish_on_redis(
    migrated_url: str, namespace: str
) -> None:
    import redis

    env = {**os.environ, "C2M_BROKER_URL": BROKER_URL, "C2M_JOBS_NAMESPACE": namespace}
    published = subprocess.run(
        [sys.executable, "-c", "from web.cli import main; main()", "catalog", "import", "--publish", "--quiet",
         "--url", migrated_url, str(REPO / "catalog" / "demo" / "wardrobes.yaml")],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=300,
    )
    assert published.returncode == 0, published.stderr
    client = redis.Redis.from_url(BROKER_URL)
    try:
        assert client.llen(f"{namespace}:models") == 1  # one prepare_version job waiting
    finally:
        client.close()
    status = subprocess.run(
        [sys.executable, "-c", "from web.cli import main; main()", "jobs", "--url", migrated_url],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=60,
    )
    models = next(line for line in status.stdout.splitlines() if line.startswith("models"))
    assert models.split()[1:5] == ["1", "0", "0", "0"], status.stdout
    assert models.split()[5].endswith("s")  # how long the job has waited
    assert "workers alive: 0" in status.stdout  # no worker runs: said, not hidden
    assert "WARNING: no job worker is alive (start `c2m worker`); 1 job(s) waiting" in status.stdout
