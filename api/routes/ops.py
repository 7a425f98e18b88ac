"""Ops: what is breached, what falls due soon, and compliance per area, from the deadline ledger.

JSON and CSV for tools and the Strategic Management Board's annual report, and one server-rendered page (`GET
/ops`, no JavaScript) that refreshes itself every minute. Ops, co-ordinators and chairs may read them, for
their own area; nothing here is personal data (case reference, area, kind, responsible agency, due, state).

A browser cannot easily send a bearer header, so the page also accepts the same token from an HttpOnly,
SameSite=Strict cookie, set by signing in on the page (`POST /ops/session`, the token in the form body; it
never travels in a URL, where it would reach logs and history). The cookie is limited to `/ops`, lasts a
working day, and is `Secure` whenever the page is served over HTTPS. A bearer header, when sent, wins.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Query, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.security import HTTPAuthorizationCredentials
from fastapi.templating import Jinja2Templates
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from api import charts, problems
from api.audit import permit
from api.auth import CHAIR, CO_ORDINATOR, OPS, Permission, User, user_for_token
from api.deps import DbSession, bearer
from store import views
from store.csv_export import csv_text
from workflows.rules.calendar import LONDON, local_due
from workflows.rules.policy import AREAS, DeadlineKind, area_policy

router = APIRouter(prefix="/ops", tags=["ops"])
templates = Jinja2Templates(directory=Path(__file__).resolve().parent.parent / "templates")

READ_OPS = Permission("read the ops deadlines and compliance", frozenset({OPS, CO_ORDINATOR, CHAIR}))
SESSION_COOKIE = "mappa_ops_token"
SESSION_SECONDS = 8 * 3600
REFRESH_SECONDS = 60
# MAPPA annual reports cover the year from 1 April.
REPORTING_YEAR_STARTS = (4, 1)

AreaParam = Annotated[
    str | None,
    Query(
        description="The MAPPA area's id; by default the user's own (a user reads only their own area).",
        json_schema_extra={"enum": list(AREAS)},
    ),
]
WithinDays = Annotated[int, Query(ge=0, le=366, description="Due within this many days from now.")]
AgencyParam = Annotated[
    str | None,
    Query(
        min_length=2,
        max_length=64,
        pattern=r"^[a-z0-9][a-z0-9-]*$",
        description="The responsible agency's id, or a role (`co-ordinator`, `chair`).",
    ),
]
KindParam = Annotated[DeadlineKind | None, Query(description="The kind of deadline.")]
# MAPPA began in 2001; a statutory deadline a century ahead is a typing error.
EARLIEST, LATEST = date(2001, 1, 1), date(2100, 12, 31)
PeriodFrom = Annotated[
    date | None,
    Query(
        alias="from",
        ge=EARLIEST,
        le=LATEST,
        description="First due date counted, YYYY-MM-DD; default 1 April of this reporting year.",
    ),
]
PeriodTo = Annotated[
    date | None,
    Query(
        alias="to",
        ge=EARLIEST,
        le=LATEST,
        description="Last due date counted, YYYY-MM-DD (inclusive); default a year after `from`, less a day.",
    ),
]


# ------------------------------------------------------------------------------------------ who is asking


def presented_token(
    request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]
) -> str | None:
    """The bearer token or, failing that, the page's session cookie."""
    return credentials.credentials if credentials is not None else request.cookies.get(SESSION_COOKIE) or None


PresentedToken = Annotated[str | None, Depends(presented_token)]


def ops_user_or_none(token: PresentedToken, db: DbSession) -> User | None:
    return user_for_token(db, token) if token else None


OpsUserOrNone = Annotated[User | None, Depends(ops_user_or_none)]


def ops_user(token: PresentedToken, user: OpsUserOrNone) -> User:
    if user is not None:
        return user
    if token is None:
        raise problems.unauthenticated(
            "send 'Authorization: Bearer <token>' (or sign in on the ops page)", invalid_token=False
        )
    raise problems.unauthenticated("the token is unknown or has been revoked", invalid_token=True)


OpsUser = Annotated[User, Depends(ops_user)]


async def readable_area(db: Session, user: User, area: str | None) -> str:
    """The area asked for (by default the user's own), once the user is allowed to read it."""
    chosen = area or user.area
    if chosen is None:
        raise problems.invalid_parameter("area", "name the area to read")
    await permit(db, user, READ_OPS, area=chosen, case_ref=None, audit_allowed=False, target=f"ops:{chosen}")
    return chosen


def reporting_period(start: date | None, end: date | None, today: date) -> tuple[date, date]:
    if start is None:
        month, day = REPORTING_YEAR_STARTS
        year = today.year if (today.month, today.day) >= (month, day) else today.year - 1
        start = date(year, month, day)
    if end is None:
        # A year: to the day before the same day next year (from 29 February, to 28 February).
        end = date(start.year + 1, start.month, 1) + (start - start.replace(day=1)) - timedelta(days=1)
    if end < start:
        raise problems.invalid_parameter("to", f"the period ends ({end}) before it starts ({start})")
    return start, end


