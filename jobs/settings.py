"""Job engine settings, read from the environment at the edge (the worker and the web app)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import timedelta

from usecases.cleanup import DEFAULT_CONFIGURATION_AGE
from usecases.compile_guard import DEFAULT_COMPILE_JOB_ATTEMPTS
from usecases.outbox import DEFAULT_LEASE, DEFAULT_MAX_ATTEMPTS, DEFAULT_TIMEOUT
from usecases.settings import DEFAULT_COMPILE_MEMORY_MB, DEFAULT_COMPILE_NODE_BUDGET


def _float(name: str, default: float) -> float:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ValueError(f"{name} must be a number of seconds, got {raw!r}") from None
    if value <= 0:
        raise ValueError(f"{name} must be positive, got {raw!r}")
    return value


DEFAULT_PREPARING_STALE_S = 600.0
"""Default of ``C2M_COMPILE_RESCUE_AFTER_S``."""


def broker_url() -> str | None:
    """``C2M_BROKER_URL``, else ``C2M_REDIS_URL`` (the same Redis, own key namespace), else None."""
    return os.environ.get("C2M_BROKER_URL") or os.environ.get("C2M_REDIS_URL") or None


@dataclass(frozen=True, slots=True)
class JobSettings:
    namespace: str
    """Prefix of every key the broker writes in Redis (``C2M_JOBS_NAMESPACE``)."""
    sweep_interval: float
    """Seconds between two sweeps of the outbox (``C2M_JOBS_SWEEP_S``)."""
    webhook_lease: timedelta
    """How long a sent delivery job owns its event before a sweep sends it again (``C2M_JOBS_WEBHOOK_LEASE_S``)."""
    webhook_timeout: float
    """Seconds to wait for a receiver (``C2M_WEBHOOK_TIMEOUT_S``)."""
    webhook_max_attempts: int
    cleanup_every: float
    """Seconds between two cleanup jobs (``C2M_JOBS_CLEANUP_EVERY_S``)."""
    configuration_age: timedelta
    heartbeat_timeout_ms: int
    """A worker silent this long is dead: its unfinished messages go back to the queue."""
    maintenance_chance: int = 10_000
    """Broker commands per million that also requeue the jobs of dead workers
    (``C2M_JOBS_MAINTENANCE_CHANCE``, default 10,000 = 1 %; Dramatiq's own default, 1,000, can
    leave a killed worker's job waiting for minutes)."""
    heartbeat_every: float = 5.0
    """Seconds between two beats of a worker (``C2M_JOBS_HEARTBEAT_EVERY_S``); a worker is shown
    alive while its last beat is younger than three of them."""
    compile_attempts: int = DEFAULT_COMPILE_JOB_ATTEMPTS
    """Compile jobs that may start on one model before it is marked failed (``C2M_COMPILE_JOB_ATTEMPTS``)."""
    preparing_stale: float = DEFAULT_PREPARING_STALE_S
    """Seconds a model may stay "preparing" without a live compile job before the sweeper queues its
    compile again (``C2M_COMPILE_RESCUE_AFTER_S``)."""

    @property
    def alive_after(self) -> float:
        return 3 * self.heartbeat_every

    @classmethod
    def from_env(cls) -> JobSettings:
        attempts = int(_float("C2M_WEBHOOK_MAX_ATTEMPTS", DEFAULT_MAX_ATTEMPTS))
        return cls(
            namespace=os.environ.get("C2M_JOBS_NAMESPACE", "c2m-jobs"),
            sweep_interval=_float("C2M_JOBS_SWEEP_S", 5.0),
            webhook_lease=timedelta(seconds=_float("C2M_JOBS_WEBHOOK_LEASE_S", DEFAULT_LEASE.total_seconds())),
            webhook_timeout=_float("C2M_WEBHOOK_TIMEOUT_S", DEFAULT_TIMEOUT),
            webhook_max_attempts=attempts,
            cleanup_every=_float("C2M_JOBS_CLEANUP_EVERY_S", 3600.0),
            configuration_age=timedelta(
                days=_float("C2M_CLEANUP_CONFIGURATION_AGE_DAYS", DEFAULT_CONFIGURATION_AGE.days)
            ),
            heartbeat_timeout_ms=int(_float("C2M_JOBS_HEARTBEAT_TIMEOUT_S", 60.0) * 1000),
            heartbeat_every=_float("C2M_JOBS_HEARTBEAT_EVERY_S", 5.0),
            maintenance_chance=int(_float("C2M_JOBS_MAINTENANCE_CHANCE", 10_000)),
            compile_attempts=int(_float("C2M_COMPILE_JOB_ATTEMPTS", DEFAULT_COMPILE_JOB_ATTEMPTS)),
            preparing_stale=_float("C2M_COMPILE_RESCUE_AFTER_S", DEFAULT_PREPARING_STALE_S),
        )


DEFAULT_COMPILE_JOB_BUDGET_S = 1800.0
"""Seconds a compile job may spend on one product's model (``C2M_COMPILE_JOB_BUDGET_S``): far more
than a request's ``C2M_COMPILE_BUDGET_S``, since the models left to the job exceeded that."""


def compile_settings() -> dict[str, object]:
    """What the use cases compile with in a job worker (``usecases.settings``): the web app's backend
    (``C2M_SOLVER_BACKEND``, so artifacts are stored under the key requests look up), node budget and
    address-space cap (``C2M_COMPILE_MEMORY_MB``), and the job's own time budget."""
    nodes = os.environ.get("C2M_COMPILE_NODE_BUDGET")
    return {
        "SOLVER_BACKEND": os.environ.get("C2M_SOLVER_BACKEND") or "auto",
        "COMPILE_NODE_BUDGET": int(nodes) if nodes and nodes.strip() else DEFAULT_COMPILE_NODE_BUDGET,
        "COMPILE_BUDGET_S": _float("C2M_COMPILE_JOB_BUDGET_S", DEFAULT_COMPILE_JOB_BUDGET_S),
        "COMPILE_MEMORY_MB": int(_float("C2M_COMPILE_MEMORY_MB", DEFAULT_COMPILE_MEMORY_MB)),
    }


def install_compile_settings() -> None:
    """Make :func:`compile_settings` the use cases' settings in this (worker) process."""
    from usecases.settings import set_settings_source

    settings = compile_settings()
    set_settings_source(lambda: settings)
