"""Saved histories of whole cases replay against the current workflow code.

Cases run for years, so a change to `MappaCaseWorkflow` that would take a different path through an old
history breaks every running case. Changes that do must be guarded with `workflow.patched`; this test is
what catches the ones that are not. Record new histories with `RECORD_HISTORIES=1 pytest tests/workflow`.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from temporalio.client import WorkflowHistory
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.worker import Replayer
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner, SandboxRestrictions

from worker.assembly import SANDBOX_PASSTHROUGH
from workflows.case import CORRECTIONS_THROUGH, MappaCaseWorkflow

ROOT = Path(__file__).resolve().parent / "histories"
# The newest recordings sit in histories/; those made before a patch keep a folder named for it, so that
# cases started under every earlier version of the code are replayed too.
HISTORIES = sorted(ROOT.rglob("*.json"))
JOURNEYS = {"scotland-level-2-to-review", "asp-case", "custody", "exit-at-sonr-end"}


def test_histories_were_saved_for_the_journeys_under_every_version_of_the_loop():
    assert {p.stem for p in ROOT.glob("*.json")} >= JOURNEYS
    for before_patch in (
        "before-notices-in-background",
        "before-notices-with-ledger",
        "before-rule-changes",
        "before-corrections-through",
        "before-timer-kept",
    ):
        assert {p.stem for p in (ROOT / before_patch).glob("*.json")} >= JOURNEYS
    markers = [
        e.marker_recorded_event_attributes
        for e in WorkflowHistory.from_json(
            "newest", (ROOT / "scotland-level-2-to-review.json").read_text()
        ).events
        if e.HasField("marker_recorded_event_attributes")
    ]
    # The newest recordings took the patched path: one marker for every rule correction.
    assert [m.marker_name for m in markers] == ["core_patch"]
    assert CORRECTIONS_THROUGH in str(markers[0].details)


@pytest.mark.parametrize("path", HISTORIES, ids=[str(p.relative_to(ROOT).with_suffix("")) for p in HISTORIES])
async def test_a_saved_case_history_replays_on_the_current_code(path: Path):
    history = WorkflowHistory.from_json(path.stem, path.read_text())
    replayer = Replayer(
        workflows=[MappaCaseWorkflow],
        # Histories are saved decrypted (the recording session's key is gone): plain pydantic JSON.
        data_converter=pydantic_data_converter,
        workflow_runner=SandboxedWorkflowRunner(
            restrictions=SandboxRestrictions.default.with_passthrough_modules(*SANDBOX_PASSTHROUGH)
        ),
    )
    result = await replayer.replay_workflow(history, raise_on_replay_failure=False)
    assert result.replay_failure is None, f"{path.stem} no longer replays: {result.replay_failure}"
