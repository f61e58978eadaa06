"""configuration and quote texts: the buyer's free texts (engraving, monogram) kept with them

Revision ID: d5e8a1c4b702
Revises: c0a7f1e5d3b9
Create Date: 2026-12-07 03:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = 'd5e8a1c4b702'
down_revision: str | Sequence[str] | None = 'c0a7f1e5d3b9'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # NULL for existing rows: no texts written yet.
    with op.batch_alter_table('configurations') as batch_op:
        batch_op.add_column(sa.Column('texts', sa.Text(), nullable=True))
    with op.batch_alter_table('quotes') as batch_op:
        batch_op.add_column(sa.Column('texts', sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('quotes') as batch_op:
        batch_op.drop_column('texts')
    with op.batch_alter_table('configurations') as batch_op:
        batch_op.drop_column('texts')
