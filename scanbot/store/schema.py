"""The tables, as SQLAlchemy Core metadata. Alembic migrations create and change them."""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa


class UTCDateTime(sa.TypeDecorator[datetime]):
    """An aware datetime, stored in UTC. SQLite keeps no offset: without this, times written
    at different offsets (another zone, either side of a DST change) compare and read back
    shifted. A naive value is taken as local time, as Python's astimezone does."""

    impl = sa.DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        return None if value is None else value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None or value.tzinfo is not None:
            return value
        return value.replace(tzinfo=UTC)


metadata = sa.MetaData()

ID = sa.String(128)  # HostedScan ids are at most 128 characters (validated before use)
CHANNEL = sa.String(32)
TS = sa.String(32)  # Slack message timestamps, "1700000000.000100"
WHEN = UTCDateTime(timezone=True)

scan_snapshots = sa.Table(
    "scan_snapshots",
    metadata,
    sa.Column("scan_id", ID, primary_key=True),
    sa.Column("state", sa.String(64), nullable=False, index=True),
    sa.Column("summary", sa.Text, nullable=False),  # ScanSummary as JSON
    sa.Column("alerted_risks", sa.JSON, nullable=False),
    sa.Column("announced", sa.Boolean, nullable=False),
    sa.Column("last_seen", WHEN, nullable=False, index=True),
    sa.Column("missing_since", WHEN, nullable=True),
    sa.Column("final_at", WHEN, nullable=True),  # first seen finished (migration 0007)
    sa.Index(
        "ix_scan_snapshots_not_final",
        "scan_id",
        sqlite_where=sa.text("state NOT IN ('SUCCEEDED', 'FAILED', 'OVER_LIMIT')"),
        postgresql_where=sa.text("state NOT IN ('SUCCEEDED', 'FAILED', 'OVER_LIMIT')"),
    ),
)

