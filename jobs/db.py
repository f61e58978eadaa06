"""The database of the job worker: ``C2M_DATABASE_URL``, one engine per process."""

from __future__ import annotations

import os
import threading

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from catalog.db import make_engine

_lock = threading.Lock()
_factories: dict[tuple[int, str], sessionmaker[Session]] = {}


def database_url() -> str:
    url = os.environ.get("C2M_DATABASE_URL")
    if not url:
        raise RuntimeError("the job worker needs C2M_DATABASE_URL (the primary database)")
    return url


def writer(engine: Engine) -> Engine:
    """On SQLite several processes write the outbox: take the write lock when a transaction begins."""
    return engine.execution_options(sqlite_begin="BEGIN IMMEDIATE") if engine.dialect.name == "sqlite" else engine


def session_factory(url: str | None = None) -> sessionmaker[Session]:
    """Sessions on the primary; the engine is made once per process (never shared across a fork)."""
    target = url or database_url()
    key = (os.getpid(), target)
    with _lock:
        factory = _factories.get(key)
        if factory is None:
            factory = sessionmaker(writer(make_engine(target)), expire_on_commit=False)
            _factories[key] = factory
        return factory


def dispose() -> None:
    """Close this process's connections (worker shutdown, tests)."""
    with _lock:
        for (pid, _), factory in list(_factories.items()):
            if pid == os.getpid():
                bind = factory.kw.get("bind")
                if bind is not None:
                    bind.dispose()
        _factories.clear()
