"""The annual MAPPA figures of an area (`GET /ops/figures`, a page beside the ops page, and `.csv`): cases by
category and level at 31 March, referrals, level changes, exits and breaches by kind over the reporting year,
counted by the core (workflows/rules/annual_figures.py) from the ledger and the chronology. Ops only, for their
own area; counts carry no case, but each read is audited (who, which area and year, which format)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import HTMLResponse
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from api import problems
from api.audit import permit
from api.auth import READ_ANNUAL_FIGURES, User
from api.deps import DbSession
from api.routes.ops import (
    HTML_200,
    HTML_401,
    AreaParam,
    OpsUser,
    OpsUserOrNone,
    Responses,
    sign_in_page,
    templates,
)
from store import figures as stored
from workflows.rules.annual_figures import AnnualFigures, year_of
from workflows.rules.calendar import LONDON
from workflows.rules.policy import AREAS

router = APIRouter(prefix="/ops", tags=["ops"])
CSV_200: Responses = {200: {"content": {"text/csv": {}}, "description": "One row per figure."}}

YearParam = Annotated[
    int | None,
    Query(
        ge=2001,
        le=2100,
        description="The reporting year by the year it starts: 2026 is 1 April 2026 to 31 March 2027. By default "
        "the last year to have ended.",
    ),
]


async def _figures(db: Session, user: User, area: str | None, year: int | None, format: str) -> AnnualFigures:
    chosen = area or user.area
    if chosen is None:
        raise problems.invalid_parameter("area", "name the area to read")
    year = year if year is not None else year_of(datetime.now(LONDON).date()) - 1
    # Audited with what was read: counts name no case, but who read which area's figures is kept.
    await permit(
        db, user, READ_ANNUAL_FIGURES, area=chosen, case_ref=None, target=f"figures:{chosen}:{year}:{format}"
    )
    found: AnnualFigures = await run_in_threadpool(stored.figures, db, chosen, year)
    return found


@router.get(
    "/figures",
    summary="The area's annual MAPPA figures, as a page",
    description="Cases by category and level at 31 March, and over the reporting year (1 April to 31 March) "
    "referrals, level changes, exits and breaches by kind of deadline; breaches of deadlines that fell due before "
    "their case's import are apart. Ops only, for their own area; each read audited.",
    responses=HTML_200 | HTML_401 | problems.responses(403, 422),
    response_class=HTMLResponse,
    operation_id="ops_figures",
)
async def figures_page(
    request: Request, user: OpsUserOrNone, db: DbSession, area: AreaParam = None, year: YearParam = None
) -> HTMLResponse:
    if user is None:
        return sign_in_page(request, None)
    found = await _figures(db, user, area, year, "html")
    area_name = AREAS[found.area].name if found.area in AREAS else found.area
    return templates.TemplateResponse(
        request, "ops_figures.html", {"figures": found, "area_name": area_name, "user": user}
    )


@router.get(
    "/figures.csv",
    summary="The area's annual MAPPA figures, as CSV",
    description="The same figures as the page, one row per figure (measure, category, level, from and to level, "
    "kind, count). Ops only, for their own area; each read audited.",
    responses=CSV_200 | problems.responses(401, 403, 422),
    response_class=Response,
    operation_id="ops_figures_csv",
)
async def figures_csv(
    user: OpsUser, db: DbSession, area: AreaParam = None, year: YearParam = None
) -> Response:
    found = await _figures(db, user, area, year, "csv")
    return Response(
        stored.to_csv(found),
        media_type="text/csv; charset=utf-8",
        headers={
            "Content-Disposition": f'attachment; filename="mappa-figures-{found.area}-{found.year}.csv"'
        },
    )
