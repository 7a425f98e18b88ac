"""Minutes: file one for a recorded meeting, read it or its executive summary, ask to share it, decide on sharing.

Every read, every refusal and every disclosure decision goes to the audit trail before the answer does. Who
may read what, and on what basis, is the core's one decision (workflows/rules/minute_reads.py): a route loads
the minute, the case file and the disclosures, asks it, audits and answers; storage is store/minutes.py. A
minute or disclosure of another area answers exactly as one that does not exist.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, NoReturn

from fastapi import APIRouter, Path
from starlette.concurrency import run_in_threadpool
from temporalio.client import Client

from api import minutes as rules
from api import problems
from api.audit import case_area_for, permit, record, record_allowed, refuse
from api.auth import (
    DECIDE_DISCLOSURE,
    READ_DISCLOSURES,
    READ_EXECUTIVE_SUMMARY,
    READ_MINUTE,
    RECORD_MINUTE,
    REQUEST_DISCLOSURE,
    Permission,
    User,
)
from api.case_service import case_file
from api.deps import CaseRef, CurrentUser, DbSession, IdempotencyKey, Keys, TemporalClient
from api.idempotency import KeyUse, claim_event_key, release_event_key, request_hash
from api.minutes import (
    Disclosure,
    DisclosureDecision,
    DisclosureRequest,
    ExecutiveSummary,
    MinuteContent,
    MinuteFiling,
    MinuteRecord,
    MinuteStored,
)
from store import minutes as stored
from store.minutes import MinuteIntegrityError
from store.models import Agency, AuditOutcome, DisclosedPart, Minute, MinuteDisclosure
from workflows.messages import EVENT_UPDATES
from workflows.rules import confidentiality as core
from workflows.rules import events as ev
from workflows.rules.case import CaseFile
from workflows.rules.errors import CaseRuleError
from workflows.rules.minute_reads import MinuteRead

router = APIRouter(tags=["minutes"])

MinuteRef = Annotated[
    str,
    Path(
        pattern=rules.MINUTE_REF_PATTERN,
        description="The minute's reference, made when it was stored. It holds no personal data.",
        examples=["MIN-7K2Q9XA4BC3D"],
    ),
]


def _responses(*statuses: int) -> dict[int | str, dict[str, object]]:
    documented = problems.responses(*statuses)
    if 404 in documented:
        documented[404] = {**documented[404], "description": "No such case, minute or disclosure."}
    return documented


DisclosureRef = Annotated[
    str,
    Path(
        pattern=rules.DISCLOSURE_REF_PATTERN,
        description="The disclosure's reference, made when it was asked for: random, it says nothing of others.",
        examples=["DIS-7K2Q9XA4BC3DE5FG"],
    ),
]


def _elsewhere(user: User, area: str) -> bool:
    """Whether the row is in another area than the user's (a national agency's token has no area)."""
    return user.area is not None and user.area != area


async def _minute_or_404(db: DbSession, user: User, minute_ref: str, action: str) -> Minute:
    row = await run_in_threadpool(stored.load_minute, db, minute_ref)
    if row is None or _elsewhere(user, row.area):
        # Another area's minute answers as one that does not exist (its existence is not for this user);
        # both are audited, with the real reason.
        missing = problems.not_found("minute-not-found", "No such minute", f"there is no minute {minute_ref}")
        reason = None if row is None else f"minute of another area ({row.area})"
        await _refuse_as_missing(db, user, action, row.case_ref if row else None, missing, minute_ref, reason)
    return row


async def _refuse_as_missing(
    db: DbSession,
    user: User,
    action: str,
    case_ref: str | None,
    missing: problems.ProblemError,
    target: str,
    reason: str | None,
) -> NoReturn:
    if reason is None:
        await refuse(db, user, action, case_ref, missing, target=target)
    await run_in_threadpool(record, db, user, action, case_ref, AuditOutcome.REFUSED, reason, target)
    raise missing


async def _case_or_none(client: Client, case_ref: str) -> CaseFile | None:
    """The case file, for its ASP chair and the digest its history holds; None once the history is gone (the
    namespace keeps a closed case's history for its retention period only; minutes are kept for good)."""
    try:
        return await case_file(client, case_ref)
    except problems.ProblemError as error:
        if error.problem.status == 404:
            return None
        raise


_WHAT_IS_READ = {DisclosedPart.MINUTE: "the minute", DisclosedPart.EXECUTIVE_SUMMARY: "the executive summary"}


async def _reader(
    db: DbSession, client: Client, user: User, row: Minute, permission: Permission, part: DisclosedPart
) -> tuple[MinuteRead, CaseFile | None]:
    """The core's decision on the user's read of `part` of the minute (and on what basis), with the case file;
    a refusal is audited and raised."""
    await permit(
        db, user, permission, area=row.area, case_ref=row.case_ref, audit_allowed=False, target=row.minute_ref
    )
    case = await _case_or_none(client, row.case_ref)
    disclosures = await run_in_threadpool(stored.disclosures_of, db, row.minute_ref)
    read = rules.minute_read(user, row, case, disclosures, part, _now())
    if read is None:
        refusal = rules.not_an_attendee(user, row, _WHAT_IS_READ[part])
        await refuse(db, user, permission.action, row.case_ref, refusal, row.minute_ref)
    return read, case


def _now() -> datetime:
    return datetime.now(UTC)


def _opened(keys: Keys, row: Minute, case: CaseFile | None) -> MinuteContent:
    try:
        return stored.open_content(keys, row, case)
    except MinuteIntegrityError as error:
        raise rules.integrity_problem(error) from None


@router.post(
    "/cases/{case_ref}/minutes",
    status_code=201,
    summary="File a meeting's minute",
    description="The chair files the minute of a meeting the case file records, by its `meeting_id` (record "
    "the meeting first: POST /cases/{case_ref}/meetings): risk assessment, critical risk factors, the risk "
    "management plan's actions with owners and dates, the contingency plan, what is not to be shared and why, "
    "and each attendee's signed confidentiality statement. Its date, chair and agencies present must be the "
    "meeting's (422 naming the field); a meeting has one minute (409). It is kept encrypted; the case records "
    "only its `minute_ref` and `minute_digest`. A refused minute stores nothing.\n\nRepeating the request (an "
    "Idempotency-Key binds it to this body) files the minute once: a minute stored while the case did not "
    "answer (503) is filed by the repeat, never stored twice.\n\nWho may: the chair of the case's area whose "
    "agency chaired the meeting (`chair_agency`).",
    responses=_responses(400, 401, 403, 404, 409, 422, 503),
    operation_id=EVENT_UPDATES[ev.MinuteFiled],
)
async def file_minute(
    case_ref: CaseRef,
    filing: MinuteFiling,
    user: CurrentUser,
    client: TemporalClient,
    db: DbSession,
    keys: Keys,
    idempotency_key: IdempotencyKey = None,
) -> MinuteStored:
    area = await case_area_for(db, user, RECORD_MINUTE, case_ref)
    await permit(db, user, RECORD_MINUTE, area=area, case_ref=case_ref, request=filing)
    use = KeyUse.FIRST
    if idempotency_key is not None:
        hashed = request_hash("minutes", filing)
        use = await run_in_threadpool(claim_event_key, db, user.sender, case_ref, idempotency_key, hashed)
    try:
        return await rules.file_minute(db, client, keys, user, case_ref, filing)
    except problems.ProblemError as refusal:
        if (
            idempotency_key is not None
            and use is KeyUse.FIRST
            and refusal.problem.status in (403, 404, 409, 422)
        ):
            # Refused: nothing was filed under the key, which is free for a corrected request.
            await run_in_threadpool(release_event_key, db, user.sender, case_ref, idempotency_key)
        if refusal.problem.status == 403:
            await refuse(db, user, RECORD_MINUTE.action, case_ref, refusal)  # audited, then raised
        raise


@router.get(
    "/minutes/{minute_ref}",
    summary="Read a minute",
    description="The whole minute, for the agencies that attended the meeting, the ASP chair's agency when "
    "the case is open to both MAPPA and ASP, and a recipient of a granted disclosure of the minute. Anyone "
    "else is refused. Every read and every refusal is audited.",
    responses=_responses(401, 403, 404, 409, 422, 503),
    operation_id="read_minute",
)
async def read_minute(
    minute_ref: MinuteRef, user: CurrentUser, client: TemporalClient, db: DbSession, keys: Keys
) -> MinuteRecord:
    row = await _minute_or_404(db, user, minute_ref, READ_MINUTE.action)
    read, case = await _reader(db, client, user, row, READ_MINUTE, DisclosedPart.MINUTE)
    content = _opened(keys, row, case)
    content = content.model_copy(update={"not_to_be_shared": read.shows(content.not_to_be_shared)})
    meeting = core.meeting_of(case, minute_ref)
    await record_allowed(db, user, READ_MINUTE, row.case_ref, target=minute_ref, reason=read.basis)
    return MinuteRecord(
        minute_ref=row.minute_ref,
        case_ref=row.case_ref,
        meeting_id=meeting.meeting_id if meeting else None,
        minute_digest=row.digest,
        recorded_by=row.recorded_by,
        recorded_at=row.created_at,
        content=content,
    )


@router.get(
    "/minutes/{minute_ref}/executive-summary",
    summary="Read a minute's executive summary",
    description="Conclusions and actions only (never the items not to be shared): for the attendees, and for "
    "a recipient, such as a child protection conference's agency, holding a granted, unexpired disclosure "
    "(002). Every read and every refusal is audited.",
    responses=_responses(401, 403, 404, 409, 422, 503),
    operation_id="read_executive_summary",
)
async def read_executive_summary(
    minute_ref: MinuteRef, user: CurrentUser, client: TemporalClient, db: DbSession, keys: Keys
) -> ExecutiveSummary:
    permission = READ_EXECUTIVE_SUMMARY
    row = await _minute_or_404(db, user, minute_ref, permission.action)
    read, _ = await _reader(db, client, user, row, permission, DisclosedPart.EXECUTIVE_SUMMARY)
    try:
        summary = stored.open_summary(keys, row)
    except MinuteIntegrityError as error:
        raise rules.integrity_problem(error) from None
    await record_allowed(db, user, permission, row.case_ref, target=minute_ref, reason=read.basis)
    return summary


@router.post(
    "/minutes/{minute_ref}/disclosures",
    status_code=201,
    summary="Ask to share a minute beyond its attendees",
    description="Names the recipient agency, what it would receive (the executive summary unless the whole "
    "minute is needed) and why. The chair of the meeting's chair agency grants or refuses it.\n\nWho may: "
    "the co-ordinator of the case's area, or a user of an agency that attended.",
    responses=_responses(400, 401, 403, 404, 422, 503),
    operation_id="request_disclosure",
)
async def request_disclosure(
    minute_ref: MinuteRef,
    request: DisclosureRequest,
    user: CurrentUser,
    client: TemporalClient,
    db: DbSession,
) -> Disclosure:
    permission = REQUEST_DISCLOSURE
    row = await _minute_or_404(db, user, minute_ref, permission.action)
    await permit(
        db, user, permission, area=row.area, case_ref=row.case_ref, audit_allowed=False, target=minute_ref
    )
    case = await _case_or_none(client, row.case_ref)
    if not rules.may_request_disclosure(user, row, case):
        refusal = rules.not_an_attendee(user, row, "or ask to share")
        await refuse(db, user, permission.action, row.case_ref, refusal, minute_ref)
    if request.recipient_agency in row.attendees:
        raise problems.rule_violation(
            f"{request.recipient_agency} attended the meeting and reads its minute already",
            rule="disclosure recipient",
            field="recipient_agency",
        )
    if await run_in_threadpool(db.get, Agency, request.recipient_agency) is None:
        raise problems.rule_violation(
            f"{request.recipient_agency} is not in the agency directory",
            rule="disclosure recipient",
            field="recipient_agency",
        )
    disclosure = MinuteDisclosure(
        disclosure_ref=stored.new_disclosure_ref(),
        minute_ref=minute_ref,
        case_ref=row.case_ref,
        recipient_agency=request.recipient_agency,
        what=request.what.value,
        rationale=request.rationale,
        requested_by=user.user_name,
        requested_by_agency=user.agency_id,
        requested_at=_now(),
    )
    db.add(disclosure)
    await run_in_threadpool(db.flush)
    # Committed with its audit row, or not at all.
    await record_allowed(
        db,
        user,
        permission,
        row.case_ref,
        target=f"disclosure {disclosure.disclosure_ref} of {minute_ref}",
        reason=f"{request.what.value} to {request.recipient_agency}: {request.rationale}",
    )
    return Disclosure.of(disclosure)


@router.get(
    "/minutes/{minute_ref}/disclosures",
    summary="A minute's disclosures",
    description="Every request to share the minute, and its decision. For the attendees and the co-ordinator; "
    "each read is audited.",
    responses=_responses(401, 403, 404, 422, 503),
    operation_id="list_disclosures",
)
async def list_disclosures(
    minute_ref: MinuteRef, user: CurrentUser, client: TemporalClient, db: DbSession
) -> list[Disclosure]:
    permission = READ_DISCLOSURES
    row = await _minute_or_404(db, user, minute_ref, permission.action)
    await permit(
        db, user, permission, area=row.area, case_ref=row.case_ref, audit_allowed=False, target=minute_ref
    )
    case = await _case_or_none(client, row.case_ref)
    if not rules.may_request_disclosure(user, row, case):
        refusal = rules.not_an_attendee(user, row, "the disclosures")
        await refuse(db, user, permission.action, row.case_ref, refusal, minute_ref)
    found = await run_in_threadpool(stored.disclosures_of, db, minute_ref)
    await record_allowed(db, user, permission, row.case_ref, target=minute_ref)
    return [Disclosure.of(d) for d in found]


@router.post(
    "/disclosures/{disclosure_id}/decision",
    summary="Grant or refuse a disclosure",
    description=f"The chair grants (for `expires_in_days`, by policy {rules.DISCLOSURE_DAYS}) or refuses, "
    "with a reason. A grant lets exactly the recipient agency read what it names until it expires; a grant of "
    "the whole minute still withholds the items marked not to be shared, except those named in `share_items`. "
    "A disclosure is decided once: of concurrent decisions exactly one succeeds, the others get 409. The "
    "decision is recorded in the audit trail.\n\nWho may: a chair of the case's area whose agency chaired "
    "the meeting.",
    responses=_responses(400, 401, 403, 404, 409, 422, 503),
    operation_id="decide_disclosure",
)
async def decide_disclosure(
    disclosure_id: DisclosureRef,
    decision: DisclosureDecision,
    user: CurrentUser,
    client: TemporalClient,
    db: DbSession,
    keys: Keys,
) -> Disclosure:
    permission = DECIDE_DISCLOSURE
    target = f"disclosure {disclosure_id}"
    disclosure, row = await _disclosure_or_404(db, user, disclosure_id, permission.action, target)
    await permit(
        db, user, permission, area=row.area, case_ref=row.case_ref, audit_allowed=False, target=target
    )
    granting = decision.decision == "grant"
    try:
        items = await _checked_decision(client, keys, user, row, disclosure, decision)
    except CaseRuleError as error:
        await refuse(db, user, permission.action, row.case_ref, problems.refused_by_core(error), target)
    now = _now()
    won = await run_in_threadpool(
        lambda: stored.decide_once(
            db,
            disclosure,
            granted=granting,
            decided_by=user.user_name,
            decided_by_agency=user.agency_id,
            reason=decision.reason,
            at=now,
            expires_at=now + timedelta(days=decision.expires_in_days) if granting else None,
            items_shared=items if granting else None,
        )
    )
    if not won:
        # Another decision got there first: this one is refused, and audited as such (409).
        lost = core.already_decided(
            disclosure_id, disclosure.status, disclosure.decided_by, disclosure.decided_at
        )
        await refuse(db, user, permission.action, row.case_ref, problems.refused_by_core(lost), target)
    # The decision and its audit row are committed together: neither exists without the other.
    await record_allowed(
        db,
        user,
        permission,
        row.case_ref,
        target=f"{target} of {row.minute_ref}",
        reason=f"{_outcome(disclosure, granting, items)}: {decision.reason}",
        action=f"{decision.decision} a disclosure of a minute",
    )
    return Disclosure.of(disclosure)


async def _disclosure_or_404(
    db: DbSession, user: User, disclosure_id: str, action: str, target: str
) -> tuple[MinuteDisclosure, Minute]:
    """The disclosure and its minute; another area's answers as one that does not exist (audited either way)."""
    disclosure = await run_in_threadpool(stored.load_disclosure, db, disclosure_id)
    row = await run_in_threadpool(stored.load_minute, db, disclosure.minute_ref) if disclosure else None
    if disclosure is None or row is None or _elsewhere(user, row.area):
        missing = problems.not_found(
            "disclosure-not-found", "No such disclosure", f"there is no disclosure {disclosure_id}"
        )
        reason = None if row is None else f"disclosure of another area ({row.area})"
        await _refuse_as_missing(db, user, action, row.case_ref if row else None, missing, target, reason)
    return disclosure, row


async def _checked_decision(
    client: Client,
    keys: Keys,
    user: User,
    row: Minute,
    disclosure: MinuteDisclosure,
    decision: DisclosureDecision,
) -> list[str]:
    """The core's rules on the decision (the meeting's chair decides, once; only items the minute marks may be
    shared): the items marked not to be shared that a grant shares, or the core's refusal raised."""
    core.check_decider(user.agency_id, row.chair_agency)
    core.check_undecided(
        disclosure.disclosure_ref, disclosure.status, disclosure.decided_by, disclosure.decided_at
    )
    if not decision.share_items:
        return []
    content = _opened(keys, row, await _case_or_none(client, row.case_ref))
    return core.check_items_shared(
        decision.decision == "grant",
        disclosure.what == DisclosedPart.MINUTE.value,
        decision.share_items,
        content.not_to_be_shared,
    )


def _outcome(disclosure: MinuteDisclosure, granting: bool, items: list[str]) -> str:
    """The decision in the audit trail's words."""
    outcome = (
        f"granted {disclosure.what} to {disclosure.recipient_agency} until {disclosure.expires_at:%Y-%m-%d %H:%M} UTC"
        if granting
        else f"refused {disclosure.what} to {disclosure.recipient_agency}"
    )
    if items:
        outcome += f", sharing {len(items)} item(s) marked not to be shared"
    return outcome
