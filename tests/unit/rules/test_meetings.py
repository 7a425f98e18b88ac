"""Stages 3 and 4: information sharing and meetings (003 stages 3-4; 001 on minutes). In the guidance's words; pure: a clock is passed in."""

from datetime import date, timedelta

import pytest

from tests.case_builders import (
    ENGLISH_AGENCIES,
    SCOTTISH_AGENCIES,
    meeting,
)
from tests.unit.rules.cases import at, english_referred_case, referred_case
from workflows.rules import events as ev
from workflows.rules.calendar import Jurisdiction
from workflows.rules.case import RuleViolation, Stage
from workflows.rules.confidentiality import meetings_on_file
from workflows.rules.deadlines import DeadlineState
from workflows.rules.minute_reads import StoredMinute, read_as_of_right
from workflows.rules.policy import AREAS, Area, DeadlineKind, Timescale, area_policy
from workflows.rules.records import NoticeKind


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


# ------------------------------------------------------------------ attendance (001, 003, 004)


def _person(agency: str, name: str, **kw: object) -> ev.Attendee:
    return ev.Attendee(agency=agency, name=name, signed_confidentiality_statement=True, **kw)  # type: ignore[arg-type]


def _attended(people: list[ev.Attendee], invited: list[str], **changes: object) -> ev.MeetingHeld:
    held = date(2026, 12, 1)
    base = meeting(held, date(2027, 2, 9))
    fields: dict[str, object] = {
        "attendees": people,
        "invited": invited,
        "chair_agency": people[0].agency,
        "chair_name": people[0].name,
    }
    return base.model_copy(update={**fields, **changes})


POLICE, JSW, NHS, HOUSING = SCOTTISH_AGENCIES


def test_each_person_present_signs_the_confidentiality_statement_not_one_signature_per_agency():
    case = referred_case()
    people = [
        _person(POLICE, "DI Morag Reid"),
        ev.Attendee(agency=POLICE, name="DC Sam Ali", signed_confidentiality_statement=False),
        _person(JSW, "Ann Fraser"),
    ]
    with pytest.raises(RuleViolation, match="every person present signs") as refused:
        case.check(_attended(people, [POLICE, JSW]), at(date(2026, 12, 1)))
    assert "DC Sam Ali (police-scotland-lanarkshire)" in refused.value.message


def test_a_substitute_sent_in_place_of_the_invitee_attends_for_the_agency_and_may_read_the_minutes():
    case = referred_case()
    people = [
        _person(POLICE, "DI Morag Reid"),
        _person(JSW, "Ann Fraser"),
        _person(NHS, "Dr Lee Grant", substitute_for="Dr Jo Bell"),
    ]
    case.apply(_attended(people, [POLICE, JSW, NHS]), at(date(2026, 12, 1), 16))
    held = case.meetings[-1]
    assert held.attendees == [POLICE, JSW, NHS]
    assert held.people[2].substitute_for == "Dr Jo Bell"
    held.minute_ref = "m"  # the minute the meeting names
    assert read_as_of_right(NHS, StoredMinute("m", held.held_on, held.attendees), meetings_on_file(case))
    case.apply(ev.MinutesCirculated(meeting_id="meeting-1", recipients=[NHS]), at(date(2026, 12, 2)))


def test_two_people_from_one_agency_each_sign_and_the_agency_reads_the_minutes_once():
    case = referred_case()
    people = [_person(POLICE, "DI Morag Reid"), _person(POLICE, "DC Sam Ali"), _person(JSW, "Ann Fraser")]
    case.apply(_attended(people, [POLICE, JSW]), at(date(2026, 12, 1), 16))
    assert case.meetings[-1].attendees == [POLICE, JSW]
    assert len(case.meetings[-1].people) == 3


