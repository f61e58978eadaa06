"""One SQLAlchemy session per request (plain SQLAlchemy 2.x, no Flask-SQLAlchemy).

Pooled connections are not pinged when they are checked out (a round trip on every
request). Connections older than :data:`POOL_RECYCLE_S` are replaced when checked out,
and a connection found dead when used (a database restart, a failover, a proxy's idle
timeout) is handled optimistically: SQLAlchemy invalidates it and every other connection
of the pool then (they are reconnected on their next checkout), and the request is run
again on a fresh connection when nothing of it can have reached the database (no
statement had succeeded and the failed one was a ``SELECT``, or the request is a safe
method), else it answers 503 with ``Retry-After`` (a problem, never a 500). See
docs/deployment.md, "Load and throughput".
"""

from __future__ import annotations

import random
import time
from typing import Any

from flask import Flask, current_app, g, has_request_context, request
from sqlalchemy import Engine, event
from sqlalchemy.engine import ExceptionContext
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.orm import Session, sessionmaker
from werkzeug.exceptions import ServiceUnavailable

from catalog.db import is_sqlite, make_engine

POOL_RECYCLE_S = 1800
"""Pooled connections older than this (seconds) are closed and replaced when checked out:
below the idle timeouts of common proxies and load balancers in front of PostgreSQL."""

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
"""Methods whose request may run again after a lost connection whatever it had read."""


def _engine(url: str) -> Engine:
    if is_sqlite(url):
        return make_engine(url)
    engine = make_engine(url, pool_pre_ping=False, pool_recycle=POOL_RECYCLE_S)
    _track_disconnects(engine)
    return engine


def init_app(app: Flask) -> None:
    engine = _engine(app.config["DATABASE_URL"])
    read_url = app.config.get("READ_DATABASE_URL")
    read_engine = _engine(read_url) if read_url else engine
    app.extensions["c2m.engine"] = engine
    app.extensions["c2m.sessionmaker"] = sessionmaker(engine, expire_on_commit=False)
    app.extensions["c2m.read_sessionmaker"] = sessionmaker(read_engine, expire_on_commit=False)
    app.teardown_appcontext(_close_sessions)
    for factory in (app.extensions["c2m.sessionmaker"], app.extensions["c2m.read_sessionmaker"]):
        event.listen(factory, "after_commit", _note_commit)
    if engine.dialect.name == "sqlite":
        _retry_when_locked(app)
    else:
        _retry_when_disconnected(app)


def _track_disconnects(engine: Engine) -> None:
    """Note per request whether a statement succeeded, and whether a lost connection left it untouched."""

    @event.listens_for(engine, "after_cursor_execute")
    def _executed(*_args: Any) -> None:
        if has_request_context():
            g.c2m_db_used = True

    @event.listens_for(engine, "handle_error")
    def _failed(context: ExceptionContext) -> None:
        if context.is_disconnect and has_request_context():
            statement = (context.statement or "").lstrip()[:6].upper()
            g.c2m_db_untouched = not g.get("c2m_db_used") and statement == "SELECT"


DISCONNECT_RETRIES = 1
"""Times a request is run again on fresh connections after a lost one (the pool is renewed at the first)."""


def _lost_connection(exc: BaseException) -> bool:
    return isinstance(exc, DBAPIError) and bool(exc.connection_invalidated)


def _unavailable() -> ServiceUnavailable:
    return ServiceUnavailable(
        "the connection to the database was lost; retry the request in a second", retry_after=1
    )


def _retry_when_disconnected(app: Flask) -> None:
    """Run a request again after a lost database connection when that is safe; else answer 503.

    Safe: a ``GET``/``HEAD``/``OPTIONS`` request, or one whose failed statement was the
    request's first (a ``SELECT``: nothing of it reached the database). Anything else (a
    write may have been applied before the connection died) answers 503 with
    ``Retry-After: 1``; the client's retry (with the same Idempotency-Key for an order)
    decides. Before-request hooks (authentication, limits) that lose the connection answer
    503 too.
    """
    dispatch, preprocess = app.dispatch_request, app.preprocess_request

    def dispatch_with_retry() -> Any:
        for attempt in range(DISCONNECT_RETRIES + 1):
            try:
                return dispatch()
            except DBAPIError as exc:
                if not _lost_connection(exc):
                    raise
                safe = request.method in SAFE_METHODS or g.pop("c2m_db_untouched", False)
                _close_sessions(exc)
                if not safe or g.get("c2m_committed") or attempt == DISCONNECT_RETRIES:
                    raise _unavailable() from exc
                g.pop("c2m_db_used", None)
        raise AssertionError("unreachable")

    def preprocess_or_unavailable() -> Any:
        try:
            return preprocess()
        except DBAPIError as exc:
            if not _lost_connection(exc):
                raise
            _close_sessions(exc)
            raise _unavailable() from exc

    app.dispatch_request = dispatch_with_retry  # type: ignore[method-assign]
    app.preprocess_request = preprocess_or_unavailable  # type: ignore[method-assign]


SQLITE_RETRIES = 8
"""Attempts of a request whose SQLite transaction found the database locked (and committed nothing)."""


def _note_commit(_session: Session) -> None:
    if has_request_context():
        g.c2m_committed = True


def _is_locked(exc: OperationalError) -> bool:
    text = str(exc.orig).lower()
    return "database is locked" in text or "database table is locked" in text or "busy" in text


def _retry_when_locked(app: Flask) -> None:
    """On SQLite, run a view again when its transaction met another writer's lock.

    SQLite allows one writer; a transaction that read and then writes fails at once with
    "database is locked" when another writer committed in between (the busy timeout does not
    apply to that case). A request that has committed nothing yet is safe to run again from a
    fresh transaction, so it is, up to :data:`SQLITE_RETRIES` times with a short backoff,
    instead of answering 500. Requests that already committed something are not retried
    (their services retry their own transactions, as placing an order does).
    """
    dispatch = app.dispatch_request

    def dispatch_with_retry() -> Any:
        for attempt in range(SQLITE_RETRIES):
            try:
                return dispatch()
            except OperationalError as exc:
                if not _is_locked(exc) or g.get("c2m_committed") or attempt == SQLITE_RETRIES - 1:
                    raise
                _close_sessions(exc)
                time.sleep(0.02 * 2**attempt + random.random() * 0.02)  # nosec B311 - jitter only
        raise AssertionError("unreachable")

    app.dispatch_request = dispatch_with_retry  # type: ignore[method-assign]


def engine() -> Engine:
    return current_app.extensions["c2m.engine"]  # type: ignore[no-any-return]


def session() -> Session:
    """The request's read-write session (opened on first use, closed at teardown)."""
    if "c2m_session" not in g:
        g.c2m_session = current_app.extensions["c2m.sessionmaker"]()
    return g.c2m_session  # type: ignore[no-any-return]


def read_session() -> Session:
    """A session on the read replica when ``C2M_READ_DATABASE_URL`` is set, else the primary."""
    if "c2m_read_session" not in g:
        g.c2m_read_session = current_app.extensions["c2m.read_sessionmaker"]()
    return g.c2m_read_session  # type: ignore[no-any-return]


def _close_sessions(exc: BaseException | None) -> None:
    for key in ("c2m_session", "c2m_read_session"):
        s = g.pop(key, None)
        if s is not None:
            if exc is not None:
                s.rollback()
            s.close()
