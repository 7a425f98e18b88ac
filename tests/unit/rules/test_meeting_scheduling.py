"""Meetings as events of their own (001, 003 stage 4): the co-ordinator arranges the meeting for a day and invites
the agencies central to its plan; the pre-meeting information follows the day set, the statutory deadline does not
move. In the guidance's words; pure: a clock is passed in.

The Lanarkshire case of tests/unit/rules/cases.py: a level 2 referral received and accepted on Mon 9 Nov 2026, its
initial meeting due within 20 working days, by Tue 8 Dec (St Andrew's Day, Mon 30 Nov, is not counted).
"""

from datetime import date

import pytest

from tests.case_builders import SCOTTISH_AGENCIES, meeting
from tests.unit.rules.cases import at, referred_case
from workflows.rules import events as ev
from workflows.rules.actors import Actor, Role
from workflows.rules.calendar import local_time_on
from workflows.rules.case import CaseFile, RuleViolation, Stage, WrongStage
from workflows.rules.deadlines import DeadlineState
from workflows.rules.due_dates import WORKING_DAY_STARTS
from workflows.rules.errors import AlreadyRecorded, NotResponsible
from workflows.rules.records import CHAIR, NoticeKind

INVITED = SCOTTISH_AGENCIES[:3]
POLICE, HOUSING = SCOTTISH_AGENCIES[0], SCOTTISH_AGENCIES[3]
CO_ORDINATOR = Actor(role=Role.CO_ORDINATOR, agency="lanarkshire-justice-social-work")


def scheduled(day: date, invited: list[str] | None = None, panel: str | None = None) -> ev.MeetingScheduled:
    return ev.MeetingScheduled(scheduled_for=day, invited=invited or INVITED, panel_ref=panel)


def invitations(case: CaseFile) -> dict[str, list[str]]:
    """The invitation notices queued, by agency: their titles."""
    found: dict[str, list[str]] = {}
    for n in case.outbox:
        if n.kind is NoticeKind.MEETING_INVITATION:
            found.setdefault(n.to, []).append(n.title)
    return found


def test_the_co_ordinator_arranges_the_initial_meeting_and_each_invited_agency_is_invited():
    # 001: "The co-ordinator will arrange initial Level 2 meetings"; 003: "arrange for their attendance".
    case = referred_case()
    case.outbox.clear()
    case.apply(scheduled(date(2026, 11, 18), panel="PANEL-2026-14"), at(date(2026, 11, 10)))
    assert case.scheduled_meeting is not None
    assert (case.scheduled_meeting.meeting_id, case.scheduled_meeting.scheduled_for) == (
        "meeting-1",
        date(2026, 11, 18),
    )
    assert invitations(case) == {a: ["invitation to meeting-1 on Wed 18 Nov 2026"] for a in INVITED}
    lines = " ".join(next(n for n in case.outbox if n.kind is NoticeKind.MEETING_INVITATION).lines)
    assert "PANEL-2026-14" in lines and "a suitable replacement should be sent (001)" in lines
    assert "Testperson" not in str(case.outbox)  # the subject is never named in a notice


def test_the_record_searches_and_the_pre_meeting_information_fall_due_before_the_day_the_meeting_is_set_for():
    # 003: the product of the pre-meeting exchanges is "provided in advance of the meeting to all agencies attending".
    case = referred_case()
    assert case.deadlines["pre-meeting-information"].due_date == date(
        2026, 12, 7
    )  # from the due date, Tue 8 Dec
    receipt = case.apply(scheduled(date(2026, 11, 18)), at(date(2026, 11, 10)))
    # Wed 18 Nov: the searches 3 working days before (sooner than 5 from the request), the pack the day before.
    assert case.deadlines[f"record-search:{POLICE}"].due_date == date(2026, 11, 13)
    pack = case.deadlines["pre-meeting-information"]
    assert pack.due_date == date(2026, 11, 17) and "scheduled for Wed 18 Nov 2026" in pack.explanation
    assert pack.reminder_at == local_time_on(date(2026, 11, 16), WORKING_DAY_STARTS)
    assert ("pre-meeting-information", "re-armed") in {(c.deadline_id, c.change) for c in receipt.changes}
    # The meeting's own deadline does not move.
    assert case.deadlines["initial-meeting"].due_date == date(2026, 12, 8)


