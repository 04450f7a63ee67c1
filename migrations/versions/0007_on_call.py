"""On call and open now, and alerts people can trust: the console's override of menus.yaml's
on-call numbers and hours (one row), and each staff alert with its delivery status.

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "line_state",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("staff_line", sa.String(length=20), nullable=True),
        sa.Column("backup_line", sa.String(length=20), nullable=True),
        sa.Column("alert_number", sa.String(length=20), nullable=True),
        sa.Column("on_call_by", sa.String(length=80), nullable=True),
        sa.Column("on_call_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("hours_state", sa.String(length=8), nullable=True),
        sa.Column("hours_reason", sa.String(length=120), nullable=True),
        sa.Column("hours_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("hours_by", sa.String(length=80), nullable=True),
        sa.Column("hours_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "alerts",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("ref", sa.String(length=64), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("sent_to", sa.String(length=12), nullable=False),
        sa.Column("phone", sa.String(length=20), nullable=False),
        sa.Column("message_sid", sa.String(length=64), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("status_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("error_code", sa.String(length=12), nullable=True),
        sa.Column("retry_of", sa.Integer(), nullable=True),
        sa.Column("retried", sa.Boolean(), server_default="0", nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("alerts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_alerts_ref"), ["ref"], unique=True)
        batch_op.create_index(batch_op.f("ix_alerts_at"), ["at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("alerts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_alerts_at"))
        batch_op.drop_index(batch_op.f("ix_alerts_ref"))
    op.drop_table("alerts")
    op.drop_table("line_state")
