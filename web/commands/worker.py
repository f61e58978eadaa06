"""`c2m worker`: run the background jobs; `c2m jobs`: what they are doing; `c2m cleanup`: housekeeping now."""

from __future__ import annotations

import os
import signal
import sys
import threading
from datetime import timedelta
from types import FrameType
from typing import Any

import click
from sqlalchemy.orm import Session, sessionmaker

from usecases.cleanup import DEFAULT_CONFIGURATION_AGE, clean_up
from usecases.outbox import DEFAULT_LEASE, DEFAULT_MAX_ATTEMPTS, DEFAULT_TIMEOUT, drain, retry_failed
from web.commands.db import database_session, open_migrated_engine, resolve_url, url_option


def _print_status(url: str | None) -> None:
    from jobs.engine import current
    from jobs.status import jobs_status

    try:
        jobs = current()
    except ValueError as exc:
        raise click.UsageError(str(exc)) from exc
    with database_session(url) as session:
        status = jobs_status(session, jobs)
        outbox = status.outbox
        if not status.configured:
            click.echo("job engine: not configured (set C2M_BROKER_URL or C2M_REDIS_URL)")
        elif not status.reachable:
            click.echo(f"job engine: UNREACHABLE ({status.error})")
        else:
            click.echo(f"{'queue':<12} {'queued':>7} {'delayed':>8} {'running':>8} {'dead':>6} {'oldest':>8}")
            for q in status.queues:
                oldest = f"{q.oldest_queued_s:.0f}s" if q.oldest_queued_s is not None else "-"
                click.echo(f"{q.name:<12} {q.queued:>7} {q.delayed:>8} {q.running:>8} {q.dead:>6} {oldest:>8}")
            click.echo(f"workers alive: {len(status.workers)}")
            for w in status.workers:
                click.echo(f"  {w.host} pid {w.pid}  last beat {w.age():.0f} s ago  queues {', '.join(w.queues)}")
            problem = status.problem()
            if problem:
                click.echo(f"WARNING: {problem}")
            if status.failures:
                click.echo("recent failures:")
            for f in status.failures:
                state = "given up" if f.given_up else f"retry {f.retries}"
                click.echo(f"  {f.at:%Y-%m-%d %H:%M:%S} UTC  {f.actor}{tuple(f.args)}  {state}  {f.error}")
        preparing = [m for m in status.models if m.status == "preparing"]
        failed = [m for m in status.models if m.status == "failed"]
        click.echo(f"models preparing: {len(preparing)}  failed: {len(failed)}")
        for m in status.models:
            versions = ", ".join(f"{c} v{n}" for c, n in m.versions) or "no published version"
            click.echo(f"  {m.status.upper():<9} {m.product} ({versions})  model {m.model_key}  "
                       f"attempts={m.attempts}  since {m.updated_at:%Y-%m-%d %H:%M:%S} UTC  {m.detail or ''}")
        click.echo(f"pending: {outbox.pending}  delivered: {outbox.delivered}  given up: {outbox.failed}")
        for e in outbox.dead_letters:
            when = e.failed_at.strftime("%Y-%m-%d %H:%M UTC") if e.failed_at else "-"
            click.echo(f"  {e.event_id}  {e.event_type}  attempts={e.attempts}  at {when}  {e.last_error or ''}")


@click.command("worker")
@click.option("--once", is_flag=True, help="One pass of the built-in outbox loop over the due events, then exit.")
@click.option(
    "--processes", default=1, show_default=True, type=click.IntRange(min=1), help="Job worker processes."
)
@click.option(
    "--threads", default=4, show_default=True, type=click.IntRange(min=1), help="Job threads per process."
)
@click.option(
    "--shutdown-timeout",
    default=60.0,
    show_default=True,
    type=click.FloatRange(min=1),
    help="Seconds SIGTERM waits for running jobs before they are interrupted (and go back to the queue).",
)
@click.option(
    "--batch", default=50, show_default=True, type=click.IntRange(min=1), help="Built-in loop: events per pass."
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
    "--interval", default=2.0, show_default=True, type=float, help="Built-in loop: seconds between passes when idle."
)
@click.option(
    "--lease",
    default=DEFAULT_LEASE.total_seconds(),
    show_default=True,
    type=click.FloatRange(min=1),
    help="Seconds a claimed event stays reserved for its delivery (renewed while a batch runs).",
)
@click.option(
    "--status", "show_status", is_flag=True, help="Show the job queues, recent failures and the outbox, then exit."
)
@url_option
def worker_command(
    once: bool,
    processes: int,
    threads: int,
    shutdown_timeout: float,
    batch: int,
    max_attempts: int,
    timeout: float,
    interval: float,
    lease: float,
    show_status: bool,
    url: str | None,
) -> None:
    """Run the background jobs: webhook delivery, compile-on-publish, cleanup.

    With a job engine configured (C2M_BROKER_URL, else C2M_REDIS_URL) this
    execs Dramatiq's worker on the jobs package (`dramatiq jobs.worker`): every
    process runs jobs and sweeps the outbox for due events. SIGTERM lets running
    jobs finish (up to --shutdown-timeout), hands the rest back, and exits.

    Without one (or with --once) it runs the built-in outbox loop, webhooks
    only: SIGTERM finishes the delivery in flight and hands the rest of the
    claimed batch back at once.
    """
    if show_status:
        _print_status(url)
        return
    from jobs.settings import broker_url

    if broker_url() and not once:
        _exec_job_worker(resolve_url(url), processes, threads, shutdown_timeout, max_attempts, timeout, lease)
        return
    if not once:
        click.echo(
            "no job engine configured (C2M_BROKER_URL / C2M_REDIS_URL): running the built-in outbox loop "
            "(webhooks only; compile-on-publish and cleanup jobs need the job engine)",
            err=True,
        )
    _outbox_loop(url, once, batch, max_attempts, timeout, interval, lease)


