"""A level 2 community case recalled to custody and re-released, on the time-skipping test server: the review
paused while the subject is in prison, the meeting before the re-release (003 stage 4) reminded, breached and
escalated by mail, and the ledger's record of each.

Dates depend on the day the suite runs: expected due dates come from the working-day calendar.
"""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from tests.case_builders import accept, community_notification, meeting, referral
from tests.workflow.conftest import CaseRig
from workflows.rules import events as ev
from workflows.rules.calendar import local_date
from workflows.rules.policy import area_policy

pytestmark = pytest.mark.timeout(120)

LANARKSHIRE = area_policy("lanarkshire").calendar


async def today(rig: CaseRig) -> date:
    return local_date(await rig.now())


async def test_a_recalled_level_2_case_pauses_its_review_and_owes_a_meeting_before_the_re_release(
    rig: CaseRig,
):
    ref = "MAPPA-LAN-2026-RECALL"
    handle = await rig.open_case(community_notification(ref, disposal_date=await today(rig)))
    await rig.send(handle, ev.ScreeningDecision(outcome="referral-needed", reason="joint assessment"))
    await rig.send(handle, referral(2))
    await rig.send(handle, accept(2))
    held = await today(rig)
    await rig.send(handle, meeting(held, held + timedelta(weeks=12)))

    await rig.pass_time(timedelta(weeks=2))
    recalled = await today(rig)
    receipt = await rig.send(
        handle,
        ev.RecalledToCustody(
            recorded_by="police-scotland-lanarkshire", recalled_on=recalled, reason="licence-breach"
        ),
    )
    assert ("review:meeting-1", "paused") in {(c.deadline_id, c.change) for c in receipt.changes}
    review = await rig.deadline(handle, "review:meeting-1")
    assert review.state == "paused" and review.pause_reason is not None
    await rig.ledger_row(ref, "review:meeting-1", "paused")

    release = recalled + timedelta(weeks=6)
    await rig.send(handle, ev.ReleaseDateChanged(recorded_by="sps", release_date=release, reason="recall"))
    before = await rig.deadline(handle, "pre-release-meeting:1")
    assert before.due_date == LANARKSHIRE.subtract_working_days(release, 1)
    review = await rig.deadline(handle, "review:meeting-1")
    assert review.state == "open" and review.due_date > release

    # Nobody holds the meeting: reminded ten working days before, breached at the end of its day, escalated.
    await rig.pass_time(before.due_at - await rig.now() + timedelta(hours=1))
    before = await rig.deadline(handle, "pre-release-meeting:1")
    assert before.state == "breached" and before.reminded_at is not None
    assert await rig.wait_for_mail(ref, "reminder", "before release")
    assert await rig.wait_for_mail(ref, "BREACHED", "before release")
    await rig.ledger_row(ref, "pre-release-meeting:1", "breached")
    assert [e.deadline_id for e in rig.escalations(ref) if e.kind == "breach-escalation"].count(
        "pre-release-meeting:1"
    ) == 1
