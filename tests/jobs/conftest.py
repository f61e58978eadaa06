"""Fixtures of the job engine tests: a migrated database the jobs use (``C2M_DATABASE_URL``), a
webhook receiver that de-duplicates by ``webhook-id``, and the job engine on a ``StubBroker``."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import dramatiq
import pytest
from dramatiq.brokers.stub import StubBroker
from sqlalchemy.orm import Session
from standardwebhooks import Webhook

import jobs.db
import jobs.engine
from catalog.db import make_engine
from jobs.engine import Jobs
from jobs.settings import JobSettings
from usecases.outbox import add_endpoint, enqueue
from usecases.settings import set_settings_source


class Receiver:
    """Verifies each signature; applies an event once per ``webhook-id`` (its effect), counts every
    delivery; answers ``status`` (204 unless told otherwise); ``hold`` keeps the first delivery
    waiting until released (so a sender can be killed mid-delivery)."""

    def __init__(self) -> None:
        self.secret = ""
        self.status = 204
        self.hold = False
        self.deliveries: Counter[str] = Counter()
        self.effects: list[str] = []
        self.first = threading.Event()
        self.release = threading.Event()
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["content-length"]))
                headers = {k.lower(): v for k, v in self.headers.items()}
                Webhook(receiver.secret).verify(body, headers)
                event_id = headers["webhook-id"]
                with receiver.lock:
                    receiver.deliveries[event_id] += 1
                    first = sum(receiver.deliveries.values()) == 1
                if first and receiver.hold:
                    receiver.first.set()
                    receiver.release.wait(60)
                if receiver.status < 300:
                    with receiver.lock:
                        if event_id not in receiver.effects:  # idempotent: applied once per id
                            receiver.effects.append(event_id)
                try:
                    self.send_response(receiver.status)
                    self.end_headers()
                except OSError:  # the sender was killed
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


@pytest.fixture
def jobs_db(migrated_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """The migrated database as the jobs see it (``C2M_DATABASE_URL``); engines disposed after."""
    monkeypatch.setenv("C2M_DATABASE_URL", migrated_url)
    yield migrated_url
    jobs.db.dispose()


def add_events(url: str, receiver: Receiver, count: int) -> list[str]:
    """An endpoint for ``receiver`` and ``count`` events in the outbox; returns their ids."""
    engine = make_engine(url)
    try:
        with Session(engine) as session:
            endpoint = add_endpoint(session, receiver.url, ["order.created"])
            receiver.secret = endpoint.secret
            session.commit()
            ids = []
            for i in range(count):
                ids.append(enqueue(session, "order.created", {"n": i}).event_id)
                session.commit()
            return ids
    finally:
        engine.dispose()


@pytest.fixture
def stub_jobs(jobs_db: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Jobs]:
    """The job engine on an in-process ``StubBroker`` (a short lease so expiry can be tested)."""
    monkeypatch.setenv("C2M_JOBS_WEBHOOK_LEASE_S", "2")
    monkeypatch.setenv("C2M_WEBHOOK_TIMEOUT_S", "5")
    broker = jobs.engine.build_broker("stub://", JobSettings.from_env())
    assert isinstance(broker, StubBroker)
    engine = jobs.engine.install(broker)
    broker.emit_after("process_boot")
    yield engine
    broker.flush_all()
    broker.close()
    jobs.engine.reset()


def run_jobs(engine: Jobs, *, timeout_ms: int = 30_000) -> None:
    """Process every waiting job of every queue with a real Dramatiq worker, then stop it (delayed
    jobs, such as retries, go back to their delay queue unprocessed)."""
    worker = dramatiq.Worker(engine.broker, worker_timeout=100, worker_threads=2)
    worker.start()
    try:
        for queue in jobs.engine.QUEUES:
            if queue in engine.broker.queues:
                engine.broker.join(queue, timeout=timeout_ms, fail_fast=False)
    finally:
        worker.stop()


@pytest.fixture
def db(jobs_db: str) -> Iterator[Session]:
    """A session on the jobs' database."""
    engine = make_engine(jobs_db)
    with Session(engine, expire_on_commit=False) as session:
        yield session
    engine.dispose()


@pytest.fixture
def settings() -> Iterator[dict[str, Any]]:
    """The application's settings as the use cases read them (empty: the defaults)."""
    values: dict[str, Any] = {}
    set_settings_source(lambda: values)
    yield values
    set_settings_source(lambda: None)
