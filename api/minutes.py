"""Minutes on a need-to-know basis: what a minute holds, who may read it, and what may be shared beyond.

The chair stores a meeting's minute (`POST /cases/{ref}/minutes`) and gets back its reference and digest, then
records the meeting (`POST /cases/{ref}/meetings`) with both: the case's workflow history holds only those two,
never the minute's text. The minute itself is kept encrypted at rest (`minutes` table, the payload keys).

Who may read a minute (the rules are the core's, workflows/rules/confidentiality.py; here they meet the user,
the stored row and the problems):
- an agency that attended the meeting;
- the ASP chair's agency, while the case is open to both MAPPA and ASP (000);
- a recipient agency holding a granted, unexpired disclosure of the whole minute.
Its executive summary (conclusions and actions only, never the not-to-be-shared items) may in addition go to a
recipient holding a granted, unexpired disclosure of the summary: that is what child protection or another
third party receives (002). Every read, refusal and disclosure decision is audited (api/audit.py).
"""

from __future__ import annotations

import hashlib
import json
import secrets
import string
from datetime import date, datetime, timedelta
from typing import Annotated, Literal

from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from temporalio.client import Client

from api import problems
from api.auth import CO_ORDINATOR, User
from core.codec import CodecKeyError, KeyRing
from store.models import DisclosedPart, DisclosureStatus, Minute, MinuteDisclosure
from workflows.rules import confidentiality as rules
from workflows.rules import events as ev
from workflows.rules.case import CaseFile
from workflows.rules.confidentiality import meeting_of
from workflows.rules.errors import RuleViolation

MINUTE_REF_PATTERN = r"^MIN-[A-Z0-9]{12}$"
MINUTE_REF_ALPHABET = string.ascii_uppercase + string.digits
# Policy values: how long a granted disclosure lasts unless the chair sets otherwise, and at most.
DISCLOSURE_DAYS = 30
MAX_DISCLOSURE_DAYS = 90

LongText = Annotated[str, Field(min_length=1, max_length=20_000)]

STANDARD_CONFIDENTIALITY_STATEMENT = (
    "The information shared at this meeting is confidential. It is shared to assess and manage risk under "
    "MAPPA and will not be disclosed beyond the agencies present without the chair's permission."
)


class MinuteAttendee(ev.Event):
    agency: ev.AgencyId
    representative: ev.ShortText = Field(description="Who attended for the agency.")
    role: ev.ShortText = "representative"
    signed_confidentiality_statement: bool = Field(
        description="Every person present signs the confidentiality statement at each meeting (003)."
    )

    @property
    def name(self) -> str:
        """The person present (each signs for themself, not for their agency)."""
        return self.representative


class MinuteContent(ev.Event):
    """A meeting's minute, as the chair records it."""

    held_on: date
    chair_agency: ev.AgencyId
    attendees: list[MinuteAttendee] = Field(min_length=1, max_length=40)
    confidentiality_statement: LongText = STANDARD_CONFIDENTIALITY_STATEMENT
    risk_assessment: LongText
    critical_risk_factors: list[ev.ShortText] = Field(min_length=1, max_length=40)
    rmp_actions: list[ev.RmpActionSet] = Field(
        default_factory=list, max_length=60, description="The risk management plan: action, owner, when."
    )
    contingency_plan: LongText
    not_to_be_shared: list[ev.NotToBeShared] = Field(
        default_factory=list, max_length=60, description="Information not to be shared, each with its reason."
    )
    conclusions: LongText = Field(
        description="The meeting's conclusions: with the actions, the executive summary (002)."
    )

    @property
    def attending_agencies(self) -> list[str]:
        return sorted({a.agency for a in self.attendees})

    def canonical(self) -> bytes:
        """The bytes the digest is taken over and that are stored (encrypted): sorted, compact JSON."""
        document = self.model_dump(mode="json")
        return json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


class ExecutiveSummary(BaseModel):
    """Conclusions and actions only: what may go to child protection or another third party (002)."""

    minute_ref: str
    case_ref: str
    held_on: date
    chair_agency: str
    conclusions: str
    actions: list[ev.RmpActionSet]


class MinuteStored(BaseModel):
    minute_ref: str = Field(description="Give this as the meeting's `minute_ref`.")
    minute_digest: str = Field(description="Give this as the meeting's `minute_digest` (sha256).")
    case_ref: str


class MinuteRecord(BaseModel):
    minute_ref: str
    case_ref: str
    meeting_id: str | None = Field(description="The meeting recorded with this minute; None until then.")
    minute_digest: str
    recorded_by: str
    recorded_at: datetime
    content: MinuteContent


class DisclosureRequest(ev.Event):
    recipient_agency: ev.AgencyId = Field(
        description="The agency that would receive it (from the directory)."
    )
    what: DisclosedPart = DisclosedPart.EXECUTIVE_SUMMARY
    rationale: ev.ShortText = Field(description="Why it should be shared: recorded, and seen by the chair.")


