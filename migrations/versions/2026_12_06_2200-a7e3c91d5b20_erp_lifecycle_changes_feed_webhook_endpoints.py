"""ERP integration: order lifecycle, delivery details, changes feed sequence, webhook endpoint management

Revision ID: a7e3c91d5b20
Revises: 6f234db6fd04
Create Date: 2026-12-06 22:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import catalog.models

revision: str = "a7e3c91d5b20"
down_revision: str | Sequence[str] | None = "6f234db6fd04"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.add_column(sa.Column("purchase_order_ref", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("delivery_address", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("notes", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("updated_at", catalog.models.UtcDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("event_count", sa.Integer(), server_default="0", nullable=False))
        batch_op.create_index("ix_orders_updated_at", ["updated_at"], unique=False)
    with op.batch_alter_table("production_orders", schema=None) as batch_op:
        batch_op.add_column(sa.Column("erp_reference", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("shipment_reference", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("status_reason", sa.Text(), nullable=True))
        batch_op.add_column(
            sa.Column("status_changed_at", catalog.models.UtcDateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(sa.Column("status_changed_by", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("updated_at", catalog.models.UtcDateTime(timezone=True), nullable=True))
        batch_op.create_index("ix_production_orders_updated_at", ["updated_at"], unique=False)
    with op.batch_alter_table("webhook_endpoints", schema=None) as batch_op:
        batch_op.add_column(sa.Column("description", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("previous_secret", sa.Text(), nullable=True))
        batch_op.add_column(
            sa.Column("previous_secret_expires_at", catalog.models.UtcDateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(sa.Column("disabled_at", catalog.models.UtcDateTime(timezone=True), nullable=True))
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.add_column(sa.Column("sequence", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("order_number", sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column("order_sequence", sa.Integer(), nullable=True))
        batch_op.create_unique_constraint(batch_op.f("uq_outbox_sequence"), ["sequence"])
        batch_op.create_index(batch_op.f("ix_outbox_order_number"), ["order_number"], unique=False)
    op.create_table(
        "event_counters",
        sa.Column("name", sa.String(length=32), nullable=False),
        sa.Column("value", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_event_counters")),
    )
    # Existing rows: changed when created; events keep their order as their sequence.
    op.execute("UPDATE orders SET updated_at = created_at")
    op.execute("UPDATE production_orders SET updated_at = COALESCE(acknowledged_at, created_at)")
    op.execute("UPDATE outbox SET sequence = id")
    op.execute("INSERT INTO event_counters (name, value) SELECT 'events', COALESCE(MAX(id), 0) FROM outbox")


def downgrade() -> None:
    op.drop_table("event_counters")
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_outbox_order_number"))
        batch_op.drop_constraint(batch_op.f("uq_outbox_sequence"), type_="unique")
        batch_op.drop_column("order_sequence")
        batch_op.drop_column("order_number")
        batch_op.drop_column("sequence")
    with op.batch_alter_table("webhook_endpoints", schema=None) as batch_op:
        batch_op.drop_column("disabled_at")
        batch_op.drop_column("previous_secret_expires_at")
        batch_op.drop_column("previous_secret")
        batch_op.drop_column("description")
    with op.batch_alter_table("production_orders", schema=None) as batch_op:
        batch_op.drop_index("ix_production_orders_updated_at")
        batch_op.drop_column("updated_at")
        batch_op.drop_column("status_changed_by")
        batch_op.drop_column("status_changed_at")
        batch_op.drop_column("status_reason")
        batch_op.drop_column("shipment_reference")
        batch_op.drop_column("erp_reference")
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.drop_index("ix_orders_updated_at")
        batch_op.drop_column("event_count")
        batch_op.drop_column("updated_at")
        batch_op.drop_column("notes")
        batch_op.drop_column("delivery_address")
        batch_op.drop_column("purchase_order_ref")
