"""The cases of one person, linked by a keyed digest of the subject's identity (core/person_key.py), never by
anything that names them: `person_links`.

Revision ID: 0013_person_links
Revises: 0012_case_transfers
Create Date: 2026-12-14
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013_person_links"
down_revision: str | None = "0012_case_transfers"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "person_links",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("person_key", sa.String(64), nullable=False),
        sa.Column("key_id", sa.String(64), nullable=False),
        sa.Column("case_ref", sa.String(64), nullable=False),
        sa.Column("area", sa.String(64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("case_ref", "person_key", name="uq_person_links_case_ref_person_key"),
    )
    op.create_index("ix_person_links_person_key", "person_links", ["person_key"])


def downgrade() -> None:
    op.drop_index("ix_person_links_person_key", table_name="person_links")
    op.drop_table("person_links")
