"""Cases: open one, send it an agency event, read its status, deadlines and file.

Every agency event has its own route, made from its row in the core's event registry
(`workflows/rules/registry.py`: path, summary, description, who may send it): the request body is the event
model itself (`workflows/rules/events.py`), sent through the row's update, answered with the case's `Receipt`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated
from uuid import uuid4

from fastapi import APIRouter, Query, Response
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from temporalio.client import Client

from api import problems
from api.audit import case_area_for, event_audited, permit, permit_on_case, record_allowed, refuse
from api.auth import CO_ORDINATOR, OPEN_CASE, READ_CASE_FILE, READ_EARLIER_CASES, READ_STATUS, User
from api.case_service import area_of, case_file, case_status, send_event
from api.deps import (
    AuditSpoolDep,
    CaseRef,
    CurrentUser,
    DbSession,
    IdempotencyKey,
    Keys,
    SettingsDep,
    TemporalClient,
)
from api.idempotency import KeyUse, claim_event_key, release_event_key, request_hash
from api.minutes import check_meeting_names_no_minute, redact_for
from api.openings import CaseOpened, NewCase, check_agencies, check_dates, check_plaintext_ids, open_case
from core.settings import Settings
from store.models import Agency, LedgerCase
from store.person_links import linked_case_refs
from store.transfers import case_areas, write_transfers
from workflows.messages import CaseFile, CaseStatus, Deadline, Receipt, TransferSummary
from workflows.rules import events as ev
from workflows.rules.deadlines import DeadlineState
from workflows.rules.earlier_cases import EarlierCase, shown_to
from workflows.rules.records import Stage
from workflows.rules.registry import EVENTS, EventRow
from workflows.rules.transfer_events import TransferAccepted, TransferDeclined, TransferRequested

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


# Checks beyond the core's, for the events that need one.
EVENT_CHECKS: dict[type[ev.Event], EventCheck] = {
    ev.ReferralSubmitted: check_referring_agency,
    ev.MeetingHeld: check_meeting_names_no_minute,
}


@dataclass(frozen=True)
class EventRoute:
    row: EventRow
    check: EventCheck | None = None

    @property
    def path(self) -> str:
        assert self.row.path is not None  # only rows with a path get a route here
        return self.row.path

    @property
    def event(self) -> type[ev.Event]:
        return self.row.event


# One route per row of the core's event registry.
EVENT_ROUTES: tuple[EventRoute, ...] = tuple(
    EventRoute(row, EVENT_CHECKS.get(row.event)) for row in EVENTS if row.path is not None
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
    keys: Keys,
    idempotency_key: IdempotencyKey = None,
) -> CaseOpened:
    await permit(
        db, user, OPEN_CASE, area=new_case.area, case_ref=None, request=new_case, audit_allowed=False
    )
    case_ref, replayed = await open_case(
        client, db, settings.task_queue, new_case, user.sender, idempotency_key, keys
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


class EarlierCaseView(BaseModel):
    """Another case of the same person (linked by the person key, never by anything that names them)."""

    case_ref: str
    area: str
    still_open: bool | None = Field(description="None for another area's case: not ours to say.")
    level: int | None = None
    stage: Stage | None = None
    exited_at: datetime | None = None
    exit_basis: str | None = Field(default=None, description="The recorded reason for the exit.")


@router.get(
    "/{case_ref}/earlier-cases",
    summary="The same person's other cases",
    description="For the co-ordinator at screening (003 stage 1): every other case of the same person, linked "
    "when each opened by a keyed digest of the subject's identity. A case of the co-ordinator's area shows its "
    "level, stage and, once exited, the day and the recorded basis; another area's case its reference and area "
    "only. Every read is audited, on this case and on each case read.",
    responses=problems.responses(401, 403, 404, 422, 503),
    operation_id="earlier_cases",
)
async def get_earlier_cases(
    case_ref: CaseRef, user: CurrentUser, client: TemporalClient, db: DbSession
) -> list[EarlierCaseView]:
    await permit_on_case(db, client, user, READ_EARLIER_CASES, case_ref)
    # Where each case is now: a transferred case is its receiving area's (its reference names where it began).
    area = (await run_in_threadpool(case_areas, db, case_ref, area_of(case_ref))).current
    earlier = []
    for ref, linked_in in await run_in_threadpool(linked_case_refs, db, case_ref):
        its_area = (await run_in_threadpool(case_areas, db, ref, linked_in)).current
        if its_area != area:
            earlier.append(EarlierCase(ref, its_area))
            continue
        earlier.append(await _earlier_case(client, db, ref, its_area))
        await record_allowed(
            db,
            user,
            READ_EARLIER_CASES,
            ref,
            reason=f"the same person's case as {case_ref}, at its screening",
        )
    return [EarlierCaseView(**vars(shown)) for shown in shown_to(area, earlier)]


async def _earlier_case(client: Client, db: Session, case_ref: str, area: str) -> EarlierCase:
    row = await run_in_threadpool(db.get, LedgerCase, case_ref)
    basis = None
    if row is not None and row.exited_at is not None:
        try:
            record = (await case_file(client, case_ref)).exit_record
            basis = record.reason if record else None
        except problems.ProblemError:
            basis = None  # the closed case did not answer: its ledger row still says when it exited
    if row is None:
        return EarlierCase(case_ref, area)
    return EarlierCase(case_ref, area, Stage(row.stage), row.level, row.exited_at, basis)


def _event_endpoint(route: EventRoute) -> Callable[..., Awaitable[Receipt]]:
    event_type = route.event
    permission = route.row.permission

    async def record_event(
        case_ref: CaseRef,
        event: ev.Event,
        user: CurrentUser,
        client: TemporalClient,
        db: DbSession,
        settings: SettingsDep,
        spool: AuditSpoolDep,
        idempotency_key: IdempotencyKey = None,
    ) -> Receipt:
        async with event_audited(db, client, user, permission, case_ref, event, spool):
            return await _checked_and_sent(
                route, case_ref, event, user, client, db, settings, idempotency_key
            )

    # Each route's body is its own event model: that is what FastAPI validates and what the schema shows.
    record_event.__annotations__["event"] = event_type
    return record_event


TRANSFER_EVENTS = (TransferRequested, TransferAccepted, TransferDeclined)


async def _after(client: Client, db: Session, case_ref: str, event: ev.Event, receipt: Receipt) -> Receipt:
    """A transfer answered: the areas the API authorises against follow it at once (the ledger's write, which
    also records it, comes a moment later from the case)."""
    if isinstance(event, TRANSFER_EVENTS):
        transfers = (await case_status(client, case_ref)).summary.transfers
        await run_in_threadpool(_write_transfers, db, case_ref, transfers)
    return receipt


def _write_transfers(db: Session, case_ref: str, transfers: list[TransferSummary]) -> None:
    write_transfers(db, case_ref, transfers, datetime.now(UTC))
    db.commit()


async def _checked_and_sent(
    route: EventRoute,
    case_ref: str,
    event: ev.Event,
    user: User,
    client: Client,
    db: Session,
    settings: Settings,
    idempotency_key: str | None,
) -> Receipt:
    """The API's own checks of an authorised event, then the event sent (once per Idempotency-Key)."""
    permission = route.row.permission
    # An event a closed case still takes (a subject access request) reopens it on our task queue.
    queue = settings.task_queue
    check_dates(event, datetime.now(UTC))
    check_plaintext_ids(event)
    # The agencies named are the case's area's; those a transfer's acceptance names, the receiving area's.
    # Nothing is written before this (the event's audit row is spooled or already committed): the reads end here.
    area = await case_area_for(db, user, permission, case_ref, event)
    await check_agencies(db, area, event, end_reads=True)
    if route.check is not None:
        await route.check(db, client, case_ref, event)
    hashed = request_hash(route.path, event)
    # The sender travels with the event, from the token (never the body): the case decides with it whose
    # deadlines the event may meet (workflows/rules/ownership.py).
    event = event.model_copy(update={"sent_by": user.actor})
    if idempotency_key is None:
        receipt = await _sent(client, db, user, permission.action, case_ref, event, str(uuid4()), queue)
        return await _after(client, db, case_ref, event, receipt)
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
            404,
            409,
            422,
        ):  # refused by the case: nothing recorded under the key
            await run_in_threadpool(release_event_key, db, user.sender, case_ref, idempotency_key)
        raise
    await _after(client, db, case_ref, event, receipt)
    return receipt.model_copy(update={"replayed": True}) if use is KeyUse.REPEAT else receipt


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
    permission = route.row.permission
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
        summary=_route.row.summary,
        description=_route.row.description + _who_may(_route),
        responses=EVENT_RESPONSES,
        operation_id=_route.row.update,
        name=_route.row.update,
    )
