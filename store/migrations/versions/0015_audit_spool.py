"""An event's audit row may be written after the API's answer, from the API's spool (api/audit_spool.py):
`audit_events.spool_id` names the spooled row it came from, unique, so a drain retried after its commit adds
nothing. Rows written before the answer (reads, refusals, and every row before this) have none.

Revision ID: 0015_audit_spool
Revises: 0014_panels
Create Date: 2026-12-12
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015_audit_spool"
down_revision: str | None = "0014_panels"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # A plain ADD COLUMN (no table copy on SQLite), so the append-only triggers on audit_events stay as they are.
    op.add_column("audit_events", sa.Column("spool_id", sa.String(32), nullable=True))
    op.create_index("uq_audit_events_spool_id", "audit_events", ["spool_id"], unique=True)


def downgrade() -> None:
    op.drop_index("uq_audit_events_spool_id", table_name="audit_events")
    # SQLite drops a column in place (3.35 and later); a batch copy would lose the append-only triggers.
    op.execute("ALTER TABLE audit_events DROP COLUMN spool_id")
