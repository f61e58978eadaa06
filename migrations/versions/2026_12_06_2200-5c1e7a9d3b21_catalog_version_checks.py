"""catalog version checks: warnings stored with a published version, skipped checks

Revision ID: 5c1e7a9d3b21
Revises: a7e3c91d5b20
Create Date: 2026-12-06 22:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import catalog.models

revision: str = '5c1e7a9d3b21'
down_revision: str | Sequence[str] | None = 'a7e3c91d5b20'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('catalog_version_checks',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('version_id', sa.Integer(), nullable=False),
    sa.Column('content_hash', sa.String(length=64), nullable=False),
    sa.Column('checked_at', catalog.models.UtcDateTime(timezone=True), nullable=False),
    sa.Column('skipped', sa.Boolean(), nullable=False),
    sa.Column('skipped_by', sa.Text(), nullable=True),
    sa.Column('skip_reason', sa.Text(), nullable=True),
    sa.Column('warning_count', sa.Integer(), nullable=False),
    sa.Column('findings', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['version_id'], ['catalog_versions.id'], name=op.f('fk_catalog_version_checks_version_id_catalog_versions'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_catalog_version_checks')),
    sa.UniqueConstraint('version_id', name=op.f('uq_catalog_version_checks_version_id'))
    )


def downgrade() -> None:
    op.drop_table('catalog_version_checks')
