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
from usecases.compile_guard import JobModel, ModelsNotCompiled, current_budget, prepare_capped
from usecases.compiled_models import JOB_OWNER, QUEUED
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


def prepare(session: Any, code: str, number: int, *, again: bool = False) -> list[JobModel]:
    """Compile the models of catalog ``code`` version ``number`` once and store them as artifacts
    (``compiled_models``) for every web worker, each in a child process under the job's budget:
    ``C2M_COMPILE_JOB_BUDGET_S`` seconds, ``C2M_COMPILE_NODE_BUDGET`` nodes and an address space
    of ``C2M_COMPILE_MEMORY_MB`` (``usecases.compile_guard.prepare_capped``), so a runaway compile
    fails alone, recorded on its model, and never takes the worker down.

    :raise ModelsNotCompiled: a model went over a budget now (its row says ``failed``, naming the
        product, model key and limit); the job ends failed without a retry, visibly.
    """
    from usecases.catalogs import load_catalog

    settings = JobSettings.from_env()
    loaded = load_catalog(session, code, number)
    out = prepare_capped(
        session, loaded.catalog, loaded.content_hash, current_budget(),
        owner=job_owner() or QUEUED, max_attempts=settings.compile_attempts, again=again,
    )
    failed = [model for model in out if model.status == "failed"]
    if failed:
        raise ModelsNotCompiled(code, number, failed)
    return out


def prepare_version(code: str, number: int, again: bool = False) -> None:
    """Compile-on-publish: prepare the models of a version just published (mostly already stored by
    publishing's compile guard; what it left, too large for a request, is compiled here). ``again``
    (``c2m jobs prepare``) compiles models recorded as failed once more, with fresh attempts."""
    with session_factory()() as session:
        out = prepare(session, code, number, again=again)
    ready = sum(1 for model in out if model.status in ("ready", "stored"))
    log.info("catalog %s version %s: %d product model(s) prepared", code, number, ready)


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
