"""catalog_reports: catalog checks and version diffs run as background jobs, with their results

Revision ID: f3b6c2d8e914
Revises: d5e8a1c4b702
Create Date: 2026-12-07 04:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from catalog.models import UtcDateTime

revision: str = 'f3b6c2d8e914'
down_revision: str | Sequence[str] | None = 'd5e8a1c4b702'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'catalog_reports',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('kind', sa.String(length=8), nullable=False),
        sa.Column('catalog_code', sa.String(length=64), nullable=False),
        sa.Column('version_number', sa.Integer(), nullable=False),
        sa.Column('base_number', sa.Integer(), nullable=True),
        sa.Column('request_key', sa.String(length=160), nullable=False),
        sa.Column('status', sa.String(length=16), nullable=False),
        sa.Column('attempts', sa.Integer(), nullable=False),
        sa.Column('owner', sa.String(length=80), nullable=True),
        sa.Column('requested_by', sa.Text(), nullable=True),
        sa.Column('result', sa.Text(), nullable=True),
        sa.Column('error', sa.Text(), nullable=True),
        sa.Column('created_at', UtcDateTime(), nullable=False),
        sa.Column('started_at', UtcDateTime(), nullable=True),
        sa.Column('finished_at', UtcDateTime(), nullable=True),
        sa.CheckConstraint("kind IN ('check', 'diff')", name=op.f('ck_catalog_reports_catalog_report_kind')),
        sa.CheckConstraint(
            "status IN ('queued', 'running', 'done', 'failed')", name=op.f('ck_catalog_reports_catalog_report_status')
        ),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_catalog_reports')),
        sa.UniqueConstraint('request_key', name='uq_catalog_reports_request_key'),
    )
    op.create_index(op.f('ix_catalog_reports_catalog_code'), 'catalog_reports', ['catalog_code'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_catalog_reports_catalog_code'), table_name='catalog_reports')
    op.drop_table('catalog_reports')
