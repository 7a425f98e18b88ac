"""Working days, bank holidays and the end of the local day.

DOMAIN.md: "WD" = Monday to Friday less the bank holidays of the case's jurisdiction plus any local holidays an
area configures. "Within N WD of X" ends with the Nth working day after the day of X (the day of X is day 0).
Deadlines fall at the end of the local day, Europe/London time, whatever the clock change.

Pure: no Temporal, HTTP or database import. Safe to pass through the workflow sandbox.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

import holidays

LONDON = ZoneInfo("Europe/London")


class Jurisdiction(StrEnum):
    SCOTLAND = "scotland"
    ENGLAND_AND_WALES = "england-and-wales"


# England and Wales share their bank holidays; the holidays package keys them by subdivision.
_SUBDIVISION = {Jurisdiction.SCOTLAND: "SCT", Jurisdiction.ENGLAND_AND_WALES: "ENG"}


# Built once at import, outside any workflow: constructing a holidays table reads locale and translation files,
# which the Temporal sandbox forbids inside workflow code. Years beyond this range are filled in lazily.
_BANK_HOLIDAYS: dict[Jurisdiction, holidays.HolidayBase] = {
    j: holidays.country_holidays("GB", subdiv=subdiv, years=range(2000, 2080))
    for j, subdiv in _SUBDIVISION.items()
}


def easter_mondays() -> dict[date, str]:
    """Easter Monday of every year the bank holiday tables hold (an English bank holiday, a local one in some
    Scottish areas), read from the English table."""
    england = _BANK_HOLIDAYS[Jurisdiction.ENGLAND_AND_WALES]
    return {day: "Easter Monday" for day, name in england.items() if name == "Easter Monday"}


def _bank_holidays(jurisdiction: Jurisdiction) -> holidays.HolidayBase:
    return _BANK_HOLIDAYS[jurisdiction]


@dataclass(frozen=True)
class SkippedDay:
    day: date
    reason: str  # "Saturday", "Sunday" or the holiday's name


@dataclass(frozen=True)
class Counting:
    """How a working-day or calendar count went: what a co-ordinator sees in the deadline calculator."""

    start: date
    due_date: date
    counted: tuple[date, ...] = ()
    skipped: tuple[SkippedDay, ...] = ()


@dataclass(frozen=True)
class WorkingDayCalendar:
    jurisdiction: Jurisdiction
    local_holidays: Mapping[date, str] = field(default_factory=dict)

    def closure_reason(self, day: date) -> str | None:
        """Why `day` is not a working day, or None when it is one."""
        if day.weekday() == 5:
            return "Saturday"
        if day.weekday() == 6:
            return "Sunday"
        bank = _bank_holidays(self.jurisdiction).get(day)
        if bank:
            return f"{bank} (bank holiday)"
        local = self.local_holidays.get(day)
        if local:
            return f"{local} (local holiday)"
        return None

    def is_working_day(self, day: date) -> bool:
        return self.closure_reason(day) is None

    def add_working_days(self, start: date, n: int) -> Counting:
        """The Nth working day after `start` (start is day 0). n == 0 gives `start` itself."""
        counted: list[date] = []
        skipped: list[SkippedDay] = []
        day = start
        while len(counted) < n:
            day += timedelta(days=1)
            reason = self.closure_reason(day)
            if reason is None:
                counted.append(day)
            else:
                skipped.append(SkippedDay(day, reason))
        return Counting(start, day, tuple(counted), tuple(skipped))

    def subtract_working_days(self, start: date, n: int) -> date:
        """The Nth working day before `start`."""
        day, found = start, 0
        while found < n:
            day -= timedelta(days=1)
            if self.is_working_day(day):
                found += 1
        return day

    def working_day_on_or_before(self, day: date) -> date:
        while not self.is_working_day(day):
            day -= timedelta(days=1)
        return day


def local_date(instant: datetime) -> date:
    """The Europe/London calendar day an instant falls on."""
    return _aware(instant).astimezone(LONDON).date()


def end_of_local_day(day: date) -> datetime:
    """The instant (UTC) at which `day` ends in Europe/London: local midnight of the next day.

    A deadline "on day D" is met by anything before this instant. Computed through the zone so that the
    clock changes (a 23- or 25-hour day) land correctly.
    """
    next_midnight = datetime.combine(day + timedelta(days=1), time(0), tzinfo=LONDON)
    return next_midnight.astimezone(UTC)


def local_time_on(day: date, at: time) -> datetime:
    """A wall-clock time on a local day, as a UTC instant (for reminders sent at the start of a working day)."""
    return datetime.combine(day, at, tzinfo=LONDON).astimezone(UTC)


def _aware(instant: datetime) -> datetime:
    # Naive datetimes in this system are UTC by convention (Temporal's clock is UTC).
    return instant if instant.tzinfo is not None else instant.replace(tzinfo=UTC)


def due_day(due_at: datetime) -> date:
    """The Europe/London day a deadline is due on: a deadline at local midnight is due on the day that ends."""
    local = due_at.astimezone(LONDON)
    return local.date() - timedelta(days=1) if local.time() == time(0) else local.date()


def local_due(due_at: datetime) -> str:
    """A due instant as a co-ordinator reads it, in Europe/London time: "by end of Fri 20 Mar 2026".

    Deadlines fall at the end of the local day, i.e. at local midnight, which is shown as the day that ends.
    """
    local = due_at.astimezone(LONDON)
    if local.time() == time(0):
        return f"by end of {due_day(due_at):%a %d %b %Y}"
    return f"by {local:%H:%M} on {local:%a %d %b %Y}"
