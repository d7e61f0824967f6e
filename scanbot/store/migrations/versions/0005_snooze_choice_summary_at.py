"""Triage idempotence: the snooze option chosen, and when a thread's summary was fetched.

`snooze_choice` lets the same snooze chosen again change nothing; `summary_at` and
`summary_stage` let a thread's summary be replaced only by one that is not older (a
Refresh's fetch against a poll's). A snooze waiting for the next state is backfilled;
a timed one set before this revision has no option, so choosing any option changes it.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("alert_threads") as batch:
        batch.add_column(sa.Column("snooze_choice", sa.String(16), nullable=True))
        batch.add_column(sa.Column("summary_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("summary_stage", sa.SmallInteger, nullable=True))
    op.execute(
        "UPDATE alert_threads SET snooze_choice = 'next_state' "
        "WHERE snoozed_in_state IS NOT NULL AND snoozed_until IS NULL"
    )


def downgrade() -> None:
    with op.batch_alter_table("alert_threads") as batch:
        for column in ("summary_stage", "summary_at", "snooze_choice"):
            batch.drop_column(column)
