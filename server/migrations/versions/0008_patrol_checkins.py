"""patrol check-ins

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-29 00:45:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import server.db

revision: str = '0008'
down_revision: str | None = '0007'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""
    op.create_table('patrol_checkins',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('site', sa.String(length=64), nullable=False),
    sa.Column('checkpoint', sa.String(length=64), nullable=False),
    sa.Column('at', server.db.UtcDateTime(timezone=True), nullable=False),
    sa.Column('by', sa.String(length=64), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('patrol_checkins', schema=None) as batch_op:
        batch_op.create_index('ix_patrol_checkins_site_at', ['site', 'at'], unique=False)


def downgrade() -> None:
    """Undo this revision."""
    with op.batch_alter_table('patrol_checkins', schema=None) as batch_op:
        batch_op.drop_index('ix_patrol_checkins_site_at')
    op.drop_table('patrol_checkins')
