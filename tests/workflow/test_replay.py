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

from worker.bootstrap import SANDBOX_PASSTHROUGH
from workflows.case import MappaCaseWorkflow

HISTORIES = sorted((Path(__file__).resolve().parent / "histories").glob("*.json"))


def test_histories_were_saved_for_the_journeys():
    names = {p.stem for p in HISTORIES}
    assert {"scotland-level-2-to-review", "asp-case", "custody", "exit-at-sonr-end"} <= names


@pytest.mark.parametrize("path", HISTORIES, ids=[p.stem for p in HISTORIES])
async def test_a_saved_case_history_replays_on_the_current_code(path: Path):
    history = WorkflowHistory.from_json(path.stem, path.read_text())
    replayer = Replayer(
        workflows=[MappaCaseWorkflow],
        # Histories saved before payloads were encrypted are plain JSON.
        data_converter=pydantic_data_converter,
        workflow_runner=SandboxedWorkflowRunner(
            restrictions=SandboxRestrictions.default.with_passthrough_modules(*SANDBOX_PASSTHROUGH)
        ),
    )
    result = await replayer.replay_workflow(history, raise_on_replay_failure=False)
    assert result.replay_failure is None, f"{path.stem} no longer replays: {result.replay_failure}"
