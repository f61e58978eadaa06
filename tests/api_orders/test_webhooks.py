"""Webhooks: signed delivery from the outbox, retries with the same id, backoff, dead letters, CLI."""

from __future__ import annotations

import json
import random
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from click.testing import CliRunner
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from standardwebhooks import Webhook

from usecases.outbox import (
    BACKOFF_BASE,
    BACKOFF_CAP,
    WebhookError,
    add_endpoint,
    backoff_delay,
    claim,
    drain,
    outbox_status,
    retry_failed,
)
from usecases.records import OutboxEvent, WebhookEndpoint
from web.commands.webhook import webhook_group
from web.commands.worker import worker_command

from .conftest import post_order


class Receiver:
    """A local HTTP endpoint on 127.0.0.1 answering with queued statuses (then 204)."""

    def __init__(self) -> None:
        self.requests: list[tuple[dict[str, str], bytes]] = []
        self.statuses: list[int] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.requests.append(({k.lower(): v for k, v in self.headers.items()}, body))
                status = receiver.statuses.pop(0) if receiver.statuses else 204
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                return None

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.close()


def _endpoint(factory: sessionmaker[Session], url: str, events: tuple[str, ...] = ()) -> WebhookEndpoint:
    with factory() as session:
        endpoint = add_endpoint(session, url, events)
        session.commit()
        return endpoint


class Clock:
    """A controllable ``now`` for the worker."""

    def __init__(self) -> None:
        self.moment = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.moment


def test_an_order_event_arrives_signed_and_verifiable(
    client: FlaskClient, factory: sessionmaker[Session], bike_order: dict[str, Any], receiver: Receiver
) -> None:
    endpoint = _endpoint(factory, receiver.url, ("order.created",))
    number = post_order(client, bike_order, "hook").get_json()["number"]
    report = drain(factory)
    assert (report.claimed, report.delivered, report.failed) == (2, 2, 0)
    assert len(receiver.requests) == 1  # production_order.released is not subscribed
    headers, body = receiver.requests[0]
    payload = Webhook(endpoint.secret).verify(body, headers)
    assert payload["type"] == "order.created" and payload["data"]["order"]["number"] == number
    with factory() as session:
        event = session.scalars(select(OutboxEvent).where(OutboxEvent.event_type == "order.created")).one()
        assert headers["webhook-id"] == event.event_id
        assert event.delivered_at is not None and event.attempts == 1
    with pytest.raises(Exception, match="(?i)signature"):
        Webhook(endpoint.secret).verify(body.replace(b"SO-", b"SX-"), headers)
    assert drain(factory).claimed == 0  # nothing left to do


def test_a_failing_receiver_gets_the_same_event_id_until_the_third_attempt_succeeds(
    client: FlaskClient, factory: sessionmaker[Session], bike_order: dict[str, Any], receiver: Receiver
) -> None:
    endpoint = _endpoint(factory, receiver.url, ("production_order.released",))
    post_order(client, bike_order, "retry")
    receiver.statuses = [500, 503]
    clock = Clock()
    first = drain(factory, now=clock, rng=random.Random(1))
    assert (first.retrying, first.delivered) == (1, 1)  # order.created has no subscriber: done at once
    with factory() as session:
        event = session.scalars(select(OutboxEvent).where(OutboxEvent.event_type != "order.created")).one()
        assert event.attempts == 1 and "HTTP 500" in (event.last_error or "")
        due = event.next_attempt_at
    assert drain(factory, now=clock).claimed == 0  # not due yet
    clock.moment = due + timedelta(seconds=1)
    assert drain(factory, now=clock, rng=random.Random(2)).retrying == 1
    with factory() as session:
        due = session.scalars(select(OutboxEvent.next_attempt_at).where(OutboxEvent.attempts == 2)).one()
    clock.moment = due + timedelta(seconds=1)
    assert drain(factory, now=clock).delivered == 1
    ids = [headers["webhook-id"] for headers, _ in receiver.requests]
    assert len(ids) == 3 and len(set(ids)) == 1
    for headers, body in receiver.requests:
        Webhook(endpoint.secret).verify(body, headers)
    with factory() as session:
        event = session.scalars(select(OutboxEvent).where(OutboxEvent.attempts == 3)).one()
        assert event.delivered_at is not None and event.last_error is None


