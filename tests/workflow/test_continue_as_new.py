"""A case lives for years: on the real dev server, with the continue-as-new threshold lowered to 200 history
events (tests/conftest.py), a busy case continues as new and carries every open deadline and every
recent idempotency key it has already answered (a retry comes seconds after the first attempt)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from temporalio.client import WorkflowHandle

from tests.case_builders import accept, community_notification, meeting, referral
from tests.workflow.conftest import CaseRig
from workflows.case import SEEN_KEYS_CARRIED, MappaCaseWorkflow
from workflows.messages import CaseStatus, Receipt
from workflows.rules import events as ev
from workflows.rules.calendar import local_date

pytestmark = pytest.mark.timeout(240)


async def runs_of(handle: WorkflowHandle[Any, Any]) -> int:
    status: CaseStatus = await handle.query(MappaCaseWorkflow.status)
    return status.runs


async def test_a_busy_case_continues_as_new_with_its_open_deadlines_and_seen_keys(dev_rig: CaseRig):
    rig = dev_rig
    ref = "MAPPA-LAN-2026-LONG01"
    today = local_date(await rig.now())
    handle = await rig.open_case(community_notification(ref, disposal_date=today))
    await rig.send(handle, referral(2), key="police:referral-1")
    await rig.send(handle, accept(2), key="co:accept-1")
    await rig.send(handle, meeting(today, today + timedelta(weeks=10)), key="chair:meeting-1")

    # Each risk change reported and triaged is a pair of updates and a ledger write: ~20 history events.
    n = 0
    sent: tuple[ev.RiskChangeTriaged, str, Receipt] | None = None
    last_of_first_run: tuple[ev.RiskChangeTriaged, str, Receipt] | None = None
    while await runs_of(handle) == 1:
        last_of_first_run = sent  # the pair sent before was answered in the first run
        n += 1
        assert n <= 40, "the case never continued as new"
        await rig.send(
            handle,
            ev.RiskChangeReported(
                reporting_agency="police-scotland-lanarkshire",
                direction="increased",
                summary=f"intelligence {n}",
            ),
            key=f"police:risk-{n}",
        )
        triage = ev.RiskChangeTriaged(
            change_id=f"risk-change-{n}", outcome="no-action", reason="no change to the plan"
        )
        sent = (triage, f"co:triage-{n}", await rig.send(handle, triage, key=f"co:triage-{n}"))

    status = await rig.status(handle)
    open_ids = {d.deadline_id for d in status.deadlines if d.state in ("open", "breached")}
    # What the case owed before it continued as new, it still owes.
    assert {"review:meeting-1", "minutes:meeting-1", "swis-alert:meeting-1"} <= open_ids
    assert any(d.startswith("record-search:") for d in open_ids)
    history = await handle.fetch_history()
    assert len(history.events) < 200

    # A retry of the last update answered in the first run gets the first answer, flagged as a repeat, and no
    # second effect (a second triage of the same change would be refused).
    assert last_of_first_run is not None
    triage, key, first = last_of_first_run
    again = await rig.send(handle, triage, key=key)
    assert again.replayed and again.changes == first.changes
    # The first key of the first run (its answer carried in full or only as a digest, depending on how many
    # updates the first run took) is still known: answered as a repeat, no second effect.
    oldest = await rig.send(handle, referral(2), key="police:referral-1")
    assert oldest.replayed and oldest.event == "ReferralSubmitted"
    assert len(rig.mail_for(ref, "referral received")) == 1
    carried = await handle.query(MappaCaseWorkflow.carried_state)
    assert 0 < len(carried.seen) <= SEEN_KEYS_CARRIED + 2, "the keys carried are bounded"

    # The new run still takes events and keeps time.
    receipt = await rig.send(
        handle, ev.MinutesCirculated(meeting_id="meeting-1", recipients=["nhs-lanarkshire"])
    )
    assert any(c.deadline_id == "minutes:meeting-1" and c.change == "met" for c in receipt.changes)
    await rig.keep_history(handle, "perf/run-after-continue-on-own-count")
