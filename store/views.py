"""The read side for ops: plain SQL over the denormalised deadline ledger, for questions across many cases.

What is breached and what falls due soon, compliance per area for the Strategic Management Board's annual
report, and the figures the Prometheus endpoint gauges. Deadlines that fell due before their case was imported
(`pre_go_live`: go-live is the import) are always reported apart, never mixed with what the system itself could
have reminded. No workflow is asked and nothing here is written:
the ledger is kept by the case workflows' activities (`activities/ledger.py`).

Nothing returned carries personal data or case content: a deadline is shown by its case reference, area,
kind, the responsible agency, when it falls due and its state. Its rule is named by the policy's title for its
kind, never by the ledger's `title`, which for a risk management plan action holds the meeting's own words.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from functools import lru_cache
from typing import Any, Literal

from pydantic import BaseModel, Field, computed_field
from sqlalchemy import ColumnElement, and_, case, func, or_, select
from sqlalchemy.orm import Session

from store.models import LedgerDeadline
from workflows.rules.deadlines import DeadlineState
from workflows.rules.policy import AREAS, DeadlineKind, StatutoryRule, area_policy

OPEN = DeadlineState.OPEN.value
BREACHED = DeadlineState.BREACHED.value
MET = DeadlineState.MET.value
CANCELLED = DeadlineState.CANCELLED.value
# The most rows either ops list returns: an area's whole backlog, not a national dump.
LIST_LIMIT = 1000
KIND_ORDER = {kind.value: position for position, kind in enumerate(DeadlineKind)}


# ------------------------------------------------------------------------------------------ rules in words


@lru_cache(maxsize=512)
def rule_for(area: str, kind: str) -> StatutoryRule | None:
    """The rule in force in `area` for deadlines of `kind`, or None for an area or kind no policy knows."""
    try:
        return area_policy(area).rule(DeadlineKind(kind))
    except (KeyError, ValueError):
        return None


def rule_title(area: str, kind: str) -> str:
    rule = rule_for(area, kind)
    return rule.title if rule else kind.replace("-", " ")


def rule_in_words(area: str, kind: str) -> str:
    """The deadline and its timescale as the annual report states it: "initial level 2 meeting within 20
    working days of receipt of referral"."""
    rule = rule_for(area, kind)
    if rule is None:
        return kind.replace("-", " ")
    ts = rule.timescale
    if ts.unit == "same_day":
        return f"{rule.title} the same day as {rule.counted_from}"
    if ts.unit == "set_at_event":
        return f"{rule.title} by the date set at the meeting"
    amount = ts.amount_in_words()
    if ts.before:
        return f"{rule.title} {amount} before {rule.counted_from}"
    return f"{rule.title} within {amount} of {rule.counted_from}"


# ------------------------------------------------------------------------------------------ breached and due soon


class OpsDeadline(BaseModel):
    """One open deadline as ops see it: no personal data, no case content."""

    case_ref: str
    deadline_id: str
    area: str
    kind: str
    rule: str = Field(description="The policy's title for the deadline's kind.")
    responsible: str = Field(description="The responsible agency's id, or a role of the area.")
    due_at: datetime
    due_date: date = Field(description="The day it falls due, Europe/London.")
    state: Literal["open", "breached"] = Field(
        description="`open` in the breaches list: past due, and the case has not yet marked it breached."
    )
    breached_at: datetime | None
    escalations: int
    pre_go_live: bool = Field(
        default=False, description="Fell due before its case was imported (go-live): reported apart."
    )


class OpsDeadlines(BaseModel):
    now: datetime
    within_days: int
    area: str | None
    agency: str | None
    kind: str | None
    breached: list[OpsDeadline] = Field(
        description="Past due (or breached) and not met, oldest first: those that fell due after go-live."
    )
    breached_before_go_live: list[OpsDeadline] = Field(
        default_factory=list,
        description="Imported cases' deadlines already past at their import (go-live) and still not met, "
        "oldest first: listed in the import's summary, never counted with `breached`.",
    )
    due_soon: list[OpsDeadline] = Field(
        description="Open and falling due within `within_days`, soonest first."
    )


_OPS_COLUMNS = (
    LedgerDeadline.case_ref,
    LedgerDeadline.deadline_id,
    LedgerDeadline.area,
    LedgerDeadline.kind,
    LedgerDeadline.responsible,
    LedgerDeadline.due_at,
    LedgerDeadline.due_date,
    LedgerDeadline.state,
    LedgerDeadline.breached_at,
    LedgerDeadline.escalations,
    LedgerDeadline.pre_go_live,
)