def _exec_job_worker(
    database_url: str,
    processes: int,
    threads: int,
    shutdown_timeout: float,
    max_attempts: int,
    timeout: float,
    lease: float,
) -> None:
    """Replace this process by Dramatiq's worker (signals from a supervisor reach it directly)."""
    from jobs.engine import build_broker
    from jobs.settings import JobSettings, broker_url

    try:  # refuse a bad broker URL or setting here, not in every worker process
        build_broker(broker_url() or "", JobSettings.from_env()).close()
    except ValueError as exc:
        raise click.UsageError(str(exc)) from exc
    open_migrated_engine(database_url).dispose()  # refuse an unmigrated database before starting
    env = dict(os.environ)
    env["C2M_DATABASE_URL"] = database_url
    ctx = click.get_current_context()
    for name, variable, value in (
        ("max_attempts", "C2M_WEBHOOK_MAX_ATTEMPTS", max_attempts),
        ("timeout", "C2M_WEBHOOK_TIMEOUT_S", timeout),
        ("lease", "C2M_JOBS_WEBHOOK_LEASE_S", lease),
    ):
        # An option given on the command line wins; its default gives way to the environment.
        if ctx.get_parameter_source(name) is click.core.ParameterSource.DEFAULT:
            env.setdefault(variable, str(value))
        else:
            env[variable] = str(value)
    argv = [
        sys.executable,
        "-m",
        "dramatiq",
        "jobs.worker",
        "--processes",
        str(processes),
        "--threads",
        str(threads),
        "--worker-shutdown-timeout",
        str(int(shutdown_timeout * 1000)),
    ]
    sys.stdout.flush()
    sys.stderr.flush()
    os.execve(sys.executable, argv, env)  # nosec B606 - our own interpreter, fixed arguments


def _outbox_loop(
    url: str | None, once: bool, batch: int, max_attempts: int, timeout: float, interval: float, lease: float
) -> None:
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


@click.group("jobs", invoke_without_command=True)
@url_option
@click.pass_context
def jobs_group(ctx: click.Context, url: str | None) -> None:
    """Background jobs: queues, failures and the outbox (no subcommand: the status)."""
    ctx.obj = url
    if ctx.invoked_subcommand is None:
        _print_status(url)


def _engine_or_fail() -> Any:
    from jobs.engine import current

    jobs = current()
    if jobs is None:
        raise click.UsageError("no job engine configured: set C2M_BROKER_URL (or C2M_REDIS_URL)")
    return jobs


@jobs_group.command("prepare")
@click.argument("code")
@click.argument("number", type=click.IntRange(min=1))
def jobs_prepare(code: str, number: int) -> None:
    """Queue compiling the models of catalog CODE version NUMBER (a model recorded as failed is
    compiled again, with fresh attempts)."""
    message = _engine_or_fail().prepare_version.send(code, number, True)
    click.echo(f"queued prepare_version({code!r}, {number}) as {message.message_id}")


def _print_report(report: Any, *, full: bool) -> None:
    when = report.finished_at or report.started_at or report.created_at
    attempts = f", {report.attempts} attempt(s)" if report.attempts else ""
    click.echo(f"report {report.id}: {report.title()}: {report.status}{attempts} ({when:%Y-%m-%d %H:%M:%S} UTC)")
    if report.error:
        click.echo(f"  error: {report.error}")
    if full and report.result is not None:
        if report.kind == "check":
            click.echo(f"  {report.result['errors']} error(s), {report.result['warnings']} warning(s)")
        for line in report.result.get("lines", []):
            click.echo(f"  {line}")