def now_utc() -> datetime:
    return datetime.now(UTC)


def chart_filter(area: str, agency: str | None, kind: DeadlineKind | None) -> str | None:
    """The page's filters in words, for the chart's caption: "risk management plan action deadlines owed by
    nhs-lanarkshire"."""
    if agency is None and kind is None:
        return None
    what = f"{views.rule_title(area, kind.value)} deadlines" if kind else "deadlines"
    return f"{what} owed by {agency}" if agency else what


def kind_choices(area: str) -> list[tuple[str, str]]:
    """The kinds of deadline the area's rules know, each with the rule's own title, for the page's filter."""
    policy = area_policy(area)
    return [(k.value, views.rule_title(area, k.value)) for k in DeadlineKind if policy.applies(k)]


# ------------------------------------------------------------------------------------------ JSON and CSV


@router.get(
    "/deadlines",
    summary="Breached deadlines and deadlines due soon",
    description="Breached deadlines (and any past due not yet marked breached), then open deadlines falling "
    "due within `within_days`, each sorted by due time; optionally only one responsible agency or kind. "
    "For ops, co-ordinators and chairs, in their own area.",
    responses=problems.responses(401, 403, 422),
    operation_id="ops_deadlines",
)
async def ops_deadlines(
    user: OpsUser,
    db: DbSession,
    area: AreaParam = None,
    within_days: WithinDays = 7,
    agency: AgencyParam = None,
    kind: KindParam = None,
) -> views.OpsDeadlines:
    return await _lists(db, await readable_area(db, user, area), within_days, agency, kind, now_utc())


async def _lists(
    db: Session, area: str, within_days: int, agency: str | None, kind: DeadlineKind | None, now: datetime
) -> views.OpsDeadlines:
    lists: views.OpsDeadlines = await run_in_threadpool(
        views.breached_and_due_soon,
        db,
        within_days=within_days,
        area=area,
        agency=agency,
        kind=kind.value if kind else None,
        now=now,
    )
    return lists


async def _report(
    db: Session, area: str, start: date | None, end: date | None, now: datetime
) -> views.ComplianceReport:
    period_start, period_end = reporting_period(start, end, now.astimezone(LONDON).date())
    report: views.ComplianceReport = await run_in_threadpool(
        views.compliance, db, area=area, period_start=period_start, period_end=period_end, now=now
    )
    return report


@router.get(
    "/compliance",
    summary="Compliance per kind of deadline",
    description="For each kind of deadline due in the area between `from` and `to` (by due date, inclusive): "
    "how many fell due, were met on time, met late, are still breached or were closed unmet, with a sentence "
    'for the annual report ("initial level 2 meeting within 20 working days of receipt of referral: 18 of 20 '
    "on time\"). Deadlines cancelled before they fell due are not counted. Imported cases' deadlines that fell "
    "due before go-live are counted apart (`before_go_live`), never in `rows`.",
    responses=problems.responses(401, 403, 422),
    operation_id="ops_compliance",
)
async def ops_compliance(
    user: OpsUser, db: DbSession, area: AreaParam = None, start: PeriodFrom = None, end: PeriodTo = None
) -> views.ComplianceReport:
    return await _report(db, await readable_area(db, user, area), start, end, now_utc())


Responses = dict[int | str, dict[str, Any]]
CSV_200: Responses = {200: {"content": {"text/csv": {}}, "description": "One row per kind of deadline."}}
CSV_COLUMNS = (
    "kind",
    "title",
    "fell_due",
    "met_on_time",
    "met_late",
    "still_breached",
    "closed_unmet",
    "open_not_yet_due",
    "cancelled",
    "on_time_percent",
    "sentence",
)


def compliance_csv(report: views.ComplianceReport) -> str:
    """One row per kind; those that fell due before go-live follow, as rows of their own (`before_go_live`
    yes), never added into the others."""
    rows = (
        (report.area, report.period_start, report.period_end, before, *(values[c] for c in CSV_COLUMNS))
        for before, listed in (("no", report.rows), ("yes", report.before_go_live))
        for values in (row.model_dump() for row in listed)
    )
    return csv_text(("area", "period_start", "period_end", "before_go_live", *CSV_COLUMNS), rows)


