"""Agency calendar feeds: one secret per agency and area (only its hash kept), issued and revoked by the CLI.

The weekly digest needs no table of its own: it goes through the notification outbox, keyed by area and ISO
week, so it is sent once per week whatever restarts.

Revision ID: 0004_calendars_and_digest
Revises: 0003_ops_indexes
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004_calendars_and_digest"
down_revision: str | None = "0003_ops_indexes"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "calendar_feeds",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("secret_hash", sa.String(64), nullable=False),
        sa.Column("agency_id", sa.String(64), nullable=False),
        sa.Column("area", sa.String(64), nullable=False),
        sa.Column("issued_by", sa.String(200), nullable=False),
        sa.Column("issued_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_calendar_feeds")),
        sa.UniqueConstraint("secret_hash", name=op.f("uq_calendar_feeds_secret_hash")),
    )
    op.create_index("ix_calendar_feeds_agency_id_area", "calendar_feeds", ["agency_id", "area"])


def downgrade() -> None:
    op.drop_index("ix_calendar_feeds_agency_id_area", table_name="calendar_feeds")
    op.drop_table("calendar_feeds")
