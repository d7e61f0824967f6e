"""The alert tables: snapshots, subscriptions, outbox, threads, webhook ids, bot state.

Revision ID: 0001
Revises:
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

WHEN = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "scan_snapshots",
        sa.Column("scan_id", sa.String(128), primary_key=True),
        sa.Column("state", sa.String(64), nullable=False),
        sa.Column("summary", sa.Text, nullable=False),
        sa.Column("alerted_risks", sa.JSON, nullable=False),
        sa.Column("announced", sa.Boolean, nullable=False),
        sa.Column("last_seen", WHEN, nullable=False),
        sa.Column("missing_since", WHEN, nullable=True),
    )
    op.create_index("ix_scan_snapshots_state", "scan_snapshots", ["state"])
    op.create_index("ix_scan_snapshots_last_seen", "scan_snapshots", ["last_seen"])
    op.create_table(
        "subscriptions",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("channel_id", sa.String(32), nullable=False),
        sa.Column("types", sa.JSON, nullable=False),
        sa.Column("target_contains", sa.Text, nullable=True),
        sa.Column("min_severity", sa.String(16), nullable=True),
        sa.Column("events", sa.JSON, nullable=False),
        sa.Column("created_by", sa.String(32), nullable=False),
        sa.Column("from_env", sa.Boolean, nullable=False),
        sa.Column("disabled_reason", sa.Text, nullable=True),
        sa.Column("created_at", WHEN, nullable=False),
        sqlite_autoincrement=True,  # users name subscriptions by id: never reuse one
    )
    op.create_index("ix_subscriptions_channel_id", "subscriptions", ["channel_id"])
    op.create_table(
        "outbox",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("alert_key", sa.String(512), nullable=False, unique=True),
        sa.Column("channel_id", sa.String(32), nullable=False),
        sa.Column("scan_id", sa.String(128), nullable=False),
        sa.Column("alert", sa.Text, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
        sa.Column("next_attempt_at", WHEN, nullable=False),
        sa.Column("last_error", sa.Text, nullable=True),
        sa.Column("ts", sa.String(32), nullable=True),
        sa.Column("created_at", WHEN, nullable=False),
        sa.Column("done_at", WHEN, nullable=True),
    )
    op.create_index("ix_outbox_status_due", "outbox", ["status", "next_attempt_at"])
    op.create_table(
        "alert_threads",
        sa.Column("scan_id", sa.String(128), primary_key=True),
        sa.Column("channel_id", sa.String(32), primary_key=True),
        sa.Column("parent_ts", sa.String(32), nullable=False),
        sa.Column("summary", sa.Text, nullable=False),
        sa.Column("shown", sa.Text, nullable=False),
        sa.Column("edited_at", WHEN, nullable=True),
        sa.Column("created_at", WHEN, nullable=False),
    )
    op.create_table(
        "webhook_events",
        sa.Column("event_id", sa.String(255), primary_key=True),
        sa.Column("received_at", WHEN, nullable=False),
    )
    op.create_index("ix_webhook_events_received_at", "webhook_events", ["received_at"])
    op.create_table(
        "bot_state",
        sa.Column("key", sa.String(64), primary_key=True),
        sa.Column("value", sa.JSON, nullable=False),
    )


def downgrade() -> None:
    for table in (
        "bot_state",
        "webhook_events",
        "alert_threads",
        "outbox",
        "subscriptions",
        "scan_snapshots",
    ):
        op.drop_table(table)
