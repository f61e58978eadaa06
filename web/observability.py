"""Structured request logs, request ids and timings of engine operations.

Every request gets an id: the caller's ``X-Request-Id`` when it is a sane
token (1-128 characters of ``A-Z a-z 0-9 . _ : -``; anything else could forge
log lines), else a fresh UUID. The id is echoed in the response's
``X-Request-Id`` and written, with method, path, route (the URL rule, so
``/api/v1/configurations/<id>`` groups all configurations), endpoint, status
and duration, as ONE JSON line per request on the ``c2m.request`` logger.

Engine work inside a request is timed with :func:`timed` (a context manager
and a decorator); the request line then carries ``engine``: per operation the
count and total milliseconds, e.g. ``{"state": {"n": 1, "ms": 18.2}}``, so a
slow request shows whether the time went to the configurator, the BOM or the
database. Outside a request :func:`timed` still logs nothing and costs two
clock reads.

:func:`fault_delay` is a fault-injection hook for the fault tests only: it
sleeps ``C2M_TEST_SLOW_<POINT>_S`` seconds when that variable is set (never
set in production; the variable name is the only way to turn it on).
"""

from __future__ import annotations

import json
import logging
import re
import sys
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, TypeVar

from flask import Flask, Response, g, has_request_context, request

from usecases.instrumentation import add_timing_sink, fault_delay, timed, timed_call

__all__ = [
    "JsonFormatter",
    "REQUEST_ID_HEADER",
    "init_app",
    "request_id",
    "fault_delay",
    "timed",
    "timed_call",
]

REQUEST_ID_HEADER = "X-Request-Id"
_SAFE_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")

log = logging.getLogger("c2m.request")
engine_log = logging.getLogger("c2m.engine")

F = TypeVar("F", bound=Callable[..., Any])


class JsonFormatter(logging.Formatter):
    """One JSON object per record: time, level, logger, message and the record's ``fields``.

    >>> record = logging.LogRecord("c2m.request", logging.INFO, "", 0, "request", (), None)
    >>> record.fields = {"status": 200}
    >>> doc = json.loads(JsonFormatter().format(record))
    >>> doc["msg"], doc["status"], doc["level"]
    ('request', 200, 'info')
    """

    def format(self, record: logging.LogRecord) -> str:
        doc: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        fields = getattr(record, "fields", None)
        if isinstance(fields, dict):
            doc.update(fields)
        if record.exc_info:
            doc["exc"] = self.formatException(record.exc_info)
        return json.dumps(doc, ensure_ascii=False, default=str, separators=(",", ":"))


def request_id() -> str | None:
    """The current request's id (None outside a request)."""
    if not has_request_context():
        return None
    value = g.get("c2m_request_id")
    return str(value) if value is not None else None


def _record_in_request(operation: str, elapsed_ms: float) -> bool:
    """Add an engine timing to the current request's log line (False outside a request)."""
    if not has_request_context():
        return False
    totals: dict[str, list[float]] = g.setdefault("c2m_engine", {})
    entry = totals.setdefault(operation, [0, 0.0])
    entry[0] += 1
    entry[1] += elapsed_ms
    return True


add_timing_sink(_record_in_request)


def _begin() -> None:
    given = request.headers.get(REQUEST_ID_HEADER, "")
    g.c2m_request_id = given if _SAFE_ID.match(given) else uuid.uuid4().hex
    g.c2m_started = time.perf_counter()


def _finish(response: Response) -> Response:
    rid = g.get("c2m_request_id")
    if rid is None:  # a request that failed before before_request ran
        return response
    response.headers[REQUEST_ID_HEADER] = rid
    duration_ms = (time.perf_counter() - g.get("c2m_started", time.perf_counter())) * 1000.0
    fields: dict[str, Any] = {
        "request_id": rid,
        "method": request.method,
        "path": request.path,
        "route": request.url_rule.rule if request.url_rule is not None else None,
        "endpoint": request.endpoint,
        "status": response.status_code,
        "duration_ms": round(duration_ms, 2),
        "remote": request.remote_addr,
    }
    engine = g.get("c2m_engine")
    if engine:
        fields["engine"] = {op: {"n": n, "ms": round(ms, 2)} for op, (n, ms) in engine.items()}
    log.info("request", extra={"fields": fields})
    return response


def init_app(app: Flask) -> None:
    """Request ids, JSON request logs (``LOG_REQUESTS``, default on) on stderr unless handlers exist."""
    app.before_request(_begin)
    app.after_request(_finish)
    if not app.config.get("LOG_REQUESTS", True):
        log.disabled = True
        return
    log.disabled = False
    if not log.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(JsonFormatter())
        log.addHandler(handler)
        log.setLevel(logging.INFO)
        log.propagate = False
