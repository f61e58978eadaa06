"""Concurrent order placement: one key from many threads, many orders at once, on every database."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from usecases.records import IdempotencyKey, OrderRecord, OutboxEvent, ProductionOrderRecord

from .conftest import post_order


def _count(factory: sessionmaker[Session], model: type) -> int:
    with factory() as session:
        return int(session.scalar(select(func.count()).select_from(model)) or 0)


def test_fifty_threads_with_one_key_create_exactly_one_order(
    app: Flask, factory: sessionmaker[Session], bike_order: dict[str, Any]
) -> None:
    threads = 50
    barrier = threading.Barrier(threads)

    def attempt(_: int) -> tuple[int, dict[str, Any]]:
        client = app.test_client()
        barrier.wait()
        for _ in range(20):
            response = post_order(client, bike_order, "one-key-many-threads")
            if response.status_code != 409:
                return response.status_code, response.get_json()
            # in progress elsewhere: retry as the Retry-After header says
            time.sleep(float(response.headers["Retry-After"]))
        raise AssertionError("still in progress after 20 retries")

    with ThreadPoolExecutor(threads) as pool:
        results = list(pool.map(attempt, range(threads)))
    statuses = {status for status, _ in results}
    assert statuses == {201}
    bodies = [body for _, body in results]
    assert all(body == bodies[0] for body in bodies)
    assert _count(factory, OrderRecord) == 1
    assert _count(factory, ProductionOrderRecord) == 1
    assert _count(factory, OutboxEvent) == 2
    assert _count(factory, IdempotencyKey) == 1


@pytest.mark.slow
def test_five_hundred_concurrent_orders_are_all_stored_with_unique_numbers(
    app: Flask, factory: sessionmaker[Session]
) -> None:
    orders = 500

    def place(i: int) -> tuple[int, str]:
        client = app.test_client()
        decisions = [
            {"attribute": "size", "value": "large" if i % 2 else "small"},
            {"attribute": "width", "value": 100 * (1 + i % 3)},
        ]
        body = {"catalog": "tiny-shop", "product": "box", "decisions": decisions, "quantity": 1 + i % 7}
        response = post_order(client, body, f"order-{i}")
        payload = response.get_json()
        return response.status_code, payload.get("number") or payload.get("detail")

    started = time.monotonic()
    with ThreadPoolExecutor(16) as pool:
        results = list(pool.map(place, range(orders)))
    elapsed = time.monotonic() - started
    failures = [r for r in results if r[0] != 201]
    assert not failures, failures[:5]
    numbers = [number for _, number in results]
    assert len(set(numbers)) == orders
    assert _count(factory, OrderRecord) == orders
    assert _count(factory, ProductionOrderRecord) == orders
    assert _count(factory, OutboxEvent) == 2 * orders
    with factory() as session:
        stored = set(session.scalars(select(OrderRecord.number)))
    assert stored == set(numbers)
    assert elapsed < 60, f"{orders} orders took {elapsed:.1f} s"


def test_the_loser_of_a_race_on_the_key_insert_replays_the_winners_response(
    app: Flask, factory: sessionmaker[Session], bike_order: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Both requests pass the "key already stored?" check and prepare the order before either
    # writes: the insert of the key row decides, and the loser must replay, not create.
    from usecases import orders as service

    barrier = threading.Barrier(2)
    prepare = service._prepare
    store = service._store
    stores: list[str] = []

    def prepare_then_wait(*args: Any, **kwargs: Any) -> Any:
        prepared = prepare(*args, **kwargs)
        barrier.wait(timeout=30)
        return prepared

    def counting_store(*args: Any, **kwargs: Any) -> Any:
        stores.append(threading.current_thread().name)
        return store(*args, **kwargs)

    monkeypatch.setattr(service, "_prepare", prepare_then_wait)
    monkeypatch.setattr(service, "_store", counting_store)

    def attempt(_: int) -> tuple[int, dict[str, Any]]:
        response = post_order(app.test_client(), bike_order, "raced")
        return response.status_code, response.get_json()

    with ThreadPoolExecutor(2) as pool:
        (s1, b1), (s2, b2) = pool.map(attempt, range(2))
    assert len(stores) == 2  # both really tried to insert
    assert (s1, s2) == (201, 201) and b1 == b2
    assert _count(factory, OrderRecord) == 1
