"""patrol check-ins: the checkpoint's checklist as answered

Revision ID: 0014
Revises: 0013
Create Date: 2026-11-29 05:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0014'
down_revision: str | None = '0013'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""
    with op.batch_alter_table('patrol_checkins', schema=None) as batch_op:
        batch_op.add_column(sa.Column('checklist', sa.JSON().with_variant(sa.JSON(none_as_null=True), 'postgresql'),
                                      nullable=True))


def downgrade() -> None:
    """Undo this revision."""
    with op.batch_alter_table('patrol_checkins', schema=None) as batch_op:
        batch_op.drop_column('checklist')
