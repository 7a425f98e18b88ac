"""Safeguarding journeys on the time-skipping test server (issue 9 points 7 and 15): ASP screening of every
notification, the AP1 clock from a re-screening, the AP1 breached by an earlier meeting, the ASP chair the
co-ordinator names and the ASP side closing, and named children at risk kept out of e-mail and the ledger."""

from __future__ import annotations

from datetime import timedelta

import pytest
from temporalio.client import WorkflowUpdateFailedError

from tests.case_builders import (
    SCOTTISH_AGENCIES,
    SUBJECT,
    accept,
    asp_criteria_met,
    category_criteria,
    community_notification,
    meeting,
    referral,
)
from tests.workflow.conftest import CaseRig
from workflows.case import MappaCaseWorkflow
from workflows.rules import events as ev
from workflows.rules.calendar import Jurisdiction, local_date
from workflows.rules.case import CaseFile

pytestmark = pytest.mark.timeout(120)

COUNCIL = "south-lanarkshire-council"


async def test_a_notification_s_asp_screening_is_reminded_then_breached_and_a_re_screening_starts_the_ap1_clock(
    rig: CaseRig,
):
    ref = "MAPPA-LAN-2026-SAFE01"
    handle = await rig.open_case(community_notification(ref, disposal_date=local_date(await rig.now())))
    screening = await rig.deadline(handle, "asp-screening:notification")
    assert screening.due_at - screening.opened_at == timedelta(hours=24)
    await rig.pass_time(timedelta(hours=21))
    assert await rig.wait_for_mail(ref, "reminder", "ASP 3-point")
    await rig.pass_time(timedelta(hours=4))
    assert await rig.wait_for_mail(ref, "BREACHED", "ASP 3-point")
    await rig.send(handle, ev.ScreeningDecision(outcome="level-1", reason="ordinary agency management"))
    await rig.send(handle, asp_criteria_met().model_copy(update={"at_risk_of_harm": False}))
    await rig.pass_time(timedelta(days=3))
    rescreened = await rig.now()
    await rig.send(handle, asp_criteria_met().model_copy(update={"adult_id": "adult-1"}))
    ap1 = await rig.deadline(handle, "ap1-referral")
    assert ap1.state == "open" and rescreened <= ap1.due_at - timedelta(hours=24) <= await rig.now()
    await rig.pass_time(timedelta(hours=21))
    assert await rig.wait_for_mail(ref, "reminder", "AP1")
    await rig.send(handle, ev.Ap1ReferralMade(locality="Hamilton"))
    row = await rig.ledger_row(ref, "ap1-referral", "met")
    assert not row.met_late
    await rig.keep_history(handle, "safeguarding/asp-re-screening")


async def test_a_meeting_recorded_before_the_screening_is_the_co_ordinators_lateness_and_the_ap1_still_has_24_hours(
    rig: CaseRig,
):
    """000: the referral is considered "prior to any MAPPA meeting"; the lead agency's AP1 runs from the screening
    that found the criteria met, reminded and then breached like any other."""
    ref = "MAPPA-LAN-2026-SAFE02"
    handle = await rig.open_case(community_notification(ref, disposal_date=local_date(await rig.now())))
    await rig.send(handle, ev.ScreeningDecision(outcome="referral-needed", reason="high risk"))
    await rig.send(handle, referral(2))
    await rig.send(handle, accept(2))
    held = local_date(await rig.now())
    await rig.send(handle, meeting(held, held + timedelta(weeks=8)))
    await rig.send(handle, asp_criteria_met())
    screening = await rig.deadline(handle, "asp-screening")
    assert screening.state == "met" and screening.breached_at is not None
    assert await rig.wait_for_mail(ref, "BREACHED", "ASP")
    ap1 = await rig.deadline(handle, "ap1-referral")
    assert ap1.state == "open" and ap1.reminder_at is not None
    await rig.pass_time(ap1.reminder_at - await rig.now() + timedelta(minutes=30))
    assert await rig.wait_for_mail(ref, "reminder", "AP1")
    await rig.pass_time(ap1.due_at - await rig.now() + timedelta(minutes=30))
    assert (await rig.deadline(handle, "ap1-referral")).state == "breached"
    assert await rig.wait_for_mail(ref, "BREACHED", "AP1")
    await rig.keep_history(handle, "safeguarding/ap1-from-the-screening")


