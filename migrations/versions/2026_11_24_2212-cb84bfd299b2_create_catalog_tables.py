"""create catalog tables

Catalogs, their versions (canonical JSON document + SHA-256) and a product
index per version, plus the triggers that make published versions write-once
in the database itself (SQLite and PostgreSQL).

Revision ID: cb84bfd299b2
Revises:
Create Date: 2026-11-24 22:12:35.768885
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "cb84bfd299b2"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The SQL is written out here rather than imported from the application: a
# migration must keep meaning the same thing after the code moves on.

SQLITE_TRIGGERS = (
    # A version is born a draft; it becomes published only through an UPDATE,
    # after its product rows are in place.
    """
    CREATE TRIGGER catalog_versions_insert_draft_only
    BEFORE INSERT ON catalog_versions
    FOR EACH ROW WHEN NEW.status <> 'draft'
    BEGIN
        SELECT RAISE(ABORT, 'version_immutable: a catalog version must be inserted as a draft');
    END
    """,
    """
    CREATE TRIGGER catalog_versions_write_once_update
    BEFORE UPDATE ON catalog_versions
    FOR EACH ROW WHEN OLD.status <> 'draft' AND (
        NEW.id IS NOT OLD.id
        OR NEW.catalog_id IS NOT OLD.catalog_id
        OR NEW.number IS NOT OLD.number
        OR NEW.document IS NOT OLD.document
        OR NEW.content_hash IS NOT OLD.content_hash
        OR NEW.created_at IS NOT OLD.created_at
        OR NEW.published_at IS NOT OLD.published_at
        OR NEW.valid_from IS NOT OLD.valid_from
        OR NEW.source IS NOT OLD.source
        OR (NEW.status IS NOT OLD.status AND NOT (OLD.status = 'published' AND NEW.status = 'archived'))
    )
    BEGIN
        SELECT RAISE(ABORT, 'version_immutable: a published catalog version cannot change');
    END
    """,
    """
    CREATE TRIGGER catalog_versions_write_once_delete
    BEFORE DELETE ON catalog_versions
    FOR EACH ROW WHEN OLD.status <> 'draft'
    BEGIN
        SELECT RAISE(ABORT, 'version_immutable: a published catalog version cannot be deleted');
    END
    """,
    """
    CREATE TRIGGER catalog_products_write_once_insert
    BEFORE INSERT ON catalog_products
    FOR EACH ROW WHEN (SELECT status FROM catalog_versions WHERE id = NEW.version_id) <> 'draft'
    BEGIN
        SELECT RAISE(ABORT, 'version_immutable: the products of a published catalog version cannot change');
    END
    """,
    """
    CREATE TRIGGER catalog_products_write_once_update
    BEFORE UPDATE ON catalog_products
    FOR EACH ROW WHEN (SELECT status FROM catalog_versions WHERE id = OLD.version_id) <> 'draft'
        OR (SELECT status FROM catalog_versions WHERE id = NEW.version_id) <> 'draft'
    BEGIN
        SELECT RAISE(ABORT, 'version_immutable: the products of a published catalog version cannot change');
    END
    """,
    """
    CREATE TRIGGER catalog_products_write_once_delete
    BEFORE DELETE ON catalog_products
    FOR EACH ROW WHEN (SELECT status FROM catalog_versions WHERE id = OLD.version_id) <> 'draft'
    BEGIN
        SELECT RAISE(ABORT, 'version_immutable: the products of a published catalog version cannot change');
    END
    """,
)

SQLITE_TRIGGER_NAMES = (
    "catalog_versions_insert_draft_only",
    "catalog_versions_write_once_update",
    "catalog_versions_write_once_delete",
    "catalog_products_write_once_insert",
    "catalog_products_write_once_update",
    "catalog_products_write_once_delete",
)

# restrict_violation (SQLSTATE 23001) makes drivers report an integrity error,
# as SQLite's RAISE(ABORT) does, so callers handle both databases alike.
POSTGRESQL_TRIGGERS = (
    """
    CREATE FUNCTION catalog_versions_write_once() RETURNS trigger
    LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
    BEGIN
        IF TG_OP = 'INSERT' THEN
            IF NEW.status <> 'draft' THEN
                RAISE EXCEPTION 'version_immutable: a catalog version must be inserted as a draft'
                    USING ERRCODE = 'restrict_violation';
            END IF;
            RETURN NEW;
        END IF;
        IF OLD.status = 'draft' THEN
            IF TG_OP = 'DELETE' THEN
                RETURN OLD;
            END IF;
            RETURN NEW;
        END IF;
        IF TG_OP = 'DELETE' THEN
            RAISE EXCEPTION 'version_immutable: catalog version % is % and cannot be deleted',
                OLD.number, OLD.status USING ERRCODE = 'restrict_violation';
        END IF;
        IF NEW.id IS DISTINCT FROM OLD.id
            OR NEW.catalog_id IS DISTINCT FROM OLD.catalog_id
            OR NEW.number IS DISTINCT FROM OLD.number
            OR NEW.document IS DISTINCT FROM OLD.document
            OR NEW.content_hash IS DISTINCT FROM OLD.content_hash
            OR NEW.created_at IS DISTINCT FROM OLD.created_at
            OR NEW.published_at IS DISTINCT FROM OLD.published_at
            OR NEW.valid_from IS DISTINCT FROM OLD.valid_from
            OR NEW.source IS DISTINCT FROM OLD.source
            OR (NEW.status IS DISTINCT FROM OLD.status
                AND NOT (OLD.status = 'published' AND NEW.status = 'archived'))
        THEN
            RAISE EXCEPTION 'version_immutable: catalog version % is % and cannot change',
                OLD.number, OLD.status USING ERRCODE = 'restrict_violation';
        END IF;
        RETURN NEW;
    END
    $$
    """,
    """
    CREATE TRIGGER catalog_versions_write_once
    BEFORE INSERT OR UPDATE OR DELETE ON catalog_versions
    FOR EACH ROW EXECUTE FUNCTION catalog_versions_write_once()
    """,
    # TRUNCATE skips row triggers: refuse it while any version is published.
    """
    CREATE FUNCTION catalog_versions_no_truncate() RETURNS trigger
    LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
    BEGIN
        IF EXISTS (SELECT 1 FROM catalog_versions WHERE status <> 'draft') THEN
            RAISE EXCEPTION 'version_immutable: published catalog versions cannot be truncated'
                USING ERRCODE = 'restrict_violation';
        END IF;
        RETURN NULL;
    END
    $$
    """,
    """
    CREATE TRIGGER catalog_versions_no_truncate
    BEFORE TRUNCATE ON catalog_versions
    FOR EACH STATEMENT EXECUTE FUNCTION catalog_versions_no_truncate()
    """,
    """
    CREATE TRIGGER catalog_products_no_truncate
    BEFORE TRUNCATE ON catalog_products
    FOR EACH STATEMENT EXECUTE FUNCTION catalog_versions_no_truncate()
    """,
    """
    CREATE FUNCTION catalog_products_write_once() RETURNS trigger
    LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
    BEGIN
        IF TG_OP IN ('UPDATE', 'DELETE')
            AND EXISTS (SELECT 1 FROM catalog_versions WHERE id = OLD.version_id AND status <> 'draft')
        THEN
            RAISE EXCEPTION 'version_immutable: the products of a published catalog version cannot change'
                USING ERRCODE = 'restrict_violation';
        END IF;
        IF TG_OP IN ('INSERT', 'UPDATE')
            AND EXISTS (SELECT 1 FROM catalog_versions WHERE id = NEW.version_id AND status <> 'draft')
        THEN
            RAISE EXCEPTION 'version_immutable: the products of a published catalog version cannot change'
                USING ERRCODE = 'restrict_violation';
        END IF;
        IF TG_OP = 'DELETE' THEN
            RETURN OLD;
        END IF;
        RETURN NEW;
    END
    $$
    """,
    """
    CREATE TRIGGER catalog_products_write_once
    BEFORE INSERT OR UPDATE OR DELETE ON catalog_products
    FOR EACH ROW EXECUTE FUNCTION catalog_products_write_once()
    """,
)

POSTGRESQL_DROPS = (
    "DROP TRIGGER IF EXISTS catalog_products_write_once ON catalog_products",
    "DROP TRIGGER IF EXISTS catalog_products_no_truncate ON catalog_products",
    "DROP TRIGGER IF EXISTS catalog_versions_no_truncate ON catalog_versions",
    "DROP TRIGGER IF EXISTS catalog_versions_write_once ON catalog_versions",
    "DROP FUNCTION IF EXISTS catalog_products_write_once()",
    "DROP FUNCTION IF EXISTS catalog_versions_no_truncate()",
    "DROP FUNCTION IF EXISTS catalog_versions_write_once()",
)


def upgrade() -> None:
    op.create_table(
        "catalogs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.Text(), nullable=False),
        sa.Column("name_en", sa.Text(), nullable=False),
        sa.Column("name_zh", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_catalogs")),
        sa.UniqueConstraint("code", name=op.f("uq_catalogs_code")),
    )
    op.create_table(
        "catalog_versions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("catalog_id", sa.Integer(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("document", sa.Text(), nullable=False),
        sa.Column("content_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("valid_from", sa.DateTime(timezone=True), nullable=True),
        sa.Column("valid_to", sa.DateTime(timezone=True), nullable=True),
        sa.Column("source", sa.Text(), nullable=True),
        sa.Column("comment", sa.Text(), nullable=True),
        sa.CheckConstraint(
            "status = 'draft' OR published_at IS NOT NULL", name=op.f("ck_catalog_versions_published_has_date")
        ),
        sa.CheckConstraint(
            "status IN ('draft', 'published', 'archived')", name=op.f("ck_catalog_versions_status_known")
        ),
        sa.CheckConstraint("length(content_hash) = 64", name=op.f("ck_catalog_versions_content_hash_sha256")),
        sa.CheckConstraint("number >= 1", name=op.f("ck_catalog_versions_number_positive")),
        sa.CheckConstraint(
            "valid_to IS NULL OR valid_from IS NULL OR valid_to > valid_from",
            name=op.f("ck_catalog_versions_valid_range"),
        ),
        sa.ForeignKeyConstraint(
            ["catalog_id"],
            ["catalogs.id"],
            name=op.f("fk_catalog_versions_catalog_id_catalogs"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_catalog_versions")),
        sa.UniqueConstraint("catalog_id", "number", name=op.f("uq_catalog_versions_catalog_id_number")),
    )
    op.create_index(
        "uq_catalog_versions_one_draft",
        "catalog_versions",
        ["catalog_id"],
        unique=True,
        sqlite_where=sa.text("status = 'draft'"),
        postgresql_where=sa.text("status = 'draft'"),
    )
    op.create_table(
        "catalog_products",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("version_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("code", sa.Text(), nullable=False),
        sa.Column("name_en", sa.Text(), nullable=False),
        sa.Column("name_zh", sa.Text(), nullable=False),
        sa.Column("base_price", sa.String(length=40), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.ForeignKeyConstraint(
            ["version_id"],
            ["catalog_versions.id"],
            name=op.f("fk_catalog_products_version_id_catalog_versions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_catalog_products")),
        sa.UniqueConstraint("version_id", "code", name=op.f("uq_catalog_products_version_id_code")),
    )

    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        for statement in SQLITE_TRIGGERS:
            op.execute(statement)
    elif dialect == "postgresql":
        for statement in POSTGRESQL_TRIGGERS:
            op.execute(statement)
    else:
        raise NotImplementedError(f"write-once triggers are written for SQLite and PostgreSQL, not {dialect}")


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        for name in SQLITE_TRIGGER_NAMES:
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
    elif dialect == "postgresql":
        for statement in POSTGRESQL_DROPS:
            op.execute(statement)
    op.drop_table("catalog_products")
    op.drop_index("uq_catalog_versions_one_draft", table_name="catalog_versions")
    op.drop_table("catalog_versions")
    op.drop_table("catalogs")