class DisclosureDecision(ev.Event):
    decision: Literal["grant", "refuse"]
    reason: ev.ShortText
    expires_in_days: int = Field(
        default=DISCLOSURE_DAYS,
        ge=1,
        le=MAX_DISCLOSURE_DAYS,
        description=f"A grant lasts this many days (policy: {DISCLOSURE_DAYS}, at most {MAX_DISCLOSURE_DAYS}).",
    )


class Disclosure(BaseModel):
    disclosure_id: int
    minute_ref: str
    case_ref: str
    recipient_agency: str
    what: DisclosedPart
    rationale: str
    requested_by: str
    requested_by_agency: str | None
    requested_at: datetime
    status: DisclosureStatus
    decided_by: str | None
    decided_by_agency: str | None
    decided_at: datetime | None
    decision_reason: str | None
    expires_at: datetime | None

    @classmethod
    def of(cls, row: MinuteDisclosure) -> Disclosure:
        return cls(
            disclosure_id=row.id,
            minute_ref=row.minute_ref,
            case_ref=row.case_ref,
            recipient_agency=row.recipient_agency,
            what=DisclosedPart(row.what),
            rationale=row.rationale,
            requested_by=row.requested_by,
            requested_by_agency=row.requested_by_agency,
            requested_at=row.requested_at,
            status=DisclosureStatus(row.status),
            decided_by=row.decided_by,
            decided_by_agency=row.decided_by_agency,
            decided_at=row.decided_at,
            decision_reason=row.decision_reason,
            expires_at=row.expires_at,
        )


# ------------------------------------------------------------------------------------------ rules


def check_minute_rules(content: MinuteContent) -> None:
    """The minute's own rules (the core's), as problems naming the field (422)."""
    try:
        rules.check_minute(content.attendees, content.chair_agency, content.rmp_actions)
    except RuleViolation as error:
        raise problems.rule_violation(error.message, rule=error.rule, field=error.field) from None


def check_meeting_matches_minute(meeting: ev.MeetingHeld, row: Minute | None, case_ref: str) -> None:
    """A meeting names a minute stored for this case, with its digest, date, chair and attendees."""
    if meeting.minute_ref is None and meeting.minute_digest is None:
        return
    if meeting.minute_ref is None or meeting.minute_digest is None:
        raise problems.rule_violation(
            "give both the minute_ref and the minute_digest that storing the minute returned",
            rule="minute reference",
            field="minute_ref" if meeting.minute_ref is None else "minute_digest",
        )
    if row is None or row.case_ref != case_ref:
        raise problems.rule_violation(
            f"no minute {meeting.minute_ref} was stored for {case_ref}: store it first "
            f"(POST /cases/{case_ref}/minutes)",
            rule="minute reference",
            field="minute_ref",
        )
    if meeting.minute_digest != row.digest:
        raise problems.rule_violation(
            f"the digest of minute {row.minute_ref} is {row.digest}, not {meeting.minute_digest}",
            rule="minute digest",
            field="minute_digest",
        )
    differences = []
    if meeting.held_on != row.held_on:
        differences.append(f"held on {row.held_on.isoformat()}")
    if meeting.chair_agency != row.chair_agency:
        differences.append(f"chaired by {row.chair_agency}")
    if sorted({a.agency for a in meeting.attendees}) != sorted(row.attendees):
        differences.append(f"attended by {', '.join(row.attendees)}")
    if differences:
        raise problems.rule_violation(
            f"the meeting does not match minute {row.minute_ref}, which was " + "; ".join(differences),
            rule="minute reference",
            field="minute_ref",
        )


def attendance_basis(user: User, row: Minute, case: CaseFile | None) -> str | None:
    """Why the user's agency may read the minute as of right, or None (the rule is the core's)."""
    return rules.attendance_basis(user.agency_id, row.minute_ref, row.held_on, row.attendees, case)


def redact_for(user: User, case: CaseFile) -> CaseFile:
    return rules.redact_for(user.agency_id, case)


def disclosure_basis(disclosure: MinuteDisclosure | None) -> str | None:
    if disclosure is None or disclosure.expires_at is None:
        return None
    return rules.disclosure_basis(disclosure.id, disclosure.decided_by, disclosure.expires_at)


def not_an_attendee(user: User, row: Minute, what: str) -> problems.ProblemError:
    return problems.forbidden(
        f"only the agencies that attended may read {what} of minute {row.minute_ref} (001, 003); "
        f"{user.agency_id or 'a user with no agency'} did not attend and holds no granted disclosure: "
        "ask for one (POST /minutes/{ref}/disclosures), which the chair decides",
        rule="minutes to attendees only",
    )


def may_request_disclosure(user: User, row: Minute, case: CaseFile | None) -> bool:
    return rules.may_request_disclosure(
        user.agency_id, user.role is CO_ORDINATOR, row.minute_ref, row.held_on, row.attendees, case
    )


# ------------------------------------------------------------------------------------------ storage


def new_minute_ref() -> str:
    return "MIN-" + "".join(secrets.choice(MINUTE_REF_ALPHABET) for _ in range(12))


def _associated_data(minute_ref: str, part: str) -> bytes:
    # Binds each ciphertext to its row and column: content cannot be moved to another minute unnoticed.
    return f"minute:{minute_ref}:{part}".encode()


