"""A partial index of the scans not yet finished, so a steady cycle's first query reads
only those rows, not every snapshot ever kept.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

NOT_FINAL = "state NOT IN ('SUCCEEDED', 'FAILED', 'OVER_LIMIT')"


def upgrade() -> None:
    op.create_index(
        "ix_scan_snapshots_not_final",
        "scan_snapshots",
        ["scan_id"],
        sqlite_where=sa.text(NOT_FINAL),
        postgresql_where=sa.text(NOT_FINAL),
    )


def downgrade() -> None:
    op.drop_index("ix_scan_snapshots_not_final", table_name="scan_snapshots")
