"""A case's chronology for a significant case review: a printable page (its PDF is the browser's "print to PDF":
the page carries print styles) and CSV, built from our own database only, so it outlives the case's Temporal
history. Who may: the co-ordinator or a chair of the case's area; every export is audited with its format.

What the chronology holds, and what it never holds (the subject's details, the text of items a meeting marked not
to be shared, a minute's or a disclosure's words), is the core's (workflows/rules/chronology.py) and the store's
(store/chronology.py).
"""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates
from starlette.concurrency import run_in_threadpool

from api import problems
from api.audit import permit, record_allowed, refuse
from api.auth import READ_CHRONOLOGY, User
from api.case_service import area_of
from api.deps import CaseRef, CurrentUser, DbSession, Keys
from store import chronology as stored
from store.audit_trail import case_is_known
from workflows.rules.calendar import LONDON

router = APIRouter(tags=["chronology"])
templates = Jinja2Templates(directory=Path(__file__).resolve().parent.parent / "templates")
templates.env.filters["london"] = lambda instant: (
    f"{instant.astimezone(LONDON):%d %b %Y %H:%M}" if instant else ""
)

WHO = "\n\nWho may: the co-ordinator or a chair of the case's area. Every export is audited with its format."


async def _exported(db: DbSession, keys: Keys, user: User, case_ref: str, format: str) -> stored.Chronology:
    target = f"chronology:{format}"
    await permit(
        db,
        user,
        READ_CHRONOLOGY,
        area=area_of(case_ref),
        case_ref=case_ref,
        audit_allowed=False,
        target=target,
    )
    if not await run_in_threadpool(case_is_known, db, case_ref):
        await refuse(db, user, READ_CHRONOLOGY.action, case_ref, problems.case_not_found(case_ref), target)
    # Recorded before it is read, so the export is in the trail whatever happens next.
    await record_allowed(db, user, READ_CHRONOLOGY, case_ref, target=target, reason=f"exported as {format}")
    found: stored.Chronology = await run_in_threadpool(stored.chronology, db, keys, case_ref)
    return found


@router.get(
    "/cases/{case_ref}/chronology",
    summary="A case's chronology, as a printable page",
    description="Every event with who sent it and when, the decision's fields and reasons; every deadline with "
    "its due time and how it ended (met on time, met late, breached, closed unmet) and each escalation; minutes "
    "and disclosures by reference. Read from our database only, never from the case's Temporal history. For a "
    "PDF, print the page (it has print styles)." + WHO,
    responses={
        **problems.responses(401, 403, 404, 422, 503),
        200: {"content": {"text/html": {}}, "description": "The chronology."},
    },
    response_class=HTMLResponse,
    operation_id="case_chronology",
)
async def get_chronology(
    request: Request, case_ref: CaseRef, user: CurrentUser, db: DbSession, keys: Keys
) -> HTMLResponse:
    found = await _exported(db, keys, user, case_ref, "html")
    return templates.TemplateResponse(request, "chronology.html", {"chronology": found, "user": user})


@router.get(
    "/cases/{case_ref}/chronology.csv",
    summary="A case's chronology, as CSV",
    description="The same lines as the page, one row each (section, when, what, who, reference, state, detail), "
    "every cell neutralised against spreadsheet formulas." + WHO,
    responses={
        **problems.responses(401, 403, 404, 422, 503),
        200: {"content": {"text/csv": {"schema": {"type": "string"}}}},
    },
    response_class=Response,
    operation_id="case_chronology_csv",
)
async def get_chronology_csv(case_ref: CaseRef, user: CurrentUser, db: DbSession, keys: Keys) -> Response:
    found = await _exported(db, keys, user, case_ref, "csv")
    return Response(
        stored.to_csv(found),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{case_ref}-chronology.csv"'},
    )
