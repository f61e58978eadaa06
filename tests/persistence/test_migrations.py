"""The migrations build exactly the schema the models describe, on every supported database."""

from __future__ import annotations

from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect

from catalog.db import current_revisions, head_revisions, import_models, make_engine, upgrade_database
from catalog.models import CatalogProduct, CatalogRecord, CatalogVersion


def test_migration_history_has_a_single_head() -> None:
    assert len(head_revisions()) == 1


def _schema_diff(url: str) -> list[Any]:
    """What autogenerate would still add or change after upgrading to head."""
    metadata = import_models()
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"compare_type": True})
            return list(compare_metadata(context, metadata))
    finally:
        engine.dispose()


def _tables_in(op: Any) -> set[str]:
    """Table names one autogenerate diff entry touches."""
    ops = op if isinstance(op, list) else [op]
    names: set[str] = set()
    for entry in ops:
        for item in entry[1:]:
            table = getattr(item, "table", None)
            name = getattr(item, "name", None) if table is None else table.name
            if isinstance(item, str):
                name = item
            if name:
                names.add(name)
    return names


def test_upgrade_from_empty_database_builds_the_catalog_tables_exactly(database_url: str) -> None:
    upgrade_database(database_url)
    catalog_tables = {m.__tablename__ for m in (CatalogRecord, CatalogVersion, CatalogProduct)}
    assert [d for d in _schema_diff(database_url) if _tables_in(d) & catalog_tables] == []


def test_every_model_has_its_migration(database_url: str) -> None:
    """Autogenerate finds nothing left to do: every package's models are migrated."""
    upgrade_database(database_url)
    assert _schema_diff(database_url) == []
    engine = make_engine(database_url)
    try:
        assert current_revisions(engine) == head_revisions()
    finally:
        engine.dispose()


def test_upgrade_creates_the_catalog_tables(database_url: str) -> None:
    upgrade_database(database_url)
    engine = make_engine(database_url)
    try:
        tables = set(inspect(engine).get_table_names())
    finally:
        engine.dispose()
    expected = {m.__tablename__ for m in (CatalogRecord, CatalogVersion, CatalogProduct)}
    assert expected <= tables


def test_downgrade_to_base_removes_everything_and_upgrade_again_works(database_url: str) -> None:
    from alembic import command

    from catalog.db import alembic_config

    upgrade_database(database_url)
    command.downgrade(alembic_config(database_url), "base")
    engine = make_engine(database_url)
    try:
        assert set(inspect(engine).get_table_names()) == {"alembic_version"}
        assert current_revisions(engine) == ()
        upgrade_database(database_url)
        assert current_revisions(engine) == head_revisions()
    finally:
        engine.dispose()


def test_upgrading_twice_is_harmless(database_url: str) -> None:
    upgrade_database(database_url)
    upgrade_database(database_url)
    engine = make_engine(database_url)
    try:
        assert current_revisions(engine) == head_revisions()
    finally:
        engine.dispose()
