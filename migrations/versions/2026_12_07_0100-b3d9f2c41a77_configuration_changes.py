"""configuration changes: which attributes each recent revision changed (to rebase late clicks)

Revision ID: b3d9f2c41a77
Revises: e41b7c2a9f63
Create Date: 2026-12-07 01:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = 'b3d9f2c41a77'
down_revision: str | Sequence[str] | None = 'e41b7c2a9f63'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # NULL for existing rows: no change is known, so a change made on an older revision is refused (409).
    with op.batch_alter_table('configurations') as batch_op:
        batch_op.add_column(sa.Column('changes', sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('configurations') as batch_op:
        batch_op.drop_column('changes')
