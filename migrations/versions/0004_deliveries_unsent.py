"""A delivery keeps the text it still has to send, so a retry sends it once and never lies.

A staff alert or a caller's "text me this" is stored with the delivery's claim, in the
same transaction, and cleared once sent; a failed or abandoned send can be taken over.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        batch_op.add_column(sa.Column("unsent", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("sending_since", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        batch_op.drop_column("sending_since")
        batch_op.drop_column("unsent")
