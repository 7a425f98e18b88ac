"""Cases: open one, send it an agency event, read its status, deadlines and file.

Every agency event has its own route, made from the table below: the request body is the event model itself
(`workflows/rules/events.py`), sent through the update `EVENT_UPDATES[event type]`, answered with the case's
`Receipt`. Who may send each event is the table in `api/auth.py`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated
from uuid import uuid4

from fastapi import APIRouter, Query, Response
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from temporalio.client import Client

from api import problems
from api.audit import permit, permit_on_case, record_allowed, refuse
from api.auth import CO_ORDINATOR, EVENT_PERMISSIONS, OPEN_CASE, READ_CASE_FILE, READ_STATUS, User
from api.case_service import area_of, case_file, case_status, send_event
from api.deps import CaseRef, CurrentUser, DbSession, IdempotencyKey, SettingsDep, TemporalClient
from api.idempotency import KeyUse, claim_event_key, release_event_key, request_hash
from api.minutes import check_meeting_minute, redact_for
from api.openings import CaseOpened, NewCase, check_agencies, check_dates, check_plaintext_ids, open_case
from store.models import Agency
from workflows.messages import EVENT_UPDATES, CaseFile, CaseStatus, Deadline, Receipt
from workflows.rules import events as ev
from workflows.rules.deadlines import DeadlineState

router = APIRouter(prefix="/cases", tags=["cases"])


# A check the API makes before sending an event, beyond what the workflow can know (e.g. our minutes table).
EventCheck = Callable[[Session, Client, str, ev.Event], Awaitable[None]]


async def check_referring_agency(db: Session, client: Client, case_ref: str, event: ev.Event) -> None:
    """Who may refer depends on the kind of agency (001, 003): the directory says what kind the referring agency
    is, so the core's rule is applied to what the directory holds, not to what a sender claims."""
    if not isinstance(event, ev.ReferralSubmitted):
        return
    agency = await run_in_threadpool(db.get, Agency, event.referring_agency)
    if agency is None:
        return
    if event.referring_agency_kind is None:
        event.referring_agency_kind = agency.kind  # type: ignore[assignment]
    elif event.referring_agency_kind != agency.kind:
        raise problems.rule_violation(
            f"the MAPPA directory lists {agency.agency_id} as a {agency.kind} agency, not "
            f"{event.referring_agency_kind}",
            rule="who may refer",
            field="referring_agency_kind",
        )


@dataclass(frozen=True)
class EventRoute:
    path: str
    event: type[ev.Event]
    summary: str
    description: str
    check: EventCheck | None = None


