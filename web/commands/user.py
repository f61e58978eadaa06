"""`c2m user`: workspace accounts (``c2m user create EMAIL --role admin|editor|viewer``)."""

from __future__ import annotations

import click
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from usecases.records import User
from web.accounts import ROLES, AccountError, create_user, normalize_email, set_password
from web.commands.db import open_migrated_engine, resolve_url, url_option


@click.group("user")
def user() -> None:
    """Manage the manufacturer's workspace accounts."""


@user.command("create")
@click.argument("email")
@click.option(
    "--role",
    type=click.Choice(ROLES),
    required=True,
    help="viewer reads, editor edits catalogs, admin also manages users.",
)
@click.option(
    "--password",
    prompt=True,
    hide_input=True,
    confirmation_prompt=True,
    help="The password (at least 8 characters); asked for when not given.",
)
@url_option
def create(email: str, role: str, password: str, url: str | None) -> None:
    """Create a workspace user with an argon2id-hashed password."""
    engine = open_migrated_engine(resolve_url(url))
    try:
        with Session(engine) as session:
            try:
                created = create_user(session, email, password, role)
            except AccountError as exc:
                raise click.ClickException(str(exc)) from exc
            session.commit()
            click.echo(f"created {created.role} {created.email} (id {created.id})")
    finally:
        engine.dispose()


@user.command("password")
@click.argument("email")
@click.option(
    "--password",
    prompt=True,
    hide_input=True,
    confirmation_prompt=True,
    help="The new password (at least 8 characters); asked for when not given.",
)
@url_option
def password(email: str, password: str, url: str | None) -> None:
    """Change a user's password; every open workspace sign-in of the user ends."""
    engine = open_migrated_engine(resolve_url(url))
    try:
        with Session(engine) as session:
            found = session.scalars(select(User).where(func.lower(User.email) == normalize_email(email))).first()
            if found is None:
                raise click.ClickException(f"no user with e-mail {email}")
            try:
                set_password(session, found, password)
            except AccountError as exc:
                raise click.ClickException(str(exc)) from exc
            session.commit()
            click.echo(f"changed the password of {found.email}; their sign-ins were ended")
    finally:
        engine.dispose()


COMMANDS: list[click.Command] = [user]
