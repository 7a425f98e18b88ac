"""Transfers of cases between areas: `case_transfers`, one row per transfer, written with the ledger.

The API reads a case's current area from it (the reference names the area the case began in), gives the areas a
case left read access, and lets a requested transfer's receiving area decide it; the digest lists transfers.

Revision ID: 0012_case_transfers
Revises: 0011_chronology
Create Date: 2026-12-14
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012_case_transfers"
down_revision: str | None = "0011_chronology"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "case_transfers",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("case_ref", sa.String(64), nullable=False),
        sa.Column("transfer_id", sa.String(32), nullable=False),
        sa.Column("from_area", sa.String(64), nullable=False),
        sa.Column("to_area", sa.String(64), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("accept_by", sa.DateTime(timezone=True), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("case_ref", "transfer_id"),
    )
    op.create_index("ix_case_transfers_case_ref", "case_transfers", ["case_ref"])
    op.create_index("ix_case_transfers_from_area", "case_transfers", ["from_area", "state"])
    op.create_index("ix_case_transfers_to_area", "case_transfers", ["to_area", "state"])


def downgrade() -> None:
    op.drop_table("case_transfers")
