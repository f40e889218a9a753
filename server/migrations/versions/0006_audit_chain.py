"""audit chain; the alert transitions already recorded are its first links

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-29 00:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.orm import Session

import server.db

revision: str = '0006'
down_revision: str | None = '0005'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""
    op.create_table('audit_chain',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('site', sa.String(length=64), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('ref', sa.String(length=64), nullable=False),
    sa.Column('at', server.db.UtcDateTime(timezone=True), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('prev_hash', sa.String(length=64), nullable=False),
    sa.Column('hash', sa.String(length=64), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('audit_chain', schema=None) as batch_op:
        batch_op.create_index('uq_audit_chain_site_seq', ['site', 'seq'], unique=True)
        batch_op.create_index('ix_audit_chain_kind_ref', ['kind', 'ref'], unique=False)
    _chain_existing()


def _chain_existing() -> None:
    """Links for the alert transitions a database already holds, oldest first (the chain vouches for them from
    the upgrade on, not before)."""
    from server.models import Alert, AlertEvent
    from server.records.alert_chain import chain_alert_event

    session = Session(bind=op.get_bind())
    rows = session.execute(sa.select(AlertEvent, Alert).join(Alert, AlertEvent.alert_id == Alert.id)
                           .order_by(AlertEvent.id))
    for event, alert in rows.all():
        chain_alert_event(session, event, alert)
    session.flush()


def downgrade() -> None:
    """Undo this revision."""
    with op.batch_alter_table('audit_chain', schema=None) as batch_op:
        batch_op.drop_index('ix_audit_chain_kind_ref')
        batch_op.drop_index('uq_audit_chain_site_seq')
    op.drop_table('audit_chain')
