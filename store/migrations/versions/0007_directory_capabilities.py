"""The directory says what each agency may be: a national agency's jurisdictions, the API roles its people may
hold, and whether it chairs Adult Support and Protection (store/directory.py). The worker reloads the directory
file at start, which fills them in.

Revision ID: 0007_directory_capabilities
Revises: 0006_atomic_disclosures
Create Date: 2026-12-10
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007_directory_capabilities"
down_revision: str | None = "0006_atomic_disclosures"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("agencies") as agencies:
        agencies.add_column(sa.Column("jurisdictions", sa.JSON(), nullable=True))
        agencies.add_column(sa.Column("roles", sa.JSON(), nullable=True))
        agencies.add_column(sa.Column("asp_chair", sa.Boolean(), nullable=False, server_default=sa.false()))


def downgrade() -> None:
    with op.batch_alter_table("agencies") as agencies:
        agencies.drop_column("asp_chair")
        agencies.drop_column("roles")
        agencies.drop_column("jurisdictions")
