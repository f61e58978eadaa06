"""The webhook worker against a receiver that answers in 7 s: SIGTERM finishes the delivery in
flight and hands the rest of the batch back at once; leases renewed per event mean a second
worker never delivers an event the first one holds (no duplicate deliveries)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session
from standardwebhooks import Webhook

from catalog.db import make_engine
from tests.faults.conftest import REPO
from tests.security.conftest import place_order
from usecases.outbox import add_endpoint
from usecases.records import OutboxEvent
from web import create_app

SLOW_S = 7.0


class SlowReceiver:
    """Verifies signatures, records each delivery (id, start, end) and answers after ``delay`` seconds."""

    def __init__(self) -> None:
        self.secret = ""
        self.delay = SLOW_S
        self.deliveries: list[tuple[str, float, float]] = []
        self.started = threading.Event()
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["content-length"]))
                headers = {k.lower(): v for k, v in self.headers.items()}
                Webhook(receiver.secret).verify(body, headers)
                begun = time.monotonic()
                receiver.started.set()
                time.sleep(receiver.delay)
                with receiver.lock:
                    receiver.deliveries.append((headers["webhook-id"], begun, time.monotonic()))
                try:
                    self.send_response(204)
                    self.end_headers()
                except OSError:
                    pass

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def ids(self) -> list[str]:
        with self.lock:
            return [d[0] for d in self.deliveries]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[SlowReceiver]:
    r = SlowReceiver()
    yield r
    r.close()


def queue_events(db_url: str, receiver: SlowReceiver, orders: int) -> list[str]:
    """``orders`` orders, each queueing two events for an endpoint subscribed to everything."""
    app = create_app({"DATABASE_URL": db_url, "TESTING": True, "SECRET_KEY": "t", "RATELIMIT_ENABLED": False})
    engine = make_engine(db_url)
    try:
        with Session(engine) as session:
            receiver.secret = add_endpoint(session, receiver.url).secret
            session.commit()
        for _ in range(orders):
            place_order(app.test_client(), "wuhan-bikes", "city-ebike")
        with Session(engine) as session:
            return [e.event_id for e in session.scalars(select(OutboxEvent).order_by(OutboxEvent.id))]
    finally:
        app.extensions["c2m.engine"].dispose()
        engine.dispose()


def events(db_url: str) -> list[OutboxEvent]:
    engine = make_engine(db_url)
    try:
        with Session(engine) as session:
            return list(session.scalars(select(OutboxEvent).order_by(OutboxEvent.id)))
    finally:
        engine.dispose()


def start_worker(url: str, log: Path, *args: str) -> subprocess.Popen[bytes]:
    with log.open("ab") as out:
        return subprocess.Popen(
            [sys.executable, "-c", "from web.cli import main; main()", "worker", "--url", url,
             "--interval", "0.2", "--timeout", "30", *args],
            cwd=REPO, env={**os.environ, "C2M_DATABASE_URL": url}, stdout=out, stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def test_sigterm_finishes_the_delivery_in_flight_and_releases_the_rest(
    db_url: str, receiver: SlowReceiver, tmp_path: Path
) -> None:
    queued = queue_events(db_url, receiver, orders=2)
    assert len(queued) == 4
    log = tmp_path / "worker.log"
    worker = start_worker(db_url, log)
    try:
        assert receiver.started.wait(30), log.read_text()
        signalled = time.monotonic()
        worker.send_signal(signal.SIGTERM)
        assert worker.wait(SLOW_S + 10) == 0, log.read_text()
        stopped_after = time.monotonic() - signalled
    finally:
        if worker.poll() is None:
            os.killpg(worker.pid, signal.SIGKILL)
            worker.wait()
    assert stopped_after < SLOW_S + 5
    assert receiver.ids() == [queued[0]]  # the one in flight was finished, nothing else started
    rows = events(db_url)
    assert rows[0].delivered_at is not None and rows[0].attempts == 1
    now = datetime.now(UTC)
    for row in rows[1:]:
        assert row.delivered_at is None and row.attempts == 0
        assert row.next_attempt_at <= now  # handed back: due now, not after a 5-minute lease
    assert "SIGTERM" in log.read_text()
    # The next worker delivers the rest at once, each exactly once.
    receiver.delay = 0.0
    again = start_worker(db_url, log, "--once")
    assert again.wait(60) == 0, log.read_text()
    assert sorted(receiver.ids()) == sorted(queued)
    assert all(row.delivered_at is not None for row in events(db_url))


def test_two_workers_and_a_slow_receiver_never_deliver_an_event_twice(
    db_url: str, receiver: SlowReceiver, tmp_path: Path
) -> None:
    queued = queue_events(db_url, receiver, orders=2)
    log = tmp_path / "workers.log"
    # A lease shorter than one delivery: renewal per event is what keeps the events apart.
    workers = [start_worker(db_url, log, "--lease", "3") for _ in range(2)]
    try:
        deadline = time.monotonic() + 4 * SLOW_S + 30
        while time.monotonic() < deadline and not all(r.delivered_at for r in events(db_url)):
            time.sleep(0.5)
    finally:
        for worker in workers:
            worker.send_signal(signal.SIGTERM)
        for worker in workers:
            try:
                assert worker.wait(SLOW_S + 10) == 0, log.read_text()
            finally:
                if worker.poll() is None:
                    os.killpg(worker.pid, signal.SIGKILL)
                    worker.wait()
    assert all(r.delivered_at is not None for r in events(db_url)), log.read_text()
    ids = receiver.ids()
    assert sorted(ids) == sorted(queued), (ids, log.read_text())  # every event once, no duplicate
