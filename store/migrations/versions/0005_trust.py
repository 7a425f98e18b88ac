"""Trust: national agencies, idempotency keys bound to their request, one case reference per opening.

- `agencies.national`: only a national agency's users may hold a token without an area.
- `case_openings.request_hash`: a key is bound to the request it first came with; `idempotency_key` may be
  empty (an opening without a key is reserved too), and `case_ref` is unique, so a reference that is already
  reserved can only have been started by a request with the same key.
- `event_requests`: the same binding for the events sent to a case.

Revision ID: 0005_trust
Revises: 0004_calendars_and_digest
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005_trust"
down_revision: str | None = "0004_calendars_and_digest"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def instant() -> sa.DateTime:
    return sa.DateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("agencies") as agencies:
        agencies.add_column(sa.Column("national", sa.Boolean(), nullable=False, server_default=sa.false()))
    # Until now an agency without an area was the directory's way of saying national.
    op.execute(sa.text("UPDATE agencies SET national = :yes WHERE area IS NULL").bindparams(yes=True))

    with op.batch_alter_table("case_openings") as openings:
        openings.add_column(sa.Column("request_hash", sa.String(64), nullable=True))
        openings.alter_column("idempotency_key", existing_type=sa.String(200), nullable=True)
        openings.create_unique_constraint(op.f("uq_case_openings_case_ref"), ["case_ref"])

    op.create_table(
        "event_requests",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("sender", sa.String(64), nullable=False),
        sa.Column("case_ref", sa.String(64), nullable=False),
        sa.Column("idempotency_key", sa.String(200), nullable=False),
        sa.Column("request_hash", sa.String(64), nullable=False),
        sa.Column("created_at", instant(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_event_requests")),
        sa.UniqueConstraint(
            "sender",
            "case_ref",
            "idempotency_key",
            name=op.f("uq_event_requests_sender_case_ref_idempotency_key"),
        ),
    )


def downgrade() -> None:
    op.drop_table("event_requests")
    op.execute(sa.text("DELETE FROM case_openings WHERE idempotency_key IS NULL"))
    with op.batch_alter_table("case_openings") as openings:
        openings.drop_constraint(op.f("uq_case_openings_case_ref"), type_="unique")
        openings.alter_column("idempotency_key", existing_type=sa.String(200), nullable=False)
        openings.drop_column("request_hash")
    with op.batch_alter_table("agencies") as agencies:
        agencies.drop_column("national")
