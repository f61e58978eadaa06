"""quotes (frozen snapshots of a configuration with its prices)

Revision ID: a17c0ffee017
Revises: a7c3e91f0b52
Create Date: 2026-12-06 22:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import catalog.models

revision: str = "a17c0ffee017"
down_revision: str | Sequence[str] | None = "a7c3e91f0b52"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "quotes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token", sa.String(length=64), nullable=False),
        sa.Column("configuration_id", sa.String(length=36), nullable=True),
        sa.Column("catalog_code", sa.Text(), nullable=False),
        sa.Column("version_number", sa.Integer(), nullable=False),
        sa.Column("content_hash", sa.String(length=64), nullable=False),
        sa.Column("product_code", sa.Text(), nullable=False),
        sa.Column("decisions", sa.Text(), nullable=False),
        sa.Column("configuration", sa.Text(), nullable=False),
        sa.Column("sources", sa.Text(), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("unit_price", catalog.models.DecimalText(), nullable=False),
        sa.Column("price_breakdown", sa.Text(), nullable=False),
        sa.Column("ready_on", sa.String(length=10), nullable=True),
        sa.Column("created_at", catalog.models.UtcDateTime(), nullable=False),
        sa.Column("valid_until", sa.String(length=10), nullable=False),
        sa.CheckConstraint("quantity >= 1", name=op.f("ck_quotes_quote_quantity_positive")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_quotes")),
        sa.UniqueConstraint("token", name=op.f("uq_quotes_token")),
    )


def downgrade() -> None:
    op.drop_table("quotes")