subscriptions = sa.Table(
    "subscriptions",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("channel_id", CHANNEL, nullable=False, index=True),
    sa.Column("types", sa.JSON, nullable=False),
    sa.Column("target_contains", sa.Text, nullable=True),
    sa.Column("min_severity", sa.String(16), nullable=True),
    sa.Column("events", sa.JSON, nullable=False),
    sa.Column("created_by", sa.String(32), nullable=False),
    sa.Column("from_env", sa.Boolean, nullable=False),
    sa.Column("disabled_reason", sa.Text, nullable=True),
    sa.Column("created_at", WHEN, nullable=False),
    # quiet hours (migration 0007): "22:00", "07:00" in `tz`
    sa.Column("quiet_start", sa.String(5), nullable=True),
    sa.Column("quiet_end", sa.String(5), nullable=True),
    sa.Column("quiet_all", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("tz", sa.String(64), nullable=True),
    # Users name subscriptions by id: SQLite must never hand a removed id out again.
    sqlite_autoincrement=True,
)

outbox = sa.Table(
    "outbox",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    # channel|scan|event|detail: the same alert is never queued twice
    sa.Column("alert_key", sa.String(512), nullable=False, unique=True),
    sa.Column("channel_id", CHANNEL, nullable=False),
    sa.Column("scan_id", ID, nullable=False),
    sa.Column("alert", sa.Text, nullable=False),  # Alert as JSON
    sa.Column("status", sa.String(16), nullable=False),  # pending sending sent digested parked
    sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
    sa.Column("next_attempt_at", WHEN, nullable=False),
    sa.Column("last_error", sa.Text, nullable=True),
    sa.Column("ts", TS, nullable=True),
    sa.Column("created_at", WHEN, nullable=False),
    sa.Column("done_at", WHEN, nullable=True),
    # An earlier post may have reached Slack (answer lost): look before posting again.
    sa.Column("maybe_sent", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Index("ix_outbox_status_due", "status", "next_attempt_at"),
)

alert_threads = sa.Table(
    "alert_threads",
    metadata,
    sa.Column("scan_id", ID, primary_key=True),
    sa.Column("channel_id", CHANNEL, primary_key=True),
    sa.Column("parent_ts", TS, nullable=False),
    sa.Column("summary", sa.Text, nullable=False),  # the ScanSummary the parent should show
    sa.Column("shown", sa.Text, nullable=False),  # the card key the parent shows now
    sa.Column("edited_at", WHEN, nullable=True),
    sa.Column("created_at", WHEN, nullable=False),
    # triage (migration 0002)
    sa.Column("assignee", sa.String(32), nullable=True),
    sa.Column("snoozed_until", WHEN, nullable=True),
    sa.Column("snoozed_in_state", sa.String(64), nullable=True),
    sa.Column("muted", sa.Boolean, nullable=False, server_default=sa.false()),
    # triage idempotence (migration 0005)
    sa.Column("snooze_choice", sa.String(16), nullable=True),  # a SnoozeChoice value
    sa.Column("summary_at", WHEN, nullable=True),  # when `summary` was fetched; None: unknown
    sa.Column("summary_stage", sa.SmallInteger, nullable=True),  # ScanSummary.stage of it
)

acknowledgements = sa.Table(
    "acknowledgements",
    metadata,
    sa.Column("scan_id", ID, primary_key=True),
    sa.Column("channel_id", CHANNEL, primary_key=True),
    sa.Column("user_id", sa.String(32), primary_key=True),
    sa.Column("at", WHEN, nullable=False),
)

triage_audit = sa.Table(
    "triage_audit",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("scan_id", ID, nullable=False),
    sa.Column("channel_id", CHANNEL, nullable=False),
    sa.Column("user_id", sa.String(32), nullable=False),
    sa.Column("action", sa.String(32), nullable=False),
    sa.Column("detail", sa.Text, nullable=False, server_default=""),
    sa.Column("at", WHEN, nullable=False),
    sa.Index("ix_triage_audit_thread", "scan_id", "channel_id"),
    sqlite_autoincrement=True,
)

webhook_events = sa.Table(
    "webhook_events",
    metadata,
    sa.Column("event_id", sa.String(255), primary_key=True),
    sa.Column("received_at", WHEN, nullable=False, index=True),
    sa.Column("scan_id", sa.String(255), nullable=True),  # what a scan.* event names
    sa.Column("risks", sa.Boolean, nullable=False, server_default=sa.false()),  # risk.*
    sa.Column("done_at", WHEN, nullable=True),  # None: its work is still to be done
)

bot_state = sa.Table(
    "bot_state",
    metadata,
    sa.Column("key", sa.String(64), primary_key=True),
    sa.Column("value", sa.JSON, nullable=False),
)

operations = sa.Table(
    "operations",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    # Once-only: a replayed or doubled confirmation, or a second Re-scan of the same scan,
    # finds this row instead of starting a second scan (migration 0006).
    sa.Column("key", sa.String(255), nullable=True, unique=True),
    sa.Column("user_id", sa.String(32), nullable=False),
    sa.Column("kind", sa.String(16), nullable=False),  # an OperationKind
    sa.Column("channel_id", CHANNEL, nullable=False),
    sa.Column("request", sa.JSON, nullable=False),  # what was asked, as sent
    sa.Column("status", sa.String(16), nullable=False),  # an OperationStatus
    sa.Column("answer", sa.Text, nullable=False, server_default=""),
    sa.Column("hostedscan_id", ID, nullable=True),  # the scan, target or report made
    sa.Column("at", WHEN, nullable=False),
    sa.Column("done_at", WHEN, nullable=True),
    sa.Column("notified_at", WHEN, nullable=True),  # the starter told the scan finished
    sa.Column("linked_at", WHEN, nullable=True),  # a re-run's new thread told what it re-runs
    sa.Index("ix_operations_user_kind_at", "user_id", "kind", "at"),
    sa.Index("ix_operations_hostedscan_id", "hostedscan_id"),
    sqlite_autoincrement=True,
)

# scheduled summaries (migration 0007)
summary_schedules = sa.Table(
    "summary_schedules",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("channel_id", CHANNEL, nullable=False),
    sa.Column("period", sa.String(16), nullable=False),  # daily weekly
    sa.Column("weekday", sa.SmallInteger, nullable=True),
    sa.Column("at", sa.String(5), nullable=False),  # "09:00" in tz
    sa.Column("tz", sa.String(64), nullable=False),
    sa.Column("types", sa.JSON, nullable=False),
    sa.Column("target_contains", sa.Text, nullable=True),
    sa.Column("min_severity", sa.String(16), nullable=True),
    sa.Column("created_by", sa.String(32), nullable=False),
    sa.Column("created_at", WHEN, nullable=False),
    sa.Column("last_period", sa.String(32), nullable=True),  # the last period queued
    sa.Column("last_open", sa.Integer, nullable=True),
    sa.Column("last_at", WHEN, nullable=True),
    sa.UniqueConstraint("channel_id", "period", name="ux_summary_schedules_channel_period"),
    sqlite_autoincrement=True,
)

risk_counts = sa.Table(
    "risk_counts",
    metadata,
    sa.Column("day", sa.Date, primary_key=True),  # UTC
    sa.Column("high", sa.Integer, nullable=False),
    sa.Column("medium", sa.Integer, nullable=False),
    sa.Column("low", sa.Integer, nullable=False),
    sa.Column("other", sa.Integer, nullable=False),
    sa.Column("accepted", sa.Integer, nullable=False),
    sa.Column("recorded_at", WHEN, nullable=False),
)
