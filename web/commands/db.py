"""`c2m` commands: db (schema migrations) and the database options shared by other commands."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

if TYPE_CHECKING:
    from sqlalchemy import Engine
    from sqlalchemy.orm import Session

# SQLAlchemy, Alembic and the ORM models are imported inside the commands that
# use them: other commands (``c2m --help``, ``c2m catalog validate``) must start fast.

F = TypeVar("F", bound=Callable[..., Any])


def instance_dir() -> Path:
    """The instance folder Flask uses for the ``web`` package (``<repo>/instance``)."""
    # web/commands/db.py -> the repository root (importing ``web`` itself would load Flask)
    return Path(__file__).resolve().parent.parent.parent / "instance"


def url_option(command: F) -> F:
    """The ``--url`` option; without it, ``C2M_DATABASE_URL`` or ``instance/c2m.sqlite``."""
    return click.option(
        "--url",
        "url",
        metavar="URL",
        default=None,
        help="SQLAlchemy database URL (default: $C2M_DATABASE_URL, else instance/c2m.sqlite).",
    )(command)


def resolve_url(url: str | None) -> str:
    from catalog.db import default_database_url

    return url or default_database_url(instance_dir())


def open_migrated_engine(url: str) -> Engine:
    """An engine on a database at the latest migration, else a ClickException saying what to run."""
    from sqlalchemy.exc import SQLAlchemyError

    from catalog.db import current_revisions, head_revisions, make_engine, sqlite_file

    path = sqlite_file(url)
    # Connecting would create an empty SQLite file: check first, and leave nothing behind.
    if path is not None and not path.exists():
        raise click.ClickException(f"database not initialised: run c2m db upgrade ({path} does not exist)")
    engine = make_engine(url)
    try:
        current = current_revisions(engine)
    except SQLAlchemyError as exc:
        engine.dispose()
        raise click.ClickException(f"cannot open the database: {exc.__class__.__name__}: {exc}") from exc
    if not current:
        engine.dispose()
        raise click.ClickException("database not initialised: run c2m db upgrade")
    heads = head_revisions()
    if current != heads:
        engine.dispose()
        raise click.ClickException(
            f"database schema is at {', '.join(current)} but the code expects {', '.join(heads)}: "
            "run c2m db upgrade"
        )
    return engine


@contextmanager
def database_session(url: str | None) -> Iterator[Session]:
    """A session on the migrated database of ``--url`` (or the default one), disposed afterwards."""
    from sqlalchemy.orm import Session

    engine = open_migrated_engine(resolve_url(url))
    try:
        with Session(engine, expire_on_commit=False) as session:
            yield session
    finally:
        engine.dispose()


@click.group("db")
def db_group() -> None:
    """Database schema: create and upgrade it."""


@db_group.command("upgrade")
@url_option
@click.option("--revision", default="head", show_default=True, help="Alembic revision to upgrade to.")
def upgrade_command(url: str | None, revision: str) -> None:
    """Create the tables, or bring them to the latest schema."""
    from sqlalchemy.exc import SQLAlchemyError

    from catalog.db import current_revisions, make_engine, sqlite_file, upgrade_database

    target = resolve_url(url)
    path = sqlite_file(target)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
    try:
        upgrade_database(target, revision)
    except SQLAlchemyError as exc:
        raise click.ClickException(f"upgrade failed: {exc.__class__.__name__}: {exc}") from exc
    engine = make_engine(target)
    try:
        at = ", ".join(current_revisions(engine))
    finally:
        engine.dispose()
    click.echo(f"database at revision {at}")


@db_group.command("current")
@url_option
def current_command(url: str | None) -> None:
    """Show the revision the database is at and the latest one."""
    from catalog.db import current_revisions, head_revisions, make_engine, sqlite_file

    target = resolve_url(url)
    path = sqlite_file(target)
    if path is not None and not path.exists():
        raise click.ClickException(f"database not initialised: run c2m db upgrade ({path} does not exist)")
    engine = make_engine(target)
    try:
        current = current_revisions(engine)
    finally:
        engine.dispose()
    heads = head_revisions()
    click.echo(f"current: {', '.join(current) or '(none)'}")
    click.echo(f"head:    {', '.join(heads)}")
    if current != heads:
        click.echo("run c2m db upgrade to bring the database up to date")


COMMANDS: list[click.Command] = [db_group]
