"""handovers, roster changes

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-28 16:58:05.869895
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import server.db

revision: str = '0004'
down_revision: str | None = '0003'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""
    op.create_table('handovers',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('site', sa.String(length=64), nullable=False),
    sa.Column('at', server.db.UtcDateTime(timezone=True), nullable=False),
    sa.Column('from_shift', sa.String(length=64), nullable=False),
    sa.Column('to_shift', sa.String(length=64), nullable=False),
    sa.Column('summary', sa.JSON().with_variant(sa.JSON(none_as_null=True), 'postgresql'), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('handovers', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_handovers_at'), ['at'], unique=False)

    op.create_table('roster_changes',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('site', sa.String(length=64), nullable=False),
    sa.Column('shift', sa.String(length=64), nullable=False),
    sa.Column('staff', sa.JSON().with_variant(sa.JSON(none_as_null=True), 'postgresql'), nullable=False),
    sa.Column('supervisor', sa.String(length=64), nullable=True),
    sa.Column('by', sa.String(length=64), nullable=False),
    sa.Column('at', server.db.UtcDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )


def downgrade() -> None:
    """Undo this revision."""
    op.drop_table('roster_changes')
    with op.batch_alter_table('handovers', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_handovers_at'))

    op.drop_table('handovers')
