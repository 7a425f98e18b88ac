"""The stage table: which events each stage accepts. In the guidance's words; pure: a clock is passed in."""

from datetime import date

import pytest

from tests.case_builders import (
    community_notification,
    meeting,
)
from tests.unit.rules.cases import at
from workflows.rules.case import CaseFile, WrongStage


def test_events_out_of_stage_are_refused_with_the_stage_named():
    case = CaseFile.open(community_notification(disposal_date=date(2026, 11, 2)), at(date(2026, 11, 4)))
    with pytest.raises(WrongStage, match="stage 'notification'"):
        case.check(meeting(date(2026, 11, 4), date(2027, 1, 1)), at(date(2026, 11, 4)))
