"""Which events reopen a case whose workflow has completed: exactly those the core accepts at stage exited."""

from __future__ import annotations

from api.case_service import reopens
from workflows.rules import events as ev
from workflows.rules.registry import EVENTS
from workflows.rules.stages import Stage


def test_only_a_subject_access_request_reopens_a_case_that_has_exited_mappa() -> None:
    assert reopens(ev.SubjectAccessRequested(meeting_ids=["meeting-1"]))
    assert [row.event for row in EVENTS if Stage.EXITED in row.stages] == [ev.SubjectAccessRequested]


def test_what_a_closed_case_does_not_take_reopens_nothing() -> None:
    assert not reopens(ev.ScreeningDecision(outcome="level-1", reason="late"))
    assert not reopens(ev.SarDecided(sar_id="sar-1", outcome="disclose", reason="nothing to withhold"))
    assert not reopens(ev.MinutesCirculated(meeting_id="meeting-1", recipients=["nhs-lanarkshire"]))
