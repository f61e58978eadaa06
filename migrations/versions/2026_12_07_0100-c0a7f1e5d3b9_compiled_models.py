"""compiled models: artifacts of compiled product models, shared by every process

Revision ID: c0a7f1e5d3b9
Revises: b3d9f2c41a77
Create Date: 2026-12-07 01:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from catalog.models import UtcDateTime

revision: str = 'c0a7f1e5d3b9'
down_revision: str | Sequence[str] | None = 'b3d9f2c41a77'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'compiled_models',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('model_key', sa.Text(), nullable=False),
        sa.Column('content_hash', sa.String(length=64), nullable=False),
        sa.Column('product_code', sa.Text(), nullable=False),
        sa.Column('backend', sa.String(length=16), nullable=False),
        sa.Column('format_version', sa.Integer(), nullable=False),
        sa.Column('status', sa.String(length=16), nullable=False),
        sa.Column('compiled_backend', sa.String(length=16), nullable=True),
        sa.Column('artifact', sa.LargeBinary(), nullable=True),
        sa.Column('artifact_sha256', sa.String(length=64), nullable=True),
        sa.Column('size_bytes', sa.Integer(), nullable=True),
        sa.Column('compile_seconds', sa.Float(), nullable=True),
        sa.Column('detail', sa.Text(), nullable=True),
        sa.Column('created_at', UtcDateTime(), nullable=False),
        sa.Column('updated_at', UtcDateTime(), nullable=False),
        sa.CheckConstraint(
            "status IN ('preparing', 'ready', 'failed')", name=op.f('ck_compiled_models_compiled_model_status')
        ),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_compiled_models')),
        sa.UniqueConstraint('model_key', 'backend', 'format_version', name='uq_compiled_models_key'),
    )
    op.create_index(op.f('ix_compiled_models_content_hash'), 'compiled_models', ['content_hash'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_compiled_models_content_hash'), table_name='compiled_models')
    op.drop_table('compiled_models')
