"""The broker and the actors declared on it.

Dramatiq on Redis: messages are acknowledged only after the job returns (a
worker killed mid-job leaves its message in its acknowledgement set, and the
broker puts it back on the queue once that worker's heartbeat is older than
``heartbeat_timeout``); failed jobs are retried with exponential backoff by
the ``Retries`` middleware and end in the queue's dead-letter set; ``TimeLimit``
and ``AgeLimit`` bound a job's run time and how stale it may start.

:func:`install` declares the actors on a given broker (tests give a
``StubBroker``); :func:`current` builds the broker from the environment on
first use (``C2M_BROKER_URL``, else ``C2M_REDIS_URL``) and returns None when
neither is set (no job engine: the web app then compiles on first use, as
without one).
"""

from __future__ import annotations

import json
import threading
import time
import traceback
from collections import deque
from dataclasses import dataclass, field
from typing import Any

import dramatiq
from dramatiq.brokers.redis import RedisBroker
from dramatiq.brokers.stub import StubBroker
from dramatiq.middleware import (
    AgeLimit,
    CurrentMessage,
    Middleware,
    Retries,
    ShutdownNotifications,
    TimeLimit,
)

from catalog.errors import CatalogError
from usecases.compile_guard import ModelsNotCompiled
from usecases.errors import UseCaseError

from . import actors
from .hooks import hook_publishing as hook_publishing  # the web app installs it from jobs.hooks
from .settings import JobSettings, broker_url

WEBHOOKS = "webhooks"
MODELS = "models"
REPORTS = "reports"
MAINTENANCE = "maintenance"
QUEUES = (WEBHOOKS, MODELS, REPORTS, MAINTENANCE)
FAILURES_KEPT = 100
MINUTE_MS = 60_000


class FailureLog(Middleware):
    """Remembers the last jobs that raised (actor, arguments, error, retry count, whether given up).

    Dramatiq's dead-letter sets keep the message, not the error; this keeps the
    error text where ``c2m jobs`` and the workspace can read it: a capped list in
    Redis (shared by every worker), or in memory for the stub broker.
    """

    def __init__(self, namespace: str) -> None:
        self.key = f"{namespace}:failures"
        self.memory: deque[str] = deque(maxlen=FAILURES_KEPT)

    def after_process_message(
        self, broker: dramatiq.Broker, message: Any, *, result: Any = None, exception: BaseException | None = None
    ) -> None:
        if exception is None:
            return
        entry = json.dumps(
            {
                "message_id": message.message_id,
                "queue": message.queue_name.removesuffix(".DQ"),
                "actor": message.actor_name,
                "args": list(message.args),
                "error": "".join(traceback.format_exception_only(type(exception), exception)).strip()[:500],
                "retries": int(message.options.get("retries", 0)),
                "given_up": bool(message.failed),
                "at": time.time(),
            },
            default=str,
        )
        client = getattr(broker, "client", None)
        if client is None:
            self.memory.appendleft(entry)
            return
        pipe = client.pipeline()
        pipe.lpush(self.key, entry)
        pipe.ltrim(self.key, 0, FAILURES_KEPT - 1)
        pipe.execute()

    def recent(self, broker: dramatiq.Broker, limit: int = 20) -> list[dict[str, Any]]:
        client = getattr(broker, "client", None)
        raw = list(self.memory)[:limit] if client is None else client.lrange(self.key, 0, limit - 1)
        return [json.loads(item) for item in raw]


@dataclass
class Jobs:
    """The broker and the actors declared on it."""

    broker: dramatiq.Broker
    settings: JobSettings
    failures: FailureLog
    deliver_webhook: dramatiq.Actor[Any, Any]
    prepare_version: dramatiq.Actor[Any, Any]
    run_report: dramatiq.Actor[Any, Any]
    cleanup: dramatiq.Actor[Any, Any]
    extra: dict[str, Any] = field(default_factory=dict)

    def actors(self) -> list[dramatiq.Actor[Any, Any]]:
        return [self.deliver_webhook, self.prepare_version, self.run_report, self.cleanup]


def build_broker(url: str, settings: JobSettings) -> dramatiq.Broker:
    """A broker for ``url``: ``redis://…`` (or ``rediss://``), or ``stub://`` (in-process, tests)."""
    middleware = [
        AgeLimit(),
        TimeLimit(),
        ShutdownNotifications(),
        CurrentMessage(),
        Retries(max_retries=5, min_backoff=5_000, max_backoff=30 * MINUTE_MS),
    ]
    if url.startswith("stub:"):
        return StubBroker(middleware=middleware)
    if not url.startswith(("redis://", "rediss://", "unix://")):
        raise ValueError(f"C2M_BROKER_URL must be a redis:// URL (or stub:// in tests), got {url!r}")
    return RedisBroker(  # type: ignore[no-untyped-call]
        url=url,
        namespace=settings.namespace,
        heartbeat_timeout=settings.heartbeat_timeout_ms,
        maintenance_chance=settings.maintenance_chance,
        middleware=middleware,
        socket_connect_timeout=3,  # a status probe (/readyz) must not hang on an unreachable Redis
    )


