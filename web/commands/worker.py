"""`c2m worker`: deliver the outbox's events to the webhook endpoints; `c2m cleanup`: housekeeping."""

from __future__ import annotations

import signal
import threading
from datetime import timedelta
from types import FrameType

import click
from sqlalchemy.orm import Session, sessionmaker

from usecases.cleanup import DEFAULT_CONFIGURATION_AGE, clean_up
from usecases.outbox import DEFAULT_LEASE, DEFAULT_MAX_ATTEMPTS, DEFAULT_TIMEOUT, drain, outbox_status
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
    "--lease",
    default=DEFAULT_LEASE.total_seconds(),
    show_default=True,
    type=click.FloatRange(min=1),
    help="Seconds a claimed event stays reserved for this worker (renewed while the batch runs).",
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
    lease: float,
    show_status: bool,
    url: str | None,
) -> None:
    """Drain the outbox: sign and POST each due event to every subscribed endpoint, retry with backoff.

    SIGTERM or SIGINT stops the worker gracefully: the delivery in flight is finished and
    recorded, the rest of the claimed batch is handed back at once, then the process exits 0.
    """
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
    # On SQLite several workers (and the web app) write the outbox: take the write lock when a
    # transaction begins, so a read-then-write never fails with "database is locked".
    writer = engine.execution_options(sqlite_begin="BEGIN IMMEDIATE") if engine.dialect.name == "sqlite" else engine
    factory: sessionmaker[Session] = sessionmaker(writer, expire_on_commit=False)
    stop = threading.Event()

    def request_stop(signum: int, _frame: FrameType | None) -> None:
        click.echo(f"{signal.Signals(signum).name}: finishing the delivery in flight, then stopping", err=True)
        stop.set()

    previous = {sig: signal.signal(sig, request_stop) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        while not stop.is_set():
            report = drain(
                factory,
                batch=batch,
                max_attempts=max_attempts,
                timeout=timeout,
                lease=timedelta(seconds=lease),
                should_stop=stop.is_set,
            )
            if report.claimed:
                click.echo(
                    f"claimed {report.claimed}: delivered {report.delivered}, "
                    f"retrying {report.retrying}, given up {report.failed}, released {report.released}"
                )
                for line in report.errors:
                    click.echo(f"  {line}", err=True)
            if once:
                return
            if report.claimed < batch:
                stop.wait(interval)
        click.echo("stopped")
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        engine.dispose()


@click.command("cleanup")
@click.option(
    "--older-than-days",
    default=DEFAULT_CONFIGURATION_AGE.days,
    show_default=True,
    type=click.IntRange(min=1),
    help="Delete configurations never ordered and untouched for this many days.",
)
@click.option(
    "--every",
    type=click.FloatRange(min=1),
    default=None,
    help="Run again every this many seconds (until SIGTERM) instead of once.",
)
@url_option
def cleanup_command(older_than_days: int, every: float | None, url: str | None) -> None:
    """Delete abandoned configurations, expired idempotency keys and old workspace sign-ins."""
    engine = open_migrated_engine(resolve_url(url))
    stop = threading.Event()
    previous = {sig: signal.signal(sig, lambda *_: stop.set()) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        while True:
            with Session(engine) as session:
                report = clean_up(session, configuration_age=timedelta(days=older_than_days))
            click.echo(
                f"deleted {report.configurations} configurations, {report.idempotency_keys} idempotency keys, "
                f"{report.sessions} sign-ins"
            )
            if every is None or stop.wait(every):
                return
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        engine.dispose()


COMMANDS: list[click.Command] = [worker_command, cleanup_command]
