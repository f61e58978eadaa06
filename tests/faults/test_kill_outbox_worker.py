"""The outbox worker killed (SIGKILL) while a receiver is still answering: the event stays
claimed until its lease ends, is delivered again with the same webhook-id, and a receiver that
de-duplicates by that id handles it once."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, update
from sqlalchemy.orm import Session
from standardwebhooks import Webhook

from catalog.db import make_engine
from tests.faults.conftest import REPO
from tests.security.conftest import place_order
from usecases.outbox import add_endpoint
from usecases.records import OutboxEvent
from web import create_app


class Receiver:
    """A webhook receiver that verifies signatures and de-duplicates by ``webhook-id``.

    The first delivery is held (no answer) until released, so the sender can be killed mid-delivery.
    """

    def __init__(self) -> None:
        self.secret = ""
        self.deliveries: list[str] = []
        self.processed: set[str] = set()
        self.first = threading.Event()
        self.release = threading.Event()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["content-length"]))
                headers = {k.lower(): v for k, v in self.headers.items()}
                Webhook(receiver.secret).verify(body, headers)  # raises on a bad signature
                event_id = headers["webhook-id"]
                receiver.deliveries.append(event_id)
                if len(receiver.deliveries) == 1:
                    receiver.first.set()
                    receiver.release.wait(30)
                receiver.processed.add(event_id)  # idempotent processing: a set keyed by the id
                try:
                    self.send_response(204)
                    self.end_headers()
                except OSError:  # the sender is gone
                    pass

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.close()


def start_worker(url: str, log: Path, *args: str) -> subprocess.Popen[bytes]:
    env = {**os.environ, "C2M_DATABASE_URL": url}
    with log.open("ab") as out:
        return subprocess.Popen(
            [sys.executable, "-c", "from web.cli import main; main()", "worker", "--url", url, "--interval", "0.2",
             "--timeout", "30", *args],
            cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
        )


def test_killed_worker_redelivers_with_the_same_id_and_the_receiver_sees_one_event(
    db_url: str, receiver: Receiver, tmp_path: Path
) -> None:
    app = create_app({"DATABASE_URL": db_url, "TESTING": True, "SECRET_KEY": "t", "RATELIMIT_ENABLED": False})
    engine = make_engine(db_url)
    try:
        with Session(engine) as session:
            endpoint = add_endpoint(session, receiver.url, ["order.created"])
            receiver.secret = endpoint.secret
            session.commit()
        order = place_order(app.test_client(), "wuhan-bikes", "city-ebike")
        app.extensions["c2m.engine"].dispose()

        log = tmp_path / "worker.log"
        worker = start_worker(db_url, log)
        try:
            assert receiver.first.wait(40), log.read_text()
        finally:
            os.killpg(worker.pid, signal.SIGKILL)
            worker.wait(10)

        with Session(engine) as session:
            event = session.scalars(select(OutboxEvent).where(OutboxEvent.event_type == "order.created")).one()
            assert event.delivered_at is None  # the worker died before recording the delivery
            assert event.next_attempt_at > datetime.now(UTC)  # still leased to the dead worker
            assert receiver.deliveries == [event.event_id]
            # The lease (5 minutes) of everything the dead worker claimed elapses:
            # let the clock jump instead of waiting.
            session.execute(
                update(OutboxEvent)
                .where(OutboxEvent.delivered_at.is_(None))
                .values(next_attempt_at=datetime.now(UTC) - timedelta(seconds=1))
            )
            session.commit()

        receiver.release.set()
        again = start_worker(db_url, log, "--once")
        assert again.wait(60) == 0, log.read_text()

        with Session(engine) as session:
            rows = {e.event_type: e for e in session.scalars(select(OutboxEvent))}
        created = rows["order.created"]
        assert created.delivered_at is not None
        assert receiver.deliveries == [created.event_id, created.event_id]  # delivered twice, same id
        assert receiver.processed == {created.event_id}  # handled once
        assert rows["production_order.released"].delivered_at is not None  # no subscriber: done at once
        assert order["number"] in created.payload
    finally:
        engine.dispose()
