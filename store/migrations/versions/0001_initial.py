"""Initial schema: agency directory, notification outbox, deadline ledger, API tokens, case openings, audit.

Revision ID: 0001_initial
Revises:
Create Date: 2026-11-22
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001_initial"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Written out here, not imported from store.models: a migration is a record of what the schema was.
AGENCY_KINDS = (
    "police",
    "justice-social-work",
    "probation",
    "prison",
    "health",
    "housing",
    "education",
    "council",
    "youth-offending",
    "dwp",
    "other",
)


def one_of(column: str, values: Sequence[str]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


def instant() -> sa.DateTime:
    return sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "agencies",
        sa.Column("agency_id", sa.String(64), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("area", sa.String(64), nullable=True),
        sa.Column("spoc_email", sa.String(254), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.CheckConstraint(one_of("kind", AGENCY_KINDS), name=op.f("ck_agencies_kind")),
        sa.PrimaryKeyConstraint("agency_id", name=op.f("pk_agencies")),
    )
    op.create_index(op.f("ix_agencies_area"), "agencies", ["area"])

    op.create_table(
        "role_holders",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("area", sa.String(64), nullable=False),
        sa.Column("role", sa.String(32), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("email", sa.String(254), nullable=False),
        sa.Column("valid_from", sa.Date(), nullable=False),
        sa.Column("valid_to", sa.Date(), nullable=True),
        sa.Column("acting", sa.Boolean(), nullable=False),
        sa.CheckConstraint(
            one_of("role", ("co-ordinator", "chair", "deputy-co-ordinator")),
            name=op.f("ck_role_holders_role"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_role_holders")),
        sa.UniqueConstraint(
            "area", "role", "email", "valid_from", name=op.f("uq_role_holders_area_role_email_valid_from")
        ),
    )
    op.create_index("ix_role_holders_area_role_valid_from", "role_holders", ["area", "role", "valid_from"])

    op.create_table(
        "notifications",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(200), nullable=False),
        sa.Column("case_ref", sa.String(64), nullable=False),
        sa.Column("area", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(64), nullable=False),
        sa.Column("recipient", sa.String(64), nullable=False),
        sa.Column("to_address", sa.Text(), nullable=False),
        sa.Column("subject", sa.Text(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("deadline_id", sa.String(200), nullable=True),
        sa.Column("created_at", instant(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("sent_at", instant(), nullable=True),
        sa.CheckConstraint(one_of("status", ("pending", "sent")), name=op.f("ck_notifications_status")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notifications")),
        sa.UniqueConstraint("key", name=op.f("uq_notifications_key")),
    )
    op.create_index("ix_notifications_status_created_at", "notifications", ["status", "created_at"])
    op.create_index("ix_notifications_case_ref", "notifications", ["case_ref"])

    op.create_table(
        "ledger_cases",
        sa.Column("case_ref", sa.String(64), nullable=False),
        sa.Column("area", sa.String(64), nullable=False),
        sa.Column("jurisdiction", sa.String(32), nullable=False),
        sa.Column("category", sa.Integer(), nullable=False),
        sa.Column("level", sa.Integer(), nullable=True),
        sa.Column("stage", sa.String(64), nullable=False),
        sa.Column("lead_agency", sa.String(64), nullable=False),
        sa.Column("opened_at", instant(), nullable=False),
        sa.Column("exited_at", instant(), nullable=True),
        sa.Column("open_breaches", sa.Integer(), nullable=False),
        sa.Column("next_deadline_at", instant(), nullable=True),
        sa.Column("next_deadline_kind", sa.String(64), nullable=True),
        sa.Column("updated_at", instant(), nullable=False),
        sa.PrimaryKeyConstraint("case_ref", name=op.f("pk_ledger_cases")),
    )
    op.create_index("ix_ledger_cases_area_stage", "ledger_cases", ["area", "stage"])
    op.create_index("ix_ledger_cases_next_deadline_at", "ledger_cases", ["next_deadline_at"])

    op.create_table(
        "ledger_deadlines",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_ref", sa.String(64), nullable=False),
        sa.Column("deadline_id", sa.String(200), nullable=False),
        sa.Column("area", sa.String(64), nullable=False),
        sa.Column("jurisdiction", sa.String(32), nullable=False),
        sa.Column("kind", sa.String(64), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("responsible", sa.String(64), nullable=False),
        sa.Column("opened_at", instant(), nullable=False),
        sa.Column("due_at", instant(), nullable=False),
        sa.Column("due_date", sa.Date(), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("met_at", instant(), nullable=True),
        sa.Column("breached_at", instant(), nullable=True),
        sa.Column("met_late", sa.Boolean(), nullable=False),
        sa.Column("cancelled_at", instant(), nullable=True),
        sa.Column("cancel_reason", sa.Text(), nullable=True),
        sa.Column("escalations", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_ref"],
            ["ledger_cases.case_ref"],
            name=op.f("fk_ledger_deadlines_case_ref_ledger_cases"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ledger_deadlines")),
        sa.UniqueConstraint("case_ref", "deadline_id", name=op.f("uq_ledger_deadlines_case_ref_deadline_id")),
    )
    op.create_index("ix_ledger_deadlines_state_due_at", "ledger_deadlines", ["state", "due_at"])
    op.create_index("ix_ledger_deadlines_area_state_due_at", "ledger_deadlines", ["area", "state", "due_at"])
    op.create_index(
        "ix_ledger_deadlines_responsible_state_due_at", "ledger_deadlines", ["responsible", "state", "due_at"]
    )
    op.create_index(
        "ix_ledger_deadlines_area_kind_due_date", "ledger_deadlines", ["area", "kind", "due_date"]
    )

    op.create_table(
        "ledger_escalations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(200), nullable=False),
        sa.Column("case_ref", sa.String(64), nullable=False),
        sa.Column("deadline_id", sa.String(200), nullable=True),
        sa.Column("area", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("recipient", sa.String(64), nullable=False),
        sa.Column("due_at", instant(), nullable=True),
        sa.Column("escalated_at", instant(), nullable=False),
        sa.Column("lateness_seconds", sa.Float(), nullable=True),
        sa.CheckConstraint(
            one_of("kind", ("breach-escalation", "re-escalation")), name=op.f("ck_ledger_escalations_kind")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ledger_escalations")),
        sa.UniqueConstraint("key", name=op.f("uq_ledger_escalations_key")),
    )
    op.create_index(
        "ix_ledger_escalations_case_ref_deadline_id", "ledger_escalations", ["case_ref", "deadline_id"]
    )
    op.create_index("ix_ledger_escalations_area_escalated_at", "ledger_escalations", ["area", "escalated_at"])

    op.create_table(
        "api_tokens",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column("user_name", sa.String(200), nullable=False),
        sa.Column("agency_id", sa.String(64), nullable=True),
        sa.Column("role", sa.String(32), nullable=False),
        sa.Column("area", sa.String(64), nullable=True),
        sa.Column("created_at", instant(), nullable=False),
        sa.Column("revoked_at", instant(), nullable=True),
        sa.CheckConstraint(
            one_of("role", ("co-ordinator", "chair", "agency-worker", "ops")), name=op.f("ck_api_tokens_role")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_tokens")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_api_tokens_token_hash")),
    )

    op.create_table(
        "case_openings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("agency_id", sa.String(64), nullable=False),
        sa.Column("idempotency_key", sa.String(200), nullable=False),
        sa.Column("case_ref", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case_openings")),
        sa.UniqueConstraint(
            "agency_id", "idempotency_key", name=op.f("uq_case_openings_agency_id_idempotency_key")
        ),
    )

    op.create_table(
        "audit_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", instant(), nullable=False),
        sa.Column("user_name", sa.String(200), nullable=False),
        sa.Column("agency_id", sa.String(64), nullable=True),
        sa.Column("role", sa.String(32), nullable=False),
        sa.Column("action", sa.String(200), nullable=False),
        sa.Column("case_ref", sa.String(64), nullable=True),
        sa.Column("target", sa.String(200), nullable=True),
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.CheckConstraint(one_of("outcome", ("allowed", "refused")), name=op.f("ck_audit_events_outcome")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_events")),
    )
    op.create_index("ix_audit_events_case_ref_at", "audit_events", ["case_ref", "at"])
    op.create_index("ix_audit_events_at", "audit_events", ["at"])


def downgrade() -> None:
    for table in (
        "audit_events",
        "case_openings",
        "api_tokens",
        "ledger_escalations",
        "ledger_deadlines",
        "ledger_cases",
        "notifications",
        "role_holders",
        "agencies",
    ):
        op.drop_table(table)
