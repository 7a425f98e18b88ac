"""A corrected rule reaches new cases at once and running cases at their next run, without breaking the
histories of cases opened before it (workflows/rules/rule_changes.py)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from temporalio.client import WorkflowHistory
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.worker import Replayer
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner, SandboxRestrictions

from tests.case_builders import community_notification
from tests.workflow.conftest import CaseRig
from worker.assembly import SANDBOX_PASSTHROUGH
from workflows.case import CORRECTIONS_THROUGH, MappaCaseWorkflow
from workflows.rules import rule_changes
from workflows.rules.calendar import local_date
from workflows.rules.case import CaseFile

HISTORIES = Path(__file__).resolve().parent / "histories"
CORRECTION = "a-test-correction"


def markers(history: WorkflowHistory) -> list[str]:
    """What each patch marker in the history says (its details name the patch)."""
    return [
        str(e.marker_recorded_event_attributes.details)
        for e in history.events
        if e.HasField("marker_recorded_event_attributes")
    ]


async def test_a_case_opened_after_a_correction_follows_it_and_its_history_says_so(
    rig: CaseRig, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setattr(rule_changes, "RULE_CHANGES", (CORRECTION,))
    today = local_date(await rig.now())
    handle = await rig.open_case(community_notification("MAPPA-LAN-2026-RULE01", disposal_date=today))
    case = await handle.query(MappaCaseWorkflow.case_file, result_type=CaseFile)
    assert case.follows(CORRECTION)
    assert any(CORRECTION in m for m in markers(await handle.fetch_history()))


async def test_a_new_case_records_every_correction_in_force_as_one_marker_naming_the_newest(rig: CaseRig):
    # Each patch marker is two history events (with the SDK's TemporalChangeVersion upsert): one per correction
    # made every new case carry 78 events of them, in every cached case and every replay.
    today = local_date(await rig.now())
    handle = await rig.open_case(community_notification("MAPPA-LAN-2026-RULE02", disposal_date=today))
    case = await handle.query(MappaCaseWorkflow.case_file, result_type=CaseFile)
    assert case.rule_changes == sorted(rule_changes.RULE_CHANGES)
    history = await handle.fetch_history()
    assert len(markers(history)) == 1
    assert f"{CORRECTIONS_THROUGH}{rule_changes.RULE_CHANGES[-1]}" in markers(history)[0]
    upserts = [e for e in history.events if e.HasField("upsert_workflow_search_attributes_event_attributes")]
    assert len(upserts) <= 2  # the case's own attributes, and at most the SDK's one for the marker


async def test_a_history_recorded_before_later_corrections_replays_under_the_corrections_it_recorded(
    monkeypatch: pytest.MonkeyPatch,
):
    path = HISTORIES / "scotland-level-2-to-review.json"
    monkeypatch.setattr(rule_changes, "RULE_CHANGES", (*rule_changes.RULE_CHANGES, CORRECTION))
    replayer = Replayer(
        workflows=[MappaCaseWorkflow],
        data_converter=pydantic_data_converter,
        workflow_runner=SandboxedWorkflowRunner(
            restrictions=SandboxRestrictions.default.with_passthrough_modules(*SANDBOX_PASSTHROUGH)
        ),
    )
    result = await replayer.replay_workflow(
        WorkflowHistory.from_json(path.stem, path.read_text()), raise_on_replay_failure=False
    )
    assert result.replay_failure is None


async def test_a_history_made_before_a_correction_replays_under_the_rule_as_it_was(
    monkeypatch: pytest.MonkeyPatch,
):
    monkeypatch.setattr(rule_changes, "RULE_CHANGES", (*rule_changes.RULE_CHANGES, CORRECTION))
    path = HISTORIES / "before-rule-changes" / "scotland-level-2-to-review.json"
    replayer = Replayer(
        workflows=[MappaCaseWorkflow],
        data_converter=pydantic_data_converter,
        workflow_runner=SandboxedWorkflowRunner(
            restrictions=SandboxRestrictions.default.with_passthrough_modules(*SANDBOX_PASSTHROUGH)
        ),
    )
    result = await replayer.replay_workflow(
        WorkflowHistory.from_json(path.stem, path.read_text()), raise_on_replay_failure=False
    )
    assert result.replay_failure is None


def test_a_running_case_takes_up_corrections_once_and_keeps_them_sorted():
    now = datetime(2026, 12, 1, 10, tzinfo=UTC)
    case = CaseFile.open(community_notification(disposal_date=local_date(now)), now, rule_changes=["b"])
    case.take_up(["a", "b"])
    assert case.rule_changes == ["a", "b"]
    assert case.follows("a") and not case.follows("c")