def test_a_meeting_moved_moves_its_preparation_again_and_each_agency_hears_of_the_move():
    case = referred_case()
    case.apply(scheduled(date(2026, 11, 18)), at(date(2026, 11, 10)))
    case.outbox.clear()
    case.apply(scheduled(date(2026, 12, 1), [*INVITED[:2], HOUSING]), at(date(2026, 11, 11)))
    # Tue 1 Dec: the pack is due the working day before, Fri 27 Nov (St Andrew's Day, Mon 30 Nov, is a holiday);
    # the searches are back at 5 working days from the request, the sooner.
    assert case.deadlines["pre-meeting-information"].due_date == date(2026, 11, 27)
    assert case.deadlines[f"record-search:{POLICE}"].due_date == date(2026, 11, 16)
    assert case.scheduled_meeting is not None and case.scheduled_meeting.moved_from == [date(2026, 11, 18)]
    assert invitations(case) == {
        INVITED[0]: ["meeting-1 moved to Tue 01 Dec 2026"],
        INVITED[1]: ["meeting-1 moved to Tue 01 Dec 2026"],
        HOUSING: ["invitation to meeting-1 on Tue 01 Dec 2026"],
        INVITED[2]: ["invitation to meeting-1 withdrawn"],
    }


def test_a_meeting_scheduled_after_its_due_date_is_recorded_and_the_chair_told_but_still_breaches_on_that_day():
    # 003: "an initial Level 2 meeting must be held within 20 working days": the real day is recorded, the rule stands.
    case = referred_case()
    case.outbox.clear()
    case.apply(scheduled(date(2026, 12, 10)), at(date(2026, 11, 10)))
    assert case.scheduled_meeting is not None and case.scheduled_meeting.after_due_date
    flagged = [n for n in case.outbox if n.kind is NoticeKind.MEETING_SCHEDULED_LATE]
    assert [(n.to, n.passes_over, n.deadline_id) for n in flagged] == [
        (CHAIR, ["co-ordinator"], "initial-meeting")
    ]
    assert case.deadlines["pre-meeting-information"].due_date == date(2026, 12, 9)  # follows the real day
    case.tick(at(date(2026, 12, 9), 9))
    assert case.deadlines["initial-meeting"].state is DeadlineState.BREACHED


def test_a_meeting_cannot_be_scheduled_for_a_day_already_past():
    case = referred_case()
    with pytest.raises(RuleViolation, match="a day still to come") as refused:
        case.check(scheduled(date(2026, 11, 9)), at(date(2026, 11, 10)))
    assert refused.value.field == "scheduled_for"


def test_the_same_day_and_invitations_sent_again_are_already_recorded():
    case = referred_case()
    case.apply(scheduled(date(2026, 11, 18)), at(date(2026, 11, 10)))
    with pytest.raises(AlreadyRecorded):
        case.check(scheduled(date(2026, 11, 18)), at(date(2026, 11, 10), 11))


def test_only_the_co_ordinator_arranges_a_meeting():
    case = referred_case()
    chair = Actor(role=Role.CHAIR, agency=POLICE)
    with pytest.raises(NotResponsible):
        case.check(
            scheduled(date(2026, 11, 18)).model_copy(update={"sent_by": chair}), at(date(2026, 11, 10))
        )
    case.check(
        scheduled(date(2026, 11, 18)).model_copy(update={"sent_by": CO_ORDINATOR}), at(date(2026, 11, 10))
    )


