"""A recall to custody and the re-release (003 stage 4 for the meeting before release; the seeds are silent on
recall, the README's table of choices says what the system does). Pure: a clock is passed in."""

from datetime import date, timedelta

import pytest

from tests.case_builders import meeting
from tests.unit.rules.cases import at, referred_case
from workflows.rules import events as ev
from workflows.rules.case import CaseFile, RuleViolation, Stage
from workflows.rules.deadlines import DeadlineState
from workflows.rules.errors import AlreadyRecorded, WrongStage
from workflows.rules.policy import DeadlineKind, area_policy

PRISON = "sps"
POLICE = "police-scotland-lanarkshire"


def _managed_level_2_case() -> CaseFile:
    """Level 2 since the initial meeting on Tue 1 Dec 2026: review set for Tue 23 Feb 2027, an RMP action due
    Fri 15 Jan 2027, minutes due 5 working days after the meeting."""
    case = referred_case()
    held = date(2026, 12, 1)
    action = ev.RmpActionSet(
        action_id="A1", owner_agency=POLICE, description="home visit", due_date=date(2027, 1, 15)
    )
    case.apply(meeting(held, date(2027, 2, 23), actions=[action]), at(held))
    return case


def _recall(on: date, by: str = POLICE) -> ev.RecalledToCustody:
    return ev.RecalledToCustody(recorded_by=by, recalled_on=on, reason="licence-breach")


def _re_release(on: date) -> ev.ReleaseDateChanged:
    return ev.ReleaseDateChanged(recorded_by=PRISON, release_date=on, reason="recall")


def test_a_recall_pauses_the_community_review_and_plan_actions_with_the_reason_recorded():
    """The review and the plan's actions cannot be done in prison: paused, each change recorded with its
    reason, never dropped. The minutes of the meeting before it are still owed (001, 003: 5 working days)."""
    case = _managed_level_2_case()
    receipt = case.apply(_recall(date(2026, 12, 3)), at(date(2026, 12, 3)))
    review, action = case.deadlines["review:meeting-1"], case.deadlines["rmp:meeting-1:A1"]
    assert review.state is action.state is DeadlineState.PAUSED
    assert review.pause_reason is not None and "recalled to custody on Thu 03 Dec 2026" in review.pause_reason
    assert {(c.deadline_id, c.change) for c in receipt.changes} == {
        ("review:meeting-1", "paused"),
        ("rmp:meeting-1:A1", "paused"),
    }
    assert case.deadlines["minutes:meeting-1"].is_open
    assert case.stage is Stage.ACTIVE_MANAGEMENT
    # Nothing paused is reminded or breached while the subject is in prison.
    case.tick(at(date(2027, 3, 1)))
    assert review.state is action.state is DeadlineState.PAUSED


def test_the_re_release_opens_the_meeting_before_release_as_for_a_custody_case():
    """003 stage 4: "For those offenders within custody ... the initial Level 2 or Level 3 meeting must take
    place prior to their release": the same rule counted back from the re-release day, reminded 10 working days
    before as a custody case's is."""
    case = _managed_level_2_case()
    case.apply(_recall(date(2026, 12, 3)), at(date(2026, 12, 3)))
    release = date(2027, 3, 15)  # a Monday
    case.apply(_re_release(release), at(date(2026, 12, 10)))
    [meeting_due] = [
        d for d in case.open_deadlines() if d.kind is DeadlineKind.INITIAL_MEETING_BEFORE_RELEASE
    ]
    policy = area_policy("lanarkshire")
    assert meeting_due.deadline_id == "pre-release-meeting:1"
    assert meeting_due.due_date == policy.calendar.subtract_working_days(release, 1)
    assert meeting_due.reminder_at is not None
    assert meeting_due.reminder_at.date() == policy.calendar.subtract_working_days(meeting_due.due_date, 10)
    assert "re-release after recall" in meeting_due.title


