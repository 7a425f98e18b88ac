"""Panel days: the cases an area's panel is asked to hear on one day, each in a meeting of its own (003).

Revision ID: 0014_panels
Revises: 0013_person_links
Create Date: 2026-12-14
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014_panels"
down_revision: str | None = "0013_person_links"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "panel_cases",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("area", sa.String(64), nullable=False),
        sa.Column("panel_ref", sa.String(32), nullable=False),
        sa.Column("case_ref", sa.String(64), nullable=False),
        sa.Column("scheduled_for", sa.Date(), nullable=False),
        sa.Column("scheduled_by", sa.String(200), nullable=False),
        sa.Column("scheduled_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_panel_cases"),
        sa.UniqueConstraint("area", "panel_ref", "case_ref", name="uq_panel_cases_area_panel_ref_case_ref"),
    )
    op.create_index("ix_panel_cases_area_panel_ref", "panel_cases", ["area", "panel_ref"])


def downgrade() -> None:
    op.drop_index("ix_panel_cases_area_panel_ref", table_name="panel_cases")
    op.drop_table("panel_cases")
