"""Working days and the end of the local day, in Scotland and in England & Wales."""

from datetime import UTC, date, datetime, timedelta

import pytest

from workflows.rules.calendar import (
    Jurisdiction,
    WorkingDayCalendar,
    end_of_local_day,
    local_date,
)
from workflows.rules.deadlines import calculate
from workflows.rules.policy import DeadlineKind, area_policy

SCOTLAND = WorkingDayCalendar(Jurisdiction.SCOTLAND)
ENGLAND = WorkingDayCalendar(Jurisdiction.ENGLAND_AND_WALES)


@pytest.mark.parametrize(
    ("day", "scotland_closed", "england_closed", "why"),
    [
        (date(2026, 1, 1), True, True, "New Year's Day"),
        (date(2026, 1, 2), True, False, "2 January is a Scottish bank holiday only"),
        (date(2026, 4, 3), True, True, "Good Friday"),
        (date(2026, 4, 6), False, True, "Easter Monday is an English and Welsh bank holiday only"),
        (date(2026, 5, 4), True, True, "Early May bank holiday"),
        (date(2026, 5, 25), True, True, "Spring bank holiday"),
        (date(2026, 8, 3), True, False, "Scotland's summer bank holiday is the first Monday of August"),
        (date(2026, 8, 31), False, True, "England's late summer bank holiday is the last Monday of August"),
        (date(2026, 11, 30), True, False, "St Andrew's Day"),
        (date(2026, 12, 25), True, True, "Christmas Day"),
        (date(2026, 12, 28), True, True, "Boxing Day falls on a Saturday: substitute Monday"),
        (date(2027, 1, 4), True, False, "2 January 2027 is a Saturday: substitute Monday in Scotland"),
        (date(2026, 12, 1), False, False, "an ordinary Tuesday"),
    ],
)
def test_bank_holidays_differ_between_the_jurisdictions(day, scotland_closed, england_closed, why):
    assert (not SCOTLAND.is_working_day(day)) is scotland_closed, why
    assert (not ENGLAND.is_working_day(day)) is england_closed, why


def test_st_andrews_day_on_a_weekend_moves_to_the_monday_in_scotland():
    # 30 November 2025 is a Sunday.
    assert not SCOTLAND.is_working_day(date(2025, 12, 1))
    assert ENGLAND.is_working_day(date(2025, 12, 1))


def test_the_day_of_the_event_is_day_zero():
    # Monday 7 December 2026 + 3 working days = Thursday 10 December.
    counting = SCOTLAND.add_working_days(date(2026, 12, 7), 3)
    assert counting.due_date == date(2026, 12, 10)
    assert counting.counted == (date(2026, 12, 8), date(2026, 12, 9), date(2026, 12, 10))


def test_five_working_days_over_easter_differ_by_jurisdiction():
    # Thursday 2 April 2026: Good Friday closes both; Easter Monday only England & Wales.
    assert SCOTLAND.add_working_days(date(2026, 4, 2), 5).due_date == date(2026, 4, 10)
    assert ENGLAND.add_working_days(date(2026, 4, 2), 5).due_date == date(2026, 4, 13)


def test_skipped_days_are_named():
    counting = ENGLAND.add_working_days(date(2026, 8, 28), 1)
    assert counting.due_date == date(2026, 9, 1)
    reasons = [s.reason for s in counting.skipped]
    assert reasons == ["Saturday", "Sunday", "Late Summer Bank Holiday (bank holiday)"]


def test_an_area_adds_its_own_local_holidays():
    lanarkshire = area_policy("lanarkshire").calendar
    glasgow = area_policy("glasgow").calendar
    assert not lanarkshire.is_working_day(date(2026, 4, 6))  # Easter Monday, a Lanarkshire local holiday
    assert glasgow.is_working_day(date(2026, 4, 6))
    assert "local holiday" in (lanarkshire.closure_reason(date(2026, 4, 6)) or "")


def test_a_deadline_ends_at_local_midnight_in_winter():
    assert end_of_local_day(date(2026, 1, 15)) == datetime(2026, 1, 16, 0, 0, tzinfo=UTC)


def test_a_deadline_ends_at_local_midnight_in_summer_time():
    # During BST local midnight is 23:00 UTC.
    assert end_of_local_day(date(2026, 7, 15)) == datetime(2026, 7, 15, 23, 0, tzinfo=UTC)


def test_a_deadline_on_the_day_the_clocks_go_forward_ends_at_local_midnight():
    # 29 March 2026: clocks go forward at 01:00 GMT; the day has 23 hours.
    start = end_of_local_day(date(2026, 3, 28))
    end = end_of_local_day(date(2026, 3, 29))
    assert end == datetime(2026, 3, 29, 23, 0, tzinfo=UTC)
    assert end - start == timedelta(hours=23)


def test_a_deadline_on_the_day_the_clocks_go_back_ends_at_local_midnight():
    # 25 October 2026: clocks go back; the day has 25 hours.
    start = end_of_local_day(date(2026, 10, 24))
    end = end_of_local_day(date(2026, 10, 25))
    assert end == datetime(2026, 10, 26, 0, 0, tzinfo=UTC)
    assert end - start == timedelta(hours=25)


def test_an_event_late_in_the_evening_in_summer_counts_from_the_local_day():
    # 23:30 UTC on 14 July is 00:30 on 15 July in London: day 0 is the 15th.
    assert local_date(datetime(2026, 7, 14, 23, 30, tzinfo=UTC)) == date(2026, 7, 15)


def test_calculator_explains_the_initial_level_2_meeting_over_christmas_in_scotland():
    calc = calculate(
        area_policy("glasgow"), DeadlineKind.INITIAL_MEETING_LEVEL_2, datetime(2026, 12, 18, 12, tzinfo=UTC)
    )
    assert calc.due.due_date == date(2027, 1, 21)
    assert calc.due.counting is not None
    named = {s.reason for s in calc.due.counting.skipped}
    assert "New Year Holiday (observed) (bank holiday)" in named
    assert calc.rule.source == "001, 003"


def test_the_same_referral_meets_an_earlier_deadline_in_england_than_in_scotland_over_st_andrews_day():
    start = datetime(2026, 11, 26, 12, tzinfo=UTC)
    scot = calculate(area_policy("glasgow"), DeadlineKind.INITIAL_MEETING_LEVEL_3, start)
    eng = calculate(area_policy("wiltshire-and-swindon"), DeadlineKind.INITIAL_MEETING_LEVEL_3, start)
    assert eng.due.due_date == date(2026, 12, 3)
    assert scot.due.due_date == date(2026, 12, 4)