EVENT_ROUTES: tuple[EventRoute, ...] = (
    EventRoute(
        "screening",
        ev.ScreeningDecision,
        "Screen a notification",
        "Stage 1: the co-ordinator decides level 1 (record only) or that a level 2/3 referral is needed; "
        "a referral is then due within 5 working days (003).",
    ),
    EventRoute(
        "referrals",
        ev.ReferralSubmitted,
        "Submit a referral",
        "Stage 2: a referral to level 2 or 3. A level 3 referral must say what level 2 cannot deliver "
        "(001, 003). Receipt is confirmed to the referring agency; in Scotland the ASP screening falls "
        "due within 24 hours (000). Who may refer depends on the category and the kind of agency, which the "
        "API takes from the MAPPA directory (001, 003; in England and Wales any agency, 002).",
        check=check_referring_agency,
    ),
    EventRoute(
        "further-information-requests",
        ev.FurtherInformationRequested,
        "Ask for further information",
        "The referral is incomplete: the referring agency is asked, and the meeting clock waits (001, 003).",
    ),
    EventRoute(
        "further-information",
        ev.FurtherInformationSupplied,
        "Supply further information",
        "The referring agency supplies what was missing; the meeting clock runs again.",
    ),
    EventRoute(
        "referral-decision",
        ev.ReferralDecision,
        "Accept or reject a referral",
        "Accepted: record searches are requested from each named agency (5 working days) and the initial "
        "meeting falls due (level 2: 20 working days, level 3: 5). Rejected: reasons are required (003).",
    ),
    EventRoute(
        "record-searches",
        ev.RecordSearchReturned,
        "Return a record search",
        "An agency's single point of contact returns its record search to the co-ordinator (003).",
    ),
    EventRoute(
        "asp-screening",
        ev.AspScreening,
        "Record the ASP 3-point screening",
        "Scotland: the referral is considered against the Adult Support and Protection 3-point criteria; "
        "if all hold, an AP1 referral is due within 24 hours and before any meeting (000).",
    ),
    EventRoute(
        "ap1-referrals",
        ev.Ap1ReferralMade,
        "Record an AP1 referral",
        "Scotland: the AP1 referral to the adult's locality was made; the ASP chair gets the minutes too.",
    ),
    EventRoute(
        "asp-inquiry-concerns",
        ev.AspInquiryConcern,
        "Raise an ASP inquiry concern",
        "Scotland: an ASP inquiry found a MAPPA case or concern; the information is shared with justice "
        "social work / SOPU the same day (000).",
    ),
    EventRoute(
        "asp-information-shared",
        ev.AspInformationShared,
        "Record ASP information shared",
        "Scotland: name, date of birth, address, needs and risks were shared with justice social work.",
    ),
    EventRoute(
        "asp-chair",
        ev.AspChairNamed,
        "Name the ASP chair",
        "Scotland: the co-ordinator names the council whose ASP chair gets copies of the minutes while the case "
        "is open to both MAPPA and ASP (000). Only the co-ordinator names it; naming it opens the ASP side.",
    ),
    EventRoute(
        "asp-side-closed",
        ev.AspSideClosed,
        "Close the ASP side",
        "Scotland: the ASP side of the case closed; its chair stops getting (and reading) the minutes.",
    ),
    EventRoute(
        "adults-at-risk",
        ev.AdultAtRiskIdentified,
        "Refer an adult at risk (England and Wales)",
        "A specific adult at risk from the subject (or the subject as an adult at risk) is referred into the "
        "council's adult safeguarding (002, 004); the referral is due within 1 working day (a policy value).",
    ),
    EventRoute(
        "adult-safeguarding-referrals",
        ev.AdultSafeguardingReferralMade,
        "Record an adult safeguarding referral (England and Wales)",
        "The referral of the adult at risk to the council's adult safeguarding was made (002, 004).",
    ),
    EventRoute(
        "children-at-risk",
        ev.ChildrenAtRisk,
        "Report children at risk",
        "Specific children are at risk: name each (personal data, encrypted; never in search attributes, "
        "ledger or e-mail); a child protection referral falls due (002).",
    ),
    EventRoute(
        "child-protection-referrals",
        ev.ChildProtectionReferralMade,
        "Record a child protection referral",
        "The referral to child protection for the children at risk was made (002).",
    ),
    EventRoute(
        "meetings",
        ev.MeetingHeld,
        "Record a meeting",
        "The chair records a level 2 or 3 meeting: attendees (each signed the confidentiality statement), "
        "the level decided, the risk management plan and the next review date, at most 12 weeks (level 2) "
        "or 6 weeks (level 3) ahead in Scotland, 16 or 8 in England and Wales. Minutes fall due in 5 "
        "working days (001, 003). Store the minute first (POST /cases/{case_ref}/minutes) and give the "
        "`minute_ref` and `minute_digest` it returns: the case history keeps only those, never the minute.",
        check=check_meeting_minute,
    ),
    EventRoute(
        "minutes-circulations",
        ev.MinutesCirculated,
        "Circulate the minutes",
        "The co-ordinator circulates a meeting's minutes, to attending agencies only (and the ASP chair "
        "when the case is open to ASP) (000, 001, 003).",
    ),
    EventRoute(
        "swis-alert-updates",
        ev.SwisAlertUpdated,
        "Record a SWIS alert update",
        "Scotland: the lead professional updated the SWIS alert after the meeting (same day, 000).",
    ),
    EventRoute(
        "rmp-action-completions",
        ev.RmpActionCompleted,
        "Complete a risk management plan action",
        "An action set at a meeting is done (each action has its own due date, 001, 003).",
    ),
    EventRoute(
        "risk-changes",
        ev.RiskChangeReported,
        "Report a change in risk",
        "Any agency reports a change in risk; the co-ordinator triages it (001, 003).",
    ),
    EventRoute(
        "risk-change-triage",
        ev.RiskChangeTriaged,
        "Triage a change in risk",
        "The co-ordinator decides: no action, an extra review meeting, a level change, or a referral.",
    ),
    EventRoute(
        "level-changes",
        ev.LevelChanged,
        "Change the level of management",
        "The co-ordinator moves the case between levels; level 3 needs a statement of what level 2 cannot "
        "deliver. The review is re-armed at the new level's maximum.",
    ),
    EventRoute(
        "level-1-plans",
        ev.Level1PlanRecorded,
        "Record the level 1 risk management plan",
        "Level 1: the lead agency records its risk management plan (004); due 10 working days after the case "
        "is managed at level 1 (a policy value).",
    ),
    EventRoute(
        "level-1-reviews",
        ev.Level1ReviewRecorded,
        "Record a level 1 review",
        "Level 1: the lead agency reviews and records the case regularly (004); the next review falls due "
        "12 weeks (Scotland) or 16 weeks (England and Wales) later (a policy value). Level 1 no longer "
        "defensible: a referral falls due.",
    ),
    EventRoute(
        "supervision-end-notices",
        ev.SupervisionEndNoticeGiven,
        "Give notice that supervision or licence is ending",
        "Category 2 or 3: the lead agency tells the co-ordinator that the supervision or licence is ending, "
        "so that a review can decide whether MAPPA must continue (003).",
    ),
    EventRoute(
        "sonr-end-notices",
        ev.SonrEndNoticeGiven,
        "Give notice that the SONR is ending",
        "The lead agency tells the co-ordinator that the notification requirements are ending (003).",
    ),
    EventRoute(
        "exit-decisions",
        ev.ExitDecision,
        "Decide exit from MAPPA",
        "The co-ordinator decides to exit, continue, or record an SHPO extending the SONR (003).",
    ),
    EventRoute(
        "subject-informed",
        ev.SubjectInformed,
        "Record whether the subject was told",
        "The subject is normally told of their MAPPA status; if not, the reason is recorded (002). The lead "
        "agency does so within 10 working days of the first meeting (a policy value).",
    ),
    EventRoute(
        "child-protection-sharing",
        ev.ConclusionsSharedWithChildProtection,
        "Share conclusions with child protection",
        "The chair shares conclusions and actions (never the minutes) with a child protection conference, "
        "only when no third-party source is revealed (002).",
    ),
    EventRoute(
        "subject-access-requests",
        ev.SubjectAccessRequested,
        "Record a subject access request for minutes",
        "The subject asks for the minutes: a decision is due in one calendar month, and each agency that "
        "attended the meetings concerned is consulted (001). A case that has exited MAPPA still takes it: it "
        "reopens at stage exiting, its deadlines enforced as before, and closes again once the request is decided.",
    ),
    EventRoute(
        "subject-access-views",
        ev.SarAgencyView,
        "Give an attending agency's view on a subject access request",
        "An agency consulted on a subject access request says whether the minutes may be disclosed, or names the "
        "exemption it relies on to withhold them.",
    ),
    EventRoute(
        "subject-access-decisions",
        ev.SarDecided,
        "Decide a subject access request",
        "The co-ordinator and chair disclose the minutes or withhold them under a stated data protection exemption.",
    ),
    EventRoute(
        "notifications",
        ev.NotificationSubmitted,
        "Submit the notification",
        "Stage 1, for a case opened by a court disposal, an upcoming release or a hospital discharge: the "
        "notification meets the deadline that event started (3 working days from disposal; 12 weeks before "
        "release, 003); a late one may give its extenuating circumstances. Screening then falls due.",
    ),
    EventRoute(
        "release-dates",
        ev.ReleaseDateChanged,
        "Record a new release date",
        "The prison records a changed release date (appeal, parole, recall): the custody notification or "
        "referral and the initial meeting, due before release, move with it (003).",
    ),
    EventRoute(
        "discharge-dates",
        ev.DischargeDateChanged,
        "Record a new discharge date",
        "The hospital records a changed discharge date for a restricted patient: the deadlines counted from "
        "it move with it (003).",
    ),
    EventRoute(
        "end-dates",
        ev.EndDateRecorded,
        "Record a SONR or licence end date",
        "An agency sets or changes when the notification requirements (SONR), or a category 2 or 3 case's "
        "supervision or licence, end: the lead agency's notice and the review of whether MAPPA must continue "
        "are counted back from the new date (003 stage 5), never due before the day it is recorded.",
    ),
    EventRoute(
        "pre-meeting-information",
        ev.PreMeetingInformationSent,
        "Send the pre-meeting information",
        "The co-ordinator sends the compiled record search results to every agency attending the initial "
        "meeting, in advance of it (003); when the case is open to ASP the ASP chair's agency is among them (000).",
    ),
)

