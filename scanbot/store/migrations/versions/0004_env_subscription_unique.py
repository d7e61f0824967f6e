"""One SCANBOT_ALERT_CHANNEL subscription per channel, even when replicas start together.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        "ux_subscriptions_env_channel",
        "subscriptions",
        ["channel_id"],
        unique=True,
        sqlite_where=sa.text("from_env"),
        postgresql_where=sa.text("from_env"),
    )


def downgrade() -> None:
    op.drop_index("ux_subscriptions_env_channel", table_name="subscriptions")