_lock = threading.Lock()
_current: Jobs | None = None


def install(broker: dramatiq.Broker, settings: JobSettings | None = None) -> Jobs:
    """Declare the actors on ``broker`` and make it the process's job engine."""
    global _current
    settings = settings or JobSettings.from_env()
    failures = FailureLog(settings.namespace)
    # Before Retries in the list, so after it when a job ends (Dramatiq runs "after" hooks in
    # reverse): the entry then says whether Retries gave the job up.
    if any(isinstance(m, Retries) for m in broker.middleware):
        broker.add_middleware(failures, before=Retries)
    else:
        broker.add_middleware(failures)
    dramatiq.set_broker(broker)
    lease_ms = int(settings.webhook_lease.total_seconds() * 1000)
    jobs = Jobs(
        broker=broker,
        settings=settings,
        failures=failures,
        # The outbox retries receivers itself (backoff recorded on the row); the broker's retries
        # cover the job's own failures (the database away), and the lease bounds its run time.
        deliver_webhook=dramatiq.actor(
            actor_name="deliver_webhook",
            queue_name=WEBHOOKS,
            broker=broker,
            max_retries=3,
            time_limit=lease_ms,
        )(actors.deliver_webhook),
        prepare_version=dramatiq.actor(
            actor_name="prepare_version",
            queue_name=MODELS,
            broker=broker,
            max_retries=3,
            min_backoff=10_000,
            # Each product's compile is bounded by its child's own deadline (C2M_COMPILE_JOB_BUDGET_S
            # plus a grace); this bounds a whole catalog's job, however many products it has.
            time_limit=6 * 60 * MINUTE_MS,
            # No such catalog or version, or models over the budget (recorded failed): retrying cannot help.
            throws=(CatalogError, ModelsNotCompiled),
        )(actors.prepare_version),
        # A check or diff that fails (the database away, a worker out of memory) is retried with
        # exponential backoff; the row says "queued" with the error meanwhile, "failed" after the last.
        run_report=dramatiq.actor(
            actor_name="run_report",
            queue_name=REPORTS,
            broker=broker,
            max_retries=actors.REPORT_RETRIES,
            min_backoff=5_000,
            max_backoff=10 * MINUTE_MS,
            time_limit=30 * MINUTE_MS,
            throws=(CatalogError, UseCaseError),  # the version is gone: retrying cannot help
        )(actors.run_report),
        cleanup=dramatiq.actor(
            actor_name="cleanup",
            queue_name=MAINTENANCE,
            broker=broker,
            max_retries=3,
            time_limit=30 * MINUTE_MS,
            max_age=int(settings.cleanup_every * 1000),
        )(actors.cleanup),
    )
    with _lock:
        _current = jobs
    return jobs


def current() -> Jobs | None:
    """The process's job engine, built from the environment on first use; None when none is configured."""
    global _current
    with _lock:
        if _current is not None:
            return _current
    url = broker_url()
    if url is None:
        return None
    settings = JobSettings.from_env()
    return install(build_broker(url, settings), settings)


def reset() -> None:
    """Forget the process's job engine (tests)."""
    global _current
    with _lock:
        _current = None


def send_prepare(code: str, number: int, content_hash: str) -> None:
    """After-publish hook: queue compile-on-publish for the version (nothing without a job engine)."""
    jobs = current()
    if jobs is not None:
        jobs.prepare_version.send(code, number)


def send_report(report_id: int) -> str:
    """Queue the job of a check or diff asked for (``usecases.check_reports.request_check``,
    ``usecases.version_diff.request_diff``); returns the message id.

    :raise NoJobEngine: no job engine is configured (nothing would ever run it).
    """
    jobs = current()
    if jobs is None:
        raise NoJobEngine()
    return str(jobs.run_report.send(report_id).message_id)


class NoJobEngine(RuntimeError):
    """Background work asked for without a job engine configured."""

    def __init__(self) -> None:
        super().__init__("no job engine is configured: set C2M_BROKER_URL (or C2M_REDIS_URL) and run `c2m worker`")


def compile_jobs_configured() -> bool:
    """A job engine is configured: publishing may leave a large model to a compile job."""
    try:
        return current() is not None
    except ValueError:  # a malformed broker URL: no job engine (the jobs page and c2m jobs say why)
        return False