async def test_the_asp_route_opens_with_the_named_asp_chair_who_gets_the_minutes_until_the_asp_side_closes(
    rig: CaseRig,
):
    ref = "MAPPA-LAN-2026-SAFE03"
    opening = ev.CaseOpening(
        case_ref=ref,
        area="lanarkshire",
        jurisdiction=Jurisdiction.SCOTLAND,
        category=3,
        lead_agency="lanarkshire-justice-social-work",
        route=ev.EntryRoute.ASP_CASE_CONFERENCE,
        subject=SUBJECT,
        referral=referral(2, agency="lanarkshire-justice-social-work"),
        asp_chair_agency=COUNCIL,
        **category_criteria(3),
    )
    handle = await rig.open_case(opening)
    case = await handle.query(MappaCaseWorkflow.case_file, result_type=CaseFile)
    assert case.asp_open and case.asp_chair_agency == COUNCIL
    await rig.send(handle, asp_criteria_met().model_copy(update={"unable_to_safeguard_own_interests": False}))
    await rig.send(handle, accept(2))
    held = local_date(await rig.now())
    await rig.send(handle, meeting(held, held + timedelta(weeks=8)))
    with pytest.raises(WorkflowUpdateFailedError):
        await rig.send(handle, ev.MinutesCirculated(meeting_id="meeting-1", recipients=SCOTTISH_AGENCIES[:3]))
    await rig.send(
        handle, ev.MinutesCirculated(meeting_id="meeting-1", recipients=[*SCOTTISH_AGENCIES[:3], COUNCIL])
    )
    await rig.send(handle, ev.AspSideClosed(reason="the ASP protection plan ended"))
    await rig.pass_time(timedelta(days=7))
    second = local_date(await rig.now())
    await rig.send(handle, meeting(second, second + timedelta(weeks=8)))
    with pytest.raises(WorkflowUpdateFailedError):
        await rig.send(handle, ev.MinutesCirculated(meeting_id="meeting-2", recipients=[COUNCIL]))
    await rig.send(handle, ev.MinutesCirculated(meeting_id="meeting-2", recipients=SCOTTISH_AGENCIES[:3]))
    assert (await rig.ledger_row(ref, "minutes:meeting-2", "met")).state == "met"
    await rig.keep_history(handle, "safeguarding/asp-route-and-side-closed")


async def test_children_at_risk_are_named_in_the_case_file_and_never_in_e_mail_or_the_ledger(rig: CaseRig):
    ref = "MAPPA-LAN-2026-SAFE04"
    handle = await rig.open_case(community_notification(ref, disposal_date=local_date(await rig.now())))
    await rig.send(
        handle,
        ev.ChildrenAtRisk(
            children=[ev.ChildAtRisk(name="Isla Brodie"), ev.ChildAtRisk(name="Rory Brodie")],
            identified_by="lanarkshire-justice-social-work",
        ),
    )
    case = await handle.query(MappaCaseWorkflow.case_file, result_type=CaseFile)
    assert [c.name for c in case.children_at_risk] == ["Isla Brodie", "Rory Brodie"]
    owed = [d for d in (await rig.status(handle)).deadlines if d.kind == "child-protection-referral"]
    await rig.pass_time(max(d.due_at for d in owed) - await rig.now() + timedelta(hours=1))
    assert await rig.wait_for_mail(ref, "BREACHED", "child protection")
    mail = [
        f"{m['Subject']} {part.get_payload(decode=True)!r}"
        for m in rig.smtp.messages
        if ref in str(m["Subject"])
        for part in m.walk()
        if not part.is_multipart()
    ]
    ledger = [repr(vars(row)) for row in rig.ledger_deadlines(ref).values()]
    assert mail and ledger and not [t for t in mail + ledger if "Brodie" in t]
    await rig.keep_history(handle, "safeguarding/children-named")
