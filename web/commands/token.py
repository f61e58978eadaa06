"""`c2m token` commands: create, list and revoke API tokens.

``c2m token create --name ERP --scope erp:read`` prints the secret once (only
its SHA-256 is stored); ``c2m token list`` shows id, name, prefix, scopes and
status; ``c2m token revoke ID`` makes a token unusable at once.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

import click
from sqlalchemy import select

from usecases.records import ApiToken
from web.auth import SCOPES, create_token
from web.commands.db import database_session, url_option


@click.group("token")
def token_group() -> None:
    """API tokens for ERP systems and catalog tooling."""


@token_group.command("create")
@click.option("--name", required=True, help="Who or what uses the token (e.g. 'SAP production').")
@click.option(
    "--scope",
    "scopes",
    multiple=True,
    required=True,
    type=click.Choice(SCOPES),
    help="A scope the token grants; repeat for several.",
)
@click.option(
    "--catalog",
    "catalog_code",
    default=None,
    metavar="CODE",
    help="Limit the token to one catalog: its versions, orders and production orders only.",
)
@url_option
def create_command(name: str, scopes: tuple[str, ...], catalog_code: str | None, url: str | None) -> None:
    """Create a token and print its secret (shown this once only)."""
    if not name.strip():
        raise click.BadParameter("the name must not be empty", param_hint="--name")
    with database_session(url) as session:
        if catalog_code is not None:
            from catalog.models import CatalogRecord

            if session.scalars(select(CatalogRecord).where(CatalogRecord.code == catalog_code)).first() is None:
                raise click.BadParameter(f"no catalog {catalog_code!r}", param_hint="--catalog")
        row, secret = create_token(session, name.strip(), list(scopes), catalog_code)
        session.commit()
        limit = f" limited to catalog {row.catalog_code}" if row.catalog_code else ""
        click.echo(f"token {row.id} ({row.name}) with scopes {row.scopes}{limit}:", err=True)
        click.echo(secret)
        click.echo("Store it now: it cannot be shown again.", err=True)


@token_group.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
@url_option
def list_command(as_json: bool, url: str | None) -> None:
    """Every token: id, name, prefix, scopes, created, last used, revoked."""
    with database_session(url) as session:
        rows = session.scalars(select(ApiToken).order_by(ApiToken.id)).all()
    if as_json:
        click.echo(
            json.dumps(
                [
                    {
                        "id": r.id,
                        "name": r.name,
                        "prefix": r.prefix,
                        "scopes": r.scopes.split(),
                        "catalog": r.catalog_code,
                        "created_at": r.created_at.isoformat(),
                        "last_used_at": r.last_used_at.isoformat() if r.last_used_at else None,
                        "revoked_at": r.revoked_at.isoformat() if r.revoked_at else None,
                    }
                    for r in rows
                ],
                indent=2,
            )
        )
        return
    if not rows:
        click.echo("no tokens")
        return
    for r in rows:
        status = f"revoked {r.revoked_at:%Y-%m-%d}" if r.revoked_at else "active"
        click.echo(
            f"{r.id:>4}  {r.prefix}…  {r.name}  [{r.scopes}]"
            + (f"  catalog {r.catalog_code}" if r.catalog_code else "")
            + f"  created {r.created_at:%Y-%m-%d}  {status}"
        )


@token_group.command("revoke")
@click.argument("token_id", type=int)
@url_option
def revoke_command(token_id: int, url: str | None) -> None:
    """Revoke token ID (see `c2m token list`); requests with it get 401 from now on."""
    with database_session(url) as session:
        row = session.get(ApiToken, token_id)
        if row is None:
            raise click.ClickException(f"no token with id {token_id}")
        if row.revoked_at is not None:
            raise click.ClickException(f"token {token_id} was already revoked on {row.revoked_at:%Y-%m-%d}")
        row.revoked_at = datetime.now(UTC)
        session.commit()
    click.echo(f"token {token_id} revoked")


COMMANDS: list[click.Command] = [token_group]
