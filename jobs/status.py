"""What the job engine holds: per queue the jobs waiting (and since when), delayed (retries), running
and dead; the workers alive (their heartbeats); the last failures; and the webhook outbox (the
source of truth for deliveries)."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import dramatiq
from dramatiq.brokers.stub import StubBroker
from dramatiq.message import Message
from sqlalchemy.orm import Session

from usecases.compile_guard import ModelNotReady, models_not_ready
from usecases.outbox import OutboxStatus, outbox_status

from .engine import QUEUES, Jobs
from .heartbeat import WorkerBeat, alive_workers


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
    oldest_queued_s: float | None = None
    """Seconds the longest-waiting job of the queue has waited (None when none waits)."""


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
    workers: tuple[WorkerBeat, ...] = ()
    """Workers whose heartbeat is recent (``jobs.heartbeat``)."""
    models: tuple[ModelNotReady, ...] = ()
    """Compiled models still preparing, or failed (with the reason and the compile attempts)."""

    @property
    def queued(self) -> int:
        return sum(q.queued for q in self.queues)

    @property
    def oldest_queued_s(self) -> float | None:
        ages = [q.oldest_queued_s for q in self.queues if q.oldest_queued_s is not None]
        return max(ages) if ages else None

    @property
    def health(self) -> str:
        """``ok``; ``no_worker`` (jobs queue but no worker beats); ``unreachable``; ``not_configured``."""
        if not self.configured:
            return "not_configured"
        if not self.reachable:
            return "unreachable"
        return "ok" if self.workers else "no_worker"

    def problem(self) -> str | None:
        """What an operator must know, in one sentence (None when the job engine is healthy)."""
        if self.health == "no_worker":
            waiting = f"; {self.queued} job(s) waiting" if self.queued else ""
            oldest = self.oldest_queued_s
            since = f", the oldest for {oldest:.0f} s" if oldest is not None else ""
            return f"no job worker is alive (start `c2m worker`){waiting}{since}"
        if self.health == "unreachable":
            return f"the job broker cannot be reached ({self.error})"
        if self.health == "not_configured":
            return "no job engine is configured (C2M_BROKER_URL / C2M_REDIS_URL)"
        return None

    def summary(self) -> dict[str, Any]:
        """The figures ``/readyz`` reports."""
        oldest = self.oldest_queued_s
        return {
            "status": self.health,
            "workers_alive": len(self.workers),
            "queued": self.queued,
            "oldest_queued_s": round(oldest, 1) if oldest is not None else None,
            "problem": self.problem(),
        }


def _redis_counts(broker: Any, name: str) -> QueueCounts:
    ns = broker.namespace
    client = broker.client
    pipe = client.pipeline()
    pipe.llen(f"{ns}:{name}")
    pipe.hlen(f"{ns}:{name}.msgs")
    pipe.hlen(f"{ns}:{name}.DQ.msgs")
    pipe.llen(f"{ns}:{name}.DQ")
    pipe.zcard(f"{ns}:{name}.XQ")
    pipe.lindex(f"{ns}:{name}", 0)  # messages are pushed on the right and taken from the left
    queued, stored, delayed_stored, _delayed_waiting, dead, first = pipe.execute()
    oldest = None
    if first is not None:
        raw = client.hget(f"{ns}:{name}.msgs", first)
        oldest = _age(raw) if raw is not None else None
    return QueueCounts(
        name, int(queued), int(delayed_stored), max(0, int(stored) - int(queued)), int(dead), oldest
    )


def _age(raw: bytes) -> float:
    return max(0.0, time.time() - Message.decode(raw).message_timestamp / 1000)


def _stub_counts(broker: StubBroker, name: str) -> QueueCounts:
    queued = broker.queues[name].qsize() if name in broker.queues else 0
    delayed_name = f"{name}.DQ"
    delayed = broker.queues[delayed_name].qsize() if delayed_name in broker.queues else 0
    dead = len(broker.dead_letters_by_queue.get(name, []))
    oldest = None
    if queued:
        waiting = list(broker.queues[name].queue)
        oldest = _age(waiting[0]) if waiting else None
    return QueueCounts(name, queued, delayed, 0, dead, oldest)


def queue_counts(broker: dramatiq.Broker) -> tuple[QueueCounts, ...]:
    if isinstance(broker, StubBroker):
        return tuple(_stub_counts(broker, q) for q in QUEUES)
    return tuple(_redis_counts(broker, q) for q in QUEUES)


def jobs_status(session: Session, jobs: Jobs | None, *, failures: int = 20) -> JobsStatus:
    """The queues (when a job engine is configured and reachable), the last failures and the outbox."""
    outbox = outbox_status(session)
    models = tuple(models_not_ready(session, limit=50))
    if jobs is None:
        return JobsStatus(False, False, None, (), (), outbox, models=models)
    try:
        counts = queue_counts(jobs.broker)
        recent = jobs.failures.recent(jobs.broker, failures)
        workers = alive_workers(jobs.broker, jobs.settings.namespace, jobs.settings.alive_after)
    except Exception as exc:  # the broker unreachable: say so, the outbox still shows
        return JobsStatus(True, False, f"{type(exc).__name__}: {exc}", (), (), outbox, models=models)
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
        workers,
        models,
    )


def engine_status(jobs: Jobs | None) -> JobsStatus:
    """The job engine alone (queues, workers; no database): what ``/readyz`` reports."""
    empty = OutboxStatus(0, 0, 0, ())
    if jobs is None:
        return JobsStatus(False, False, None, (), (), empty)
    try:
        counts = queue_counts(jobs.broker)
        workers = alive_workers(jobs.broker, jobs.settings.namespace, jobs.settings.alive_after)
    except Exception as exc:
        return JobsStatus(True, False, f"{type(exc).__name__}: {exc}", (), (), empty)
    return JobsStatus(True, True, None, counts, (), empty, workers)
