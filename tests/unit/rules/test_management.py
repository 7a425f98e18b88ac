"""Stage 4: active management, changes in risk and of level (003 stage 4). In the guidance's words; pure: a clock is passed in."""

from datetime import date, timedelta

from tests.case_builders import (
    meeting,
)
from tests.unit.rules.cases import at, referred_case
from workflows.rules import events as ev
from workflows.rules.deadlines import DeadlineState
from workflows.rules.policy import DeadlineKind


def test_a_risk_change_escalating_to_level_3_rearms_the_review_at_six_weeks():
    case = referred_case()
    held = date(2026, 12, 1)
    case.apply(meeting(held, date(2027, 2, 23)), at(held))
    case.apply(
        ev.RiskChangeReported(
            reporting_agency="police-scotland-lanarkshire", direction="increased", summary="breach of licence"
        ),
        at(date(2026, 12, 10)),
    )
    assert case.deadlines["triage:risk-change-1"].due_date == date(2026, 12, 11)
    case.apply(
        ev.RiskChangeTriaged(
            change_id="risk-change-1",
            outcome="level-change",
            new_level=3,
            reason="risk now very high",
            level_2_cannot_deliver="police resources at short notice",
        ),
        at(date(2026, 12, 10), 15),
    )
    assert case.level == 3
    assert case.deadlines["review:meeting-1"].state is DeadlineState.CANCELLED
    review = next(d for d in case.open_deadlines() if d.kind is DeadlineKind.REVIEW_LEVEL_3)
    assert review.due_date == date(2026, 12, 10) + timedelta(weeks=6)
