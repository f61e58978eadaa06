"""What the job engine holds: per queue the jobs waiting, delayed (retries), running and dead; the
last failures; and the webhook outbox (the source of truth for deliveries)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import dramatiq
from dramatiq.brokers.stub import StubBroker
from sqlalchemy.orm import Session

from usecases.outbox import OutboxStatus, outbox_status

from .engine import QUEUES, Jobs


@dataclass(frozen=True, slots=True)
class QueueCounts:
    name: str
    queued: int
    """Waiting to be taken by a worker."""
    delayed: int
    """Retries and scheduled attempts waiting for their time."""
    running: int
    """Taken by a worker, not yet acknowledged (a killed worker's jobs stay here until requeued)."""
    dead: int
    """Given up after their retries (kept a week)."""


@dataclass(frozen=True, slots=True)
class Failure:
    queue: str
    actor: str
    args: list[Any]
    error: str
    retries: int
    given_up: bool
    at: datetime


@dataclass(frozen=True, slots=True)
class JobsStatus:
    configured: bool
    reachable: bool
    error: str | None
    queues: tuple[QueueCounts, ...]
    failures: tuple[Failure, ...]
    outbox: OutboxStatus


def _redis_counts(broker: Any, name: str) -> QueueCounts:
    ns = broker.namespace
    client = broker.client
    pipe = client.pipeline()
    pipe.llen(f"{ns}:{name}")
    pipe.hlen(f"{ns}:{name}.msgs")
    pipe.hlen(f"{ns}:{name}.DQ.msgs")
    pipe.llen(f"{ns}:{name}.DQ")
    pipe.zcard(f"{ns}:{name}.XQ")
    queued, stored, delayed_stored, _delayed_waiting, dead = pipe.execute()
    return QueueCounts(name, int(queued), int(delayed_stored), max(0, int(stored) - int(queued)), int(dead))


def _stub_counts(broker: StubBroker, name: str) -> QueueCounts:
    queued = broker.queues[name].qsize() if name in broker.queues else 0
    delayed_name = f"{name}.DQ"
    delayed = broker.queues[delayed_name].qsize() if delayed_name in broker.queues else 0
    dead = len(broker.dead_letters_by_queue.get(name, []))
    return QueueCounts(name, queued, delayed, 0, dead)


def queue_counts(broker: dramatiq.Broker) -> tuple[QueueCounts, ...]:
    if isinstance(broker, StubBroker):
        return tuple(_stub_counts(broker, q) for q in QUEUES)
    return tuple(_redis_counts(broker, q) for q in QUEUES)


def jobs_status(session: Session, jobs: Jobs | None, *, failures: int = 20) -> JobsStatus:
    """The queues (when a job engine is configured and reachable), the last failures and the outbox."""
    outbox = outbox_status(session)
    if jobs is None:
        return JobsStatus(False, False, None, (), (), outbox)
    try:
        counts = queue_counts(jobs.broker)
        recent = jobs.failures.recent(jobs.broker, failures)
    except Exception as exc:  # the broker unreachable: say so, the outbox still shows
        return JobsStatus(True, False, f"{type(exc).__name__}: {exc}", (), (), outbox)
    return JobsStatus(
        True,
        True,
        None,
        counts,
        tuple(
            Failure(
                queue=f["queue"],
                actor=f["actor"],
                args=f["args"],
                error=f["error"],
                retries=f["retries"],
                given_up=f["given_up"],
                at=datetime.fromtimestamp(f["at"], UTC),
            )
            for f in recent
        ),
        outbox,
    )
