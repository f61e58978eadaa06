"""PostgreSQL drops every connection of the app (a restart, a failover, an idle-timeout on a
proxy): the next requests succeed without restarting the app, and none answers 500.

Pooled connections are not pinged on checkout (``web.database``): the first request that
meets a dead connection invalidates the pool and runs again on a fresh connection when
nothing of it reached the database; a request that had already written answers 503 with
``Retry-After``."""

from __future__ import annotations

from typing import Any

from sqlalchemy import text

from catalog.db import make_engine
from tests.faults.conftest import POSTGRES_URL, needs_postgres
from web import create_app, database


def terminate_app_connections(url: str) -> int:
    """From a separate connection, end every backend with the app's application_name."""
    admin = make_engine(POSTGRES_URL)
    try:
        with admin.begin() as conn:
            name = make_engine(url).url.query["application_name"]
            return len(
                conn.execute(
                    text(
                        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                        "WHERE application_name = :name AND pid <> pg_backend_pid()"
                    ),
                    {"name": name},
                ).all()
            )
    finally:
        admin.dispose()


@needs_postgres
def test_requests_succeed_after_the_database_dropped_every_connection(db_url: str) -> None:
    app = create_app({"DATABASE_URL": db_url, "TESTING": True, "SECRET_KEY": "t", "RATELIMIT_ENABLED": False})
    client = app.test_client()
    try:
        # Warm the pool: reads, a write, the readiness probe.
        assert client.get("/api/v1/products").status_code == 200
        created = client.post("/api/v1/configurations", json={"product": "city-ebike", "catalog": "wuhan-bikes"})
        assert created.status_code == 201
        cid = created.get_json()["id"]
        assert client.get("/readyz").status_code == 200
        pool = app.extensions["c2m.engine"].pool
        assert pool.checkedin() >= 1  # idle connections wait in the pool

        for _round in range(2):  # twice: the reconnected pool survives a second drop too
            assert terminate_app_connections(db_url) >= 1
            assert client.get("/api/v1/products").status_code == 200
            assert client.get(f"/api/v1/configurations/{cid}").status_code == 200
            decided = client.post(
                f"/api/v1/configurations/{cid}/decisions", json={"attribute": "frame_material", "value": "steel"}
            )
            assert decided.status_code == 200, decided.get_json()
            assert client.get("/readyz").status_code == 200
    finally:
        app.extensions["c2m.engine"].dispose()


@needs_postgres
def test_no_liveness_ping_on_checkout(db_url: str) -> None:
    """The hot path pays no ping round trip: a request's statements are its own."""
    from sqlalchemy import event

    app = create_app({"DATABASE_URL": db_url, "TESTING": True, "SECRET_KEY": "t", "RATELIMIT_ENABLED": False})
    engine = app.extensions["c2m.engine"]
    try:
        assert engine.pool._pre_ping is False
        assert engine.pool._recycle == database.POOL_RECYCLE_S
        client = app.test_client()
        assert client.get("/api/v1/products").status_code == 200
        seen: list[str] = []
        event.listen(engine, "before_cursor_execute", lambda *a: seen.append(a[2]))
        assert client.get("/api/v1/products").status_code == 200
        assert seen and not any(s.strip().upper() == "SELECT 1" for s in seen), seen
    finally:
        engine.dispose()


@needs_postgres
def test_every_kind_of_first_request_after_a_drop_succeeds(db_url: str) -> None:
    """A write request (a click, an order) can be the first to meet the dead pool: its first
    statement is a read, so it runs again on a fresh connection and succeeds, once."""
    app = create_app({"DATABASE_URL": db_url, "TESTING": True, "SECRET_KEY": "t", "RATELIMIT_ENABLED": False})
    client = app.test_client()
    engine = app.extensions["c2m.engine"]
    try:
        cid = client.post("/api/v1/configurations", json={"product": "city-ebike", "catalog": "wuhan-bikes"}).get_json()[
            "id"
        ]
        assert terminate_app_connections(db_url) >= 1
        decided = client.post(
            f"/api/v1/configurations/{cid}/decisions", json={"attribute": "frame_material", "value": "steel"}
        )
        assert decided.status_code == 200, decided.get_json()
        body = client.get(f"/api/v1/configurations/{cid}").get_json()
        steel = [d for d in body["decisions"] if d["attribute"] == "frame_material"]
        assert len(steel) == 1  # run again, applied once
        completed = client.post(f"/api/v1/configurations/{cid}/complete", json={"objective": "defaults", "apply": True})
        assert completed.status_code == 200, completed.get_json()
        assert terminate_app_connections(db_url) >= 1
        key = "restart-order-1"
        placed = client.post(
            "/api/v1/orders", json={"configuration_id": cid, "customer_name": "A"}, headers={"Idempotency-Key": key}
        )
        assert placed.status_code == 201, placed.get_json()
        with engine.connect() as conn:
            assert conn.execute(text("SELECT count(*) FROM orders")).scalar_one() == 1
    finally:
        engine.dispose()


@needs_postgres
def test_a_connection_lost_after_a_write_answers_503_with_retry_after(db_url: str) -> None:
    """A request that loses its connection after a statement succeeded is not run again (it may
    have written): a 503 problem with Retry-After, never a 500; the next request succeeds."""
    app = create_app({"DATABASE_URL": db_url, "TESTING": True, "SECRET_KEY": "t", "RATELIMIT_ENABLED": False})
    runs: list[int] = []

    def lose_connection_mid_request() -> Any:
        session = database.session()
        runs.append(session.execute(text("SELECT pg_backend_pid()")).scalar_one())
        terminate_app_connections(db_url)
        session.execute(text("UPDATE event_counters SET value = value WHERE false"))
        return {"ok": True}

    app.add_url_rule("/api/v1/test-lose-connection", view_func=lose_connection_mid_request, methods=["POST"])
    client = app.test_client()
    try:
        answer = client.post("/api/v1/test-lose-connection", json={})
        assert answer.status_code == 503, answer.data
        assert answer.headers["Retry-After"] == "1"
        assert answer.mimetype == "application/problem+json"
        assert len(runs) == 1  # not run again
        assert client.get("/api/v1/products").status_code == 200
    finally:
        app.extensions["c2m.engine"].dispose()