def _ops_rows(
    session: Session, condition: ColumnElement[bool], filters: list[ColumnElement[bool]]
) -> list[OpsDeadline]:
    query = (
        select(*_OPS_COLUMNS)
        .where(condition, *filters)
        .order_by(LedgerDeadline.due_at, LedgerDeadline.case_ref, LedgerDeadline.deadline_id)
        .limit(LIST_LIMIT)
    )
    return [
        OpsDeadline(**row._asdict(), rule=rule_title(row.area, row.kind)) for row in session.execute(query)
    ]


def breached_and_due_soon(
    session: Session,
    *,
    within_days: int,
    area: str | None = None,
    agency: str | None = None,
    kind: str | None = None,
    now: datetime,
) -> OpsDeadlines:
    """Breached deadlines, and open ones falling due within `within_days` of `now`, each sorted by due time.

    A deadline past due that its case has not yet marked breached (the workflow wakes at the due time, so
    only while a worker is behind) is listed with the breaches: it is late whatever the ledger says.
    """
    filters: list[ColumnElement[bool]] = []
    if area is not None:
        filters.append(LedgerDeadline.area == area)
    if agency is not None:
        filters.append(LedgerDeadline.responsible == agency)
    if kind is not None:
        filters.append(LedgerDeadline.kind == kind)
    state, due_at, pre_go_live = LedgerDeadline.state, LedgerDeadline.due_at, LedgerDeadline.pre_go_live
    breached = or_(state == BREACHED, and_(state == OPEN, due_at <= now))
    due_soon = and_(state == OPEN, due_at > now, due_at <= now + timedelta(days=within_days))
    return OpsDeadlines(
        now=now,
        within_days=within_days,
        area=area,
        agency=agency,
        kind=kind,
        breached=_ops_rows(session, and_(breached, pre_go_live.is_(False)), filters),
        breached_before_go_live=_ops_rows(session, and_(breached, pre_go_live.is_(True)), filters),
        due_soon=_ops_rows(session, due_soon, filters),
    )


# ------------------------------------------------------------------------------------------ compliance


class ComplianceRow(BaseModel):
    """How one kind of deadline fared in an area over a period of due dates."""

    kind: str
    title: str = Field(description="The deadline and its timescale, in words.")
    fell_due: int = Field(description="Due in the period and due by now: met on time + met late + not met.")
    met_on_time: int
    met_late: int
    still_breached: int = Field(description="Past due and still not met.")
    closed_unmet: int = Field(
        description="Breached, then cancelled without being met (the case exited, or the deadline was replaced)."
    )
    open_not_yet_due: int = Field(description="Due in the period but not yet: not counted in fell_due.")
    cancelled: int = Field(description="Cancelled before it fell due: not counted in fell_due.")

    @computed_field  # type: ignore[prop-decorator]
    @property
    def on_time_percent(self) -> float | None:
        return round(100 * self.met_on_time / self.fell_due, 1) if self.fell_due else None

    @computed_field  # type: ignore[prop-decorator]
    @property
    def sentence(self) -> str:
        """ "initial level 2 meeting within 20 working days of receipt of referral: 18 of 20 on time"."""
        if not self.fell_due:
            return f"{self.title}: none fell due"
        return f"{self.title}: {self.met_on_time} of {self.fell_due} on time"


class ComplianceReport(BaseModel):
    area: str
    area_name: str
    period_start: date = Field(description="First due date counted (Europe/London), inclusive.")
    period_end: date = Field(description="Last due date counted (Europe/London), inclusive.")
    as_at: datetime = Field(description="When the figures were taken: what was due by then.")
    rows: list[ComplianceRow] = Field(
        description="What the system could have reminded: deadlines that fell due after their case's go-live."
    )
    before_go_live: list[ComplianceRow] = Field(
        default_factory=list,
        description="Imported cases' deadlines that fell due before their import (go-live), counted apart: "
        "never in `rows`.",
    )


def _count(condition: ColumnElement[bool]) -> Any:
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)


