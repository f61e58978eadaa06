"""`c2m worker`: deliver the outbox's events to the webhook endpoints."""

from __future__ import annotations

import time

import click
from sqlalchemy.orm import Session, sessionmaker

from usecases.outbox import DEFAULT_MAX_ATTEMPTS, DEFAULT_TIMEOUT, drain, outbox_status
from web.commands.db import database_session, open_migrated_engine, resolve_url, url_option


@click.command("worker")
@click.option("--once", is_flag=True, help="One pass over the due events, then exit.")
@click.option(
    "--batch", default=50, show_default=True, type=click.IntRange(min=1), help="Events claimed per pass."
)
@click.option(
    "--max-attempts",
    default=DEFAULT_MAX_ATTEMPTS,
    show_default=True,
    type=click.IntRange(min=1),
    help="Attempts before an event is given up.",
)
@click.option(
    "--timeout", default=DEFAULT_TIMEOUT, show_default=True, type=float, help="Seconds per delivery."
)
@click.option(
    "--interval", default=2.0, show_default=True, type=float, help="Seconds between passes when idle."
)
@click.option(
    "--status", "show_status", is_flag=True, help="Show the outbox and the given-up events, then exit."
)
@url_option
def worker_command(
    once: bool,
    batch: int,
    max_attempts: int,
    timeout: float,
    interval: float,
    show_status: bool,
    url: str | None,
) -> None:
    """Drain the outbox: sign and POST each due event to every subscribed endpoint, retry with backoff."""
    if show_status:
        with database_session(url) as session:
            status = outbox_status(session)
            click.echo(f"pending: {status.pending}  delivered: {status.delivered}  given up: {status.failed}")
            for e in status.dead_letters:
                when = e.failed_at.strftime("%Y-%m-%d %H:%M UTC") if e.failed_at else "-"
                click.echo(
                    f"  {e.event_id}  {e.event_type}  attempts={e.attempts}  at {when}  {e.last_error or ''}"
                )
        return
    engine = open_migrated_engine(resolve_url(url))
    factory: sessionmaker[Session] = sessionmaker(engine, expire_on_commit=False)
    try:
        while True:
            report = drain(factory, batch=batch, max_attempts=max_attempts, timeout=timeout)
            if report.claimed:
                click.echo(
                    f"claimed {report.claimed}: delivered {report.delivered}, "
                    f"retrying {report.retrying}, given up {report.failed}"
                )
                for line in report.errors:
                    click.echo(f"  {line}", err=True)
            if once:
                return
            if report.claimed < batch:
                time.sleep(interval)
    except KeyboardInterrupt:
        click.echo("stopped")
    finally:
        engine.dispose()


COMMANDS: list[click.Command] = [worker_command]
