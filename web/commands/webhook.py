"""`c2m webhook`: register endpoints that receive signed events, list them, rotate their secrets,
show their recent deliveries, revive dead letters (the same as ``/api/v1/webhooks``)."""

from __future__ import annotations

import click
from sqlalchemy import select
from sqlalchemy.orm import Session

from usecases.errors import UseCaseError
from usecases.outbox import (
    EVENT_TYPES,
    WebhookError,
    add_endpoint,
    disable_endpoint,
    outbox_status,
    retry_failed,
    rotate_secret,
)
from usecases.records import WebhookEndpoint
from usecases.webhook_endpoints import deliveries, get_endpoint
from web.commands.db import database_session, url_option


@click.group("webhook")
def webhook_group() -> None:
    """Webhook endpoints: events are signed (Standard Webhooks) and sent by `c2m worker`."""


@webhook_group.command("add")
@click.argument("endpoint_url", metavar="URL")
@click.option(
    "--events",
    "events",
    multiple=True,
    type=click.Choice(("*", *EVENT_TYPES)),
    help="Event type to send (repeat the option; default: all).",
)
@click.option("--description", default=None, help="What the endpoint is for (shown in listings).")
@url_option
def add_command(endpoint_url: str, events: tuple[str, ...], description: str | None, url: str | None) -> None:
    """Register URL; prints the signing secret (shown once: store it in the receiver)."""
    with database_session(url) as session:
        try:
            endpoint = add_endpoint(session, endpoint_url, events, description=description)
        except WebhookError as exc:
            raise click.ClickException(str(exc)) from exc
        session.commit()
        click.echo(f"endpoint {endpoint.id}: {endpoint.url} ({endpoint.event_types})")
        click.echo(f"secret: {endpoint.secret}")


@webhook_group.command("list")
@url_option
def list_command(url: str | None) -> None:
    """List endpoints and the outbox: pending, delivered, given up (dead letters)."""
    with database_session(url) as session:
        endpoints = list(session.scalars(select(WebhookEndpoint).order_by(WebhookEndpoint.id)))
        if not endpoints:
            click.echo("no webhook endpoints")
        for e in endpoints:
            state = "active" if e.active else "disabled"
            note = f"  ({e.description})" if e.description else ""
            click.echo(f"{e.id}  {state:8}  {e.event_types:40}  {e.url}{note}")

        status = outbox_status(session, limit=0)
        click.echo(
            f"outbox: {status.pending} pending, {status.delivered} delivered, "
            f"{status.failed} given up (c2m worker --status)"
        )


def _endpoint(session: Session, endpoint_id: int) -> WebhookEndpoint:
    try:
        return get_endpoint(session, endpoint_id)
    except UseCaseError as exc:
        raise click.ClickException(str(exc)) from None


@webhook_group.command("disable")
@click.argument("endpoint_id", type=int)
@url_option
def disable_command(endpoint_id: int, url: str | None) -> None:
    """Stop sending events to endpoint ENDPOINT_ID."""
    with database_session(url) as session:
        endpoint = _endpoint(session, endpoint_id)
        disable_endpoint(endpoint)
        session.commit()
        click.echo(f"endpoint {endpoint_id} disabled")


@webhook_group.command("rotate")
@click.argument("endpoint_id", type=int)
@url_option
def rotate_command(endpoint_id: int, url: str | None) -> None:
    """Give endpoint ENDPOINT_ID a new secret (printed once); the old one also signs for 24 hours."""
    with database_session(url) as session:
        endpoint = _endpoint(session, endpoint_id)
        secret = rotate_secret(endpoint)
        session.commit()
        click.echo(f"secret: {secret}")
        click.echo(f"the previous secret also signs until {endpoint.previous_secret_expires_at:%Y-%m-%d %H:%M} UTC")


@webhook_group.command("deliveries")
@click.argument("endpoint_id", type=int)
@click.option("--limit", type=click.IntRange(1, 200), default=20, show_default=True)
@url_option
def deliveries_command(endpoint_id: int, limit: int, url: str | None) -> None:
    """Recent events for endpoint ENDPOINT_ID: state, attempts, next try, last error."""
    with database_session(url) as session:
        endpoint = _endpoint(session, endpoint_id)
        rows = deliveries(session, endpoint, limit=limit)
        if not rows:
            click.echo("no events for this endpoint yet")
        for d in rows:
            extra = f" next {d['next_attempt_at']}" if d["next_attempt_at"] else ""
            error = f" last error: {d['last_error']}" if d["last_error"] else ""
            click.echo(
                f"#{d['sequence']} {d['type']:32} {d['order_number'] or '-':16} {d['state']:9} "
                f"attempts {d['attempts']}{extra}{error}"
            )


@webhook_group.command("retry")
@click.argument("event_id", required=False)
@url_option
def retry_command(event_id: str | None, url: str | None) -> None:
    """Queue given-up events again (all of them, or EVENT_ID) with a fresh attempt budget."""
    with database_session(url) as session:
        n = retry_failed(session, event_id=event_id)
    click.echo(f"{n} event(s) queued again")


COMMANDS: list[click.Command] = [webhook_group]
