"""Liveness and readiness probes."""

from __future__ import annotations

from flask import Blueprint, current_app, jsonify
from sqlalchemy import text

from web import database

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz():  # type: ignore[no-untyped-def]
    """The process is up."""
    return jsonify(status="ok")


@bp.get("/readyz")
def readyz():  # type: ignore[no-untyped-def]
    """The database answers; otherwise 503 so a load balancer stops sending traffic."""
    try:
        with database.engine().connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception as exc:  # any driver error means "not ready"
        return jsonify(status="unavailable", detail=type(exc).__name__), 503
    return jsonify(status="ok", models=_model_caches(), jobs=_jobs())


def _jobs() -> dict[str, object]:
    """The job engine as the web app sees it: ``status`` (``ok``, ``no_worker``, ``unreachable``,
    ``not_configured``, ``misconfigured``), workers alive (heartbeats), jobs waiting and the oldest
    one's age. A missing worker does not make this process unready (it serves requests; the jobs
    wait in Redis), but it is reported here, with what is waiting, for monitoring to alert on."""
    from jobs.engine import current
    from jobs.status import engine_status

    try:
        engine = current()
    except ValueError as exc:
        return {"status": "misconfigured", "problem": str(exc)}
    return engine_status(engine).summary()


def _model_caches() -> dict[str, object] | None:
    """This worker's catalog and compiled-model caches: entries, hits, misses, evictions,
    artifact loads and compilations (``usecases.catalogs.ModelCaches.stats``)."""
    caches = current_app.extensions.get("c2m.caches")
    return caches.stats() if caches is not None else None
