"""A case's chronology through the workflow on the time-skipping server: every event the case applies reaches our
own database through the ledger write, and the chronology read back from the database alone (no query of the
workflow, no history) lists every event with who sent it, every deadline with how it ended, and the escalation of
the breach (003 stage 4: "decisions are recorded")."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.converter import key_ring_for
from core.settings import Settings
from store.chronology import chronology
from store.models import ChronologyRecord
from tests.case_builders import SCOTTISH_AGENCIES, accept, community_notification, referral
from tests.workflow.conftest import CaseRig
from workflows.rules import events as ev
from workflows.rules.actors import Actor, Role
from workflows.rules.calendar import local_date

pytestmark = pytest.mark.timeout(120)

CO = Actor(role=Role.CO_ORDINATOR, agency="justice-social-work-north-lanarkshire")


def worker(agency: str) -> Actor:
    return Actor(role=Role.AGENCY_WORKER, agency=agency)


async def entries_written(rig: CaseRig, case_ref: str, count: int, timeout: float = 60.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        with Session(rig.engine) as session:
            found = session.scalar(
                select(func.count())
                .select_from(ChronologyRecord)
                .where(ChronologyRecord.case_ref == case_ref)
            )
        if found == count:
            return
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"{case_ref} has {found} chronology entries, not {count}")
        await asyncio.sleep(0.05)


async def test_the_chronology_read_from_our_database_lists_every_event_deadline_and_escalation(rig: CaseRig):
    ref = "MAPPA-LAN-2026-CHRON1"
    handle = await rig.open_case(community_notification(ref, disposal_date=local_date(await rig.now())))
    await rig.send(
        handle,
        ev.ScreeningDecision(outcome="referral-needed", reason="joint assessment: high risk", sent_by=CO),
    )
    await rig.send(handle, referral(2))
    await rig.send(handle, accept(2))
    for agency in SCOTTISH_AGENCIES[:3]:
        await rig.send(handle, ev.RecordSearchReturned(agency=agency, sent_by=worker(agency)))
    # The housing search is never returned: breached at its due time and escalated to the co-ordinator.
    housing = await rig.deadline(handle, "record-search:lanarkshire-housing")
    await rig.pass_time(housing.due_at - await rig.now() + timedelta(hours=1))
    await rig.ledger_row(ref, "record-search:lanarkshire-housing", "breached")
    await rig.wait_for_mail(ref, "BREACHED", "record search")
    await entries_written(rig, ref, 7)
    await asyncio.sleep(0.5)  # the escalation's ledger row is written by its own activity, with the mail

    # From here on only the database is read: the case's history could be gone.
    with Session(rig.engine) as session:
        found = chronology(session, key_ring_for(Settings()), ref)

    events = found.section("event")
    assert [line.what for line in events] == [
        "Case opened",
        "Screening decision",
        "Referral submitted",
        "Referral decision",
        "Record search returned",
        "Record search returned",
        "Record search returned",
    ]
    screening = events[1]
    assert screening.who == f"{CO.agency} (co-ordinator)"
    assert "reason: joint assessment: high risk" in screening.detail
    assert "stage notification -> referral-due" in screening.detail
    assert "level - -> 2" in events[3].detail
    assert [line.who for line in events[4:]] == [f"{a} (agency-worker)" for a in SCOTTISH_AGENCIES[:3]]
    assert [line.reference for line in events] == [f"entry {n}" for n in range(1, 8)]

    deadlines = {line.reference: line.state for line in found.section("deadline")}
    assert deadlines["notification"] == "met on time"
    assert deadlines["screening"] == "met on time"
    assert deadlines["referral-decision"] == "met on time"
    assert deadlines["record-search:lanarkshire-housing"] == "breached"
    assert {deadlines[f"record-search:{a}"] for a in SCOTTISH_AGENCIES[:3]} == {"met on time"}
    assert deadlines["initial-meeting"] == "open"
    escalated = [
        (line.what, line.who) for line in found.section("escalation") if line.reference == housing.deadline_id
    ]
    assert escalated[0] == ("Breach escalation", "co-ordinator")
    # Oldest first, whatever the section.
    assert [line.at for line in found.lines] == sorted(line.at for line in found.lines)