EVENT_RESPONSES = problems.responses(400, 401, 403, 404, 409, 422, 503)


@router.post(
    "",
    status_code=201,
    summary="Open a case",
    description="A notification (stage 1) or, for custody, restricted-patient and ASP routes, a referral "
    "opens a case; so, before the notification, does a court disposal (police / justice social work), an "
    "upcoming release (the prison, after the pre-release ICM) or a restricted patient's discharge (the hospital), "
    "starting the notification's deadline. The API makes the case reference. With an Idempotency-Key a repeat opens nothing new and "
    "answers with the same case.",
    responses=problems.responses(400, 401, 403, 422, 503),
    operation_id="open_case",
)
async def open_new_case(
    new_case: NewCase,
    user: CurrentUser,
    client: TemporalClient,
    settings: SettingsDep,
    db: DbSession,
    response: Response,
    idempotency_key: IdempotencyKey = None,
) -> CaseOpened:
    await permit(
        db, user, OPEN_CASE, area=new_case.area, case_ref=None, request=new_case, audit_allowed=False
    )
    case_ref, replayed = await open_case(
        client, db, settings.task_queue, new_case, user.sender, idempotency_key
    )
    await record_allowed(db, user, OPEN_CASE, case_ref)  # audited once the case has its reference
    response.headers["Location"] = f"/cases/{case_ref}"
    try:
        status = await case_status(client, case_ref)
    except problems.ProblemError as error:
        if error.problem.status != 503:
            raise
        # The case exists: saying "nothing was recorded" would invite a second opening without the key.
        raise problems.ProblemError(
            503,
            "case-opened-not-answering",
            "The case was opened but has not answered yet",
            f"case {case_ref} was opened and is recorded, but did not answer in time; read it at "
            f"/cases/{case_ref}, or repeat this request with the same Idempotency-Key to get this answer again",
            headers={"Location": f"/cases/{case_ref}", "Retry-After": "5"},
        ) from None
    return CaseOpened.of(status, replayed)