@router.get(
    "/compliance.csv",
    summary="Compliance per kind of deadline, as CSV",
    description="The same figures as `/ops/compliance`, one row per kind, for the annual report; the deadlines "
    "of imported cases that fell due before go-live are rows of their own (`before_go_live` = yes).",
    responses=CSV_200 | problems.responses(401, 403, 422),
    operation_id="ops_compliance_csv",
)
async def ops_compliance_csv(
    user: OpsUser, db: DbSession, area: AreaParam = None, start: PeriodFrom = None, end: PeriodTo = None
) -> Response:
    report = await _report(db, await readable_area(db, user, area), start, end, now_utc())
    filename = f"mappa-compliance-{report.area}-{report.period_start}-{report.period_end}.csv"
    return Response(
        compliance_csv(report),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


# ------------------------------------------------------------------------------------------ the page


def _london(instant: datetime | None) -> str:
    return f"{instant.astimezone(LONDON):%a %d %b %Y %H:%M}" if instant else ""


templates.env.filters["due"] = local_due
templates.env.filters["london"] = _london

# The page's routes answer HTML, and problem documents (JSON) when the request itself is invalid.
HTML_200: Responses = {200: {"content": {"text/html": {}}, "description": "The ops page."}}
HTML_401: Responses = {401: {"content": {"text/html": {}}, "description": "Not signed in: the sign-in form."}}
HTML_403: Responses = {
    403: {"content": {"text/html": {}}, "description": "The token's user may not read the ops views."}
}


def sign_in_page(request: Request, message: str | None, status_code: int = 401) -> HTMLResponse:
    response = templates.TemplateResponse(
        request, "ops_sign_in.html", {"message": message}, status_code=status_code
    )
    if request.cookies.get(SESSION_COOKIE):
        response.delete_cookie(SESSION_COOKIE, path="/ops")
    return response


@router.get(
    "",
    summary="The ops page",
    description="Breaches, deadlines due soon and the compliance table for the user's area, as one HTML page "
    "that refreshes itself every minute. Signs in with a bearer header or the cookie set by `POST /ops/session`; "
    "without either it answers 401 with the sign-in form.",
    responses=HTML_200 | HTML_401 | problems.responses(403, 422),
    operation_id="ops_page",
)
async def ops_page(
    request: Request,
    user: OpsUserOrNone,
    db: DbSession,
    area: AreaParam = None,
    within_days: WithinDays = 7,
    agency: AgencyParam = None,
    kind: KindParam = None,
    start: PeriodFrom = None,
    end: PeriodTo = None,
) -> HTMLResponse:
    if user is None:
        message = "Your session has ended: sign in again." if request.cookies.get(SESSION_COOKIE) else None
        return sign_in_page(request, message)
    chosen = await readable_area(db, user, area)
    now = now_utc()
    deadlines = await _lists(db, chosen, within_days, agency, kind, now)
    report = await _report(db, chosen, start, end, now)
    months = await run_in_threadpool(
        views.monthly_outcomes,
        db,
        area=chosen,
        period_start=report.period_start,
        period_end=report.period_end,
        now=now,
        agency=agency,
        kind=kind.value if kind else None,
    )
    context = {
        "outcomes_chart": charts.outcomes_by_month_svg(months),
        "breaches_chart": charts.breaches_by_kind_svg(deadlines.breached, chosen),
        "user": user,
        "area_name": report.area_name,
        "deadlines": deadlines,
        "report": report,
        "kinds": kind_choices(chosen),
        "chart_filter": chart_filter(chosen, agency, kind),
        "refresh_seconds": REFRESH_SECONDS,
        "now": now,
    }
    return templates.TemplateResponse(request, "ops.html", context)


@router.post(
    "/session",
    summary="Sign in to the ops page",
    description="Checks the token (form field `token`) and, if its user may read the ops views, sets it as an "
    "HttpOnly, SameSite=Strict cookie for `/ops` and redirects there (303). A wrong token gets the sign-in "
    "form again (401).",
    status_code=303,
    response_class=RedirectResponse,
    responses={303: {"description": "Signed in: on to the ops page."}}
    | HTML_401
    | HTML_403
    | problems.responses(422),
    operation_id="ops_sign_in",
)
async def ops_sign_in(
    request: Request,
    db: DbSession,
    token: Annotated[str, Form(min_length=1, max_length=200, description="An API token.")],
) -> Response:
    user = await run_in_threadpool(user_for_token, db, token.strip())
    if user is None:
        return sign_in_page(request, "That token is unknown or has been revoked.")
    try:
        await readable_area(db, user, None)
    except problems.ProblemError as refusal:
        return sign_in_page(request, refusal.problem.detail, status_code=refusal.problem.status)
    response = RedirectResponse("/ops", status_code=303)
    response.set_cookie(
        SESSION_COOKIE,
        token.strip(),
        max_age=SESSION_SECONDS,
        path="/ops",
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
    )
    return response


@router.post(
    "/session/end",
    summary="Sign out of the ops page",
    description="Forgets the page's cookie and shows the sign-in form.",
    status_code=303,
    response_class=RedirectResponse,
    responses={303: {"description": "Signed out: on to the sign-in form."}},
    operation_id="ops_sign_out",
)
async def ops_sign_out() -> Response:
    response = RedirectResponse("/ops", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/ops")
    return response
