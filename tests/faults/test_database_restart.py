"""PostgreSQL drops every connection of the app (a restart, a failover, an idle-timeout on a
proxy): the next requests succeed without restarting the app, because pooled connections
are pinged before use (``catalog.db.make_engine``: ``pool_pre_ping``)."""

from __future__ import annotations

from sqlalchemy import text

from catalog.db import make_engine
from tests.faults.conftest import POSTGRES_URL, needs_postgres
from web import create_app


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
