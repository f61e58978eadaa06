"""compiled_models.attempts: how many compile jobs have started on a model (a job lost or killed
every time ends the model "failed" after C2M_COMPILE_JOB_ATTEMPTS instead of "preparing" forever)

Revision ID: a9c4e7b2d610
Revises: f3b6c2d8e914
Create Date: 2026-12-07 05:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = 'a9c4e7b2d610'
down_revision: str | Sequence[str] | None = 'f3b6c2d8e914'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('compiled_models') as batch:
        batch.add_column(sa.Column('attempts', sa.Integer(), nullable=False, server_default='0'))


def downgrade() -> None:
    with op.batch_alter_table('compiled_models') as batch:
        batch.drop_column('attempts')