@router.get(
    "/{case_ref}",
    summary="A case's status",
    description="Stage, level, and every deadline with its rule and state. No personal data: ops may read "
    "it.",
    responses=problems.responses(401, 403, 404, 422, 503),
    operation_id="case_status",
)
async def get_case_status(
    case_ref: CaseRef, user: CurrentUser, client: TemporalClient, db: DbSession
) -> CaseStatus:
    await permit_on_case(db, client, user, READ_STATUS, case_ref, audit_allowed=False)
    return _as_status(await case_status(client, case_ref))


@router.get(
    "/{case_ref}/deadlines",
    summary="A case's deadlines",
    description="Every deadline of the case, soonest first, optionally only those in one state.",
    responses=problems.responses(401, 403, 404, 422, 503),
    operation_id="case_deadlines",
)
async def get_case_deadlines(
    case_ref: CaseRef,
    user: CurrentUser,
    client: TemporalClient,
    db: DbSession,
    state: Annotated[DeadlineState | None, Query(description="Only deadlines in this state.")] = None,
) -> list[Deadline]:
    await permit_on_case(db, client, user, READ_STATUS, case_ref, audit_allowed=False)
    status = _as_status(await case_status(client, case_ref))
    return [d for d in status.deadlines if state is None or d.state is state]


def _as_status(status: CaseStatus) -> CaseStatus:
    """What the status shows, unaudited and to ops too: no agency's own words (those are the case file's)."""
    return status.model_copy(update={"deadlines": [d.for_status() for d in status.deadlines]})


