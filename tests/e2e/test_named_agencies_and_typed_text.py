"""Agencies' own words and chosen names at the edges, and the directory as the source of truth, over HTTP against
the real dev server and worker: extenuating circumstances stay in the case file, an RMP action's id cannot carry
a name into plaintext, and every agency a request names (the lead agency, the ASP chair, a record search...) is
one the directory allows on a case of that area."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from store.models import AuditEvent
from store.models import CaseOpening as CaseOpeningRow
from tests.e2e.api_rig import ApiRig, london_today
from tests.e2e.test_api_cases import assert_problem, at_referral, lanarkshire_notification, meeting, open_case
from workflows.rules.policy import area_policy

pytestmark = pytest.mark.timeout(120)

POLICE = "police-scotland-lanarkshire"
# The probe's words: the subject's name and address, typed as the reason a notification is late.
EXTENUATING = "Zebedee Quartermaine was in hospital at 4 Example Row, Motherwell, until last week"


def openings(rig: ApiRig) -> int:
    with Session(rig.engine) as session:
        return session.scalar(select(func.count()).select_from(CaseOpeningRow)) or 0


async def test_extenuating_circumstances_on_a_late_notification_stay_in_the_case_file(
    api_rig: ApiRig,
) -> None:
    rig = api_rig
    calendar = area_policy("lanarkshire").calendar
    # A disposal a fortnight ago: its notification (3 working days) is already late.
    disposed = calendar.subtract_working_days(london_today(), 10)
    body = {
        "area": "lanarkshire",
        "jurisdiction": "scotland",
        "category": 1,
        "lead_agency": POLICE,
        "route": "community",
        "subject": {
            "name": "Zebedee Quartermaine",
            "date_of_birth": "1979-05-17",
            "address": "4 Example Row",
        },
        "disposal": {"recorded_by": POLICE, "disposal_date": disposed.isoformat()},
    }
    ref = await open_case(rig, body)
    notification = {
        "notifying_agency": POLICE,
        "recommended_level": 2,
        "extenuating_circumstances": EXTENUATING,
    }
    await rig.event("lan-police", ref, "notifications", notification)

    # Ops reads the status and the deadlines, unaudited: that the circumstances were recorded, not what they are.
    for path in (f"/cases/{ref}", f"/cases/{ref}/deadlines"):
        answer = await rig.get("lan-ops", path)
        assert answer.status_code == 200, answer.text
        assert "Quartermaine" not in answer.text and "Example Row" not in answer.text
    deadlines = {d["deadline_id"]: d for d in (await rig.get("lan-ops", f"/cases/{ref}/deadlines")).json()}
    late = deadlines["notification"]
    assert (late["state"], late["breach_note"]) == ("met", "late, with extenuating circumstances recorded")

    # The words are the case file's: read by a role entitled to it, and audited.
    case_file = await rig.get("lan-co", f"/cases/{ref}/case-file")
    assert case_file.status_code == 200
    noted = case_file.json()["deadlines"]["notification"]["breach_note"]
    assert noted == f"late, with extenuating circumstances: {EXTENUATING}"
    with Session(rig.engine) as session:
        reads = session.scalars(
            select(AuditEvent).where(AuditEvent.case_ref == ref, AuditEvent.action == "read the case file")
        ).all()
    assert [(r.user_name, r.outcome) for r in reads] == [("test lan-co", "allowed")]
    assert (await rig.get("lan-ops", f"/cases/{ref}/case-file")).status_code == 403


async def test_an_rmp_action_id_that_could_carry_a_name_never_reaches_the_ledger(api_rig: ApiRig) -> None:
    rig, today = api_rig, london_today()
    ref = await at_referral(rig)
    decision = {"outcome": "accepted", "level": 2, "record_search_agencies": ["nhs-lanarkshire"]}
    await rig.event("lan-co", ref, "referral-decision", decision)

    def action(action_id: str) -> dict[str, Any]:
        return {
            "action_id": action_id,
            "description": "Licence conditions check",
            "owner_agency": POLICE,
            "due_date": (today + timedelta(days=14)).isoformat(),
        }

    review = today + timedelta(weeks=8)
    named = meeting(today, review, rmp_actions=[action("Zebedee-Quartermaine")])
    refused = await rig.post("lan-chair", f"/cases/{ref}/meetings", named)
    assert_problem(refused, 422, field="rmp_actions.0.action_id", rule="ids in plaintext")

    await rig.event("lan-chair", ref, "meetings", meeting(today, review, rmp_actions=[action("A12-1")]))
    ids: list[str] = []
    for _ in range(200):  # the ledger is written by the case's activity, a moment after the answer
        ops = await rig.get("lan-ops", "/ops/deadlines", within_days="30")
        assert ops.status_code == 200 and "Quartermaine" not in ops.text
        listed = ops.json()["due_soon"] + ops.json()["breached"]
        ids = [d["deadline_id"] for d in listed if d["case_ref"] == ref]
        if "rmp:meeting-1:A12-1" in ids:
            break
        await asyncio.sleep(0.05)
    assert "rmp:meeting-1:A12-1" in ids


@pytest.mark.parametrize(
    ("lead", "rule"),
    [
        ("no-such-agency", "agency directory"),  # not in the directory
        ("police-scotland-glasgow", "agency directory"),  # another area's police
        ("wiltshire-police", "agency directory"),  # an England and Wales agency on a Scottish case
        ("hmpps-prison", "agency directory"),  # a national agency of England and Wales only
        ("dwp", "lead agency"),  # in the directory and in Scotland too, but not a responsible authority
        ("lanarkshire-housing", "lead agency"),
    ],
)
async def test_a_case_is_opened_only_with_a_lead_agency_the_directory_allows_there(
    api_rig: ApiRig, lead: str, rule: str
) -> None:
    rig = api_rig
    refused = await rig.post(
        "lan-police", "/cases", lanarkshire_notification(london_today(), lead_agency=lead)
    )
    problem = assert_problem(refused, 422, field="lead_agency", rule=rule)
    assert lead in problem["detail"]
    assert openings(rig) == 0


async def test_every_other_agency_an_opening_or_event_names_is_checked_too(api_rig: ApiRig) -> None:
    rig, today = api_rig, london_today()
    record = lanarkshire_notification(today)
    record["notification"]["notifying_agency"] = "no-such-agency"
    assert_problem(await rig.post("lan-co", "/cases", record), 422, field="notification.notifying_agency")
    assert openings(rig) == 0

    ref = await at_referral(rig)
    for searched in ("wiltshire-police", "police-scotland-glasgow", "no-such-agency"):
        decision = {
            "outcome": "accepted",
            "level": 2,
            "record_search_agencies": ["nhs-lanarkshire", searched],
        }
        refused = await rig.post("lan-co", f"/cases/{ref}/referral-decision", decision)
        assert_problem(refused, 422, field="record_search_agencies.1", rule="agency directory")
    # SPS is national in Scotland: asked for its records, it is involved (and its token then reads the case).
    decision = {"outcome": "accepted", "level": 2, "record_search_agencies": ["nhs-lanarkshire", "sps"]}
    await rig.event("lan-co", ref, "referral-decision", decision)
    assert (await rig.get("sps", f"/cases/{ref}")).status_code == 200


@pytest.mark.parametrize(
    "chair",
    ["no-such-agency", "police-scotland-glasgow", "dwp", "co-ordinator", POLICE, "lanarkshire-housing"],
)
async def test_only_an_agency_the_directory_lists_as_an_asp_chair_of_the_area_is_named_one(
    api_rig: ApiRig, chair: str
) -> None:
    rig = api_rig
    ref = await open_case(rig)
    refused = await rig.post("lan-co", f"/cases/{ref}/asp-chair", {"asp_chair_agency": chair})
    assert_problem(refused, 422, field="asp_chair_agency")
    case_file = (await rig.get("lan-co", f"/cases/{ref}/case-file")).json()
    assert case_file["asp_chair_agency"] is None
    named = await rig.event("lan-co", ref, "asp-chair", {"asp_chair_agency": "south-lanarkshire-council"})
    assert named["case_ref"] == ref
