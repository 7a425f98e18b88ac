"""Stage 5: exit from MAPPA (003 stage 5). In the guidance's words; pure: a clock is passed in."""

from datetime import date, timedelta

import pytest

from tests.case_builders import (
    community_notification,
)
from tests.unit.rules.cases import at
from workflows.rules import events as ev
from workflows.rules.case import CaseFile, RuleViolation, Stage


def test_sonr_end_needs_notice_eight_weeks_before_and_exit_closes_the_case():
    sonr_end = date(2027, 6, 30)
    case = CaseFile.open(
        community_notification(disposal_date=date(2026, 11, 2), sonr_end_date=sonr_end), at(date(2026, 11, 4))
    )
    assert case.deadlines["sonr-exit-notice"].due_date == sonr_end - timedelta(weeks=8)
    assert case.deadlines["exit-review"].due_date == date(2027, 6, 29)
    case.apply(
        ev.ScreeningDecision(outcome="level-1", reason="RSO, ordinary management"), at(date(2026, 11, 5))
    )
    case.apply(ev.SonrEndNoticeGiven(given_by="police-scotland-lanarkshire"), at(date(2027, 4, 20)))
    case.apply(ev.ExitDecision(outcome="exit", reason="SONR ended; no SHPO sought"), at(date(2027, 6, 28)))
    assert case.stage is Stage.EXITED
    assert case.exit_record is not None and case.open_deadlines() == []


def test_an_shpo_keeps_the_case_open_with_a_new_sonr_end():
    case = CaseFile.open(
        community_notification(disposal_date=date(2026, 11, 2), sonr_end_date=date(2027, 6, 30)),
        at(date(2026, 11, 4)),
    )
    with pytest.raises(RuleViolation, match="new SONR end date"):
        case.check(ev.ExitDecision(outcome="shpo-granted", reason="SHPO"), at(date(2027, 5, 1)))
    case.apply(
        ev.ExitDecision(outcome="shpo-granted", reason="SHPO granted", new_sonr_end_date=date(2032, 6, 30)),
        at(date(2027, 5, 1)),
    )
    assert case.stage is not Stage.EXITED
    assert case.deadlines["exit-review"].due_date == date(2032, 6, 29)


# ------------------------------------------------------------------ exit basis


def _category_2(supervision_end: date) -> CaseFile:
    opening = community_notification(disposal_date=date(2026, 11, 2), category=2).model_copy(
        update={"supervision_end_date": supervision_end}
    )
    return CaseFile.open(opening, at(date(2026, 11, 4)))


def test_the_end_of_supervision_prompts_exit_planning_for_category_2_as_the_sonr_end_does_for_category_1():
    end = date(2027, 6, 30)  # a Wednesday
    case = _category_2(end)
    notice, review = case.deadlines["supervision-end-notice"], case.deadlines["supervision-exit-review"]
    assert notice.due_date == end - timedelta(weeks=8) and notice.responsible == "police-scotland-lanarkshire"
    assert review.due_date == date(2027, 6, 29) and review.responsible == "co-ordinator"
    case.apply(ev.SupervisionEndNoticeGiven(given_by="police-scotland-lanarkshire"), at(date(2027, 4, 20)))
    assert notice.state.value == "met"


def test_continuing_past_the_sonr_end_needs_a_recorded_basis():
    sonr_end = date(2027, 6, 30)
    case = CaseFile.open(
        community_notification(disposal_date=date(2026, 11, 2), sonr_end_date=sonr_end), at(date(2026, 11, 4))
    )
    with pytest.raises(RuleViolation, match="needs a recorded basis") as refused:
        case.check(ev.ExitDecision(outcome="continue", reason="still a risk"), at(date(2027, 6, 1)))
    assert refused.value.field == "continue_basis"
    case.apply(
        ev.ExitDecision(
            outcome="continue",
            reason="still a risk to the public",
            continue_basis="other-risk-of-serious-harm",
        ),
        at(date(2027, 6, 1)),
    )
    assert case.continue_basis == "other-risk-of-serious-harm" and case.category == 3
    assert case.deadlines["exit-review"].state.value == "met"


def test_a_deadline_counted_back_in_weeks_that_lands_on_a_weekend_moves_to_the_working_day_before():
    sonr_end = date(2027, 5, 15)  # 8 weeks before is Saturday 20 March 2027
    opening = community_notification(disposal_date=date(2026, 11, 2), sonr_end_date=sonr_end)
    case = CaseFile.open(opening, at(date(2026, 11, 4)))
    notice = case.deadlines["sonr-exit-notice"]
    assert notice.due_date == date(2027, 3, 19)
    assert "not a working day" in notice.explanation
    before = CaseFile.open(opening, at(date(2026, 11, 4)), rule_changes=[])  # opened before the correction
    assert before.deadlines["sonr-exit-notice"].due_date == date(2027, 3, 20)
