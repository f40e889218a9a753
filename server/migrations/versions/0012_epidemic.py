"""epidemic mode: switches, health checks, disinfections

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-29 03:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import server.db

revision: str = '0012'
down_revision: str | None = '0011'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""
    op.create_table('epidemic_switches',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('site', sa.String(length=64), nullable=False),
    sa.Column('enabled', sa.Boolean(), nullable=False),
    sa.Column('reason', sa.String(length=500), nullable=False),
    sa.Column('by', sa.String(length=64), nullable=False),
    sa.Column('at', server.db.UtcDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('epidemic_switches', schema=None) as batch_op:
        batch_op.create_index('ix_epidemic_switches_site_at', ['site', 'at'], unique=False)
    op.create_table('health_checks',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('site', sa.String(length=64), nullable=False),
    sa.Column('bed', sa.String(length=64), nullable=False),
    sa.Column('resident', sa.String(length=64), nullable=True),
    sa.Column('temperature_c', sa.Float(), nullable=False),
    sa.Column('fever', sa.Boolean(), nullable=False),
    sa.Column('symptoms', sa.Text(), nullable=True),
    sa.Column('by', sa.String(length=64), nullable=False),
    sa.Column('at', server.db.UtcDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('health_checks', schema=None) as batch_op:
        batch_op.create_index('ix_health_checks_site_at', ['site', 'at'], unique=False)
    op.create_table('disinfections',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('site', sa.String(length=64), nullable=False),
    sa.Column('round', sa.String(length=64), nullable=False),
    sa.Column('day', sa.String(length=10), nullable=False),
    sa.Column('by', sa.String(length=64), nullable=False),
    sa.Column('at', server.db.UtcDateTime(timezone=True), nullable=False),
    sa.Column('agent', sa.String(length=200), nullable=True),
    sa.Column('note', sa.Text(), nullable=True),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('disinfections', schema=None) as batch_op:
        batch_op.create_index('ix_disinfections_site_day', ['site', 'day'], unique=False)


def downgrade() -> None:
    """Undo this revision."""
    with op.batch_alter_table('disinfections', schema=None) as batch_op:
        batch_op.drop_index('ix_disinfections_site_day')
    op.drop_table('disinfections')
    with op.batch_alter_table('health_checks', schema=None) as batch_op:
        batch_op.drop_index('ix_health_checks_site_at')
    op.drop_table('health_checks')
    with op.batch_alter_table('epidemic_switches', schema=None) as batch_op:
        batch_op.drop_index('ix_epidemic_switches_site_at')
    op.drop_table('epidemic_switches')
