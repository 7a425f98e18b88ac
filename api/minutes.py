"""Minutes on a need-to-know basis: what a minute holds, who may read it, and what may be shared beyond.

The chair records the meeting (`POST /cases/{ref}/meetings`), then files its minute for the meeting's id
(`POST /cases/{ref}/minutes`): the minute must match what the case file recorded of the meeting (date, chair,
agencies present), is stored encrypted at rest (store/minutes.py, the payload keys), and the case records only its
reference and digest (the event `MinuteFiled`), never its text. A minute of a meeting the case file does not
record is refused and stores nothing.

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

from datetime import UTC, datetime
from typing import Literal

from pydantic import BaseModel, Field
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from temporalio.client import Client

from api import problems
from api.auth import CO_ORDINATOR, User
from api.case_service import case_file, send_event
from core.codec import KeyRing
from store.minutes import (
    DISCLOSURE_REF_PATTERN,
    MINUTE_REF_PATTERN,
    ExecutiveSummary,
    MinuteAttendee,
    MinuteContent,
    MinuteIntegrityError,
    minute_digest,
    minute_of_meeting,
    new_minute_ref,
    store_minute,
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


class MinuteFiling(MinuteContent):
    """A meeting's minute, filed for the meeting the case file records."""

    meeting_id: str = Field(
        pattern=r"^meeting-[0-9]{1,4}$",
        description="The meeting this is the minute of, as the case file records it (the receipt of "
        "POST /cases/{case_ref}/meetings names it; so does the case file). Its date, chair and agencies "
        "present must be the meeting's.",
        examples=["meeting-1"],
    )

    def content(self) -> MinuteContent:
        """The minute as stored (the meeting it is filed for is the row's, not part of its text)."""
        return MinuteContent.model_validate(self.model_dump(exclude={"meeting_id", "sent_by"}))


class MinuteStored(BaseModel):
    minute_ref: str = Field(description="The minute's reference: read it at /minutes/{minute_ref}.")
    minute_digest: str = Field(description="sha256 of the stored minute, as the case records it.")
    case_ref: str
    meeting_id: str = Field(description="The meeting the case file now records this minute for.")
    replayed: bool = Field(
        default=False,
        description="True when this minute was filed for the meeting already (a repeated request): the "
        "first answer again, nothing stored twice.",
    )


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


async def check_meeting_names_no_minute(db: Session, client: Client, case_ref: str, event: ev.Event) -> None:
    """A meeting is recorded without its minute, which is filed for it afterwards by the meeting's id."""
    if not isinstance(event, ev.MeetingHeld):
        return
    try:
        rules.check_meeting_names_no_minute(event)
    except RuleViolation as error:
        raise problems.rule_violation(
            f"{error.message} (POST /cases/{case_ref}/minutes)", rule=error.rule, field=error.field
        ) from None


# ------------------------------------------------------------------------------------------ filing


def _stored_not_filed(case_ref: str, row: Minute) -> problems.ProblemError:
    return problems.ProblemError(
        503,
        "minute-stored-not-filed",
        "The minute is stored but the case has not recorded it yet",
        f"minute {row.minute_ref} is stored for {case_ref} {row.meeting_id}, but the case did not answer in time; "
        "repeat this request (with the same Idempotency-Key) to file it: it is stored and filed once",
        headers={"Retry-After": "5"},
    )


async def file_minute(
    db: Session, client: Client, keys: KeyRing, user: User, case_ref: str, filing: MinuteFiling
) -> MinuteStored:
    """File the minute for the meeting the case file records, exactly once (however often it is repeated, or in
    parallel): the core's rules first (nothing is stored if they refuse), then one row per meeting (the database
    decides), then the event `MinuteFiled` for that row, sent under an update id made from the row, so every
    repeat sends the same event. A row stored while the case did not answer is filed by the next request."""
    content = filing.content()
    check_minute_rules(content)
    case = await case_file(client, case_ref)  # 404 for no such case
    digest = minute_digest(content)
    event = ev.MinuteFiled(
        meeting_id=filing.meeting_id, minute_ref=new_minute_ref(), minute_digest=digest, sent_by=user.actor
    )
    try:
        meeting = case.meeting(filing.meeting_id)
        rules.check_minute_of_meeting(
            meeting, content.held_on, content.chair_agency, content.attending_agencies
        )
        row = await run_in_threadpool(minute_of_meeting, db, case_ref, filing.meeting_id)
        if row is None:
            case.check(event, datetime.now(UTC))  # the core's answer before anything is stored
            stored = await run_in_threadpool(
                store_minute,
                db,
                keys,
                case_ref,
                case.area,
                content,
                user.user_name,
                filing.meeting_id,
                event.minute_ref,
            )
            row, first = stored
        else:
            first = False
    except CaseRuleError as error:
        raise problems.refused_by_core(error) from None
    await _file_once(client, case, row, user)
    if row.digest != digest:
        # Another minute was filed for the meeting first (now recorded, if it was not yet): one per meeting.
        raise problems.refused_by_core(
            rules.MinuteAlreadyFiled(
                f"{row.meeting_id} already has its minute ({row.minute_ref}), filed by {row.recorded_by}",
                rules.ONE_MINUTE_ONE_MEETING,
                "meeting_id",
            )
        )
    return MinuteStored(
        minute_ref=row.minute_ref,
        minute_digest=row.digest,
        case_ref=case_ref,
        meeting_id=filing.meeting_id,
        replayed=not first,
    )


async def _file_once(client: Client, case: CaseFile, row: Minute, user: User) -> None:
    """Send `MinuteFiled` for the stored row unless the case file already records it. The update id is the
    row's: every request filing this row sends the same update, which the case takes once."""
    assert row.meeting_id is not None
    if rules.meeting_of(case, row.minute_ref) is not None:
        return
    event = ev.MinuteFiled(
        meeting_id=row.meeting_id, minute_ref=row.minute_ref, minute_digest=row.digest, sent_by=user.actor
    )
    try:
        await send_event(client, case.case_ref, event, f"minute-filed:{row.minute_ref}")
    except problems.ProblemError as error:
        if error.problem.status == 503:
            raise _stored_not_filed(case.case_ref, row) from None
        if error.problem.status == 409 and rules.meeting_of(
            await case_file(client, case.case_ref), row.minute_ref
        ):
            return  # recorded already, under this update id in an earlier run of the case
        raise