def test_what_the_recall_paused_is_owed_again_as_long_after_the_re_release_as_it_had_left():
    case = _managed_level_2_case()
    recalled = date(2026, 12, 3)
    case.apply(_recall(recalled), at(recalled))
    release = date(2027, 3, 15)
    receipt = case.apply(_re_release(release), at(date(2026, 12, 10)))
    review, action = case.deadlines["review:meeting-1"], case.deadlines["rmp:meeting-1:A1"]
    assert review.state is action.state is DeadlineState.OPEN
    assert review.due_date == release + (date(2027, 2, 23) - recalled)
    assert action.due_date == release + (date(2027, 1, 15) - recalled)
    assert {"resumed"} == {c.change for c in receipt.changes if c.deadline_id.startswith(("review", "rmp"))}
    # A moved re-release moves them, and the meeting before it, again.
    later = release + timedelta(days=14)
    case.apply(_re_release(later), at(date(2026, 12, 11)))
    assert review.due_date == later + (date(2027, 2, 23) - recalled)
    assert case.deadlines["pre-release-meeting:1"].due_date < later


def test_the_meeting_before_re_release_meets_the_deadline_and_sets_the_next_review():
    case = _managed_level_2_case()
    case.apply(_recall(date(2026, 12, 3)), at(date(2026, 12, 3)))
    case.apply(_re_release(date(2027, 3, 15)), at(date(2026, 12, 10)))
    held = date(2027, 3, 9)
    case.apply(meeting(held, date(2027, 5, 25)), at(held))
    assert case.deadlines["pre-release-meeting:1"].state is DeadlineState.MET
    assert case.deadlines["review:meeting-2"].is_open


def test_the_pre_release_meeting_breaches_when_the_release_comes_without_it():
    case = _managed_level_2_case()
    case.apply(_recall(date(2026, 12, 3)), at(date(2026, 12, 3)))
    case.apply(_re_release(date(2027, 3, 15)), at(date(2026, 12, 10)))
    case.tick(at(date(2027, 3, 15)))
    d = case.deadlines["pre-release-meeting:1"]
    assert d.state is DeadlineState.BREACHED
    assert any(n.deadline_id == d.deadline_id and n.kind == "breach-escalation" for n in case.outbox)


def test_a_missed_review_stays_missed_across_a_recall():
    case = _managed_level_2_case()
    case.tick(at(date(2027, 2, 24)))
    assert case.deadlines["review:meeting-1"].state is DeadlineState.BREACHED
    case.apply(_recall(date(2027, 2, 25)), at(date(2027, 2, 25)))
    assert case.deadlines["review:meeting-1"].state is DeadlineState.BREACHED


def test_a_release_date_for_a_community_case_never_recalled_is_refused():
    case = _managed_level_2_case()
    with pytest.raises(RuleViolation, match="recalled to custody"):
        case.apply(_re_release(date(2027, 3, 15)), at(date(2026, 12, 10)))


def test_a_recall_is_dated_in_the_case_order_and_recorded_once():
    case = _managed_level_2_case()
    with pytest.raises(RuleViolation, match="once it has happened"):
        case.apply(_recall(date(2026, 12, 5)), at(date(2026, 12, 4)))
    with pytest.raises(RuleViolation, match="case's order"):
        case.apply(_recall(date(2026, 11, 30)), at(date(2026, 12, 4)))
    case.apply(_recall(date(2026, 12, 3)), at(date(2026, 12, 4)))
    with pytest.raises(AlreadyRecorded):
        case.apply(_recall(date(2026, 12, 4)), at(date(2026, 12, 4)))
    with pytest.raises(RuleViolation, match="after the recall"):
        case.apply(_re_release(date(2026, 12, 2)), at(date(2026, 12, 4)))


def test_a_case_not_yet_under_management_cannot_be_recalled():
    with pytest.raises(WrongStage):
        referred_case().apply(_recall(date(2026, 11, 10)), at(date(2026, 11, 10)))


def test_an_exit_while_recalled_ends_what_the_recall_paused():
    case = _managed_level_2_case()
    case.apply(_recall(date(2026, 12, 3)), at(date(2026, 12, 3)))
    case.apply(ev.ExitDecision(outcome="exit", reason="died in custody"), at(date(2026, 12, 4)))
    assert case.deadlines["review:meeting-1"].state is DeadlineState.CANCELLED
    assert "review:meeting-1" in case.exit_record.open_deadlines_cancelled  # type: ignore[union-attr]
