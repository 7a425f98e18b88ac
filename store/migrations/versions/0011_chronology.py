"""The case's chronology: one row per applied event, its words sealed (`chronology_entries`).

Cases started before this keep no entries until their next run rebuilds their past from the case file.

Revision ID: 0011_chronology
Revises: 0010_minutes_by_meeting
Create Date: 2026-12-04
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011_chronology"
down_revision: str | None = "0010_minutes_by_meeting"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "chronology_entries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_ref", sa.String(64), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("area", sa.String(64), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("event", sa.String(64), nullable=False),
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("sender_role", sa.String(32), nullable=True),
        sa.Column("sender_agency", sa.String(64), nullable=True),
        sa.Column("stage_before", sa.String(64), nullable=True),
        sa.Column("stage_after", sa.String(64), nullable=True),
        sa.Column("level_before", sa.Integer(), nullable=True),
        sa.Column("level_after", sa.Integer(), nullable=True),
        sa.Column("category", sa.Integer(), nullable=True),
        sa.Column("deadline_changes", sa.JSON(), nullable=False),
        sa.Column("key_id", sa.String(64), nullable=False),
        sa.Column("sealed", sa.LargeBinary(), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_chronology_entries"),
        sa.UniqueConstraint("case_ref", "seq", name="uq_chronology_entries_case_ref_seq"),
    )
    op.create_index("ix_chronology_entries_area_at", "chronology_entries", ["area", "at"])


def downgrade() -> None:
    op.drop_index("ix_chronology_entries_area_at", table_name="chronology_entries")
    op.drop_table("chronology_entries")
