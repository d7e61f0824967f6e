"""Operations: what people did to HostedScan through scanbot, audited, with a once-only key.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

WHEN = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "operations",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("key", sa.String(255), nullable=True, unique=True),
        sa.Column("user_id", sa.String(32), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("channel_id", sa.String(32), nullable=False),
        sa.Column("request", sa.JSON, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("answer", sa.Text, nullable=False, server_default=""),
        sa.Column("hostedscan_id", sa.String(128), nullable=True),
        sa.Column("at", WHEN, nullable=False),
        sa.Column("done_at", WHEN, nullable=True),
        sa.Column("notified_at", WHEN, nullable=True),
        sa.Column("linked_at", WHEN, nullable=True),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_operations_user_kind_at", "operations", ["user_id", "kind", "at"])
    op.create_index("ix_operations_hostedscan_id", "operations", ["hostedscan_id"])


def downgrade() -> None:
    op.drop_table("operations")
