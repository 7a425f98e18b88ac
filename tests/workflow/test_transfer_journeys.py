"""A case transferred between areas and jurisdictions on the time-skipping test server: the acceptance reminded
and escalated in the receiving area, the case re-based on its calendar and timescales, a review then breaching
there, and the ledger following it.

Dates depend on the day the suite runs: expected due dates are counted with the areas' calendars.
"""

from __future__ import annotations

import asyncio
from datetime import date, timedelta

import pytest
from sqlalchemy import select

from core.database import session_factory
from store.models import CaseTransfer, LedgerCase
from tests.case_builders import ENGLISH_AGENCIES, accept, community_notification, meeting, referral
from tests.workflow.conftest import CaseRig
from workflows.rules import events as ev
from workflows.rules.calendar import local_date
from workflows.rules.policy import area_policy

pytestmark = pytest.mark.timeout(120)

GLASGOW = area_policy("glasgow").calendar


async def _wait_for(rig: CaseRig, probe, timeout: float = 60.0):  # type: ignore[no-untyped-def]
    deadline = asyncio.get_running_loop().time() + timeout
    while not (found := probe()):
        assert asyncio.get_running_loop().time() < deadline, "the ledger did not follow the case"
        await asyncio.sleep(0.05)
    return found


def _ledger_case(rig: CaseRig, case_ref: str) -> LedgerCase | None:
    with session_factory(rig.engine)() as session:
        return session.get(LedgerCase, case_ref)


def _transfer(rig: CaseRig, case_ref: str) -> CaseTransfer | None:
    with session_factory(rig.engine)() as session:
        return session.scalars(select(CaseTransfer).where(CaseTransfer.case_ref == case_ref)).first()


async def test_a_case_moves_from_england_to_glasgow_and_its_review_breaches_on_scotlands_timescale(
    rig: CaseRig,
):
    ref = "MAPPA-WAS-2026-TRNSF1"
    day0 = local_date(await rig.now())
    handle = await rig.open_case(
        community_notification(
            ref, area="wiltshire-and-swindon", disposal_date=day0, lead_agency="wiltshire-police"
        )
    )
    await rig.send(handle, referral(2, agency="wiltshire-police"))
    await rig.send(handle, accept(2, ENGLISH_AGENCIES))
    for agency in ENGLISH_AGENCIES:
        await rig.send(handle, ev.RecordSearchReturned(agency=agency))
    held = local_date(await rig.now())
    await rig.send(handle, meeting(held, held + timedelta(weeks=16), attendees=ENGLISH_AGENCIES[:3]))
    assert (await rig.deadline(handle, "review:meeting-1")).due_date == held + timedelta(weeks=16)  # 004
    await rig.send(handle, ev.MinutesCirculated(meeting_id="meeting-1", recipients=ENGLISH_AGENCIES[:3]))
    await rig.send(handle, ev.SubjectInformed(informed=True, informed_by="wiltshire-police"))

    # Wiltshire asks Glasgow; Glasgow's co-ordinator owes the decision on Glasgow's working days.
    asked = local_date(await rig.now())
    await rig.send(
        handle, ev.TransferRequested(receiving_area="glasgow", reason="the subject moved to Glasgow")
    )
    acceptance = await rig.deadline(handle, "transfer-acceptance:transfer-1")
    assert acceptance.due_date == GLASGOW.add_working_days(asked, 5).due_date
    assert len(await rig.wait_for_mail(ref, "transfer requested")) == 1
    assert "glasgow.coordinator" in str(rig.mail_for(ref, "transfer requested")[0]["To"])
    assert (await _wait_for(rig, lambda: _transfer(rig, ref))).state == "requested"

    # Not decided in time: reminded, then breached and escalated to Glasgow's chair (the co-ordinator's own).
    await rig.pass_time(acceptance.due_at - await rig.now() + timedelta(hours=1))
    assert await rig.wait_for_mail(ref, "reminder", "transfer")
    breach = await rig.wait_for_mail(ref, "BREACHED", "transfer")
    assert "glasgow.chair" in str(breach[0]["To"])
    [escalated] = [e for e in rig.escalations(ref) if e.deadline_id == acceptance.deadline_id]
    assert (escalated.area, escalated.recipient) == ("glasgow", "chair")
    await rig.ledger_row(ref, acceptance.deadline_id, "breached")

    receipt = await rig.send(
        handle,
        ev.TransferAccepted(
            receiving_area="glasgow",
            lead_agency="police-scotland-glasgow",
            handovers=[
                ev.AgencyHandover(from_agency="probation-wiltshire", to_agency="glasgow-justice-social-work")
            ],
        ),
    )
    assert any(c.change == "transferred" and c.deadline_id == "review:meeting-1" for c in receipt.changes)
    status = await rig.status(handle)
    assert (status.summary.area, status.summary.jurisdiction) == ("glasgow", "scotland")
    review = next(d for d in status.deadlines if d.deadline_id == "review:meeting-1")
    assert review.due_date == held + timedelta(weeks=12)  # 001, 003: Scotland's level 2 maximum
    assert next(d for d in status.deadlines if d.deadline_id == acceptance.deadline_id).state == "met"
    assert len(await rig.wait_for_mail(ref, "transfer accepted", count=2)) == 2  # both co-ordinators
    assert await _wait_for(
        rig, lambda: _transfer(rig, ref) if _transfer(rig, ref).state == "accepted" else None
    )
    ledger_case = await _wait_for(rig, lambda: (c := _ledger_case(rig, ref)) and c.area == "glasgow" and c)
    assert ledger_case.lead_agency == "police-scotland-glasgow"

    # The review falls due at Scotland's 12 weeks, not England's 16: breached and escalated in Glasgow.
    await rig.pass_time(review.due_at - await rig.now() + timedelta(hours=1))
    row = await rig.ledger_row(ref, "review:meeting-1", "breached")
    assert row.area == "glasgow" and row.due_date == held + timedelta(weeks=12)
    assert any(e.deadline_id == "review:meeting-1" and e.area == "glasgow" for e in rig.escalations(ref))
    assert date.fromisoformat(str(row.due_date)) < held + timedelta(weeks=16)
