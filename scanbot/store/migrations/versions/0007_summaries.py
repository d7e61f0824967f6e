"""Scheduled summaries, the daily risk counts their chart draws, and quiet hours.

`summary_schedules`: one schedule per (channel, period); `last_period` makes each period
queued once. `risk_counts`: one row per UTC day, written once. `subscriptions` gains a
quiet window (`quiet_start`-`quiet_end` in `tz`) and `quiet_all`; `scan_snapshots` gains
`final_at`, when scanbot saw the scan finish (a summary counts scans per period).

Revision ID: 0007
Revises: 0005
Create Date: 2026-11-30
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
        "summary_schedules",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("channel_id", sa.String(32), nullable=False),
        sa.Column("period", sa.String(16), nullable=False),
        sa.Column("weekday", sa.SmallInteger, nullable=True),
        sa.Column("at", sa.String(5), nullable=False),
        sa.Column("tz", sa.String(64), nullable=False),
        sa.Column("types", sa.JSON, nullable=False),
        sa.Column("target_contains", sa.Text, nullable=True),
        sa.Column("min_severity", sa.String(16), nullable=True),
        sa.Column("created_by", sa.String(32), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_period", sa.String(32), nullable=True),
        sa.Column("last_open", sa.Integer, nullable=True),
        sa.Column("last_at", sa.DateTime(timezone=True), nullable=True),
        sa.UniqueConstraint("channel_id", "period", name="ux_summary_schedules_channel_period"),
        sqlite_autoincrement=True,
    )
    op.create_table(
        "risk_counts",
        sa.Column("day", sa.Date, primary_key=True),
        sa.Column("high", sa.Integer, nullable=False),
        sa.Column("medium", sa.Integer, nullable=False),
        sa.Column("low", sa.Integer, nullable=False),
        sa.Column("other", sa.Integer, nullable=False),
        sa.Column("accepted", sa.Integer, nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
    )
    # Plain ADD COLUMN: a batch copy would drop the table's AUTOINCREMENT on SQLite.
    op.add_column("subscriptions", sa.Column("quiet_start", sa.String(5), nullable=True))
    op.add_column("subscriptions", sa.Column("quiet_end", sa.String(5), nullable=True))
    op.add_column(
        "subscriptions",
        sa.Column("quiet_all", sa.Boolean, nullable=False, server_default=sa.false()),
    )
    op.add_column("subscriptions", sa.Column("tz", sa.String(64), nullable=True))
    op.add_column(
        "scan_snapshots", sa.Column("final_at", sa.DateTime(timezone=True), nullable=True)
    )


def downgrade() -> None:
    # Plain DROP COLUMN (SQLite 3.35+): a batch copy would lose AUTOINCREMENT and the
    # partial index of scan_snapshots.
    op.drop_column("scan_snapshots", "final_at")
    for column in ("tz", "quiet_all", "quiet_end", "quiet_start"):
        op.drop_column("subscriptions", column)
    op.drop_table("risk_counts")
    op.drop_table("summary_schedules")
