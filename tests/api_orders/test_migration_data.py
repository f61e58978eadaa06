"""The ERP-integration migration keeps existing data usable: change times, event sequence numbers."""

from __future__ import annotations

from alembic.script import ScriptDirectory
from sqlalchemy import text

from catalog.db import alembic_config, make_engine, upgrade_database
from usecases.outbox import event_payload
from usecases.records import OutboxEvent

REVISION = "a7e3c91d5b20"


def test_existing_orders_and_events_get_change_times_and_sequences(database_url: str) -> None:
    before = ScriptDirectory.from_config(alembic_config(database_url)).get_revision(REVISION).down_revision
    assert isinstance(before, str)
    upgrade_database(database_url, before)
    engine = make_engine(database_url)
    try:
        with engine.begin() as conn:
            conn.execute(text(
                "INSERT INTO orders (id, number, catalog_code, version_number, content_hash, product_code, decisions,"
                " configuration, quantity, currency, price_total, price_breakdown, bom, bom_hash, status, locale,"
                " created_at) VALUES (1, 'SO-2026-000001', 'c', 1, 'h', 'p', '[]', '{}', 1, 'CNY', '1', '{}', '{}',"
                " 'b', 'accepted', 'en', '2026-01-02 03:04:05+00:00')"
            ))
            conn.execute(text(
                "INSERT INTO production_orders (id, number, order_id, document, document_hash, status,"
                " acknowledged_at, created_at) VALUES (1, 'PO-2026-000001', 1, '{}', 'd', 'acknowledged',"
                " '2026-01-03 00:00:00+00:00', '2026-01-02 03:04:05+00:00')"
            ))
            for i, kind in ((1, "order.created"), (2, "production_order.released")):
                conn.execute(text(
                    "INSERT INTO outbox (id, event_id, event_type, payload, created_at, attempts, next_attempt_at)"
                    f" VALUES ({i}, 'e{i}', '{kind}', '{{\"type\": \"{kind}\", \"data\": {{}}}}',"
                    " '2026-01-02 03:04:05+00:00', 0, '2026-01-02 03:04:05+00:00')"
                ))
        upgrade_database(database_url)
        with engine.connect() as conn:
            assert conn.execute(text("SELECT updated_at IS NOT NULL, event_count FROM orders")).one() == (True, 0)
            assert conn.execute(text("SELECT updated_at IS NOT NULL FROM production_orders")).scalar_one()
            assert list(conn.execute(text("SELECT id, sequence FROM outbox ORDER BY id"))) == [(1, 1), (2, 2)]
            assert conn.execute(text("SELECT value FROM event_counters WHERE name = 'events'")).scalar_one() == 2
        from sqlalchemy.orm import Session

        with Session(engine) as session:
            payload = event_payload(session.get(OutboxEvent, 2))  # type: ignore[arg-type]
        assert (payload["id"], payload["sequence"], payload["order_number"]) == ("e2", 2, None)
    finally:
        engine.dispose()
