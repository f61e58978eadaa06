"""The sweeper: a thread in every job worker process that feeds the queue from the database.

Every ``sweep_interval`` seconds it claims the outbox events that are due
(new, due for a retry, or whose previous job's lease ran out) and sends one
``deliver_webhook`` job per event. Several sweepers (one per worker process,
on several hosts) never send the same claim twice: claiming is
``FOR UPDATE SKIP LOCKED`` on PostgreSQL and a compare-and-set on SQLite.

It also sends the ``cleanup`` job every ``cleanup_every`` seconds; with Redis,
a key set with ``NX`` and the interval as expiry lets only one sweeper of the
whole deployment send it per interval.

And it rescues compiled models left "preparing" by a lost compile job
(:func:`rescue_models`): a model preparing for longer than ``preparing_stale``
seconds (``C2M_COMPILE_RESCUE_AFTER_S``) whose job is nowhere in the broker (not
queued, delayed nor held by a worker, alive or dead: a dead worker's jobs come back
by the broker's own maintenance) gets its compile job sent again; once its attempts
(``C2M_COMPILE_JOB_ATTEMPTS``) are spent it is marked failed with the reason.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

import dramatiq
from dramatiq.brokers.stub import StubBroker
from dramatiq.message import Message
from dramatiq.middleware import Middleware

from usecases.compile_guard import models_not_ready, requeue_stale
from usecases.outbox import schedule_due

from .db import session_factory
from .engine import MODELS, Jobs

log = logging.getLogger("c2m.jobs.sweeper")
SWEEP_BATCH = 500


def sweep_once(jobs: Jobs, *, batch: int = SWEEP_BATCH) -> int:
    """Claim the due events and send a delivery job for each; returns how many were sent."""
    with session_factory()() as session:
        claimed = schedule_due(session, batch=batch, lease=jobs.settings.webhook_lease)
    for event_id, lease in claimed:
        jobs.deliver_webhook.send(event_id, lease.isoformat())
    return len(claimed)


def live_compile_jobs(broker: dramatiq.Broker) -> tuple[set[str], set[tuple[str, int]]]:
    """The compile jobs the broker holds (queued, delayed, or taken by a worker and not yet
    acknowledged, the worker alive or not): their message ids and the versions they compile."""
    raw: list[bytes] = []
    if isinstance(broker, StubBroker):
        for name in (MODELS, f"{MODELS}.DQ"):
            if name in broker.queues:
                raw.extend(list(broker.queues[name].queue))
    else:
        client = broker.client  # type: ignore[attr-defined]
        ns = broker.namespace  # type: ignore[attr-defined]
        for name in (MODELS, f"{MODELS}.DQ"):
            raw.extend(client.hvals(f"{ns}:{name}.msgs"))
    ids: set[str] = set()
    versions: set[tuple[str, int]] = set()
    for item in raw:
        message = Message.decode(item)
        if message.actor_name != "prepare_version":
            continue
        ids.add(message.message_id)
        if len(message.args) >= 2:
            versions.add((str(message.args[0]), int(message.args[1])))
    return ids, versions


def rescue_models(jobs: Jobs) -> dict[str, int]:
    """Send the compile job again for the models "preparing" longer than ``preparing_stale`` whose
    job the broker no longer holds; mark failed those whose attempts are spent. Returns the counts
    (``queued``, ``failed``)."""
    settings = jobs.settings
    counts = {"queued": 0, "failed": 0}
    with session_factory()() as session:
        stale = models_not_ready(session, status="preparing", older_than_s=settings.preparing_stale)
        if not stale:
            return counts
        live_ids, live_versions = live_compile_jobs(jobs.broker)
        to_send: set[tuple[str, int]] = set()
        for model in stale:
            if model.owner is not None and model.owner in live_ids:
                continue  # its job is queued, running, or coming back from a dead worker
            version = model.versions[-1] if model.versions else None
            if model.owner is None and version is not None and version in live_versions:
                continue  # queued for a job the broker holds: that job takes it over
            outcome = requeue_stale(session, model.record_id, max_attempts=settings.compile_attempts)
            if outcome == "failed":
                counts["failed"] += 1
                log.warning("model %s (%s): compile given up after %d attempt(s)",
                            model.model_key, model.product, model.attempts)
            elif outcome == "queued" and version is not None:
                if version not in live_versions:
                    to_send.add(version)
            elif outcome == "queued":
                log.warning("model %s (%s) is preparing but no published version has its content",
                            model.model_key, model.product)
    for code, number in sorted(to_send):
        jobs.prepare_version.send(code, number)
        counts["queued"] += 1
        log.warning("sweeper: compile job of catalog %s v%s was lost; sent again", code, number)
    return counts


class Clock:
    """Decides when this sweeper does a periodic task (at most once per interval per deployment)."""

    def __init__(self, jobs: Jobs, name: str, every: float) -> None:
        self.jobs = jobs
        self.name = name
        self.every = every
        self.next_local = 0.0

    def due(self) -> bool:
        every = self.every
        client = getattr(self.jobs.broker, "client", None)
        if client is not None:
            key = f"{self.jobs.settings.namespace}:{self.name}"
            return bool(client.set(key, str(time.time()), nx=True, px=max(1, int(every * 1000))))
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
        self.clock = Clock(jobs, "cleanup-sent", jobs.settings.cleanup_every)
        # Models left preparing: looked at a few times per rescue age (at least once a minute).
        self.rescue_clock = Clock(jobs, "rescue-models", min(60.0, jobs.settings.preparing_stale / 4))

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
                if self.rescue_clock.due():
                    rescue_models(self.jobs)
            except Exception:  # the database or the broker away: log, try again next interval
                log.exception("sweeper: sweep failed; retrying in %.1f s", self.jobs.settings.sweep_interval)
            self.stop.wait(self.jobs.settings.sweep_interval)