def test_an_invited_agency_that_sent_nobody_is_recorded_absent_not_refused():
    case = referred_case()
    people = [_person(POLICE, "DI Morag Reid"), _person(JSW, "Ann Fraser")]
    case.apply(_attended(people, [POLICE, JSW, HOUSING]), at(date(2026, 12, 1), 16))
    assert case.meetings[-1].absent == [HOUSING]
    with pytest.raises(RuleViolation, match="only to the agencies that attended"):
        case.check(ev.MinutesCirculated(meeting_id="meeting-1", recipients=[HOUSING]), at(date(2026, 12, 2)))


def test_someone_present_from_an_agency_not_invited_is_refused():
    case = referred_case()
    people = [_person(POLICE, "DI Morag Reid"), _person(HOUSING, "Pat Kerr")]
    with pytest.raises(RuleViolation, match="not invited: lanarkshire-housing") as refused:
        case.check(_attended(people, [POLICE]), at(date(2026, 12, 1)))
    assert refused.value.field == "invited"


def test_a_meeting_with_no_invitations_recorded_is_refused():
    case = referred_case()
    with pytest.raises(RuleViolation, match="agencies the co-ordinator invited"):
        case.check(_attended([_person(POLICE, "DI Morag Reid")], []), at(date(2026, 12, 1)))


def test_a_level_3_meeting_where_nobody_could_commit_an_agency_s_resources_is_recorded_and_flagged():
    case = referred_case(level=3)
    people = [
        _person(POLICE, "DCI Morag Reid", can_commit_resources=True),
        _person(JSW, "Ann Fraser", can_commit_resources=False),
    ]
    held = date(2026, 11, 13)
    event = _attended(
        people, [POLICE, JSW], held_on=held, next_review_date=date(2026, 12, 18), level_decided=3
    )
    case.apply(event, at(held, 16))
    held_meeting = case.meetings[-1]
    assert case.deadlines["initial-meeting"].state is DeadlineState.MET  # it happened, in time
    assert any("senior enough to commit its resources" in s and JSW in s for s in held_meeting.shortfalls)
    flag = next(n for n in case.outbox if n.kind is NoticeKind.MEETING_SHORTFALL)
    assert flag.to == "co-ordinator" and flag.lines == held_meeting.shortfalls
    # The people present are staff named by agencies: never in the flag, which is e-mailed.
    assert "Ann Fraser" not in " ".join([flag.title, *flag.lines])


def test_a_lanarkshire_level_3_meeting_chaired_by_a_manager_is_recorded_and_flagged_without_citing_004():
    level_3 = referred_case(level=3)
    people = [_person(POLICE, "DI Morag Reid", can_commit_resources=True)]
    held = date(2026, 11, 13)
    event = _attended(
        people,
        [POLICE],
        held_on=held,
        next_review_date=date(2026, 12, 18),
        level_decided=3,
        chair_grade=ev.ChairGrade.MANAGER,
    )
    level_3.apply(event, at(held, 16))
    (shortfall,) = level_3.meetings[-1].shortfalls
    assert "a level 3 meeting is chaired by a senior manager" in shortfall
    assert "004" not in shortfall and "policy value in Scotland" in shortfall
    # The grade is still asked for: a meeting that does not say how senior its chair was is not recorded.
    with pytest.raises(RuleViolation, match="say how senior the chair was") as refused:
        referred_case(level=3).check(event.model_copy(update={"chair_grade": None}), at(held, 16))
    assert refused.value.field == "chair_grade"
    level_2 = referred_case()
    level_2.apply(_attended(people, [POLICE], chair_grade=ev.ChairGrade.MANAGER), at(date(2026, 12, 1), 16))
    assert level_2.meetings[-1].chair_grade == "manager" and not level_2.meetings[-1].shortfalls


def test_the_chair_grades_are_004_s_in_england_and_wales_and_a_policy_value_in_scotland():
    england, scotland = area_policy("wiltshire-and-swindon"), area_policy("lanarkshire")
    for level in (2, 3):
        assert england.policy.chair_grades[level][1].endswith("(004)")
        assert "004" not in scotland.policy.chair_grades[level][1]
        assert england.policy.chair_grades[level][0] is scotland.policy.chair_grades[level][0]


