"""food samples

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-29 01:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import server.db

revision: str = '0010'
down_revision: str | None = '0009'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""
    op.create_table('food_samples',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('site', sa.String(length=64), nullable=False),
    sa.Column('day', sa.String(length=10), nullable=False),
    sa.Column('meal', sa.String(length=64), nullable=False),
    sa.Column('dish', sa.String(length=200), nullable=False),
    sa.Column('grams', sa.Float(), nullable=False),
    sa.Column('at', server.db.UtcDateTime(timezone=True), nullable=False),
    sa.Column('by', sa.String(length=64), nullable=False),
    sa.Column('discard_due', server.db.UtcDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('food_samples', schema=None) as batch_op:
        batch_op.create_index('ix_food_samples_site_day', ['site', 'day'], unique=False)


def downgrade() -> None:
    """Undo this revision."""
    with op.batch_alter_table('food_samples', schema=None) as batch_op:
        batch_op.drop_index('ix_food_samples_site_day')
    op.drop_table('food_samples')
