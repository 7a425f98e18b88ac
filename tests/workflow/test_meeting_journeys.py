"""Meetings scheduled before they are held, on the time-skipping test server: the invitations reach a real SMTP
server, the pre-meeting information is reminded and breached as the day set (and each move of it) says, and the
meeting's statutory deadline is breached on its own day whatever was scheduled (001, 003 stage 4).

Dates depend on the day the suite runs: every expected date is counted with the case's working-day calendar.
"""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from tests.case_builders import SCOTTISH_AGENCIES, accept, community_notification, meeting, referral
from tests.workflow.conftest import CaseRig
from workflows.case import MappaCaseWorkflow
from workflows.rules import events as ev
from workflows.rules.calendar import local_date, local_time_on
from workflows.rules.due_dates import WORKING_DAY_STARTS
from workflows.rules.policy import area_policy

pytestmark = pytest.mark.timeout(180)

LANARKSHIRE = area_policy("lanarkshire").calendar
INVITED = SCOTTISH_AGENCIES[:3]


async def today(rig: CaseRig) -> date:
    return local_date(await rig.now())


async def accepted_case(rig: CaseRig, ref: str):
    handle = await rig.open_case(community_notification(ref, disposal_date=await today(rig)))
    await rig.send(
        handle, ev.ScreeningDecision(outcome="referral-needed", reason="joint assessment: high risk")
    )
    await rig.send(handle, referral(2))
    await rig.send(handle, accept(2))
    return handle


async def test_a_scheduled_review_has_its_pre_meeting_information_reminded_and_breached_as_its_day_moves(
    rig: CaseRig,
):
    ref = "MAPPA-LAN-2026-MEET01"
    handle = await accepted_case(rig, ref)
    held = await today(rig)
    for agency in SCOTTISH_AGENCIES:
        await rig.send(handle, ev.RecordSearchReturned(agency=agency))
    await rig.send(handle, ev.PreMeetingInformationSent(attending_agencies=INVITED))
    await rig.send(handle, meeting(held, held + timedelta(weeks=12)))
    await rig.send(handle, ev.MinutesCirculated(meeting_id="meeting-1", recipients=INVITED))
    await rig.send(handle, ev.SwisAlertUpdated(meeting_id="meeting-1"))
    review = await rig.deadline(handle, "review:meeting-1")

    # The co-ordinator arranges the review ten working days ahead, on a panel day: each agency is invited.
    first = LANARKSHIRE.add_working_days(held, 10).due_date
    await rig.send(
        handle, ev.MeetingScheduled(scheduled_for=first, invited=INVITED, panel_ref="PANEL-2026-14")
    )
    assert len(await rig.wait_for_mail(ref, "invitation to meeting-2", count=3)) == 3
    pack = await rig.deadline(handle, "pre-meeting-information:meeting-2")
    assert pack.due_date == LANARKSHIRE.subtract_working_days(first, 1)

    # Moved five working days later: the pack follows, and each agency hears of the move.
    moved = LANARKSHIRE.add_working_days(held, 15).due_date
    await rig.send(
        handle, ev.MeetingScheduled(scheduled_for=moved, invited=INVITED, panel_ref="PANEL-2026-14")
    )
    assert len(await rig.wait_for_mail(ref, f"meeting-2 moved to {moved:%a %d %b %Y}", count=3)) == 3
    pack = await rig.deadline(handle, "pre-meeting-information:meeting-2")
    pack_day = LANARKSHIRE.subtract_working_days(moved, 1)
    assert pack.due_date == pack_day
    assert pack.reminder_at == local_time_on(
        LANARKSHIRE.subtract_working_days(pack_day, 1), WORKING_DAY_STARTS
    )

    # Past the day it was first due it is still open; reminded the working day before its new day, then breached.
    await rig.pass_time(pack.reminder_at - await rig.now() + timedelta(hours=1))
    still = await rig.deadline(handle, "pre-meeting-information:meeting-2")
    assert still.state == "open" and still.reminded_at is not None
    assert await rig.wait_for_mail(ref, "reminder", "pre-meeting information")
    await rig.pass_time(pack.due_at - await rig.now() + timedelta(hours=1))
    missed = await rig.deadline(handle, "pre-meeting-information:meeting-2")
    assert missed.state == "breached" and missed.escalations == 1
    breach = await rig.wait_for_mail(ref, "BREACHED", "pre-meeting information")
    assert "chair" in str(breach[0]["To"])  # the co-ordinator's own deadline goes to the chair
    await rig.ledger_row(ref, "pre-meeting-information:meeting-2", "breached")

    # The review is never held: it is breached on its statutory day, not the day it was scheduled for.
    assert (await rig.deadline(handle, "review:meeting-1")).state == "open"
    await rig.pass_time(review.due_at - await rig.now() + timedelta(hours=1))
    assert (await rig.deadline(handle, "review:meeting-1")).state == "breached"
    assert await rig.wait_for_mail(ref, "BREACHED", "level 2 review")
    case = await handle.query(MappaCaseWorkflow.case_file)
    assert case.scheduled_meeting is not None and case.scheduled_meeting.moved_from == [first]


async def test_an_initial_meeting_scheduled_after_its_due_date_is_flagged_and_breached_on_its_due_day(
    rig: CaseRig,
):
    ref = "MAPPA-LAN-2026-MEET02"
    handle = await accepted_case(rig, ref)
    due = await rig.deadline(handle, "initial-meeting")
    late_day = LANARKSHIRE.add_working_days(due.due_date, 2).due_date
    receipt = await rig.send(handle, ev.MeetingScheduled(scheduled_for=late_day, invited=INVITED))
    assert ("pre-meeting-information", "re-armed") in {(c.deadline_id, c.change) for c in receipt.changes}
    flagged = await rig.wait_for_mail(ref, "scheduled after its due date")
    assert "chair" in str(flagged[0]["To"])
    pack = await rig.deadline(handle, "pre-meeting-information")
    assert pack.due_date == LANARKSHIRE.subtract_working_days(late_day, 1)  # the real day, not the due date

    await rig.pass_time(due.due_at - await rig.now() + timedelta(hours=1))
    assert (await rig.deadline(handle, "initial-meeting")).state == "breached"
    assert (await rig.deadline(handle, "pre-meeting-information")).state == "open"
    await rig.ledger_row(ref, "initial-meeting", "breached")
