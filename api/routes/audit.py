"""A case's audit trail: who read, sent or was refused what, and when. Reading it is itself audited."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Response
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool

from api import problems
from api.audit import case_area_for, permit, record_allowed, refuse
from api.auth import READ_AUDIT_TRAIL
from api.deps import CaseRef, CurrentUser, DbSession
from store.audit_trail import audit_trail, case_is_known, to_csv

router = APIRouter(tags=["audit"])


class AuditRecord(BaseModel):
    id: int
    at: datetime
    user_name: str
    agency_id: str | None
    role: str
    action: str
    case_ref: str | None
    target: str | None
    outcome: Literal["allowed", "refused"]
    reason: str | None


@router.get(
    "/cases/{case_ref}/audit",
    summary="A case's audit trail",
    description="Every audited action on the case, oldest first: reads of the case file and minutes, events "
    "sent, disclosure decisions, decodes in the Temporal UI, and every refusal, each with who (user, agency, "
    "role), what, when, why and the outcome. `format=csv` for a spreadsheet.\n\nWho may: the co-ordinator "
    "or a chair of the case's area.",
    responses={
        **problems.responses(401, 403, 404, 422, 503),
        200: {"content": {"text/csv": {"schema": {"type": "string"}}}},
    },
    operation_id="case_audit_trail",
    response_model=list[AuditRecord],
)
async def get_audit_trail(
    case_ref: CaseRef,
    user: CurrentUser,
    db: DbSession,
    format: Annotated[Literal["json", "csv"], Query(description="json (default) or csv")] = "json",
) -> list[AuditRecord] | Response:
    target = f"format={format}"
    await permit(
        db,
        user,
        READ_AUDIT_TRAIL,
        area=await case_area_for(db, user, READ_AUDIT_TRAIL, case_ref),
        case_ref=case_ref,
        audit_allowed=False,
        target=target,
    )
    if not await run_in_threadpool(case_is_known, db, case_ref):
        await refuse(db, user, READ_AUDIT_TRAIL.action, case_ref, problems.case_not_found(case_ref), target)
    # Recorded first, so the export shows who exported it.
    await record_allowed(db, user, READ_AUDIT_TRAIL, case_ref, target=target)
    events = await run_in_threadpool(audit_trail, db, case_ref)
    if format == "csv":
        return Response(
            to_csv(events),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="{case_ref}-audit.csv"'},
        )
    return [AuditRecord.model_validate(e, from_attributes=True) for e in events]
