"""The migrations build exactly the schema the models describe, on every supported database."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect

from catalog.db import Base, current_revisions, head_revisions, make_engine, upgrade_database
from catalog.models import CatalogProduct, CatalogRecord, CatalogVersion


def test_migration_history_has_a_single_head() -> None:
    assert len(head_revisions()) == 1


def test_upgrade_from_empty_database_matches_models(database_url: str) -> None:
    upgrade_database(database_url)
    engine = make_engine(database_url)
    try:
        with engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"compare_type": True})
            diff = compare_metadata(context, Base.metadata)
        assert diff == []
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
