"""Disclosures: a random reference for clients, and the not-to-be-shared items a whole-minute grant names.

- `disclosures.disclosure_ref`: the reference clients see (the integer id was sequential, so guessable);
  existing rows get a random one.
- `disclosures.items_shared`: the items marked not to be shared that the chair granted by name; a grant of the
  whole minute withholds every other one.

Revision ID: 0006_atomic_disclosures
Revises: 0005_trust
Create Date: 2026-12-09
"""

import secrets
import string
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006_atomic_disclosures"
down_revision: str | None = "0005_trust"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ALPHABET = string.ascii_uppercase + string.digits


def upgrade() -> None:
    with op.batch_alter_table("disclosures") as disclosures:
        disclosures.add_column(sa.Column("disclosure_ref", sa.String(32), nullable=True))
        disclosures.add_column(sa.Column("items_shared", sa.JSON(), nullable=True))
    connection = op.get_bind()
    for (row_id,) in connection.execute(sa.text("SELECT id FROM disclosures")).all():
        ref = "DIS-" + "".join(secrets.choice(ALPHABET) for _ in range(16))
        connection.execute(
            sa.text("UPDATE disclosures SET disclosure_ref = :ref WHERE id = :id").bindparams(
                ref=ref, id=row_id
            )
        )
    with op.batch_alter_table("disclosures") as disclosures:
        disclosures.alter_column("disclosure_ref", existing_type=sa.String(32), nullable=False)
        disclosures.create_unique_constraint(op.f("uq_disclosures_disclosure_ref"), ["disclosure_ref"])


def downgrade() -> None:
    with op.batch_alter_table("disclosures") as disclosures:
        disclosures.drop_constraint(op.f("uq_disclosures_disclosure_ref"), type_="unique")
        disclosures.drop_column("items_shared")
        disclosures.drop_column("disclosure_ref")
