"""A gunicorn worker killed (SIGKILL) in the middle of placing an order leaves nothing behind,
and the client's retry with the same Idempotency-Key places exactly one order."""

from __future__ import annotations

import http.client
import os
import signal
import threading
import time
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import text

from catalog.db import is_sqlite, make_engine
from tests.faults.conftest import Server, completed_configuration

SLOW_ORDER_S = 4.0


def counts(url: str) -> dict[str, int]:
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return {
                table: int(conn.execute(text(f"SELECT count(*) FROM {table}")).scalar_one())
                for table in ("orders", "production_orders", "idempotency_keys", "outbox")
            }
    finally:
        engine.dispose()


def wait_inside_order_transaction(url: str, deadline: float) -> None:
    """Until the order's write transaction is open and waiting in the slow hook (PostgreSQL), or,
    on SQLite (no way to look inside another process's transaction), a safe time into the hook."""
    if is_sqlite(url):
        time.sleep(SLOW_ORDER_S / 2)
        return
    engine = make_engine(url)
    try:
        while time.monotonic() < deadline:
            with engine.connect() as conn:
                waiting = conn.execute(
                    text(
                        "SELECT count(*) FROM pg_stat_activity WHERE state = 'idle in transaction' "
                        "AND application_name = current_setting('application_name') AND pid <> pg_backend_pid() "
                        "AND query ILIKE 'INSERT%'"
                    )
                ).scalar_one()
            if waiting:
                return
            time.sleep(0.05)
    finally:
        engine.dispose()
    raise AssertionError("the order transaction never reached the slow hook")


@pytest.mark.slow
def test_killing_the_worker_mid_order_leaves_no_partial_order_and_the_retry_places_one(
    db_url: str, start_server: Callable[..., Server]
) -> None:
    server = start_server(db_url, C2M_TEST_SLOW_ORDER_S=str(SLOW_ORDER_S))
    cid = completed_configuration(server)
    assert counts(db_url) == {"orders": 0, "production_orders": 0, "idempotency_keys": 0, "outbox": 0}
    key = uuid.uuid4().hex
    outcome: dict[str, Any] = {}

    def first_attempt() -> None:
        try:
            outcome["response"] = server.request(
                "POST", "/api/v1/orders", {"configuration_id": cid}, {"Idempotency-Key": key}, timeout=30
            )
        except (OSError, http.client.HTTPException) as exc:  # the worker died under the request
            outcome["error"] = exc

    (victim,) = server.workers()
    client = threading.Thread(target=first_attempt)
    client.start()
    wait_inside_order_transaction(db_url, time.monotonic() + 30)
    os.kill(victim, signal.SIGKILL)
    client.join(timeout=30)
    assert "error" in outcome, f"the request finished before the kill: {outcome}"

    # Nothing of the order survived: the transaction died with the process.
    deadline = time.monotonic() + 15
    while counts(db_url)["idempotency_keys"] and time.monotonic() < deadline:
        time.sleep(0.2)
    assert counts(db_url) == {"orders": 0, "production_orders": 0, "idempotency_keys": 0, "outbox": 0}

    # gunicorn replaced the worker; the client retries with the same key and succeeds once.
    server.wait_ready(exclude=(victim,))
    status, body = server.request(
        "POST", "/api/v1/orders", {"configuration_id": cid}, {"Idempotency-Key": key}, timeout=60
    )
    assert status == 201, body
    replay_status, replay = server.request(
        "POST", "/api/v1/orders", {"configuration_id": cid}, {"Idempotency-Key": key}, timeout=60
    )
    assert (replay_status, replay["number"]) == (201, body["number"])
    assert counts(db_url) == {"orders": 1, "production_orders": 1, "idempotency_keys": 1, "outbox": 2}