def store_minute(
    session: Session, keys: KeyRing, case_ref: str, area: str, content: MinuteContent, user: User
) -> Minute:
    minute_ref = new_minute_ref()
    canonical = content.canonical()
    summary = ExecutiveSummary(
        minute_ref=minute_ref,
        case_ref=case_ref,
        held_on=content.held_on,
        chair_agency=content.chair_agency,
        conclusions=content.conclusions,
        actions=content.rmp_actions,
    )
    key_id, sealed_content = keys.encrypt(canonical, _associated_data(minute_ref, "content"))
    _, sealed_summary = keys.encrypt(
        summary.model_dump_json().encode(), _associated_data(minute_ref, "executive-summary")
    )
    row = Minute(
        minute_ref=minute_ref,
        case_ref=case_ref,
        area=area,
        held_on=content.held_on,
        chair_agency=content.chair_agency,
        attendees=content.attending_agencies,
        key_id=key_id,
        content=sealed_content,
        executive_summary=sealed_summary,
        digest=hashlib.sha256(canonical).hexdigest(),
        recorded_by=user.user_name,
    )
    session.add(row)
    session.commit()
    return row


def load_minute(session: Session, minute_ref: str) -> Minute | None:
    return session.scalars(select(Minute).where(Minute.minute_ref == minute_ref)).one_or_none()


def _integrity_failure(row: Minute, detail: str) -> problems.ProblemError:
    return problems.ProblemError(
        409,
        "minute-integrity",
        "The stored minute does not match its record",
        f"minute {row.minute_ref}: {detail}; it has not been returned. Tell the co-ordinator.",
        rule="minute digest",
    )


def open_content(keys: KeyRing, row: Minute, case: CaseFile | None) -> MinuteContent:
    """Decrypt the minute and check it against its digest, in our table and in the case's history."""
    try:
        canonical = keys.decrypt(row.key_id, row.content, _associated_data(row.minute_ref, "content"))
    except CodecKeyError as error:
        raise _integrity_failure(row, str(error)) from None
    digest = hashlib.sha256(canonical).hexdigest()
    meeting = meeting_of(case, row.minute_ref)
    if digest != row.digest or (meeting is not None and meeting.minute_digest != digest):
        raise _integrity_failure(row, "its content does not match the digest recorded in the case history")
    return MinuteContent.model_validate_json(canonical)


def open_summary(keys: KeyRing, row: Minute) -> ExecutiveSummary:
    try:
        plain = keys.decrypt(
            row.key_id, row.executive_summary, _associated_data(row.minute_ref, "executive-summary")
        )
    except CodecKeyError as error:
        raise _integrity_failure(row, str(error)) from None
    return ExecutiveSummary.model_validate_json(plain)


def granted_disclosure(
    session: Session, minute_ref: str, agency_id: str | None, parts: tuple[DisclosedPart, ...], now: datetime
) -> MinuteDisclosure | None:
    """The recipient's granted, unexpired disclosure of one of `parts` that lasts longest, if any."""
    if agency_id is None:
        return None
    rows = session.scalars(
        select(MinuteDisclosure).where(
            MinuteDisclosure.minute_ref == minute_ref,
            MinuteDisclosure.recipient_agency == agency_id,
            MinuteDisclosure.status == DisclosureStatus.GRANTED.value,
            MinuteDisclosure.what.in_([p.value for p in parts]),
        )
    ).all()
    live = [r for r in rows if r.expires_at is not None and r.expires_at > now]
    return max(live, key=lambda r: r.expires_at or now, default=None)


def decide(
    row: MinuteDisclosure, decision: DisclosureDecision, user: User, now: datetime
) -> MinuteDisclosure:
    """Apply the chair's decision to the (still undecided) request; the caller commits with the audit row."""
    if row.status != DisclosureStatus.REQUESTED.value:
        raise problems.ProblemError(
            409,
            "disclosure-decided",
            "The disclosure has already been decided",
            f"disclosure {row.id} was {row.status} by {row.decided_by} on {row.decided_at:%d %b %Y}; "
            "ask again for a new decision",
            rule="disclosure decision",
        )
    granted = decision.decision == "grant"
    row.status = (DisclosureStatus.GRANTED if granted else DisclosureStatus.REFUSED).value
    row.decided_by = user.user_name
    row.decided_by_agency = user.agency_id
    row.decided_at = now
    row.decision_reason = decision.reason
    row.expires_at = now + timedelta(days=decision.expires_in_days) if granted else None
    return row


async def check_meeting_minute(db: Session, client: Client, case_ref: str, event: ev.Event) -> None:
    """Before a meeting is recorded: the minute it names was stored for this case and matches it.

    (Whether another meeting already named it is not checked here: a retried request, same Idempotency-Key,
    must get its first answer, and only the workflow can tell a retry from a second meeting.)"""
    if not isinstance(event, ev.MeetingHeld) or (event.minute_ref is None and event.minute_digest is None):
        return
    row = await run_in_threadpool(load_minute, db, event.minute_ref) if event.minute_ref else None
    check_meeting_matches_minute(event, row, case_ref)