def test_only_failed_endpoints_are_retried(
    client: FlaskClient, factory: sessionmaker[Session], bike_order: dict[str, Any]
) -> None:
    good, bad = Receiver(), Receiver()
    try:
        _endpoint(factory, good.url, ("order.created",))
        _endpoint(factory, bad.url, ("order.created",))
        post_order(client, bike_order, "two")
        bad.statuses = [500]
        clock = Clock()
        drain(factory, now=clock)
        clock.moment += BACKOFF_CAP
        drain(factory, now=clock)
        assert (len(good.requests), len(bad.requests)) == (1, 2)
    finally:
        good.close()
        bad.close()


def test_an_event_is_given_up_after_max_attempts_and_can_be_queued_again(
    client: FlaskClient, factory: sessionmaker[Session], bike_order: dict[str, Any]
) -> None:
    _endpoint(factory, "http://127.0.0.1:9/unreachable", ("order.created",))
    post_order(client, bike_order, "dead")
    clock = Clock()
    for _ in range(3):
        drain(factory, now=clock, max_attempts=3, timeout=2)
        clock.moment += BACKOFF_CAP
    with factory() as session:
        status = outbox_status(session)
        assert (status.failed, status.pending) == (1, 0)
        dead = status.dead_letters[0]
        assert dead.attempts == 3 and dead.failed_at is not None and "endpoint" in (dead.last_error or "")
        assert retry_failed(session) == 1
        assert outbox_status(session).pending == 1


def test_backoff_doubles_from_the_base_up_to_the_cap_with_jitter_between_half_and_full() -> None:
    rng = random.Random(7)
    for attempt in range(1, 15):
        ceiling = min(BACKOFF_BASE * 2 ** (attempt - 1), BACKOFF_CAP)
        delays = [backoff_delay(attempt, rng=rng) for _ in range(50)]
        assert all(ceiling / 2 <= d <= ceiling for d in delays), attempt
        assert len(set(delays)) > 1  # jitter spreads retries
    assert backoff_delay(3, rng=random.Random(0)) == backoff_delay(3, rng=random.Random(0))
    with pytest.raises(ValueError):
        backoff_delay(0)


def test_a_claimed_event_is_leased_so_a_second_worker_skips_it(
    client: FlaskClient, factory: sessionmaker[Session], bike_order: dict[str, Any]
) -> None:
    post_order(client, bike_order, "lease")
    now = datetime.now(UTC)
    with factory() as first, factory() as second:
        assert len(claim(first, batch=10, now=now)) == 2
        assert claim(second, batch=10, now=now) == []


@pytest.mark.parametrize(
    ("url", "events"),
    [("ftp://example.com/x", ()), ("/relative", ()), ("https://example.com/x", ("order.deleted",))],
)
def test_bad_endpoints_are_refused(factory: sessionmaker[Session], url: str, events: tuple[str, ...]) -> None:
    with factory() as session, pytest.raises(WebhookError):
        add_endpoint(session, url, events)


def test_cli_adds_lists_and_drains(
    client: FlaskClient,
    db_url: str,
    factory: sessionmaker[Session],
    bike_order: dict[str, Any],
    receiver: Receiver,
) -> None:
    runner = CliRunner()
    added = runner.invoke(webhook_group, ["add", receiver.url, "--events", "order.created", "--url", db_url])
    assert added.exit_code == 0, added.output
    secret = added.output.split("secret: ")[1].strip()
    assert secret.startswith("whsec_")
    post_order(client, bike_order, "cli")
    listed = runner.invoke(webhook_group, ["list", "--url", db_url])
    assert receiver.url in listed.output and "2 pending" in listed.output
    drained = runner.invoke(worker_command, ["--once", "--url", db_url])
    assert drained.exit_code == 0 and "delivered 2" in drained.output
    headers, body = receiver.requests[0]
    assert json.loads(body)["type"] == "order.created"
    Webhook(secret).verify(body, headers)
    status = runner.invoke(worker_command, ["--status", "--url", db_url])
    assert "pending: 0  delivered: 2  given up: 0" in status.output
    bad = runner.invoke(webhook_group, ["add", "nope", "--url", db_url])
    assert bad.exit_code != 0 and "http" in bad.output
