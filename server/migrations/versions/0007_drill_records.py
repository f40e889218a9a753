"""fire drill records (versions)

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-29 00:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import server.db

revision: str = '0007'
down_revision: str | None = '0006'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""
    op.create_table('drill_records',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('drill', sa.Integer(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('supersedes', sa.Integer(), nullable=True),
    sa.Column('site', sa.String(length=64), nullable=False),
    sa.Column('scenario', sa.String(length=500), nullable=False),
    sa.Column('scope', sa.String(length=16), nullable=False),
    sa.Column('target', sa.String(length=64), nullable=True),
    sa.Column('shift', sa.String(length=64), nullable=True),
    sa.Column('started_at', server.db.UtcDateTime(timezone=True), nullable=False),
    sa.Column('started_by', sa.String(length=64), nullable=False),
    sa.Column('all_clear_at', server.db.UtcDateTime(timezone=True), nullable=True),
    sa.Column('participants', sa.JSON().with_variant(sa.JSON(none_as_null=True), 'postgresql'), nullable=False),
    sa.Column('residents_evacuated', sa.Integer(), nullable=True),
    sa.Column('problems', sa.Text(), nullable=True),
    sa.Column('recorded_by', sa.String(length=64), nullable=False),
    sa.Column('recorded_at', server.db.UtcDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['drill'], ['suppressions.id'], name='fk_drill_records_drill'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('drill_records', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_drill_records_drill'), ['drill'], unique=False)
        batch_op.create_index('uq_drill_records_version', ['drill', 'version'], unique=True)


def downgrade() -> None:
    """Undo this revision."""
    with op.batch_alter_table('drill_records', schema=None) as batch_op:
        batch_op.drop_index('uq_drill_records_version')
        batch_op.drop_index(batch_op.f('ix_drill_records_drill'))
    op.drop_table('drill_records')
