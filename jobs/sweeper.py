"""The sweeper: a thread in every job worker process that feeds the queue from the database.

Every ``sweep_interval`` seconds it claims the outbox events that are due
(new, due for a retry, or whose previous job's lease ran out) and sends one
``deliver_webhook`` job per event. Several sweepers (one per worker process,
on several hosts) never send the same claim twice: claiming is
``FOR UPDATE SKIP LOCKED`` on PostgreSQL and a compare-and-set on SQLite.

It also sends the ``cleanup`` job every ``cleanup_every`` seconds; with Redis,
a key set with ``NX`` and the interval as expiry lets only one sweeper of the
whole deployment send it per interval.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

import dramatiq
from dramatiq.middleware import Middleware

from usecases.outbox import schedule_due

from .db import session_factory
from .engine import Jobs

log = logging.getLogger("c2m.jobs.sweeper")
SWEEP_BATCH = 500


def sweep_once(jobs: Jobs, *, batch: int = SWEEP_BATCH) -> int:
    """Claim the due events and send a delivery job for each; returns how many were sent."""
    with session_factory()() as session:
        claimed = schedule_due(session, batch=batch, lease=jobs.settings.webhook_lease)
    for event_id, lease in claimed:
        jobs.deliver_webhook.send(event_id, lease.isoformat())
    return len(claimed)


class CleanupClock:
    """Decides when this sweeper sends the cleanup job (at most once per interval per deployment)."""

    def __init__(self, jobs: Jobs) -> None:
        self.jobs = jobs
        self.next_local = 0.0

    def due(self) -> bool:
        every = self.jobs.settings.cleanup_every
        client = getattr(self.jobs.broker, "client", None)
        if client is not None:
            key = f"{self.jobs.settings.namespace}:cleanup-sent"
            return bool(client.set(key, str(time.time()), nx=True, ex=max(1, int(every))))
        now = time.monotonic()
        if now >= self.next_local:
            self.next_local = now + every
            return True
        return False


class Sweeper(Middleware):
    """Runs :func:`sweep_once` on a thread from worker boot to worker shutdown."""

    def __init__(self, jobs: Jobs) -> None:
        self.jobs = jobs
        self.stop = threading.Event()
        self.thread: threading.Thread | None = None
        self.clock = CleanupClock(jobs)

    def after_worker_boot(self, broker: dramatiq.Broker, worker: Any) -> None:
        self.stop.clear()
        self.thread = threading.Thread(target=self.run, name="c2m-sweeper", daemon=True)
        self.thread.start()

    def before_worker_shutdown(self, broker: dramatiq.Broker, worker: Any) -> None:
        self.stop.set()
        if self.thread is not None:
            self.thread.join(timeout=30)

    def run(self) -> None:
        while not self.stop.is_set():
            try:
                sent = sweep_once(self.jobs)
                if sent:
                    log.info("sweeper: sent %d webhook delivery job(s)", sent)
                if self.clock.due():
                    self.jobs.cleanup.send()
            except Exception:  # the database or the broker away: log, try again next interval
                log.exception("sweeper: sweep failed; retrying in %.1f s", self.jobs.settings.sweep_interval)
            self.stop.wait(self.jobs.settings.sweep_interval)
