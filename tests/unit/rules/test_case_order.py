"""Every date in the case's own order (issue 10, finding 7) and one minute per meeting (finding 10). Pure."""

from datetime import date

import pytest

from tests.case_builders import meeting
from tests.unit.rules.cases import at, referred_case
from workflows.rules import events as ev
from workflows.rules.case import CaseFile, RuleViolation
from workflows.rules.deadlines import DeadlineState

DIGEST = "a" * 64


@pytest.mark.parametrize("held_on", [date(1900, 1, 1), date(2025, 6, 2), date(2026, 11, 6)])
def test_a_meeting_dated_before_the_referral_is_refused_and_breaches_nothing(held_on: date) -> None:
    case = referred_case()  # referred Mon 9 Nov 2026
    before = {k: d.state for k, d in case.deadlines.items()}
    with pytest.raises(RuleViolation, match="before the referral") as refused:
        case.apply(meeting(held_on, date(2026, 12, 1)), at(date(2026, 11, 10)))
    assert refused.value.field == "held_on"
    assert {k: d.state for k, d in case.deadlines.items()} == before
    assert not case.outbox or all(n.kind.value != "breach-escalation" for n in case.outbox)


def test_a_review_date_already_past_when_the_meeting_is_recorded_is_refused() -> None:
    case = referred_case()
    with pytest.raises(RuleViolation, match="already past") as refused:
        case.apply(meeting(date(2026, 11, 10), date(2026, 11, 20)), at(date(2026, 11, 30)))
    assert refused.value.field == "next_review_date"


def test_a_plan_action_already_past_when_the_meeting_is_recorded_is_refused() -> None:
    case = referred_case()
    late = ev.RmpActionSet(
        action_id="A1", description="visit", owner_agency="nhs-lanarkshire", due_date=date(2026, 11, 12)
    )
    with pytest.raises(RuleViolation, match="A1 is due"):
        case.apply(meeting(date(2026, 11, 10), date(2026, 12, 20), actions=[late]), at(date(2026, 11, 16)))


def test_a_meeting_on_the_day_of_its_referral_meets_the_initial_meeting_after_it_was_opened() -> None:
    case = referred_case()  # accepted at 15:00 on the 9th; a meeting that day counts from noon
    case.apply(meeting(date(2026, 11, 9), date(2026, 12, 20)), at(date(2026, 11, 9), 17))
    initial = case.deadlines["initial-meeting"]
    assert initial.state is DeadlineState.MET
    assert initial.met_at is not None and initial.met_at >= initial.opened_at


def test_one_minute_is_the_record_of_one_meeting() -> None:
    case = referred_case()
    first = meeting(date(2026, 11, 10), date(2026, 12, 20)).model_copy(
        update={"minute_ref": "MIN-AAAAAAAAAAAA", "minute_digest": DIGEST}
    )
    case.apply(first, at(date(2026, 11, 10), 15))
    second = meeting(date(2026, 11, 24), date(2027, 1, 20)).model_copy(
        update={"minute_ref": "MIN-AAAAAAAAAAAA", "minute_digest": DIGEST}
    )
    with pytest.raises(RuleViolation, match="already the record of meeting-1") as refused:
        case.apply(second, at(date(2026, 11, 24), 15))
    assert refused.value.field == "minute_ref"
    assert len(case.meetings) == 1


def test_a_case_opened_before_the_correction_keeps_the_rule_as_it_was() -> None:
    case = referred_case()
    old = CaseFile.model_validate(case.model_dump() | {"rule_changes": []})
    old.apply(meeting(date(2026, 11, 6), date(2026, 12, 1)), at(date(2026, 11, 10)))
    assert old.meetings[0].held_on == date(2026, 11, 6)