def test_a_case_open_to_mappa_and_asp_invites_the_council_officer():
    # 000 "Attendance at MAPPA / ASP Meetings": the council officer or delegate attends the MAPPA meeting.
    case = referred_case()
    case.asp_open, case.asp_chair_agency, case.asp_chair_named = True, "south-lanarkshire-council", True
    with pytest.raises(RuleViolation, match="council officer") as refused:
        case.check(scheduled(date(2026, 11, 18)), at(date(2026, 11, 10)))
    assert refused.value.field == "invited"
    case.check(scheduled(date(2026, 11, 18), [*INVITED, "south-lanarkshire-council"]), at(date(2026, 11, 10)))


def test_a_case_at_level_1_has_no_meeting_to_schedule():
    case = referred_case()
    case.apply(meeting(date(2026, 11, 17), None, level=1), at(date(2026, 11, 17), 15))
    assert case.stage is Stage.LEVEL_1
    with pytest.raises(WrongStage):
        case.check(scheduled(date(2026, 12, 1)), at(date(2026, 11, 18)))


def test_a_scheduled_review_has_its_own_pre_meeting_information_before_the_day_set():
    # 003: the pre-meeting exchange goes "to all agencies attending a Level 2 or Level 3 meeting", reviews too.
    case = referred_case()
    case.apply(meeting(date(2026, 11, 17), date(2027, 2, 9)), at(date(2026, 11, 17), 15))
    case.apply(scheduled(date(2026, 12, 4), panel="PANEL-2026-14"), at(date(2026, 11, 23)))
    pack = case.deadlines["pre-meeting-information:meeting-2"]
    assert (pack.due_date, pack.responsible, pack.state) == (
        date(2026, 12, 3),
        "co-ordinator",
        DeadlineState.OPEN,
    )
    assert pack.reminder_at == local_time_on(date(2026, 12, 2), WORKING_DAY_STARTS)
    case.apply(scheduled(date(2026, 12, 11), panel="PANEL-2026-14"), at(date(2026, 11, 24)))
    assert case.deadlines["pre-meeting-information:meeting-2"].due_date == date(2026, 12, 10)
    case.outbox.clear()
    case.apply(ev.PreMeetingInformationSent(attending_agencies=INVITED), at(date(2026, 12, 9)))
    sent = [n for n in case.outbox if n.kind is NoticeKind.PRE_MEETING_INFORMATION]
    assert [n.title for n in sent] == ["pre-meeting information for meeting-2"] * 3
    assert case.deadlines["pre-meeting-information:meeting-2"].state is DeadlineState.MET
    # The review is held as scheduled: the meeting records its day and panel; the schedule is spent.
    case.apply(meeting(date(2026, 12, 11), date(2027, 3, 5)), at(date(2026, 12, 11), 15))
    held = case.meeting("meeting-2")
    assert (held.scheduled_for, held.panel_ref, case.scheduled_meeting) == (
        date(2026, 12, 11),
        "PANEL-2026-14",
        None,
    )
    assert case.deadlines["review:meeting-1"].state is DeadlineState.MET


def test_a_review_held_before_its_pre_meeting_information_was_sent_escalates_it():
    case = referred_case()
    case.apply(meeting(date(2026, 11, 17), date(2027, 2, 9)), at(date(2026, 11, 17), 15))
    case.apply(scheduled(date(2026, 12, 4)), at(date(2026, 11, 23)))
    case.apply(meeting(date(2026, 12, 4), date(2027, 2, 26)), at(date(2026, 12, 4), 15))
    pack = case.deadlines["pre-meeting-information:meeting-2"]
    assert pack.breached_at is not None and pack.state is DeadlineState.CANCELLED


def test_an_invited_agency_is_involved_in_the_case():
    from workflows.rules.involvement import involved_agencies

    case = referred_case()
    case.apply(scheduled(date(2026, 11, 18), [*INVITED, "dwp"]), at(date(2026, 11, 10)))
    assert "dwp" in involved_agencies(case)