def test_a_case_opened_before_the_correction_still_refuses_a_meeting_that_falls_short():
    case = referred_case(level=3)
    case.rule_changes.remove("held-meeting-recorded-with-shortfalls")
    people = [_person(POLICE, "DI Morag Reid", can_commit_resources=True)]
    held = date(2026, 11, 13)
    event = _attended(
        people,
        [POLICE],
        held_on=held,
        next_review_date=date(2026, 12, 18),
        level_decided=3,
        chair_grade=ev.ChairGrade.MANAGER,
    )
    with pytest.raises(RuleViolation, match="level 3 meeting is chaired by a senior manager"):
        case.check(event, at(held))


def test_the_chair_is_one_of_the_people_present():
    case = referred_case()
    people = [_person(POLICE, "DI Morag Reid")]
    with pytest.raises(RuleViolation, match="name the chair"):
        case.check(_attended(people, [POLICE], chair_name="Someone Else"), at(date(2026, 12, 1)))


# ------------------------------------------------------------------ an area override in its own unit


def test_an_area_override_of_a_review_timescale_is_read_in_its_own_unit_not_as_weeks(monkeypatch):
    override = Area(
        "lanarkshire",
        "LAN",
        "Lanarkshire",
        Jurisdiction.SCOTLAND,
        overrides={DeadlineKind.REVIEW_LEVEL_2: Timescale("working_days", 30)},
    )
    monkeypatch.setitem(AREAS, "lanarkshire", override)
    case = referred_case()
    held = date(2026, 12, 1)
    # Tue 1 Dec 2026 + 30 working days (25, 28 Dec and 1, 4 Jan are Scottish bank holidays) = Fri 15 Jan 2027.
    latest = area_policy("lanarkshire").calendar.add_working_days(held, 30).due_date
    with pytest.raises(RuleViolation, match="30 working days after the meeting"):
        case.check(meeting(held, latest + timedelta(days=1)), at(held))  # read as 30 weeks, it was allowed
    case.apply(meeting(held, latest), at(held, 16))
    assert case.deadlines["review:meeting-1"].due_date == latest


# ------------------------------------------------------------------ judged by the day held (003 stage 4; 000)


def test_a_level_3_meeting_held_on_its_due_day_and_recorded_the_next_day_was_held_in_time():
    case = referred_case(level=3)
    due = case.deadlines["initial-meeting"]
    case.tick(due.due_at + timedelta(minutes=1))  # nobody has recorded it yet: the clock marks it missed
    assert due.state is DeadlineState.BREACHED
    recorded = at(due.due_date + timedelta(days=1))
    case.apply(meeting(due.due_date, due.due_date + timedelta(weeks=6), level=3), recorded)
    assert due.state is DeadlineState.MET and not due.met_late
    assert due.breached_at is None and "held on" in due.explanation
    # 000: the SWIS alert "immediately after the meeting" counts from the meeting's recording.
    swis = case.deadlines["swis-alert:meeting-1"]
    assert swis.due_date == recorded.date() and swis.state is DeadlineState.OPEN
    case.tick(recorded)
    assert swis.state is DeadlineState.OPEN


def test_a_meeting_held_after_its_due_day_stays_late_however_it_is_recorded():
    case = referred_case(level=3)
    due = case.deadlines["initial-meeting"]
    late = due.due_date + timedelta(days=1)
    case.tick(due.due_at + timedelta(minutes=1))
    case.apply(meeting(late, late + timedelta(weeks=6), level=3), at(late, 16))
    assert due.state is DeadlineState.MET and due.met_late


def test_a_case_opened_before_the_correction_counts_a_meeting_by_its_recording():
    case = referred_case(level=3)
    case.rule_changes.remove("meeting-on-time-by-day-held")
    due = case.deadlines["initial-meeting"]
    case.tick(due.due_at + timedelta(minutes=1))
    case.apply(
        meeting(due.due_date, due.due_date + timedelta(weeks=6), level=3),
        at(due.due_date + timedelta(days=1)),
    )
    assert due.met_late
