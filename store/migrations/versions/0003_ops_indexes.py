"""Indexes for the ops views: compliance per area over a period of due dates, and the open-deadline gauges.

Revision ID: 0003_ops_indexes
Revises: 0002_confidentiality
Create Date: 2026-11-22
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0003_ops_indexes"
down_revision: str | None = "0002_confidentiality"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Compliance: one area, every kind, a range of due dates (0001's area/kind/due_date index needs the kind).
    op.create_index("ix_ledger_deadlines_area_due_date", "ledger_deadlines", ["area", "due_date"])
    # The /metrics gauges count open and breached deadlines by kind and area at every scrape: index-only.
    op.create_index("ix_ledger_deadlines_state_kind_area", "ledger_deadlines", ["state", "kind", "area"])


def downgrade() -> None:
    op.drop_index("ix_ledger_deadlines_state_kind_area", table_name="ledger_deadlines")
    op.drop_index("ix_ledger_deadlines_area_due_date", table_name="ledger_deadlines")
