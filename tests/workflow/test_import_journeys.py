"""A case imported already in progress, through the workflow on the time-skipping server: it stands at its stage,
what fell due before the import is recorded as breached without an e-mail per deadline, and live events carry
on from there. Histories are kept under histories/imported/ for the replay test."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
from temporalio.client import WorkflowHandle

from tests.case_builders import community_notification, meeting
from tests.workflow.conftest import CaseRig
from workflows.case import MappaCaseWorkflow
from workflows.messages import CaseWorkflowInput
from workflows.rules import events as ev
from workflows.rules.calendar import local_date
from workflows.rules.imported_row import ImportedPosition, ImportedRmpAction
from workflows.rules.policy import area_policy

pytestmark = pytest.mark.timeout(120)

LANARKSHIRE = area_policy("lanarkshire").calendar


async def start_imported(
    rig: CaseRig, case_ref: str, position: ImportedPosition, opening: ev.CaseOpening | None = None
) -> WorkflowHandle[Any, Any]:
    base = opening or community_notification(disposal_date=date(2026, 11, 2))
    handle = await rig.client.start_workflow(
        MappaCaseWorkflow.run,
        CaseWorkflowInput(
            opening=base.model_copy(update={"case_ref": case_ref, "notification": None}), imported=position
        ),
        id=case_ref,
        task_queue=rig.task_queue,
    )
    rig.handles.append(handle)
    return handle


def working_days_before(day: date, n: int) -> date:
    return LANARKSHIRE.subtract_working_days(day, n)


async def test_a_case_imported_between_meetings_keeps_its_past_action_breached_and_takes_live_events(
    rig: CaseRig,
):
    ref = "MAPPA-LAN-2026-IMPORT1"
    today = local_date(await rig.now())
    held = working_days_before(today, 10)
    position = ImportedPosition(
        import_ref="LAN-JOURNEY-1",
        stage="active-management",
        level=2,
        notified_on=working_days_before(today, 40),
        asp_screened_on=working_days_before(today, 39),
        screened_on=working_days_before(today, 39),
        referral_received_on=working_days_before(today, 35),
        accepted_on=working_days_before(today, 34),
        last_meeting_on=held,
        next_review_date=held + timedelta(weeks=8),
        rmp_actions=[
            ImportedRmpAction(
                action_id="A1", owner_agency="nhs-lanarkshire", due_date=held + timedelta(days=2)
            ),
            ImportedRmpAction(
                action_id="A2", owner_agency="lanarkshire-housing", due_date=today + timedelta(days=30)
            ),
        ],
    )
    handle = await start_imported(rig, ref, position)
    status = await rig.status(handle)
    assert (status.summary.stage, status.summary.level) == ("active-management", 2)
    past = await rig.deadline(handle, "rmp:meeting-1:A1")
    assert past.state == "breached" and past.pre_go_live
    await rig.ledger_row(ref, "rmp:meeting-1:A1", "breached")
    # Recorded as breached before go-live: no e-mail of its own (the import's one summary lists it).
    assert rig.mail_for(ref) == []
    await rig.send(handle, ev.RmpActionCompleted(meeting_id="meeting-1", action_id="A1"))
    await rig.pass_time(timedelta(days=1))
    await rig.send(
        handle,
        meeting(
            local_date(await rig.now()),
            local_date(await rig.now()) + timedelta(weeks=8),
            attendees=["lanarkshire-justice-social-work", "nhs-lanarkshire"],
        ),
    )
    assert (await rig.deadline(handle, "review:meeting-1")).state == "met"
    await rig.keep_history(handle, "imported/between-meetings")