@router.get(
    "/{case_ref}/case-file",
    summary="The case file",
    description="The whole case file, the subject's personal data included. Not for ops; every read is "
    "audited. What a meeting decided not to share is shown only to the agencies that attended it.",
    responses=problems.responses(401, 403, 404, 422, 503),
    operation_id="case_file",
)
async def get_case_file(
    case_ref: CaseRef, user: CurrentUser, client: TemporalClient, db: DbSession
) -> CaseFile:
    case = await permit_on_case(db, client, user, READ_CASE_FILE, case_ref, read_file=True)
    return redact_for(user, case or await case_file(client, case_ref))


def _event_endpoint(route: EventRoute) -> Callable[..., Awaitable[Receipt]]:
    event_type = route.event
    permission = EVENT_PERMISSIONS[event_type]

    async def record_event(
        case_ref: CaseRef,
        event: ev.Event,
        user: CurrentUser,
        client: TemporalClient,
        db: DbSession,
        settings: SettingsDep,
        idempotency_key: IdempotencyKey = None,
    ) -> Receipt:
        await permit_on_case(db, client, user, permission, case_ref, request=event)
        # An event a closed case still takes (a subject access request) reopens it on our task queue.
        queue = settings.task_queue
        check_dates(event, datetime.now(UTC))
        check_plaintext_ids(event)
        await check_agencies(db, area_of(case_ref), event)
        if route.check is not None:
            await route.check(db, client, case_ref, event)
        hashed = request_hash(route.path, event)
        # The sender travels with the event, from the token (never the body): the case decides with it whose
        # deadlines the event may meet (workflows/rules/ownership.py).
        event = event.model_copy(update={"sent_by": user.actor})
        if idempotency_key is None:
            return await _sent(client, db, user, permission.action, case_ref, event, str(uuid4()), queue)
        use = await run_in_threadpool(claim_event_key, db, user.sender, case_ref, idempotency_key, hashed)
        # A repeated update ID gets the first Receipt back: from Temporal within a run, from the workflow's
        # memory of seen IDs after continue-as-new. Keys are per agency, so agencies cannot collide.
        try:
            receipt = await _sent(
                client,
                db,
                user,
                permission.action,
                case_ref,
                event,
                f"{user.sender}:{idempotency_key}",
                queue,
            )
        except problems.ProblemError as refusal:
            if refusal.problem.status in (
                403,
                409,
                422,
            ):  # refused by the case: nothing recorded under the key
                await run_in_threadpool(release_event_key, db, user.sender, case_ref, idempotency_key)
            raise
        return receipt.model_copy(update={"replayed": True}) if use is KeyUse.REPEAT else receipt

    # Each route's body is its own event model: that is what FastAPI validates and what the schema shows.
    record_event.__annotations__["event"] = event_type
    return record_event


async def _sent(
    client: Client,
    db: Session,
    user: User,
    action: str,
    case_ref: str,
    event: ev.Event,
    update_id: str,
    task_queue: str,
) -> Receipt:
    """Send the event; the case refusing its sender (another agency's deadline) is audited as a refusal."""
    try:
        return await send_event(client, case_ref, event, update_id, task_queue=task_queue)
    except problems.ProblemError as refusal:
        if refusal.problem.status == 403:
            await refuse(db, user, action, case_ref, refusal)
        raise


def _who_may(route: EventRoute) -> str:
    permission = EVENT_PERMISSIONS[route.event]
    roles = " or ".join(sorted(r.value for r in permission.roles))
    text = f"\n\nWho may send it: the {roles} of the case's area."
    if permission.acts_as:
        excepted = (
            " (the co-ordinator, acting for an agency, excepted)" if CO_ORDINATOR in permission.roles else ""
        )
        text += f" `{permission.acts_as[0]}` must be the sender's own agency{excepted}."
    return text


for _route in EVENT_ROUTES:
    router.add_api_route(
        f"/{{case_ref}}/{_route.path}",
        _event_endpoint(_route),
        methods=["POST"],
        response_model=Receipt,
        summary=_route.summary,
        description=_route.description + _who_may(_route),
        responses=EVENT_RESPONSES,
        operation_id=EVENT_UPDATES[_route.event],
        name=EVENT_UPDATES[_route.event],
    )
