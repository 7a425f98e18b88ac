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
