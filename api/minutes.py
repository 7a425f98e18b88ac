"""Minutes on a need-to-know basis: what a minute holds, who may read it, and what may be shared beyond.

The chair stores a meeting's minute (`POST /cases/{ref}/minutes`) and gets back its reference and digest, then
records the meeting (`POST /cases/{ref}/meetings`) with both: the case's workflow history holds only those two,
never the minute's text. The minute itself is kept encrypted at rest (store/minutes.py, the payload keys).

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

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from temporalio.client import Client

from api import problems
from api.auth import CO_ORDINATOR, User
from store.minutes import (
    DISCLOSURE_REF_PATTERN,
    MINUTE_REF_PATTERN,
    ExecutiveSummary,
    MinuteAttendee,
    MinuteContent,
    MinuteIntegrityError,
    load_minute,
)
from store.models import DisclosedPart, DisclosureStatus, Minute, MinuteDisclosure
from workflows.rules import confidentiality as rules
from workflows.rules import events as ev
from workflows.rules.case import CaseFile
from workflows.rules.errors import CaseRuleError, RuleViolation

__all__ = [
    "DISCLOSURE_REF_PATTERN",
    "MINUTE_REF_PATTERN",
    "ExecutiveSummary",
    "MinuteAttendee",
    "MinuteContent",
]

# Policy values: how long a granted disclosure lasts unless the chair sets otherwise, and at most.
DISCLOSURE_DAYS = 30
MAX_DISCLOSURE_DAYS = 90


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
    share_items: list[ev.ShortText] = Field(
        default_factory=list,
        max_length=60,
        description="Granting the whole minute: the items marked not to be shared that go too, each named as "
        "the minute names it. Every item not named is withheld from the recipient.",
    )


class Disclosure(BaseModel):
    disclosure_id: str = Field(description="The disclosure's reference: random, it says nothing of others.")
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
    items_shared: list[str] = Field(default_factory=list)

    @classmethod
    def of(cls, row: MinuteDisclosure) -> Disclosure:
        return cls(
            disclosure_id=row.disclosure_ref,
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
            items_shared=list(row.items_shared or []),
        )


# ------------------------------------------------------------------------------------------ rules


def rule_problem(error: CaseRuleError) -> problems.ProblemError:
    """The core's refusal about a minute or a disclosure, as the problem the client gets."""
    if isinstance(error, rules.NotTheChair):
        return problems.forbidden(error.message, rule=error.rule, field=error.field)
    if isinstance(error, rules.AlreadyDecided):
        return problems.ProblemError(
            409,
            "disclosure-decided",
            "The disclosure has already been decided",
            error.message,
            rule=error.rule,
        )
    return problems.rule_violation(error.message, rule=error.rule, field=error.field)


def integrity_problem(error: MinuteIntegrityError) -> problems.ProblemError:
    """A stored minute that does not match its record: 409, and its content is not returned."""
    return problems.ProblemError(
        409,
        "minute-integrity",
        "The stored minute does not match its record",
        f"minute {error.minute_ref}: {error.detail}; it has not been returned. Tell the co-ordinator.",
        rule="minute digest",
    )


def check_minute_rules(content: MinuteContent) -> None:
    """The minute's own rules (the core's), as problems naming the field (422)."""
    try:
        rules.check_minute(content.attendees, content.chair_agency, content.rmp_actions)
    except RuleViolation as error:
        raise rule_problem(error) from None


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
        # The stored digest is not echoed: the answer would confirm a guess about the minute's content.
        raise problems.rule_violation(
            f"minute_digest is not the digest storing minute {row.minute_ref} returned",
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
    return rules.disclosure_basis(disclosure.disclosure_ref, disclosure.decided_by, disclosure.expires_at)


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


async def check_meeting_minute(db: Session, client: Client, case_ref: str, event: ev.Event) -> None:
    """Before a meeting is recorded: the minute it names was stored for this case and matches it. (That no
    other meeting already names it is the core's rule: only the case can tell a retry from a second meeting.)"""
    if not isinstance(event, ev.MeetingHeld) or (event.minute_ref is None and event.minute_digest is None):
        return
    row = await run_in_threadpool(load_minute, db, event.minute_ref) if event.minute_ref else None
    check_meeting_matches_minute(event, row, case_ref)
