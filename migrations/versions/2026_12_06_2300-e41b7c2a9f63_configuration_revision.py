"""configuration revision: optimistic concurrency on saved configurations

Revision ID: e41b7c2a9f63
Revises: a17c0ffee017
Create Date: 2026-12-06 23:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = 'e41b7c2a9f63'
down_revision: str | Sequence[str] | None = 'a17c0ffee017'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Existing configurations start at revision 1 (as a new one does).
    with op.batch_alter_table('configurations') as batch_op:
        batch_op.add_column(sa.Column('revision', sa.Integer(), nullable=False, server_default='1'))


def downgrade() -> None:
    with op.batch_alter_table('configurations') as batch_op:
        batch_op.drop_column('revision')
