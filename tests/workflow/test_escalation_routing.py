"""Who hears about a deadline, and when: the responsible agency is reminded before it, the co-ordinator in
post on the day hears of a breach (the acting co-ordinator while the co-ordinator is on leave, 003), and the
chair hears again while it stays breached."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from store.directory import DirectoryFile, RoleHolderEntry, load_directory
from store.models import DirectoryRole
from tests.case_builders import community_notification, meeting, referral
from tests.workflow.conftest import CaseRig
from workflows.rules import events as ev
from workflows.rules import rule_changes
from workflows.rules.calendar import local_date
from workflows.rules.policy import area_policy
from workflows.search_attributes import OPEN_BREACHES

pytestmark = pytest.mark.timeout(120)

WALES = ["south-wales-police", "probation-wales"]
WILTSHIRE = area_policy("wiltshire-and-swindon").calendar


async def test_england_initial_meeting_is_reminded_five_working_days_before_and_escalated_when_missed(
    rig: CaseRig,
):
    ref = "MAPPA-WAS-2026-REMIND"
    today = local_date(await rig.now())
    handle = await rig.open_case(
        community_notification(
            ref, area="wiltshire-and-swindon", disposal_date=today, lead_agency="wiltshire-police"
        )
    )
    await rig.send(handle, referral(2, agency="wiltshire-police"))
    received = local_date(await rig.now())
    await rig.send(
        handle, ev.ReferralDecision(outcome="accepted", level=2, record_search_agencies=["wiltshire-police"])
    )
    initial = await rig.deadline(handle, "initial-meeting")
    due = WILTSHIRE.add_working_days(received, 20).due_date
    assert initial.due_date == due
    assert initial.reminder_at is not None
    assert local_date(initial.reminder_at) == WILTSHIRE.subtract_working_days(due, 5)

    await rig.pass_time(initial.reminder_at - await rig.now() + timedelta(hours=1))
    reminder = await rig.wait_for_mail(ref, "reminder", "initial level 2 meeting")
    assert "coordinator" in str(reminder[0]["To"]).lower()  # the co-ordinator arranges the meeting
    assert not rig.mail_for(ref, "BREACHED", "initial level 2 meeting")

    await rig.pass_time(initial.due_at - await rig.now() + timedelta(hours=1))
    breach = await rig.wait_for_mail(ref, "BREACHED", "initial level 2 meeting")
    assert "20 working days" in breach[0].get_payload()
    row = await rig.ledger_row(ref, "initial-meeting", "breached")
    assert row.breached_at == initial.due_at


async def test_a_breach_while_the_co_ordinator_is_on_leave_goes_to_the_acting_co_ordinator(rig: CaseRig):
    ref = "MAPPA-SWA-2026-ACTING"
    today = local_date(await rig.now())
    leave_from, leave_to = today + timedelta(days=3), today + timedelta(days=40)
    load_directory(
        rig.engine,
        DirectoryFile(
            role_holders=[
                RoleHolderEntry(
                    area="south-wales",
                    role=DirectoryRole.CO_ORDINATOR,
                    name="Acting co-ordinator (annual leave cover)",
                    email="southwales.acting@mappa-wales.example.gov.uk",
                    valid_from=leave_from,
                    valid_to=leave_to,
                    acting=True,
                )
            ]
        ),
    )
    handle = await rig.open_case(
        community_notification(ref, area="south-wales", disposal_date=today, lead_agency="south-wales-police")
    )
    await rig.send(handle, referral(2, agency="south-wales-police"))
    await rig.send(handle, ev.ReferralDecision(outcome="accepted", level=2, record_search_agencies=WALES))

    # An agency's record search, due in 5 working days, is missed while the co-ordinator is away. (A breach of
    # the co-ordinator's own deadline goes to the chair instead.)
    searches = [d for d in (await rig.status(handle)).deadlines if d.kind == "record-search"]
    await rig.pass_time(max(d.due_at for d in searches) - await rig.now() + timedelta(hours=1))
    escalation = await rig.wait_for_mail(ref, "BREACHED", "record search")
    assert str(escalation[0]["To"]) == "southwales.acting@mappa-wales.example.gov.uk"


async def test_a_mail_relay_that_is_down_does_not_hold_back_the_case(
    dev_rig: CaseRig, monkeypatch: pytest.MonkeyPatch
):
    """On the dev server (the time-skipping server will not move its clock while activities retry): a meeting
    recorded a fortnight late has its SWIS alert and minutes already overdue. The case is one opened before
    the dates-in-case-order correction: today a meeting dated before its referral is refused, and the dev
    server's clock cannot put the referral a fortnight back."""
    monkeypatch.setattr(rule_changes, "RULE_CHANGES", ())
    rig = dev_rig
    ref = "MAPPA-LAN-2026-RELAY1"
    today = local_date(await rig.now())
    handle = await rig.open_case(community_notification(ref, disposal_date=today))
    await rig.send(handle, referral(2))
    await rig.send(handle, ev.ReferralDecision(outcome="accepted", level=2, record_search_agencies=WALES[:1]))
    await rig.wait_for_mail(ref, "record search requested")
    rig.smtp.stop()
    try:
        held = today - timedelta(days=14)
        await rig.send(handle, meeting(held, held + timedelta(weeks=8)))
        # The breaches are on the case, in the ledger and in the UI's attributes though nobody can be told yet.
        await rig.ledger_row(ref, "minutes:meeting-1", "breached")
        await rig.ledger_row(ref, "swis-alert:meeting-1", "breached")
        for _ in range(100):
            breaches = (await handle.describe()).typed_search_attributes.get(OPEN_BREACHES) or 0
            if breaches >= 2:
                break
            await asyncio.sleep(0.1)
        assert breaches >= 2
        assert not rig.mail_for(ref, "BREACHED")
    finally:
        rig.smtp.start()
    # Once the relay is back every escalation arrives, each once.
    assert len(await rig.wait_for_mail(ref, "BREACHED", "minutes", timeout=60)) == 1
    assert len(await rig.wait_for_mail(ref, "BREACHED", "SWIS", timeout=60)) == 1
