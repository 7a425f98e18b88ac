"""Imports as workflows: a committed import file and its rows, sealed, each with its outcome once settled and,
for a case the import started, the deadlines already past at the import (workflows/imports.py,
api/import_jobs.py).

Revision ID: 0008_import_files
Revises: 0007_directory_capabilities
Create Date: 2026-12-04
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008_import_files"
down_revision: str | None = "0007_directory_capabilities"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "import_files",
        sa.Column("import_id", sa.String(32), nullable=False),
        sa.Column("area", sa.String(64), nullable=False),
        sa.Column("file_digest", sa.String(64), nullable=False),
        sa.Column("source", sa.String(200), nullable=False),
        sa.Column("user_name", sa.String(200), nullable=False),
        sa.Column("agency_id", sa.String(64), nullable=True),
        sa.Column("role", sa.String(32), nullable=False),
        sa.Column("rows", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("import_id", name="pk_import_files"),
        sa.UniqueConstraint("area", "file_digest", name="uq_import_files_area_file_digest"),
    )
    op.create_table(
        "import_file_rows",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("import_id", sa.String(32), nullable=False),
        sa.Column("line", sa.Integer(), nullable=False),
        sa.Column("import_ref", sa.String(64), nullable=True),
        sa.Column("key_id", sa.String(64), nullable=True),
        sa.Column("sealed", sa.LargeBinary(), nullable=True),
        sa.Column("outcome", sa.String(32), nullable=True),
        sa.Column("case_ref", sa.String(64), nullable=True),
        sa.Column("errors", sa.JSON(), nullable=True),
        sa.Column("past_at_import", sa.JSON(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_import_file_rows"),
        sa.ForeignKeyConstraint(
            ["import_id"], ["import_files.import_id"], name="fk_import_file_rows_import_id_import_files"
        ),
        sa.UniqueConstraint("import_id", "line", name="uq_import_file_rows_import_id_line"),
    )


def downgrade() -> None:
    op.drop_table("import_file_rows")
    op.drop_table("import_files")
