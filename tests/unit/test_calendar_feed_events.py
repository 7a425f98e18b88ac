"""A deadline in an agency's calendar is an all-day event on the day it is due, whatever the clocks do."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from hypothesis import given
from hypothesis import strategies as st
from icalendar import Calendar, Component

from api.routes.calendars import feed_ics, ics_duration
from store.calendars import FeedDeadline
from workflows.rules.calendar import LONDON, end_of_local_day, local_due


def one_event(due_at: datetime) -> Component:
    deadline = FeedDeadline(
        case_ref="MAPPA-LAN-2026-7K2Q9X",
        deadline_id="record-search:nhs-lanarkshire",
        area="lanarkshire",
        kind="record-search",
        responsible="nhs-lanarkshire",
        due_at=due_at,
        state="open",
    )
    document = feed_ics(
        [deadline],
        agency_id="nhs-lanarkshire",
        agency_name="NHS Lanarkshire",
        area="lanarkshire",
        base_url="https://mappa.example.gov.uk",
    )
    (event,) = Calendar.from_ical(document).walk("VEVENT")
    return event


def test_by_end_of_friday_6_november_is_on_friday_not_saturday_midnight() -> None:
    due_at = end_of_local_day(date(2026, 11, 6))  # 2026-11-07 00:00 UTC
    event = one_event(due_at)
    assert event.decoded("dtstart") == date(2026, 11, 6)
    assert "by end of Fri 06 Nov 2026 (Europe/London), i.e. before 2026-11-07 00:00 UTC" in str(
        event["description"]
    )


# Two years of days: every clock change of 2026 and 2027 among them.
DAYS = st.dates(min_value=date(2026, 1, 1), max_value=date(2027, 12, 31))


@given(DAYS)
def test_a_deadline_due_at_the_end_of_a_day_is_an_all_day_event_on_that_day(day: date) -> None:
    event = one_event(end_of_local_day(day))
    assert event.decoded("dtstart") == day and type(event.decoded("dtstart")) is date
    assert event.decoded("dtend") == day + timedelta(days=1)
    assert event["dtstart"].params["VALUE"] == "DATE"


@given(DAYS, st.times(min_value=time(0, 1), max_value=time(23, 59)))
def test_a_deadline_due_at_a_time_of_day_is_on_that_london_day_with_its_time_in_the_description(
    day: date, at: time
) -> None:
    due_at = datetime.combine(day, at.replace(second=0, microsecond=0), tzinfo=LONDON).astimezone(UTC)
    event = one_event(due_at)
    assert event.decoded("dtstart") == due_at.astimezone(LONDON).date()
    assert local_due(due_at) in str(event["description"])


def test_refresh_times_are_written_as_durations() -> None:
    assert ics_duration(timedelta(hours=1)) == "PT1H"
    assert ics_duration(timedelta(minutes=90)) == "PT1H30M"
    assert ics_duration(timedelta(days=1)) == "P1D"
    assert ics_duration(timedelta(days=1, hours=2)) == "P1DT2H"
    assert ics_duration(timedelta(0)) == "PT0S"
