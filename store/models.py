"""The tables: agency directory, notification outbox, deadline ledger, API tokens, case openings, audit,
meeting minutes and their disclosures, import files and their rows.

None of them holds the subject's personal data in plaintext: cases are named by their reference only, and a
minute's content (and an import row's cells) is stored encrypted (`core.codec.KeyRing`). The case itself lives in its workflow; the
ledger is the denormalised read side for many-case questions (ops, compliance).
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from enum import StrEnum
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    Dialect,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    event,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, Mapper, mapped_column

from workflows.rules.actors import Role
from workflows.rules.minute_reads import DisclosedPart, DisclosureStatus


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """An instant, stored in UTC and always read back as an aware UTC datetime.

    SQLite keeps no time zone: without this an aware value written would come back naive, and comparing it
    with an aware one raises. Naive values are refused on the way in rather than guessed at.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: store instants as aware datetimes (UTC)")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class AgencyKind(StrEnum):
    POLICE = "police"
    JUSTICE_SOCIAL_WORK = "justice-social-work"
    PROBATION = "probation"
    PRISON = "prison"
    HEALTH = "health"
    HOUSING = "housing"
    EDUCATION = "education"
    COUNCIL = "council"
    YOUTH_OFFENDING = "youth-offending"
    DWP = "dwp"
    OTHER = "other"


class DirectoryRole(StrEnum):
    """The MAPPA roles of an area that notices can be addressed to."""

    CO_ORDINATOR = "co-ordinator"
    CHAIR = "chair"
    DEPUTY_CO_ORDINATOR = "deputy-co-ordinator"


class OutboxStatus(StrEnum):
    PENDING = "pending"
    SENT = "sent"


class EscalationKind(StrEnum):
    BREACH_ESCALATION = "breach-escalation"
    RE_ESCALATION = "re-escalation"


# A token's role is the core's: the column holds its values (`api_tokens.role`, checked by the constraint below).
TokenRole = Role


class AuditOutcome(StrEnum):
    ALLOWED = "allowed"
    REFUSED = "refused"


def one_of(column: str, values: type[StrEnum]) -> str:
    """A CHECK constraint's text: `column` takes one of the enum's values."""
    return f"{column} IN ({', '.join(repr(v.value) for v in values)})"


# Stable constraint names, so migrations written today can drop or alter them later on either database.
NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map: ClassVar[dict[Any, Any]] = {datetime: UTCDateTime()}


# ------------------------------------------------------------------------------------------ directory


class Agency(Base):
    """An agency and its single point of contact (SPOC), who receives the agency's notices."""

    __tablename__ = "agencies"
    __table_args__ = (CheckConstraint(one_of("kind", AgencyKind), name="kind"),)

    agency_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(32))
    area: Mapped[str | None] = mapped_column(String(64), index=True)  # None for a national agency
    spoc_email: Mapped[str] = mapped_column(String(254))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # A national agency (SPS, HMPPS prisons, DWP) works in every area: its users' tokens carry no area, and
    # see only the cases the agency is involved in (api/auth.py).
    national: Mapped[bool] = mapped_column(Boolean, default=False)
    # The directory's word on what the agency may be (store/directory.py `AgencyEntry`): a national agency's
    # jurisdictions, the API roles its people may hold, and whether its ASP chair may chair a case's ASP side.
    # None in rows loaded before they existed: no jurisdiction, agency workers only, no ASP chair.
    jurisdictions: Mapped[list[str] | None] = mapped_column(JSON)
    roles: Mapped[list[str] | None] = mapped_column(JSON)
    asp_chair: Mapped[bool] = mapped_column(Boolean, default=False)


