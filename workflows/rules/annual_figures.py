"""The annual MAPPA figures of an area: what each area publishes about its year, counted from the ledger and the
chronology's plaintext columns (no case content is read).

The seeds (001-004) set no annual report: the choices below are in the README's table of choices. The year is the
reporting year the MAPPA annual reports use, 1 April to 31 March (England and Wales and Scotland alike publish
by financial year); "2026" is the year from 1 April 2026 to 31 March 2027, Europe/London.

- **Cases by category and level** are counted **at 31 March** (the end of the year's last day): every case opened
  before then and not exited by then (its exit decided), with the category and level its chronology last recorded
  before then. A case whose chronology has nothing before then (one opened before the chronology was kept and not
  yet written since) is counted with the ledger's category and level, and counted apart in `from_the_ledger`.
  A person routed to a High Risk Information Sharing Meeting (not an offender, 002) is no MAPPA case.
- **During the year**: referrals (each time a case came to stage `referral`, an opening by referral included),
  level changes (from one level to another, the first level set is no change), exits (exit decided), and
  breaches by kind of deadline (by the moment each was marked; those that fell due before their case's import
  apart, as every ops view keeps them).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time

from pydantic import BaseModel, Field

from workflows.rules.calendar import LONDON

REPORTING_YEAR_STARTS = (4, 1)  # 1 April
REFERRAL_STAGE = "referral"
NOT_A_MAPPA_CASE = "routed-to-information-sharing-meeting"
NOT_YET_LEVELLED = "-"


def reporting_year(year: int) -> tuple[datetime, datetime]:
    """The year's first instant (1 April, 00:00 Europe/London) and the first instant after it (the next 1 April)."""
    month, day = REPORTING_YEAR_STARTS
    start = datetime.combine(date(year, month, day), time(), tzinfo=LONDON)
    end = datetime.combine(date(year + 1, month, day), time(), tzinfo=LONDON)
    return start, end


def year_of(day: date) -> int:
    """The reporting year a day falls in: 31 March 2027 is in 2026's."""
    return day.year if (day.month, day.day) >= REPORTING_YEAR_STARTS else day.year - 1


@dataclass(frozen=True)
class CaseOnRecord:
    """A case as the ledger holds it now."""

    case_ref: str
    category: int
    level: int | None
    stage: str
    opened_at: datetime
    exited_at: datetime | None


@dataclass(frozen=True)
class Position:
    """A case's category and level as its chronology last recorded them before the year's end."""

    case_ref: str
    category: int | None
    level: int | None


@dataclass(frozen=True)
class Transition:
    """A chronology entry's plaintext: when, and the stage and level before and after."""

    case_ref: str
    at: datetime
    stage_before: str | None
    stage_after: str | None
    level_before: int | None
    level_after: int | None


@dataclass(frozen=True)
class Breach:
    kind: str
    breached_at: datetime
    pre_go_live: bool


class CategoryLevel(BaseModel):
    category: int
    level: str = Field(description="1, 2, 3, or '-' for a case not yet given a level (notified, referred).")
    cases: int


class LevelChange(BaseModel):
    from_level: int
    to_level: int
    changes: int


class KindCount(BaseModel):
    kind: str
    breaches: int


class AnnualFigures(BaseModel):
    area: str
    year: int
    period_start: date
    period_end: date = Field(description="31 March: the last day counted, and the day cases are counted at.")
    at_31_march: list[CategoryLevel]
    cases_at_31_march: int
    from_the_ledger: int = Field(
        description="Cases counted at 31 March with the ledger's category and level: their chronology recorded "
        "nothing before then (opened before it was kept, not yet written since)."
    )
    referrals: int
    level_changes: list[LevelChange]
    level_changes_total: int
    exits: int
    breaches_by_kind: list[KindCount]
    breaches_total: int
    breaches_before_go_live: list[KindCount]

    @property
    def label(self) -> str:
        return f"{self.year}/{(self.year + 1) % 100:02d}"


def annual_figures(
    area: str,
    year: int,
    cases: Iterable[CaseOnRecord],
    positions: Iterable[Position],
    transitions: Iterable[Transition],
    breaches: Iterable[Breach],
) -> AnnualFigures:
    start, end = reporting_year(year)
    at_end = {p.case_ref: p for p in positions}
    counted: Counter[tuple[int, str]] = Counter()
    from_ledger = exits = 0
    for case in cases:
        if case.stage == NOT_A_MAPPA_CASE:
            continue
        if case.exited_at is not None and start <= case.exited_at < end:
            exits += 1
        if case.opened_at >= end or (case.exited_at is not None and case.exited_at < end):
            continue
        position = at_end.get(case.case_ref)
        if position is None:
            from_ledger += 1
            position = Position(case.case_ref, case.category, case.level)
        level = NOT_YET_LEVELLED if position.level is None else str(position.level)
        counted[(position.category or case.category, level)] += 1
    in_year = [t for t in transitions if start <= t.at < end]
    referrals = sum(
        1 for t in in_year if t.stage_after == REFERRAL_STAGE and t.stage_before != REFERRAL_STAGE
    )
    changes = Counter(
        (t.level_before, t.level_after)
        for t in in_year
        if t.level_before is not None and t.level_after is not None and t.level_before != t.level_after
    )
    breached = [b for b in breaches if start <= b.breached_at < end]
    return AnnualFigures(
        area=area,
        year=year,
        period_start=start.date(),
        period_end=date(year + 1, 3, 31),
        at_31_march=[CategoryLevel(category=c, level=lv, cases=n) for (c, lv), n in sorted(counted.items())],
        cases_at_31_march=sum(counted.values()),
        from_the_ledger=from_ledger,
        referrals=referrals,
        level_changes=[
            LevelChange(from_level=a, to_level=b, changes=n) for (a, b), n in sorted(changes.items())
        ],
        level_changes_total=sum(changes.values()),
        exits=exits,
        breaches_by_kind=_by_kind(b for b in breached if not b.pre_go_live),
        breaches_total=sum(1 for b in breached if not b.pre_go_live),
        breaches_before_go_live=_by_kind(b for b in breached if b.pre_go_live),
    )


def _by_kind(breaches: Iterable[Breach]) -> list[KindCount]:
    counted = Counter(b.kind for b in breaches)
    return [KindCount(kind=k, breaches=n) for k, n in sorted(counted.items())]
