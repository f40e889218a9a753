"""hourly aggregates of raw observations, kept as long as the records; an index for rolling up by site and hour

Revision ID: 0015
Revises: 0014
Create Date: 2026-11-30 04:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import server.db

revision: str = '0015'
down_revision: str | None = '0014'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""
    op.create_table('observation_hours',
    sa.Column('site', sa.String(length=64), nullable=False),
    sa.Column('device', sa.String(length=64), nullable=False),
    sa.Column('hour', server.db.UtcDateTime(timezone=True), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('count', sa.Integer(), nullable=False),
    sa.Column('first_at', server.db.UtcDateTime(timezone=True), nullable=False),
    sa.Column('last_at', server.db.UtcDateTime(timezone=True), nullable=False),
    sa.Column('fields', sa.JSON().with_variant(sa.JSON(none_as_null=True), 'postgresql'), nullable=False),
    sa.PrimaryKeyConstraint('site', 'device', 'hour')
    )
    with op.batch_alter_table('observation_hours', schema=None) as batch_op:
        batch_op.create_index('ix_observation_hours_site_hour', ['site', 'hour'], unique=False)
    with op.batch_alter_table('observations', schema=None) as batch_op:
        batch_op.create_index('ix_observations_site_at', ['site', 'at'], unique=False)


def downgrade() -> None:
    """Undo this revision."""
    with op.batch_alter_table('observations', schema=None) as batch_op:
        batch_op.drop_index('ix_observations_site_at')
    with op.batch_alter_table('observation_hours', schema=None) as batch_op:
        batch_op.drop_index('ix_observation_hours_site_hour')
    op.drop_table('observation_hours')
