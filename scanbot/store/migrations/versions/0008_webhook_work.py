"""Webhook work kept until done: what an event asks to look at (a scan, or the active
scans for a risk event) and when it was done, so processing that failed is retried, also
after a restart. Events recorded before this revision were processed: marked done.

And an outbox row's `maybe_sent`: an earlier post of it may have reached Slack (its answer
was lost), so the sender looks for it in Slack before posting it again.

Revision ID: 0008
Revises: 0005
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("webhook_events") as batch:
        batch.add_column(sa.Column("scan_id", sa.String(255), nullable=True))
        batch.add_column(sa.Column("risks", sa.Boolean, nullable=False, server_default=sa.false()))
        batch.add_column(sa.Column("done_at", sa.DateTime(timezone=True), nullable=True))
    op.execute("UPDATE webhook_events SET done_at = received_at")
    with op.batch_alter_table("outbox") as batch:
        batch.add_column(
            sa.Column("maybe_sent", sa.Boolean, nullable=False, server_default=sa.false())
        )


def downgrade() -> None:
    with op.batch_alter_table("outbox") as batch:
        batch.drop_column("maybe_sent")
    with op.batch_alter_table("webhook_events") as batch:
        for column in ("done_at", "risks", "scan_id"):
            batch.drop_column(column)
