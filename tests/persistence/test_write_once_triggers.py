"""The database itself refuses to change a published catalog version (raw SQL, no application code)."""

from __future__ import annotations

import pytest
from sqlalchemy import Connection, Engine, exc, text

HASH = "a" * 64
OTHER_HASH = "b" * 64


def _insert_version(conn: Connection, *, number: int = 1) -> int:
    conn.execute(
        text(
            "INSERT INTO catalogs (code, name_en, name_zh, created_at) "
            "SELECT 'bikes', 'Bikes', '自行车', '2026-01-01 00:00:00' "
            "WHERE NOT EXISTS (SELECT 1 FROM catalogs WHERE code = 'bikes')"
        )
    )
    catalog_id = conn.execute(text("SELECT id FROM catalogs WHERE code = 'bikes'")).scalar_one()
    conn.execute(
        text(
            "INSERT INTO catalog_versions (catalog_id, number, status, document, content_hash, created_at) "
            "VALUES (:c, :n, 'draft', '{}', :h, '2026-01-01 00:00:00')"
        ),
        {"c": catalog_id, "n": number, "h": HASH},
    )
    version_id = conn.execute(
        text("SELECT id FROM catalog_versions WHERE catalog_id = :c AND number = :n"),
        {"c": catalog_id, "n": number},
    ).scalar_one()
    conn.execute(
        text(
            "INSERT INTO catalog_products (version_id, position, code, name_en, name_zh, base_price, currency) "
            "VALUES (:v, 0, 'city-bike', 'City bike', '城市自行车', '1999.00', 'CNY')"
        ),
        {"v": version_id},
    )
    return int(version_id)


def _publish(conn: Connection, version_id: int) -> None:
    conn.execute(
        text(
            "UPDATE catalog_versions SET status = 'published', published_at = '2026-01-02 00:00:00', "
            "valid_from = '2026-01-02 00:00:00' WHERE id = :v"
        ),
        {"v": version_id},
    )


@pytest.fixture
def published_version(engine: Engine) -> int:
    with engine.begin() as conn:
        version_id = _insert_version(conn)
        _publish(conn, version_id)
    return version_id


def _refused(engine: Engine, statement: str, version_id: int) -> None:
    with pytest.raises(exc.IntegrityError, match="version_immutable"), engine.begin() as conn:
        conn.execute(text(statement), {"v": version_id})


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE catalog_versions SET document = '{\"x\": 1}' WHERE id = :v",
        f"UPDATE catalog_versions SET content_hash = '{OTHER_HASH}' WHERE id = :v",
        "UPDATE catalog_versions SET number = 7 WHERE id = :v",
        "UPDATE catalog_versions SET valid_from = '2030-01-01 00:00:00' WHERE id = :v",
        "UPDATE catalog_versions SET published_at = '2030-01-01 00:00:00' WHERE id = :v",
        "UPDATE catalog_versions SET source = 'elsewhere.yaml' WHERE id = :v",
        "UPDATE catalog_versions SET status = 'draft', published_at = NULL WHERE id = :v",
        "DELETE FROM catalog_versions WHERE id = :v",
        "UPDATE catalog_products SET base_price = '1.00' WHERE version_id = :v",
        "DELETE FROM catalog_products WHERE version_id = :v",
        "INSERT INTO catalog_products (version_id, position, code, name_en, name_zh, base_price, currency) "
        "VALUES (:v, 1, 'cargo-bike', 'Cargo bike', '', '2999.00', 'CNY')",
    ],
    ids=[
        "document",
        "content_hash",
        "number",
        "valid_from",
        "published_at",
        "source",
        "back_to_draft",
        "delete_version",
        "update_product",
        "delete_product",
        "insert_product",
    ],
)
def test_database_refuses_changes_to_a_published_version(
    engine: Engine, published_version: int, statement: str
) -> None:
    _refused(engine, statement, published_version)
    with engine.connect() as conn:
        row = conn.execute(
            text("SELECT status, document, content_hash, number FROM catalog_versions WHERE id = :v"),
            {"v": published_version},
        ).one()
        products = conn.execute(
            text("SELECT code, base_price FROM catalog_products WHERE version_id = :v"),
            {"v": published_version},
        ).all()
    assert tuple(row) == ("published", "{}", HASH, 1)
    assert [tuple(p) for p in products] == [("city-bike", "1999.00")]


