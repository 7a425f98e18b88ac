"""The annual MAPPA figures of an area, read from the ledger and the chronology's plaintext columns: the counting
is the core's (workflows/rules/annual_figures.py); here are the queries that feed it, and its CSV."""

from __future__ import annotations

from typing import Any

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from store.csv_export import csv_text
from store.models import ChronologyRecord, LedgerCase, LedgerDeadline
from workflows.rules.annual_figures import (
    AnnualFigures,
    Breach,
    CaseOnRecord,
    Position,
    Transition,
    annual_figures,
    reporting_year,
)


def figures(session: Session, area: str, year: int) -> AnnualFigures:
    start, end = reporting_year(year)
    cases = [
        CaseOnRecord(r.case_ref, r.category, r.level, r.stage, r.opened_at, r.exited_at)
        for r in session.execute(
            select(
                LedgerCase.case_ref,
                LedgerCase.category,
                LedgerCase.level,
                LedgerCase.stage,
                LedgerCase.opened_at,
                LedgerCase.exited_at,
            ).where(
                LedgerCase.area == area,
                LedgerCase.opened_at < end,
                or_(LedgerCase.exited_at.is_(None), LedgerCase.exited_at >= start),
            )
        )
    ]
    # Each case's last entry before the year's end: its category and level at 31 March.
    last = (
        select(ChronologyRecord.case_ref, func.max(ChronologyRecord.seq).label("seq"))
        .where(ChronologyRecord.area == area, ChronologyRecord.at < end)
        .group_by(ChronologyRecord.case_ref)
        .subquery()
    )
    positions = [
        Position(r.case_ref, r.category, r.level_after)
        for r in session.execute(
            select(ChronologyRecord.case_ref, ChronologyRecord.category, ChronologyRecord.level_after).join(
                last, and_(last.c.case_ref == ChronologyRecord.case_ref, last.c.seq == ChronologyRecord.seq)
            )
        )
    ]
    transitions = [
        Transition(r.case_ref, r.at, r.stage_before, r.stage_after, r.level_before, r.level_after)
        for r in session.execute(
            select(
                ChronologyRecord.case_ref,
                ChronologyRecord.at,
                ChronologyRecord.stage_before,
                ChronologyRecord.stage_after,
                ChronologyRecord.level_before,
                ChronologyRecord.level_after,
            ).where(ChronologyRecord.area == area, ChronologyRecord.at >= start, ChronologyRecord.at < end)
        )
    ]
    breaches = [
        Breach(r.kind, r.breached_at, r.pre_go_live)
        for r in session.execute(
            select(LedgerDeadline.kind, LedgerDeadline.breached_at, LedgerDeadline.pre_go_live).where(
                LedgerDeadline.area == area,
                LedgerDeadline.breached_at >= start,
                LedgerDeadline.breached_at < end,
            )
        )
    ]
    return annual_figures(area, year, cases, positions, transitions, breaches)


CSV_COLUMNS = ("area", "year", "measure", "category", "level", "from_level", "to_level", "kind", "count")


def to_csv(found: AnnualFigures) -> str:
    """One row per figure, through the one CSV writer (store/csv_export.py)."""
    year = found.label
    rows: list[list[Any]] = [
        [found.area, year, "cases at 31 March", r.category, r.level, None, None, None, r.cases]
        for r in found.at_31_march
    ]
    rows.append(
        [found.area, year, "cases at 31 March, all", None, None, None, None, None, found.cases_at_31_march]
    )
    rows.append([found.area, year, "referrals", None, None, None, None, None, found.referrals])
    rows += [
        [found.area, year, "level changes", None, None, c.from_level, c.to_level, None, c.changes]
        for c in found.level_changes
    ]
    rows.append([found.area, year, "exits", None, None, None, None, None, found.exits])
    rows += [
        [found.area, year, "breaches", None, None, None, None, k.kind, k.breaches]
        for k in found.breaches_by_kind
    ]
    rows += [
        [found.area, year, "breaches before go-live", None, None, None, None, k.kind, k.breaches]
        for k in found.breaches_before_go_live
    ]
    return csv_text(CSV_COLUMNS, rows)
