"""Panel days: schedule several cases of one area for one day, each in a meeting of its own, and see where each
stands. The rules are the core's (`MeetingScheduled`, workflows/rules/meeting_schedule.py); api/panels.py holds
the request, the answer and the panel's list of cases."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated
from uuid import uuid4

from fastapi import APIRouter, Path, Response
from starlette.concurrency import run_in_threadpool

from api import panels, problems
from api.audit import permit, record_allowed, refuse
from api.auth import READ_PANEL, SCHEDULE_MEETING, User
from api.case_service import area_of, case_file, send_event
from api.deps import CurrentUser, DbSession, IdempotencyKey, SettingsDep, TemporalClient
from api.idempotency import KeyUse, claim_event_key, release_event_key, request_hash
from api.openings import check_agencies, check_dates
from workflows.rules.meeting_events import PANEL_REF_PATTERN

router = APIRouter(prefix="/panels", tags=["panels"])

PanelRefPath = Annotated[
    str,
    Path(pattern=PANEL_REF_PATTERN, description="The panel's reference.", examples=["PANEL-2026-14"]),
]


async def _own_area(db: DbSession, user: User, action: str, target: str) -> str:
    """A panel is an area's: a token without an area (a national agency's) has none (refused, audited)."""
    if user.area is None:
        refusal = problems.forbidden(
            f"a panel day is an area's; your token has no area, so you may not {action}", rule="area"
        )
        await refuse(db, user, action, None, refusal, target)
    return user.area


@router.post(
    "",
    summary="Schedule a panel day",
    description="One day on which the area's panel hears several cases, each in a meeting of its own with its "
    'own invitations, pre-meeting information and minute (003: "careful scheduling of meetings"). Every case '
    "must be in the co-ordinator's own area (403 naming the other area) and must take the meeting (the core's "
    "refusal, naming the case): nothing is scheduled unless every case is. Each case is sent its "
    "`MeetingScheduled` naming the panel. With an Idempotency-Key a repeat is answered with the first receipts "
    "and schedules nothing again.\n\nWho may: the co-ordinator of the cases' area.",
    responses=problems.responses(400, 401, 403, 404, 409, 422, 503),
    operation_id="schedule_panel",
)
async def schedule_panel(
    request: panels.PanelRequest,
    user: CurrentUser,
    client: TemporalClient,
    db: DbSession,
    settings: SettingsDep,
    response: Response,
    idempotency_key: IdempotencyKey = None,
) -> panels.PanelScheduled:
    now = datetime.now(UTC)
    for case in request.cases:  # every case's area first: a refusal is audited and schedules nothing
        await permit(
            db,
            user,
            SCHEDULE_MEETING,
            area=area_of(case.case_ref),
            case_ref=case.case_ref,
            audit_allowed=False,
        )
    area = await _own_area(db, user, SCHEDULE_MEETING.action, request.panel_ref)
    check_dates(request, now)
    await check_agencies(db, area, request)
    events = [(ref, e.model_copy(update={"sent_by": user.actor})) for ref, e in request.events()]
    key = f"panel:{request.panel_ref}:{idempotency_key}" if idempotency_key else None
    uses = await _claimed(db, user, key, [ref for ref, _ in events], request_hash("panels", request))
    try:
        for ref, event in events:
            if uses[ref] is KeyUse.FIRST:
                panels.check_case(ref, await case_file(client, ref), event, now)
    except problems.ProblemError:
        await _release(db, user, key, [ref for ref, use in uses.items() if use is KeyUse.FIRST])
        raise
    update = f"{user.sender}:{key}" if key else None
    scheduled = []
    for ref, event in events:
        receipt = await send_event(client, ref, event, update or f"{user.sender}:{uuid4()}")
        await record_allowed(db, user, SCHEDULE_MEETING, ref, target=request.panel_ref)
        if uses[ref] is KeyUse.REPEAT:
            receipt = receipt.model_copy(update={"replayed": True})
        scheduled.append(panels.PanelCaseScheduled(case_ref=ref, receipt=receipt))
    await run_in_threadpool(
        panels.record_panel_cases,
        db,
        area,
        request.panel_ref,
        [ref for ref, _ in events],
        request.scheduled_for,
        user.user_name,
    )
    response.headers["Location"] = f"/panels/{request.panel_ref}"
    return panels.PanelScheduled(
        panel_ref=request.panel_ref,
        area=area,
        scheduled_for=request.scheduled_for,
        cases=scheduled,
        replayed=bool(uses) and all(use is KeyUse.REPEAT for use in uses.values()),
    )


async def _claimed(
    db: DbSession, user: User, key: str | None, case_refs: list[str], digest: str
) -> dict[str, KeyUse]:
    """Each case's key bound to this request (a key already bound to another is 422, releasing what it took)."""
    uses: dict[str, KeyUse] = {}
    try:
        for ref in case_refs:
            uses[ref] = (
                KeyUse.FIRST
                if key is None
                else await run_in_threadpool(claim_event_key, db, user.sender, ref, key, digest)
            )
    except problems.ProblemError:
        await _release(db, user, key, [ref for ref, use in uses.items() if use is KeyUse.FIRST])
        raise
    return uses


async def _release(db: DbSession, user: User, key: str | None, case_refs: list[str]) -> None:
    """Nothing was scheduled under the key: it is free for a corrected request."""
    if key is None:
        return
    for ref in case_refs:
        await run_in_threadpool(release_event_key, db, user.sender, ref, key)


@router.get(
    "/{panel_ref}",
    summary="A panel day's cases",
    description="The cases the area's panel was asked to hear, and where each stands: its stage and level, and "
    "its meeting on the panel (scheduled, held, or moved off the panel), its day, its statutory due date and its "
    "pre-meeting information. No personal data, and no minute: each case's minute is read through the case "
    "(GET /minutes/{minute_ref}), by the agencies present at that case's meeting only.\n\nWho may: any user of "
    "the panel's area.",
    responses=problems.responses(401, 403, 404, 422, 503),
    operation_id="read_panel",
)
async def read_panel(
    panel_ref: PanelRefPath, user: CurrentUser, client: TemporalClient, db: DbSession
) -> panels.Panel:
    area = await _own_area(db, user, READ_PANEL.action, panel_ref)
    await permit(db, user, READ_PANEL, area=area, case_ref=None, target=panel_ref)
    refs = await run_in_threadpool(panels.panel_cases, db, area, panel_ref)
    if not refs:
        raise problems.not_found(
            "panel-not-found", "No such panel", f"there is no panel {panel_ref} in your area"
        )
    return panels.Panel(
        panel_ref=panel_ref,
        area=area,
        cases=[panels.case_state(await case_file(client, ref), panel_ref) for ref in refs],
    )
