"""Triage: assignee, snooze and mute on alert threads; acknowledgements; an audit trail.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

WHEN = sa.DateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("alert_threads") as batch:
        batch.add_column(sa.Column("assignee", sa.String(32), nullable=True))
        batch.add_column(sa.Column("snoozed_until", WHEN, nullable=True))
        batch.add_column(sa.Column("snoozed_in_state", sa.String(64), nullable=True))
        batch.add_column(sa.Column("muted", sa.Boolean, nullable=False, server_default=sa.false()))
    op.create_table(
        "acknowledgements",
        sa.Column("scan_id", sa.String(128), primary_key=True),
        sa.Column("channel_id", sa.String(32), primary_key=True),
        sa.Column("user_id", sa.String(32), primary_key=True),
        sa.Column("at", WHEN, nullable=False),
    )
    op.create_table(
        "triage_audit",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("scan_id", sa.String(128), nullable=False),
        sa.Column("channel_id", sa.String(32), nullable=False),
        sa.Column("user_id", sa.String(32), nullable=False),
        sa.Column("action", sa.String(32), nullable=False),
        sa.Column("detail", sa.Text, nullable=False, server_default=""),
        sa.Column("at", WHEN, nullable=False),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_triage_audit_thread", "triage_audit", ["scan_id", "channel_id"])


def downgrade() -> None:
    op.drop_table("triage_audit")
    op.drop_table("acknowledgements")
    with op.batch_alter_table("alert_threads") as batch:
        for column in ("muted", "snoozed_in_state", "snoozed_until", "assignee"):
            batch.drop_column(column)