class RoleHolder(Base):
    """Who holds a MAPPA role in an area, and when. An acting holder covers an absence (003)."""

    __tablename__ = "role_holders"
    __table_args__ = (
        CheckConstraint(one_of("role", DirectoryRole), name="role"),
        # The directory file's natural key: loading it twice updates rather than duplicates.
        UniqueConstraint("area", "role", "email", "valid_from"),
        Index("ix_role_holders_area_role_valid_from", "area", "role", "valid_from"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    area: Mapped[str] = mapped_column(String(64))
    role: Mapped[str] = mapped_column(String(32))
    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str] = mapped_column(String(254))
    valid_from: Mapped[date] = mapped_column(Date)
    valid_to: Mapped[date | None] = mapped_column(Date)  # inclusive; None: until further notice
    acting: Mapped[bool] = mapped_column(Boolean, default=False)


# ------------------------------------------------------------------------------------------ outbox


class Notification(Base):
    """The outbox: every notice the workflow asked to send, written before it is sent, kept once sent."""

    __tablename__ = "notifications"
    __table_args__ = (
        CheckConstraint(one_of("status", OutboxStatus), name="status"),
        Index("ix_notifications_status_created_at", "status", "created_at"),
        Index("ix_notifications_case_ref", "case_ref"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(200), unique=True)  # the Notice key: one row per notice, ever
    case_ref: Mapped[str] = mapped_column(String(64))
    area: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(64))
    recipient: Mapped[str] = mapped_column(String(64))  # an agency id or a role of the area
    to_address: Mapped[str] = mapped_column(Text)  # comma-separated, as resolved when the notice was written
    subject: Mapped[str] = mapped_column(Text)
    body: Mapped[str] = mapped_column(Text)
    deadline_id: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    status: Mapped[str] = mapped_column(String(16), default=OutboxStatus.PENDING.value)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    sent_at: Mapped[datetime | None]


# ------------------------------------------------------------------------------------------ ledger


class LedgerCase(Base):
    """One row per case: where it stands, for ops views across many cases."""

    __tablename__ = "ledger_cases"
    __table_args__ = (
        Index("ix_ledger_cases_area_stage", "area", "stage"),
        Index("ix_ledger_cases_next_deadline_at", "next_deadline_at"),
    )

    case_ref: Mapped[str] = mapped_column(String(64), primary_key=True)
    area: Mapped[str] = mapped_column(String(64))
    jurisdiction: Mapped[str] = mapped_column(String(32))
    category: Mapped[int] = mapped_column(Integer)
    level: Mapped[int | None] = mapped_column(Integer)
    stage: Mapped[str] = mapped_column(String(64))
    lead_agency: Mapped[str] = mapped_column(String(64))
    opened_at: Mapped[datetime]
    exited_at: Mapped[datetime | None]
    open_breaches: Mapped[int] = mapped_column(Integer, default=0)
    next_deadline_at: Mapped[datetime | None]
    next_deadline_kind: Mapped[str | None] = mapped_column(String(64))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class LedgerDeadline(Base):
    """One row per deadline of a case, in its latest state. Never deleted, like the deadline itself."""

    __tablename__ = "ledger_deadlines"
    __table_args__ = (
        UniqueConstraint("case_ref", "deadline_id"),
        # "breached, or due within N days", optionally by area / responsible agency, sorted by due.
        Index("ix_ledger_deadlines_state_due_at", "state", "due_at"),
        Index("ix_ledger_deadlines_area_state_due_at", "area", "state", "due_at"),
        Index("ix_ledger_deadlines_responsible_state_due_at", "responsible", "state", "due_at"),
        # Compliance per area and kind over a period of due dates.
        Index("ix_ledger_deadlines_area_kind_due_date", "area", "kind", "due_date"),
        # Added by 0003 for store/views.py: compliance over every kind, and the /metrics gauges.
        Index("ix_ledger_deadlines_area_due_date", "area", "due_date"),
        Index("ix_ledger_deadlines_state_kind_area", "state", "kind", "area"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_ref: Mapped[str] = mapped_column(String(64), ForeignKey("ledger_cases.case_ref"))
    deadline_id: Mapped[str] = mapped_column(String(200))
    area: Mapped[str] = mapped_column(String(64))
    jurisdiction: Mapped[str] = mapped_column(String(32))
    kind: Mapped[str] = mapped_column(String(64))
    title: Mapped[str] = mapped_column(Text)
    source: Mapped[str] = mapped_column(Text)
    responsible: Mapped[str] = mapped_column(String(64))
    opened_at: Mapped[datetime]
    due_at: Mapped[datetime]
    due_date: Mapped[date] = mapped_column(Date)
    state: Mapped[str] = mapped_column(String(16))  # workflows.rules.deadlines.DeadlineState
    met_at: Mapped[datetime | None]
    breached_at: Mapped[datetime | None]
    met_late: Mapped[bool] = mapped_column(Boolean, default=False)
    cancelled_at: Mapped[datetime | None]
    cancel_reason: Mapped[str | None] = mapped_column(Text)
    escalations: Mapped[int] = mapped_column(Integer, default=0)
    # Fell due before its case was imported (go-live): reported apart from what the system could have reminded.
    pre_go_live: Mapped[bool] = mapped_column(Boolean, default=False)


class CaseTransfer(Base):
    """One row per transfer of a case between areas (workflows/rules/transfer.py), as the case last reported it.

    The API's area check reads it: a case's area is that of its last accepted transfer (else the one its reference
    names); the areas it was transferred from keep read access; a requested transfer's receiving area decides it.
    The digest lists each area's transfers in and out."""

    __tablename__ = "case_transfers"
    __table_args__ = (
        UniqueConstraint("case_ref", "transfer_id"),
        Index("ix_case_transfers_from_area", "from_area", "state"),
        Index("ix_case_transfers_to_area", "to_area", "state"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_ref: Mapped[str] = mapped_column(String(64), index=True)
    transfer_id: Mapped[str] = mapped_column(String(32))
    from_area: Mapped[str] = mapped_column(String(64))
    to_area: Mapped[str] = mapped_column(String(64))
    state: Mapped[str] = mapped_column(String(16))  # requested / accepted / declined / lapsed
    requested_at: Mapped[datetime]
    accept_by: Mapped[datetime | None]
    decided_at: Mapped[datetime | None]
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class LedgerEscalation(Base):
    """Each escalation of a breach to the co-ordinator or chair, and how late it came after the due time."""

    __tablename__ = "ledger_escalations"
    __table_args__ = (
        CheckConstraint(one_of("kind", EscalationKind), name="kind"),
        Index("ix_ledger_escalations_case_ref_deadline_id", "case_ref", "deadline_id"),
        Index("ix_ledger_escalations_area_escalated_at", "area", "escalated_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(200), unique=True)  # the Notice key
    case_ref: Mapped[str] = mapped_column(String(64))
    deadline_id: Mapped[str | None] = mapped_column(String(200))
    area: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(32))
    recipient: Mapped[str] = mapped_column(String(64))
    due_at: Mapped[datetime | None]
    escalated_at: Mapped[datetime]
    lateness_seconds: Mapped[float | None] = mapped_column(Float)  # escalated_at - due_at


class ChronologyRecord(Base):
    """One entry of a case's chronology (workflows/rules/chronology.py): an applied event, who sent it and when,
    kept once per case and number, never changed. The event's own fields (reasons, statements, names) are sealed
    under the payload keys, bound to the case and number; the rest is plaintext the ledger could show anyway."""

    __tablename__ = "chronology_entries"
    __table_args__ = (
        UniqueConstraint("case_ref", "seq"),
        # The annual figures: an area's entries over a year.
        Index("ix_chronology_entries_area_at", "area", "at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_ref: Mapped[str] = mapped_column(String(64))
    seq: Mapped[int] = mapped_column(Integer)
    area: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime]
    event: Mapped[str] = mapped_column(String(64))
    source: Mapped[str] = mapped_column(String(16))  # event, import, case-file
    sender_role: Mapped[str | None] = mapped_column(String(32))
    sender_agency: Mapped[str | None] = mapped_column(String(64))
    stage_before: Mapped[str | None] = mapped_column(String(64))
    stage_after: Mapped[str | None] = mapped_column(String(64))
    level_before: Mapped[int | None] = mapped_column(Integer)
    level_after: Mapped[int | None] = mapped_column(Integer)
    category: Mapped[int | None] = mapped_column(Integer)
    deadline_changes: Mapped[list[list[str]]] = mapped_column(JSON)  # [deadline id, change] each
    key_id: Mapped[str] = mapped_column(String(64))
    sealed: Mapped[bytes] = mapped_column(LargeBinary)
    recorded_at: Mapped[datetime] = mapped_column(default=utcnow)


# ------------------------------------------------------------------------------------------ API


class ApiToken(Base):
    __tablename__ = "api_tokens"
    __table_args__ = (CheckConstraint(one_of("role", TokenRole), name="role"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # The sha256 hex of the token: the token itself is never kept.
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_name: Mapped[str] = mapped_column(String(200))
    agency_id: Mapped[str | None] = mapped_column(String(64))
    role: Mapped[str] = mapped_column(String(32))
    area: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    revoked_at: Mapped[datetime | None]


class CaseOpening(Base):
    """A case reference reserved for an opening, before its workflow starts. With an idempotency key, a
    repeated request (same sender, key and body) gets the same case; the same key with another body is refused.
    Every opening reserves its reference, so a reference already started was started by this opening's key."""

    __tablename__ = "case_openings"
    __table_args__ = (UniqueConstraint("agency_id", "idempotency_key"), UniqueConstraint("case_ref"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    agency_id: Mapped[str] = mapped_column(String(64))  # the sender (api.auth.User.sender)
    idempotency_key: Mapped[str | None] = mapped_column(String(200))
    case_ref: Mapped[str] = mapped_column(String(64))
    request_hash: Mapped[str | None] = mapped_column(String(64))  # sha256 of the canonical request


class PersonLink(Base):
    """A case and a keyed digest of its subject's identity (core/person_key.py): the cases of one person, linked
    without anything that names them. One row per identity (name and date of birth; ViSOR reference) per case."""

    __tablename__ = "person_links"
    __table_args__ = (
        UniqueConstraint("case_ref", "person_key"),
        Index("ix_person_links_person_key", "person_key"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    person_key: Mapped[str] = mapped_column(String(64))  # hex HMAC-SHA256
    key_id: Mapped[str] = mapped_column(String(64))  # the ring's key it was made under
    case_ref: Mapped[str] = mapped_column(String(64))
    area: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class EventRequest(Base):
    """An event sent to a case with an idempotency key, bound to the request it came with (sha256 of the
    route and canonical body): the same key with another body is refused instead of answered with the first."""

    __tablename__ = "event_requests"
    __table_args__ = (UniqueConstraint("sender", "case_ref", "idempotency_key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    sender: Mapped[str] = mapped_column(String(64))
    case_ref: Mapped[str] = mapped_column(String(64))
    idempotency_key: Mapped[str] = mapped_column(String(200))
    request_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class AuditEvent(Base):
    """Who did or was refused what, on which case. Append-only: rows are never changed or removed."""

    __tablename__ = "audit_events"
    __table_args__ = (
        CheckConstraint(one_of("outcome", AuditOutcome), name="outcome"),
        Index("ix_audit_events_case_ref_at", "case_ref", "at"),
        Index("ix_audit_events_at", "at"),
        Index("uq_audit_events_spool_id", "spool_id", unique=True),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    user_name: Mapped[str] = mapped_column(String(200))
    agency_id: Mapped[str | None] = mapped_column(String(64))
    role: Mapped[str] = mapped_column(String(32))
    action: Mapped[str] = mapped_column(String(200))
    case_ref: Mapped[str | None] = mapped_column(String(64))
    target: Mapped[str | None] = mapped_column(String(200))
    outcome: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str | None] = mapped_column(Text)
    # An event's row written after the answer carries its id in the API's spool (api/audit_spool.py): a drain
    # retried after the commit finds it there and writes nothing twice.
    spool_id: Mapped[str | None] = mapped_column(String(32))


class AuditTrailIsAppendOnly(Exception):
    pass


@event.listens_for(AuditEvent, "before_update")
@event.listens_for(AuditEvent, "before_delete")
def _refuse_audit_change(_mapper: Mapper[Any], _connection: Any, target: AuditEvent) -> None:
    raise AuditTrailIsAppendOnly(f"audit event {target.id} cannot be changed or deleted")


# ------------------------------------------------------------------------------------------ minutes


class Minute(Base):
    """A meeting's minute. Its content and executive summary are stored encrypted under `key_id`; the case's
    workflow history holds only the reference and the digest (sha256 of the canonical plaintext content)."""

    __tablename__ = "minutes"
    __table_args__ = (
        Index("ix_minutes_case_ref", "case_ref"),
        # One minute for each meeting the case file records: of two filings at the same moment, one row wins.
        UniqueConstraint("case_ref", "meeting_id", name="uq_minutes_case_ref_meeting_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    minute_ref: Mapped[str] = mapped_column(String(32), unique=True)  # random: no personal data
    case_ref: Mapped[str] = mapped_column(String(64))
    # The meeting the minute was filed for (None: stored before minutes were filed by meeting, 0009).
    meeting_id: Mapped[str | None] = mapped_column(String(16), nullable=True)
    area: Mapped[str] = mapped_column(String(64))
    held_on: Mapped[date] = mapped_column(Date)
    chair_agency: Mapped[str] = mapped_column(String(64))
    attendees: Mapped[list[str]] = mapped_column(JSON)  # agency ids, sorted
    key_id: Mapped[str] = mapped_column(String(64))
    content: Mapped[bytes] = mapped_column(LargeBinary)
    executive_summary: Mapped[bytes] = mapped_column(LargeBinary)
    digest: Mapped[str] = mapped_column(String(64))
    recorded_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class MinuteDisclosure(Base):
    """A request to share a minute (or its executive summary) beyond its attendees, and the chair's decision.
    A granted disclosure lets its recipient agency read what it names until `expires_at`."""

    __tablename__ = "disclosures"
    __table_args__ = (
        CheckConstraint(one_of("status", DisclosureStatus), name="status"),
        CheckConstraint(one_of("what", DisclosedPart), name="what"),
        Index("ix_disclosures_minute_ref_recipient_agency", "minute_ref", "recipient_agency"),
        Index("ix_disclosures_case_ref", "case_ref"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # What clients see: random, so one disclosure's reference says nothing about another's (0006).
    disclosure_ref: Mapped[str] = mapped_column(String(32), unique=True)
    minute_ref: Mapped[str] = mapped_column(String(32), ForeignKey("minutes.minute_ref"))
    case_ref: Mapped[str] = mapped_column(String(64))
    recipient_agency: Mapped[str] = mapped_column(String(64))
    what: Mapped[str] = mapped_column(String(32))
    rationale: Mapped[str] = mapped_column(Text)
    requested_by: Mapped[str] = mapped_column(String(200))
    requested_by_agency: Mapped[str | None] = mapped_column(String(64))
    requested_at: Mapped[datetime] = mapped_column(default=utcnow)
    status: Mapped[str] = mapped_column(String(16), default=DisclosureStatus.REQUESTED.value)
    decided_by: Mapped[str | None] = mapped_column(String(200))
    decided_by_agency: Mapped[str | None] = mapped_column(String(64))
    decided_at: Mapped[datetime | None]
    decision_reason: Mapped[str | None] = mapped_column(Text)
    expires_at: Mapped[datetime | None]
    # A whole-minute grant: the items not to be shared that the chair named as shared too (none unless named).
    items_shared: Mapped[list[str] | None] = mapped_column(JSON)


# ------------------------------------------------------------------------------------------ calendar feeds


class CalendarFeed(Base):
    """An agency's calendar subscription (ICS) to its open deadlines in one area.

    Calendar clients cannot send a bearer token, so a feed has its own secret, in its URL. Only the secret's
    sha256 is kept; it opens this one feed and nothing else in the API (it is not an `ApiToken`).
    """

    __tablename__ = "calendar_feeds"
    __table_args__ = (Index("ix_calendar_feeds_agency_id_area", "agency_id", "area"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    secret_hash: Mapped[str] = mapped_column(String(64), unique=True)
    agency_id: Mapped[str] = mapped_column(String(64))
    area: Mapped[str] = mapped_column(String(64))
    issued_by: Mapped[str] = mapped_column(String(200))
    issued_at: Mapped[datetime] = mapped_column(default=utcnow)
    revoked_at: Mapped[datetime | None]


class ImportFile(Base):
    """A file of cases in progress committed for import, walked by its workflow (workflows/imports.py). The
    same file sent again for the same area is the same import (`file_digest`: sha256 of its bytes)."""

    __tablename__ = "import_files"
    __table_args__ = (UniqueConstraint("area", "file_digest"),)

    import_id: Mapped[str] = mapped_column(String(32), primary_key=True)  # random: no personal data
    area: Mapped[str] = mapped_column(String(64))
    file_digest: Mapped[str] = mapped_column(String(64))
    source: Mapped[str] = mapped_column(String(200))  # the file's name, or the route it came by
    user_name: Mapped[str] = mapped_column(String(200))
    agency_id: Mapped[str | None] = mapped_column(String(64))
    role: Mapped[str] = mapped_column(String(32))
    rows: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ImportFileRow(Base):
    """One row of an import file. The row's cells (a subject's name, date of birth, address) are sealed under the
    payload keys, bound to the import and line; a row refused when the file was read keeps only its errors.
    `outcome` is written once, when the row settles: a row with one is never started again."""

    __tablename__ = "import_file_rows"
    __table_args__ = (UniqueConstraint("import_id", "line"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    import_id: Mapped[str] = mapped_column(ForeignKey("import_files.import_id"))
    line: Mapped[int] = mapped_column(Integer)
    import_ref: Mapped[str | None] = mapped_column(String(64))
    key_id: Mapped[str | None] = mapped_column(String(64))
    sealed: Mapped[bytes | None] = mapped_column(LargeBinary)
    outcome: Mapped[str | None] = mapped_column(String(32))  # started, already-imported, refused, failed
    case_ref: Mapped[str | None] = mapped_column(String(64))
    errors: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON)  # line, field, rule, message each
    # The case this import reserved or started: its deadlines already past at the import (kind, title, due
    # date, who hears of it again), for the import's one summary. None: a case an earlier import started.
    past_at_import: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON)


# ------------------------------------------------------------------------------------------ panels


class PanelCase(Base):
    """A case put on a panel day (003: "careful scheduling of meetings"): one day on which an area's panel hears
    several cases, each in a meeting of its own with its own minute. Named by references only; the day and the
    invitations each case holds are the case's own (its `MeetingScheduled`), this row says which cases the panel
    was asked to hear, and when it last was."""

    __tablename__ = "panel_cases"
    __table_args__ = (
        UniqueConstraint("area", "panel_ref", "case_ref"),
        Index("ix_panel_cases_area_panel_ref", "area", "panel_ref"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    area: Mapped[str] = mapped_column(String(64))
    panel_ref: Mapped[str] = mapped_column(String(32))
    case_ref: Mapped[str] = mapped_column(String(64))
    scheduled_for: Mapped[date] = mapped_column(Date)
    scheduled_by: Mapped[str] = mapped_column(String(200))
    scheduled_at: Mapped[datetime] = mapped_column(default=utcnow)