def _ask(url: str | None, request: Any, wait: float | None) -> None:
    """Store the request, queue its job (unless the same one is queued, running or done) and
    optionally wait for its result."""
    import time

    from catalog.errors import CatalogError
    from jobs.engine import send_report
    from usecases.check_reports import get_report, not_sent

    _engine_or_fail()  # nothing would ever run it: refuse before storing anything
    with database_session(url) as session:
        try:
            report, new = request(session)
        except CatalogError as exc:
            raise click.ClickException(str(exc)) from exc
        session.commit()
        if new:
            try:
                message = send_report(report.id)
            except Exception as exc:  # the broker away: the row says so, asking again queues it again
                not_sent(session, report.id, f"{type(exc).__name__}: {exc}")
                raise click.ClickException(f"report {report.id} not queued: {exc}") from exc
            click.echo(f"queued report {report.id} ({report.title()}) as {message}")
        else:
            click.echo(f"report {report.id} ({report.title()}) is already {report.status} (use --again to redo it)")
        deadline = None if wait is None else time.monotonic() + wait
        while True:
            report = get_report(session, report.id)
            session.commit()
            if report.status in ("done", "failed") or deadline is None or time.monotonic() >= deadline:
                break
            time.sleep(0.5)
        _print_report(report, full=True)
        if report.status == "failed" or (report.status == "done" and report.kind == "check"
                                          and report.result and report.result["errors"]):
            raise SystemExit(1)


_wait_option = click.option(
    "--wait", type=click.FloatRange(min=0), default=None,
    help="Wait up to this many seconds for the result (the status is printed either way).",
)
_again_option = click.option("--again", is_flag=True, help="Run it again even when a result is stored.")


@jobs_group.command("check")
@click.argument("code")
@click.option("--version", "number", type=click.IntRange(min=1), default=None,
              help="The version to check (default: the draft, else the version in force).")
@_wait_option
@_again_option
@url_option
@click.pass_obj
def jobs_check(
    group_url: str | None, code: str, number: int | None, wait: float | None, again: bool, url: str | None
) -> None:
    """Queue every catalog check of CODE as a job; its result is stored (see `c2m jobs report`)."""
    from usecases.check_reports import request_check

    url = url or group_url
    _ask(url, lambda s: request_check(s, code, number, requested_by="cli", again=again), wait)


@jobs_group.command("diff")
@click.argument("code")
@click.argument("a", type=click.IntRange(min=1))
@click.argument("b", type=click.IntRange(min=1))
@_wait_option
@_again_option
@url_option
@click.pass_obj
def jobs_diff(
    group_url: str | None, code: str, a: int, b: int, wait: float | None, again: bool, url: str | None
) -> None:
    """Queue the semantic diff of versions A and B of CODE (and the records on A that B refuses) as a job."""
    from usecases.version_diff import request_diff

    url = url or group_url
    _ask(url, lambda s: request_diff(s, code, a, b, requested_by="cli", again=again), wait)


@jobs_group.command("reports")
@click.option("--catalog", "code", default=None, help="Only this catalog's.")
@url_option
@click.pass_obj
def jobs_reports(group_url: str | None, code: str | None, url: str | None) -> None:
    """The checks and diffs asked for, newest first, with their state."""
    from usecases.check_reports import list_reports

    url = url or group_url
    with database_session(url) as session:
        for report in list_reports(session, code=code):
            _print_report(report, full=False)


@jobs_group.command("report")
@click.argument("report_id", type=click.IntRange(min=1))
@url_option
@click.pass_obj
def jobs_report(group_url: str | None, report_id: int, url: str | None) -> None:
    """One check or diff: its state and, when done, its result."""
    from usecases.check_reports import ReportNotFound, get_report

    url = url or group_url
    with database_session(url) as session:
        try:
            report = get_report(session, report_id)
        except ReportNotFound as exc:
            raise click.UsageError(str(exc)) from exc
        _print_report(report, full=True)


@jobs_group.command("cleanup")
def jobs_cleanup() -> None:
    """Queue the cleanup job now."""
    message = _engine_or_fail().cleanup.send()
    click.echo(f"queued cleanup() as {message.message_id}")


@jobs_group.command("retry-webhooks")
@click.option("--event", "event_id", default=None, help="Only this event id.")
@click.pass_obj
def jobs_retry_webhooks(url: str | None, event_id: str | None) -> None:
    """Give the given-up webhook events a fresh attempt budget (the sweeper sends them at once)."""
    with database_session(url) as session:
        count = retry_failed(session, event_id=event_id)
    click.echo(f"{count} event(s) queued again")


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


COMMANDS: list[click.Command] = [worker_command, jobs_group, cleanup_command]
