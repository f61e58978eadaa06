"""Database plumbing shared by every package that persists something.

``Base`` is the one declarative base: catalog, bom and web models all hang off
its ``metadata`` so that Alembic sees a single schema. ``make_engine`` is the
one way to open an engine, so SQLite always runs with foreign keys, WAL and a
busy timeout. ``upgrade_database`` runs the Alembic migrations from Python, from
any working directory.
"""

from __future__ import annotations

import importlib
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, Engine, MetaData, create_engine, event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.pool import ConnectionPoolEntry

if TYPE_CHECKING:
    from alembic.config import Config

NAMING_CONVENTION: dict[str, str] = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
"""Deterministic constraint names: migrations can refer to them on every database."""

SQLITE_BUSY_TIMEOUT_MS = 5000
"""How long a SQLite writer waits for another writer's lock before failing."""

MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"
"""The Alembic script folder at the repository root (next to the packages)."""


MODEL_MODULES: tuple[str, ...] = ("catalog.models", "usecases.records")
"""Every module that defines ORM models on ``Base``, in dependency order."""

class Base(DeclarativeBase):
    """Declarative base of every ORM model in the project."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def import_models() -> MetaData:
    """Import every model module so that ``Base.metadata`` describes the whole schema.

    Names are resolved at run time: the domain packages do not import the
    packages above them, yet migrations see every table.
    Every module is required: a missing one would silently drop its tables
    from migrations, so it fails here naming the module.

    >>> "catalog_versions" in import_models().tables
    True
    """
    for name in MODEL_MODULES:
        importlib.import_module(name)
    return Base.metadata


def default_database_url(instance_dir: str | os.PathLike[str]) -> str:
    """The database URL: ``C2M_DATABASE_URL`` when set, else ``<instance_dir>/c2m.sqlite``.

    This is the only function of the domain packages that reads the
    environment; the CLI and the web application call it at their edge.

    >>> import os
    >>> saved = os.environ.pop("C2M_DATABASE_URL", None)
    >>> default_database_url("/srv/c2m/instance")
    'sqlite:////srv/c2m/instance/c2m.sqlite'
    >>> if saved is not None: os.environ["C2M_DATABASE_URL"] = saved
    """
    configured = os.environ.get("C2M_DATABASE_URL", "").strip()
    if configured:
        return configured
    return f"sqlite:///{Path(instance_dir).resolve() / 'c2m.sqlite'}"


def is_sqlite(url: str | URL) -> bool:
    """True for any SQLite URL (file or memory).

    >>> is_sqlite("sqlite:///x.db"), is_sqlite("postgresql+psycopg://h/db")
    (True, False)
    """
    return make_url(url).get_backend_name() == "sqlite"


def sqlite_file(url: str | URL) -> Path | None:
    """The database file of a SQLite URL, or None for memory databases and other backends.

    >>> sqlite_file("sqlite:////tmp/c2m.sqlite")
    PosixPath('/tmp/c2m.sqlite')
    >>> sqlite_file("sqlite://") is None
    True
    """
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return None
    return Path(parsed.database)


def make_engine(url: str | URL, **kwargs: Any) -> Engine:
    """Create an engine; for SQLite, turn on foreign keys, WAL and a busy timeout.

    SQLite's Python driver opens transactions lazily and commits behind our
    back before DDL, which breaks savepoints and transactional migrations. We
    take transaction control away from it and emit BEGIN ourselves (the recipe
    from SQLAlchemy's SQLite dialect documentation), so a failed import or
    migration rolls back completely.

    >>> from sqlalchemy import text
    >>> engine = make_engine("sqlite://")
    >>> with engine.connect() as conn:
    ...     conn.execute(text("PRAGMA foreign_keys")).scalar()
    1
    >>> engine.dispose()
    """
    if not is_sqlite(url):
        # A server restart or a failover kills pooled connections; checking each one when it
        # is checked out (a round trip) lets the next use reconnect instead of failing. The
        # command line and the job workers keep this default; the web application turns it
        # off and handles a lost connection when it meets one (web.database).
        kwargs.setdefault("pool_pre_ping", True)
    engine = create_engine(url, **kwargs)
    if engine.dialect.name == "sqlite":
        _configure_sqlite(engine)
    return engine


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: ConnectionPoolEntry) -> None:
        dbapi_connection.isolation_level = None  # we emit BEGIN in _on_begin
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute("PRAGMA foreign_keys = ON")
            cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
            # WAL lets readers proceed while one writer commits; memory databases keep "memory".
            cursor.execute("PRAGMA journal_mode = WAL")
        finally:
            cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        # "BEGIN IMMEDIATE" (execution option ``sqlite_begin``) takes the write lock up front,
        # waiting up to the busy timeout: a transaction that reads and then writes can then not
        # fail with "database is locked" when another writer got there between its read and write.
        conn.exec_driver_sql(str(conn.get_execution_options().get("sqlite_begin", "BEGIN")))


def alembic_config(url: str | URL) -> Config:
    """An Alembic configuration for ``url`` that works from any working directory.

    >>> alembic_config("sqlite://").get_main_option("script_location") == str(MIGRATIONS_DIR)
    True
    """
    # Alembic is imported by the functions that migrate, not at start-up: a web worker that
    # only serves requests never loads it.
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    # ConfigParser interpolation: a literal % in a password must be doubled.
    url_text = make_url(url).render_as_string(hide_password=False)
    cfg.set_main_option("sqlalchemy.url", url_text.replace("%", "%%"))
    cfg.set_main_option(
        "file_template", "%%(year)d_%%(month).2d_%%(day).2d_%%(hour).2d%%(minute).2d-%%(rev)s_%%(slug)s"
    )
    return cfg


def upgrade_database(url: str | URL, revision: str = "head") -> None:
    """Apply the migrations up to ``revision`` (default: the latest)."""
    from alembic import command

    command.upgrade(alembic_config(url), revision)


def head_revisions() -> tuple[str, ...]:
    """The revision ids of the newest migrations.

    >>> len(head_revisions()) >= 1
    True
    """
    from alembic.script import ScriptDirectory

    script = ScriptDirectory.from_config(alembic_config("sqlite://"))
    return tuple(sorted(script.get_heads()))


def current_revisions(engine: Engine) -> tuple[str, ...]:
    """The revision ids the database is at; empty for a database never migrated."""
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as conn:
        return tuple(sorted(MigrationContext.configure(conn).get_current_heads()))
