"""Minutes are filed for a meeting the case file records: `minutes.meeting_id`, one minute for each meeting.

A minute stored before this has no meeting id (NULL, which the unique constraint lets repeat); whether it is
read as of right is decided, as before, by the meeting the case file records naming it.

Revision ID: 0010_minutes_by_meeting
Revises: 0009_pre_go_live
Create Date: 2026-12-11
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010_minutes_by_meeting"
down_revision: str | None = "0009_pre_go_live"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("minutes") as minutes:
        minutes.add_column(sa.Column("meeting_id", sa.String(16), nullable=True))
        minutes.create_unique_constraint("uq_minutes_case_ref_meeting_id", ["case_ref", "meeting_id"])


def downgrade() -> None:
    with op.batch_alter_table("minutes") as minutes:
        minutes.drop_constraint("uq_minutes_case_ref_meeting_id", type_="unique")
        minutes.drop_column("meeting_id")
