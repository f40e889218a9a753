"""suppressions, care events, muted alerts

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-28 15:20:14.177180
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import server.db

revision: str = '0002'
down_revision: str | None = '0001'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""
    op.create_table('care_events',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('site', sa.String(length=64), nullable=False),
    sa.Column('bed', sa.String(length=64), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('at', server.db.UtcDateTime(timezone=True), nullable=False),
    sa.Column('actor', sa.String(length=64), nullable=False),
    sa.Column('note', sa.String(length=500), nullable=True),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('care_events', schema=None) as batch_op:
        batch_op.create_index('ix_care_events_site_bed_at', ['site', 'bed', 'at'], unique=False)

    op.create_table('suppressions',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('site', sa.String(length=64), nullable=False),
    sa.Column('mode', sa.String(length=16), nullable=False),
    sa.Column('scope', sa.String(length=16), nullable=False),
    sa.Column('target', sa.String(length=64), nullable=True),
    sa.Column('starts_at', server.db.UtcDateTime(timezone=True), nullable=False),
    sa.Column('ends_at', server.db.UtcDateTime(timezone=True), nullable=False),
    sa.Column('author', sa.String(length=64), nullable=False),
    sa.Column('reason', sa.String(length=500), nullable=False),
    sa.Column('created_at', server.db.UtcDateTime(timezone=True), nullable=False),
    sa.Column('ended_at', server.db.UtcDateTime(timezone=True), nullable=True),
    sa.Column('ended_by', sa.String(length=64), nullable=True),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('suppressions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_suppressions_ends_at'), ['ends_at'], unique=False)

    with op.batch_alter_table('alerts', schema=None) as batch_op:
        batch_op.add_column(sa.Column('muted', sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column('suppression_id', sa.Integer(), nullable=True))
        batch_op.alter_column('subject',
               existing_type=sa.VARCHAR(length=64),
               type_=sa.String(length=160),
               existing_nullable=False)
        batch_op.create_foreign_key('fk_alerts_suppression_id', 'suppressions', ['suppression_id'], ['id'])



def downgrade() -> None:
    """Undo this revision."""
    with op.batch_alter_table('alerts', schema=None) as batch_op:
        batch_op.drop_constraint('fk_alerts_suppression_id', type_='foreignkey')
        batch_op.alter_column('subject',
               existing_type=sa.String(length=160),
               type_=sa.VARCHAR(length=64),
               existing_nullable=False)
        batch_op.drop_column('suppression_id')
        batch_op.drop_column('muted')

    with op.batch_alter_table('suppressions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_suppressions_ends_at'))

    op.drop_table('suppressions')
    with op.batch_alter_table('care_events', schema=None) as batch_op:
        batch_op.drop_index('ix_care_events_site_bed_at')

    op.drop_table('care_events')
