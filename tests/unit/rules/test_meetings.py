"""Stages 3 and 4: information sharing and meetings (003 stages 3-4; 001 on minutes). In the guidance's words; pure: a clock is passed in."""

from datetime import date, timedelta

import pytest

from tests.case_builders import (
    ENGLISH_AGENCIES,
    meeting,
)
from tests.unit.rules.cases import at, english_referred_case, referred_case
from workflows.rules import events as ev
from workflows.rules.case import RuleViolation, Stage
from workflows.rules.deadlines import DeadlineState


def test_a_record_search_returned_by_an_agency_not_asked_is_refused():
    case = referred_case()
    with pytest.raises(RuleViolation, match="no record search was requested"):
        case.check(ev.RecordSearchReturned(agency="dwp"), at(date(2026, 11, 10)))


def test_a_level_2_review_date_beyond_twelve_weeks_in_scotland_is_refused():
    case = referred_case()
    held = date(2026, 12, 1)
    with pytest.raises(RuleViolation, match="12 weeks") as refused:
        case.check(meeting(held, held + timedelta(weeks=12, days=1)), at(held))
    assert refused.value.rule == "review date maximum"


def test_a_level_2_review_may_be_sixteen_weeks_away_in_england():
    case = english_referred_case()
    held = date(2026, 12, 1)
    case.apply(meeting(held, held + timedelta(weeks=16), attendees=ENGLISH_AGENCIES[:3]), at(held))
    assert case.deadlines["review:meeting-1"].due_date == held + timedelta(weeks=16)
    assert "swis-alert:meeting-1" not in case.deadlines  # SWIS is Scottish


def test_the_meeting_opens_minutes_swis_alert_rmp_actions_and_the_review():
    case = referred_case()
    held = date(2026, 12, 1)
    action = ev.RmpActionSet(
        action_id="A1",
        description="Home visit",
        owner_agency="lanarkshire-housing",
        due_date=date(2026, 12, 15),
    )
    receipt = case.apply(meeting(held, date(2027, 2, 9), actions=[action]), at(held, 16))
    assert case.stage is Stage.ACTIVE_MANAGEMENT
    assert case.deadlines["initial-meeting"].state is DeadlineState.MET
    assert case.deadlines["minutes:meeting-1"].due_date == date(2026, 12, 8)
    assert case.deadlines["swis-alert:meeting-1"].due_date == held
    assert case.deadlines["rmp:meeting-1:A1"].responsible == "lanarkshire-housing"
    assert case.deadlines["review:meeting-1"].due_date == date(2027, 2, 9)
    assert {c.change for c in receipt.changes} >= {"met", "opened"}


def test_minutes_go_only_to_the_agencies_that_attended():
    case = referred_case()
    held = date(2026, 12, 1)
    case.apply(meeting(held, date(2027, 2, 9)), at(held))
    with pytest.raises(RuleViolation, match="only to the agencies that attended"):
        case.check(ev.MinutesCirculated(meeting_id="meeting-1", recipients=["lanarkshire-housing"]), at(held))
