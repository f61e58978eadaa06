"""Alembic environment: one migration history for every package's tables.

Configured either by ``catalog.db.alembic_config`` (``c2m db upgrade``, tests)
or by ``alembic.ini`` at the repository root. A caller may hand over an open
connection in ``config.attributes["connection"]`` to run inside its transaction.
"""

from __future__ import annotations

import logging.config
from pathlib import Path

from alembic import context
from sqlalchemy import Connection

from catalog.db import default_database_url, import_models, make_engine

config = context.config
# catalog.models and, when their packages provide them, bom.models and usecases.records
# (catalog.db.MODEL_MODULES): adding those modules later needs no change here.
target_metadata = import_models()

if config.config_file_name is not None and config.attributes.get("configure_logging", True):
    logging.config.fileConfig(config.config_file_name, disable_existing_loggers=False)


def _url() -> str:
    url = config.get_main_option("sqlalchemy.url")
    if url:
        return url
    # Developers running plain `alembic upgrade head` from the repository root.
    instance_dir = Path(__file__).resolve().parent.parent / "instance"
    instance_dir.mkdir(exist_ok=True)
    return default_database_url(instance_dir)


def _configure(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        # SQLite cannot ALTER most things: batch mode recreates tables when needed.
        render_as_batch=connection.dialect.name == "sqlite",
        # catalog.db.make_engine lets SQLite run DDL inside a transaction: a failed
        # migration then leaves the database as it was.
        transactional_ddl=True,
        compare_type=True,
    )


def run_migrations_offline() -> None:
    context.configure(
        url=_url(),
        target_metadata=target_metadata,
        literal_binds=True,
        dialect_opts={"paramstyle": "named"},
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    given = config.attributes.get("connection")
    if given is not None:
        _configure(given)
        with context.begin_transaction():
            context.run_migrations()
        return
    engine = make_engine(_url())
    try:
        with engine.connect() as connection:
            _configure(connection)
            with context.begin_transaction():
                context.run_migrations()
    finally:
        engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
