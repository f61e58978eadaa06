"""One SQLAlchemy session per request (plain SQLAlchemy 2.x, no Flask-SQLAlchemy)."""

from __future__ import annotations

from flask import Flask, current_app, g
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from catalog.db import make_engine


def init_app(app: Flask) -> None:
    engine = make_engine(app.config["DATABASE_URL"])
    read_url = app.config.get("READ_DATABASE_URL")
    read_engine = make_engine(read_url) if read_url else engine
    app.extensions["c2m.engine"] = engine
    # Request sessions write: on SQLite they take the write lock when they begin (serialized
    # writers wait up to the busy timeout instead of failing with "database is locked").
    writer = engine.execution_options(sqlite_begin="BEGIN IMMEDIATE") if engine.dialect.name == "sqlite" else engine
    app.extensions["c2m.sessionmaker"] = sessionmaker(writer, expire_on_commit=False)
    app.extensions["c2m.read_sessionmaker"] = sessionmaker(read_engine, expire_on_commit=False)
    app.teardown_appcontext(_close_sessions)


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
