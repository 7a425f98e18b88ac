"""Deadlines that fell due before their case was imported (go-live) are marked in the ledger, so compliance, the
ops page and the weekly digest report them apart from what the system itself could have reminded.

Revision ID: 0009_pre_go_live
Revises: 0008_import_files
Create Date: 2026-12-04
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009_pre_go_live"
down_revision: str | None = "0008_import_files"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("ledger_deadlines") as deadlines:
        deadlines.add_column(
            sa.Column("pre_go_live", sa.Boolean(), nullable=False, server_default=sa.false())
        )


def downgrade() -> None:
    with op.batch_alter_table("ledger_deadlines") as deadlines:
        deadlines.drop_column("pre_go_live")