def compliance(
    session: Session, *, area: str, period_start: date, period_end: date, now: datetime
) -> ComplianceReport:
    """Per kind of deadline, of those due in `area` between `period_start` and `period_end` (inclusive, by due
    date): how many fell due by `now`, were met on time, met late, are still breached or were closed unmet.
    Deadlines cancelled before they fell due are not counted. Those that fell due before their case was
    imported are counted apart (`before_go_live`)."""
    d = LedgerDeadline
    overdue = and_(d.state == OPEN, d.due_at <= now)
    query = (
        select(
            d.kind,
            d.pre_go_live,
            _count(and_(d.state == MET, d.met_late.is_(False))).label("met_on_time"),
            _count(and_(d.state == MET, d.met_late.is_(True))).label("met_late"),
            _count(or_(d.state == BREACHED, overdue)).label("still_breached"),
            _count(and_(d.state == CANCELLED, d.breached_at.is_not(None))).label("closed_unmet"),
            _count(and_(d.state == OPEN, d.due_at > now)).label("open_not_yet_due"),
            _count(and_(d.state == CANCELLED, d.breached_at.is_(None))).label("cancelled"),
        )
        .where(d.area == area, d.due_date >= period_start, d.due_date <= period_end)
        .group_by(d.kind, d.pre_go_live)
    )
    rows: list[ComplianceRow] = []
    before_go_live: list[ComplianceRow] = []
    for row in session.execute(query):
        counts = {
            name: int(value) for name, value in row._asdict().items() if name not in ("kind", "pre_go_live")
        }
        fell_due = (
            counts["met_on_time"] + counts["met_late"] + counts["still_breached"] + counts["closed_unmet"]
        )
        (before_go_live if row.pre_go_live else rows).append(
            ComplianceRow(kind=row.kind, title=rule_in_words(area, row.kind), fell_due=fell_due, **counts)
        )
    for listed in (rows, before_go_live):
        listed.sort(key=lambda r: (KIND_ORDER.get(r.kind, len(KIND_ORDER)), r.kind))
    known = AREAS.get(area)
    return ComplianceReport(
        area=area,
        area_name=known.name if known else area,
        period_start=period_start,
        period_end=period_end,
        as_at=now,
        rows=rows,
        before_go_live=before_go_live,
    )


# ------------------------------------------------------------------------------------------ gauges


def open_deadlines_by_kind(session: Session) -> dict[str, int]:
    """Open deadlines (breached ones included: they are still owed) per kind, across every area."""
    query = (
        select(LedgerDeadline.kind, func.count())
        .where(LedgerDeadline.state.in_((OPEN, BREACHED)))
        .group_by(LedgerDeadline.kind)
    )
    return {kind: int(count) for kind, count in session.execute(query)}


def open_breaches_by_kind_and_area(session: Session) -> dict[tuple[str, str], int]:
    """Deadlines breached and still not met, per kind and area."""
    query = (
        select(LedgerDeadline.kind, LedgerDeadline.area, func.count())
        .where(LedgerDeadline.state == BREACHED)
        .group_by(LedgerDeadline.kind, LedgerDeadline.area)
    )
    return {(kind, area): int(count) for kind, area, count in session.execute(query)}


# ------------------------------------------------------------------------------------------ trends


class MonthOutcomes(BaseModel):
    """How the deadlines due in one month fared: the ops page's chart, a bar per month."""

    month: date = Field(description="The first day of the month (due dates, Europe/London).")
    met_on_time: int
    met_late: int
    still_breached: int


def monthly_outcomes(
    session: Session,
    *,
    area: str,
    period_start: date,
    period_end: date,
    now: datetime,
    agency: str | None = None,
    kind: str | None = None,
) -> list[MonthOutcomes]:
    """Per month of due date in the period (every month, empty ones too): met on time, met late, and still
    breached (past due and not met), counted as `compliance` counts its `rows` (what fell due before go-live
    is not charted); only one responsible agency's or one kind's deadlines when asked, as the ops page's lists
    are filtered."""
    d = LedgerDeadline
    overdue = and_(d.state == OPEN, d.due_at <= now)
    filters = [d.area == area, d.due_date >= period_start, d.due_date <= period_end, d.pre_go_live.is_(False)]
    if agency is not None:
        filters.append(d.responsible == agency)
    if kind is not None:
        filters.append(d.kind == kind)
    query = (
        select(
            d.due_date,
            _count(and_(d.state == MET, d.met_late.is_(False))).label("met_on_time"),
            _count(and_(d.state == MET, d.met_late.is_(True))).label("met_late"),
            _count(or_(d.state == BREACHED, overdue)).label("still_breached"),
        )
        .where(*filters)
        .group_by(d.due_date)
    )
    months: dict[date, list[int]] = {}
    month = period_start.replace(day=1)
    while month <= period_end:
        months[month] = [0, 0, 0]
        month = (month + timedelta(days=32)).replace(day=1)
    # Grouped by day in SQL and by month here: the same query on SQLite and PostgreSQL.
    for row in session.execute(query):
        counts = months[row.due_date.replace(day=1)]
        for i, value in enumerate((row.met_on_time, row.met_late, row.still_breached)):
            counts[i] += int(value)
    return [
        MonthOutcomes(month=m, met_on_time=c[0], met_late=c[1], still_breached=c[2])
        for m, c in months.items()
    ]