def test_database_refuses_moving_a_published_version_to_another_catalog(
    engine: Engine, published_version: int
) -> None:
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO catalogs (code, name_en, name_zh, created_at) "
                "VALUES ('chairs', 'Chairs', '', '2026-01-01 00:00:00')"
            )
        )
    _refused(
        engine,
        "UPDATE catalog_versions SET catalog_id = (SELECT id FROM catalogs WHERE code = 'chairs') WHERE id = :v",
        published_version,
    )


def test_database_allows_archiving_a_published_version_and_nothing_after(
    engine: Engine, published_version: int
) -> None:
    with engine.begin() as conn:
        conn.execute(
            text("UPDATE catalog_versions SET status = 'archived' WHERE id = :v"), {"v": published_version}
        )
    _refused(engine, "UPDATE catalog_versions SET status = 'published' WHERE id = :v", published_version)
    _refused(engine, "DELETE FROM catalog_versions WHERE id = :v", published_version)
    _refused(engine, "UPDATE catalog_products SET name_en = 'x' WHERE version_id = :v", published_version)


def test_database_allows_closing_the_validity_window_of_a_published_version(
    engine: Engine, published_version: int
) -> None:
    with engine.begin() as conn:
        conn.execute(
            text(
                "UPDATE catalog_versions SET valid_to = '2027-01-01 00:00:00', comment = 'superseded' WHERE id = :v"
            ),
            {"v": published_version},
        )
        comment = conn.execute(
            text("SELECT comment FROM catalog_versions WHERE id = :v"), {"v": published_version}
        ).scalar_one()
    assert comment == "superseded"


def test_database_refuses_inserting_a_version_that_is_already_published(engine: Engine) -> None:
    with engine.begin() as conn:
        _insert_version(conn)
    with pytest.raises(exc.IntegrityError, match="version_immutable"), engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO catalog_versions (catalog_id, number, status, document, content_hash, created_at, "
                "published_at, valid_from) SELECT id, 2, 'published', '{}', :h, '2026-01-01 00:00:00', "
                "'2026-01-01 00:00:00', '2026-01-01 00:00:00' FROM catalogs WHERE code = 'bikes'"
            ),
            {"h": HASH},
        )


def test_drafts_stay_editable_and_deletable(engine: Engine) -> None:
    with engine.begin() as conn:
        version_id = _insert_version(conn)
        conn.execute(
            text("UPDATE catalog_versions SET document = '{\"a\": 1}' WHERE id = :v"), {"v": version_id}
        )
        conn.execute(
            text("UPDATE catalog_products SET base_price = '5.00' WHERE version_id = :v"), {"v": version_id}
        )
        conn.execute(text("DELETE FROM catalog_versions WHERE id = :v"), {"v": version_id})
        left = conn.execute(text("SELECT count(*) FROM catalog_products")).scalar_one()
    assert left == 0  # the products went with their draft (ON DELETE CASCADE)


def test_publishing_requires_a_publication_date(engine: Engine) -> None:
    with engine.begin() as conn:
        version_id = _insert_version(conn)
    with pytest.raises(exc.IntegrityError), engine.begin() as conn:
        conn.execute(
            text("UPDATE catalog_versions SET status = 'published' WHERE id = :v"), {"v": version_id}
        )


def test_a_catalog_has_at_most_one_draft(engine: Engine) -> None:
    with engine.begin() as conn:
        _insert_version(conn, number=1)
    with pytest.raises(exc.IntegrityError), engine.begin() as conn:
        _insert_version(conn, number=2)


def test_database_refuses_bulk_removal_of_published_versions(engine: Engine, published_version: int) -> None:
    # PostgreSQL's TRUNCATE skips row triggers, so it has a statement trigger of its own.
    statement = (
        "TRUNCATE catalog_versions CASCADE"
        if engine.dialect.name == "postgresql"
        else "DELETE FROM catalog_versions"
    )
    with pytest.raises(exc.IntegrityError, match="version_immutable"), engine.begin() as conn:
        conn.execute(text(statement))
