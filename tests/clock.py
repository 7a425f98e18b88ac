"""The suite's "today", pinned or swept: every test must pass on any day of the year.

`MAPPA_TODAY=YYYY-MM-DDTHH:MM` (Europe/London wall-clock time) pins the clocks this process reads
(`time-machine`: `datetime.now`, `date.today`, `time.time`) and moves each time-skipping test server forward to
that instant before a test uses it. The test server's clock only runs forward, so a pinned instant must lie after
the real one; `sweep_days` picks the next of each troublesome day.

The dev server (a Go binary) keeps the real clock: the tests that run on it derive every expected date from the
calendar (`workflows/rules/calendar.py`), never from plain date arithmetic.
"""

from __future__ import annotations

import os
from datetime import date, datetime, time, timedelta

import holidays

from workflows.rules.calendar import LONDON

PINNED = "MAPPA_TODAY"


def pinned_instant() -> datetime | None:
    """The instant the suite is pinned to, if any (aware, Europe/London)."""
    value = os.environ.get(PINNED)
    if not value:
        return None
    return datetime.fromisoformat(value).replace(tzinfo=LONDON)


def _last_sunday(year: int, month: int) -> date:
    day = date(year, month + 1, 1) - timedelta(days=1)
    return day - timedelta(days=(day.weekday() + 1) % 7)


def _next(after: date, of_year: object) -> date:
    """The first day after `after` produced by `of_year(year)` for this year or the next."""
    for year in (after.year, after.year + 1, after.year + 2):
        day = of_year(year)  # type: ignore[operator]
        if day > after:
            return day
    raise AssertionError("no such day within two years")


def _good_friday(year: int) -> date:
    found = holidays.country_holidays("GB", subdiv="SCT", years=year)
    return next(d for d, name in found.items() if name == "Good Friday")


def sweep_days(after: date) -> dict[str, datetime]:
    """The next instant after `after` of each kind of day on which date arithmetic goes wrong: bank holidays
    (Easter's two, Christmas, Scotland's 2 January), the year's end, both clock changes, a weekend, and a BST
    night when the local day is not the UTC day."""

    def at(day: date, clock: time = time(10)) -> datetime:
        return datetime.combine(day, clock, tzinfo=LONDON)

    saturday = after + timedelta(days=(5 - after.weekday()) % 7 or 7)
    return {
        "the day before Good Friday": at(_next(after, lambda y: _good_friday(y) - timedelta(days=1))),
        "Easter Monday": at(_next(after, lambda y: _good_friday(y) + timedelta(days=3))),
        "Christmas Eve": at(_next(after, lambda y: date(y, 12, 24))),
        "the last day of the year, late evening": at(_next(after, lambda y: date(y, 12, 31)), time(23, 30)),
        "2 January (a Scottish bank holiday)": at(_next(after, lambda y: date(y, 1, 2))),
        "the Saturday before the clocks go forward": at(
            _next(after, lambda y: _last_sunday(y, 3) - timedelta(days=1))
        ),
        "the Saturday before the clocks go back": at(
            _next(after, lambda y: _last_sunday(y, 10) - timedelta(days=1))
        ),
        "a Saturday": at(saturday),
        "half past midnight in summer time (the UTC date is the day before)": at(
            _next(after, lambda y: date(y, 7, 1)), time(0, 30)
        ),
    }
