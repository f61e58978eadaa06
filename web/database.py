"""One SQLAlchemy session per request (plain SQLAlchemy 2.x, no Flask-SQLAlchemy)."""

from __future__ import annotations

import random
import time
from typing import Any

from flask import Flask, current_app, g, has_request_context
from sqlalchemy import Engine, event
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from catalog.db import make_engine


def init_app(app: Flask) -> None:
    engine = make_engine(app.config["DATABASE_URL"])
    read_url = app.config.get("READ_DATABASE_URL")
    read_engine = make_engine(read_url) if read_url else engine
    app.extensions["c2m.engine"] = engine
    app.extensions["c2m.sessionmaker"] = sessionmaker(engine, expire_on_commit=False)
    app.extensions["c2m.read_sessionmaker"] = sessionmaker(read_engine, expire_on_commit=False)
    app.teardown_appcontext(_close_sessions)
    for factory in (app.extensions["c2m.sessionmaker"], app.extensions["c2m.read_sessionmaker"]):
        event.listen(factory, "after_commit", _note_commit)
    if engine.dialect.name == "sqlite":
        _retry_when_locked(app)


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
