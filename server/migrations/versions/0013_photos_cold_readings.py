"""record photos (inspections, rectification evidence) and hand-written cold-storage readings

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-29 04:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import server.db

revision: str = '0013'
down_revision: str | None = '0012'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""
    op.create_table('record_photos',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('site', sa.String(length=64), nullable=False),
    sa.Column('record', sa.String(length=16), nullable=False),
    sa.Column('ref', sa.Integer(), nullable=False),
    sa.Column('item', sa.String(length=64), nullable=True),
    sa.Column('media_type', sa.String(length=32), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('data', sa.LargeBinary(), nullable=False),
    sa.Column('by', sa.String(length=64), nullable=False),
    sa.Column('at', server.db.UtcDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('record_photos', schema=None) as batch_op:
        batch_op.create_index('ix_record_photos_record_ref', ['record', 'ref'], unique=False)
    op.create_table('cold_readings',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('site', sa.String(length=64), nullable=False),
    sa.Column('cabinet', sa.String(length=64), nullable=False),
    sa.Column('temperature_c', sa.Float(), nullable=False),
    sa.Column('in_range', sa.Boolean(), nullable=False),
    sa.Column('by', sa.String(length=64), nullable=False),
    sa.Column('at', server.db.UtcDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('cold_readings', schema=None) as batch_op:
        batch_op.create_index('ix_cold_readings_site_cabinet_at', ['site', 'cabinet', 'at'], unique=False)


def downgrade() -> None:
    """Undo this revision."""
    with op.batch_alter_table('cold_readings', schema=None) as batch_op:
        batch_op.drop_index('ix_cold_readings_site_cabinet_at')
    op.drop_table('cold_readings')
    with op.batch_alter_table('record_photos', schema=None) as batch_op:
        batch_op.drop_index('ix_record_photos_record_ref')
    op.drop_table('record_photos')
