"""The case's timer for its earliest deadline is started once and kept while events leave that moment where it
was (issue 19: before, every event cancelled it and started it again). Kept, it still reminds and breaches on
time; an event that brings the earliest moment forward replaces it."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from temporalio.api.enums.v1 import EventType
from temporalio.client import WorkflowHandle

from tests.case_builders import asp_criteria_not_met, community_notification
from tests.workflow.conftest import CaseRig
from workflows.rules import events as ev
from workflows.rules.calendar import local_date


def _settled(kinds: list[EventType.ValueType]) -> bool:
    """Every activity has finished and a workflow task has completed after the last of them: the case has
    done what its last event asked (the timer starts in the workflow task after the ledger write)."""
    closed = (
        EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED,
        EventType.EVENT_TYPE_ACTIVITY_TASK_FAILED,
        EventType.EVENT_TYPE_ACTIVITY_TASK_TIMED_OUT,
        EventType.EVENT_TYPE_ACTIVITY_TASK_CANCELED,
    )
    if kinds.count(EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED) != sum(kinds.count(k) for k in closed):
        return False
    last_activity = max((i for i, k in enumerate(kinds) if k in closed), default=-1)
    return EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED in kinds[last_activity + 1 :]


async def timers(handle: WorkflowHandle) -> tuple[int, int]:
    """Timers started and cancelled in the case's history, once the case has settled: no activity outstanding,
    one timer running and the history unchanged for a moment."""
    last: list[EventType.ValueType] = []
    counts = (0, 0)
    for _ in range(100):
        kinds = [e.event_type for e in (await handle.fetch_history()).events]
        counts = (
            kinds.count(EventType.EVENT_TYPE_TIMER_STARTED),
            kinds.count(EventType.EVENT_TYPE_TIMER_CANCELED),
        )
        if kinds == last and _settled(kinds) and counts[0] - counts[1] == 1:
            return counts
        last = kinds
        await asyncio.sleep(0.1)
    raise AssertionError(f"the case did not settle with one timer running: {counts}")


async def test_an_event_that_moves_no_deadline_keeps_the_timer_and_the_deadline_still_breaches_on_time(
    rig: CaseRig,
):
    ref = "MAPPA-LAN-2026-TIMER1"
    handle = await rig.open_case(community_notification(ref, disposal_date=local_date(await rig.now())))
    status = await rig.status(handle)
    earliest = min((d for d in status.deadlines if d.state == "open"), key=lambda d: d.due_at)
    assert await timers(handle) == (1, 0)

    # The subject is told of the MAPPA: recorded, and no deadline moves.
    await rig.send(handle, ev.SubjectInformed(informed=True))
    still_open = [d for d in (await rig.status(handle)).deadlines if d.state == "open"]
    assert min(d.due_at for d in still_open) == earliest.due_at
    assert await timers(handle) == (1, 0)

    # Nobody acts: the kept timer wakes the case for the reminder, then when the deadline falls due, and the
    # breach is escalated.
    await rig.pass_time(earliest.due_at - await rig.now() + timedelta(hours=1))
    row = await rig.ledger_row(ref, earliest.deadline_id, "breached")
    assert row.breached_at is not None and row.breached_at >= earliest.due_at
    await rig.wait_for_mail(ref, "reminder", "ASP")
    await rig.wait_for_mail(ref, "BREACHED", "ASP")


async def test_an_event_that_meets_the_earliest_deadline_replaces_the_timer(rig: CaseRig):
    # The ASP screening (24 hours) is the earliest moment when the case opens on a Monday morning. Opened on a
    # Saturday afternoon it was not (the other deadlines count working days), so meeting it rightly kept the
    # timer; the server's clock moves to the next Monday 08:00 so the test holds on any day.
    now = await rig.now()
    days_to_monday = (7 - now.weekday()) % 7 or 7
    await rig.pass_time((now + timedelta(days=days_to_monday)).replace(hour=8, minute=0, second=0) - now)
    ref = "MAPPA-LAN-2026-TIMER2"
    handle = await rig.open_case(community_notification(ref, disposal_date=local_date(await rig.now())))
    assert await timers(handle) == (1, 0)
    # The subject is screened against the ASP 3-point criteria (not met): the 24-hour screening is met, and
    # the earliest moment is now another deadline's.
    await rig.send(
        handle,
        asp_criteria_not_met(),
    )
    assert (await rig.deadline(handle, "asp-screening:notification")).state == "met"
    # One timer per earliest moment: the new moment cancels the old timer and starts one for it.
    assert await timers(handle) == (2, 1)
