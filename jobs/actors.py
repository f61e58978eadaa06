"""What each job does: a thin call into the use cases, on the worker's own database session.

The functions here are plain (no broker): :mod:`jobs.engine` declares them as
Dramatiq actors with their retry, time-limit and queue options.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import Any

from usecases.check_reports import run_report as run_catalog_report
from usecases.cleanup import clean_up
from usecases.compiled_models import JOB_OWNER, QUEUED
from usecases.compiled_models import prepare_version as prepare_models
from usecases.outbox import deliver_claimed

from .db import session_factory
from .settings import JobSettings

log = logging.getLogger("c2m.jobs")


def deliver_webhook(event_id: int, lease: str) -> None:
    """Deliver one outbox event to its endpoints, if this job still holds the lease it was sent with.

    ``lease`` is the event's ``next_attempt_at`` as the sweeper (or the previous
    attempt) left it, ISO 8601. A second copy of the same job (the broker
    redelivered it after a worker died, or a sweep sent it again after the lease
    ran out) finds the lease moved and does nothing. A receiver that fails is
    retried by the outbox's own backoff: the next attempt is sent as a delayed
    job, and the sweeper sends it anyway if that message is lost.
    """
    settings = JobSettings.from_env()
    with session_factory()() as session:
        outcome = deliver_claimed(
            session,
            event_id,
            datetime.fromisoformat(lease),
            max_attempts=settings.webhook_max_attempts,
            timeout=settings.webhook_timeout,
            lease=settings.webhook_lease,
        )
    if outcome.status == "retrying" and outcome.retry_at is not None:
        from .engine import current

        jobs = current()
        if jobs is not None:
            delay_ms = max(0, int((outcome.retry_at - datetime.now(UTC)).total_seconds() * 1000))
            jobs.deliver_webhook.send_with_options(
                args=(event_id, outcome.retry_at.isoformat()), delay=delay_ms
            )
    if outcome.status in ("retrying", "failed"):
        log.warning("webhook event %s %s: %s (next %s)", event_id, outcome.status, outcome.error, outcome.retry_at)


def job_owner() -> str | None:
    """``job:<message id>`` of the job running on this thread (the same after a redelivery)."""
    from dramatiq.middleware import CurrentMessage

    message = CurrentMessage.get_current_message()
    return f"{JOB_OWNER}{message.message_id}" if message is not None else None


def prepare(session: Any, code: str, number: int) -> int:
    """Compile the models of catalog ``code`` version ``number`` once and store them as artifacts
    (``usecases.compiled_models``) for every web worker; returns the products ready (compiled now
    or already stored). A product another process is preparing, or over the budget, is not counted.
    The models publishing left to this job (too large for a request) are compiled here."""
    prepared = prepare_models(session, code, number, owner=job_owner() or QUEUED)
    return sum(1 for model in prepared if model.status in ("ready", "stored"))


def prepare_version(code: str, number: int) -> None:
    """Compile-on-publish: prepare the models of a version just published (mostly already stored by
    publishing's compile guard; what it left, too large for a request, is compiled here)."""
    with session_factory()() as session:
        compiled = prepare(session, code, number)
    log.info("catalog %s version %s: %d product model(s) prepared", code, number, compiled)


REPORT_RETRIES = 3
"""Retries of a check or diff job (with the broker's exponential backoff) before it is failed."""


def run_report(report_id: int) -> None:
    """Run a catalog check or version diff asked for in ``catalog_reports`` and store its result there."""
    from dramatiq.middleware import CurrentMessage

    message = CurrentMessage.get_current_message()
    retries = int(message.options.get("retries", 0)) if message is not None else REPORT_RETRIES
    with session_factory()() as session:
        report = run_catalog_report(
            session, report_id, owner=job_owner() or "job:inline", final_attempt=retries >= REPORT_RETRIES
        )
    log.info("%s: %s", report.title(), report.status)


def cleanup(configuration_age_days: float | None = None) -> None:
    """Housekeeping: abandoned configurations, expired idempotency keys, old sign-ins."""
    settings = JobSettings.from_env()
    age = settings.configuration_age
    if configuration_age_days is not None:
        age = timedelta(days=configuration_age_days)
    with session_factory()() as session:
        report = clean_up(session, configuration_age=age)
    log.info(
        "cleanup: %d configurations, %d idempotency keys, %d sign-ins deleted",
        report.configurations,
        report.idempotency_keys,
        report.sessions,
    )
