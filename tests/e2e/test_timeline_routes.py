"""Issue 9 part 2 over HTTP, against the real dev server and worker: a case opened before its notification by a
court disposal (police), an upcoming release (the prison) or a restricted patient's discharge (the hospital),
each agency acting for itself as its token says; release and discharge dates that move their deadlines; the
pre-meeting information; and a fact sent where it does not belong refused naming the field."""

from __future__ import annotations

import asyncio
from datetime import date, timedelta
from email.message import Message
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from store.models import CaseOpening as CaseOpeningRow
from tests.e2e.api_rig import ApiRig, london_today
from tests.e2e.test_api_cases import LANARKSHIRE_AGENCIES, assert_problem, at_referral, open_case
from workflows.rules.policy import area_policy

pytestmark = pytest.mark.timeout(120)

LANARKSHIRE = area_policy("lanarkshire").calendar
POLICE = "police-scotland-lanarkshire"
SUBJECT = {"name": "Alasdair Testperson", "date_of_birth": "1979-05-17", "address": "14 Example Row"}


def weeks_before(day: date, weeks: int) -> str:
    """A date some weeks before a release or discharge, as the calendar gives it: one that lands on a bank holiday
    or weekend moves to the working day before (so the expectation holds on any day the suite runs)."""
    return LANARKSHIRE.working_day_on_or_before(day - timedelta(weeks=weeks)).isoformat()


def before_notification(lead: str, route: str, **fact: Any) -> dict[str, Any]:
    """A Lanarkshire case opened by the event that starts its notification's clock."""
    return {
        "area": "lanarkshire",
        "jurisdiction": "scotland",
        "category": 1,
        "lead_agency": lead,
        "route": route,
        "subject": SUBJECT,
        **fact,
    }


def disposal(today: date, by: str = POLICE) -> dict[str, Any]:
    return before_notification(
        POLICE, "community", disposal={"recorded_by": by, "disposal_date": today.isoformat()}
    )


def upcoming_release(today: date, release: date, by: str = "sps") -> dict[str, Any]:
    fact = {"recorded_by": by, "release_date": release.isoformat(), "icm_held_on": today.isoformat()}
    return before_notification("sps", "custody", upcoming_release=fact)


def discharge(day: date, by: str = "nhs-lanarkshire") -> dict[str, Any]:
    fact = {"recorded_by": by, "discharge_date": day.isoformat()}
    return before_notification("nhs-lanarkshire", "restricted-patient", discharge=fact)


async def deadlines(rig: ApiRig, ref: str) -> dict[str, dict[str, Any]]:
    return {d["deadline_id"]: d for d in (await rig.get("lan-co", f"/cases/{ref}/deadlines")).json()}


async def pack_mail(rig: ApiRig, ref: str, count: int) -> list[Message]:
    """The case's pre-meeting information notices, once `count` have arrived (or what came within 30 s)."""
    packs: list[Message] = []
    for _ in range(600):
        packs = [
            m for m in rig.smtp.messages if ref in str(m["Subject"]) and "pre-meeting" in str(m["Subject"])
        ]
        if len(packs) >= count:
            break
        await asyncio.sleep(0.05)
    return packs


def openings_count(rig: ApiRig) -> int:
    with Session(rig.engine) as session:
        return session.scalar(select(func.count()).select_from(CaseOpeningRow)) or 0


async def test_a_court_disposal_recorded_by_the_police_opens_a_case_that_waits_for_its_notification(
    api_rig: ApiRig,
) -> None:
    rig, today = api_rig, london_today()

    # The acting agency is the token's: Lanarkshire's NHS cannot record the police's disposal.
    impostor = await rig.post("lan-nhs", "/cases", disposal(today))
    assert_problem(impostor, 403, field="disposal.recorded_by", rule="agency acts for itself")
    assert openings_count(rig) == 0

    opened = await rig.post("lan-police", "/cases", disposal(today))
    assert opened.status_code == 201, opened.text
    case = opened.json()
    ref = case["case_ref"]
    assert case["stage"] == "awaiting-notification"
    (notification,) = case["deadlines"]
    assert (notification["deadline_id"], notification["responsible"]) == ("notification", POLICE)
    assert notification["due_date"] == LANARKSHIRE.add_working_days(today, 3).due_date.isoformat()

    body = {"notifying_agency": POLICE, "recommended_level": 2}
    assert_problem(
        await rig.post("lan-nhs", f"/cases/{ref}/notifications", body), 403, field="notifying_agency"
    )
    notified = await rig.event("lan-police", ref, "notifications", body)
    assert notified["stage"] == "notification"
    states = {d: c["state"] for d, c in (await deadlines(rig, ref)).items()}
    # The notification is screened for the co-ordinator like any other, ASP criteria included.
    assert states == {"notification": "met", "screening": "open", "asp-screening:notification": "open"}
    # Notified once: a second notification is not for this stage.
    assert_problem(await rig.post("lan-police", f"/cases/{ref}/notifications", body), 409)


async def test_the_prison_opens_a_custody_case_after_the_icm_and_a_new_release_date_moves_its_deadlines(
    api_rig: ApiRig,
) -> None:
    rig, today = api_rig, london_today()
    release = today + timedelta(weeks=20)

    assert_problem(
        await rig.post("lan-police", "/cases", upcoming_release(today, release)),
        403,
        field="upcoming_release.recorded_by",
    )
    opened = await rig.post("sps", "/cases", upcoming_release(today, release))  # a national token
    assert opened.status_code == 201, opened.text
    ref = opened.json()["case_ref"]
    assert opened.json()["stage"] == "awaiting-notification"
    referral = (await deadlines(rig, ref))["custody-referral"]
    assert (referral["responsible"], referral["due_date"]) == (
        "sps",
        weeks_before(release, 12),
    )

    later = release + timedelta(weeks=8)
    change = {"recorded_by": "sps", "release_date": later.isoformat(), "reason": "parole"}
    assert_problem(
        await rig.post("lan-police", f"/cases/{ref}/release-dates", change), 403, field="recorded_by"
    )
    moved = await rig.event("sps", ref, "release-dates", change)
    assert [c["deadline_id"] for c in moved["changes"]] == ["custody-referral"]
    referral = (await deadlines(rig, ref))["custody-referral"]
    assert (referral["state"], referral["due_date"]) == ("open", weeks_before(later, 12))
    same_day = await rig.post("sps", f"/cases/{ref}/release-dates", change)
    assert_problem(same_day, 422, field="release_date")


async def test_the_hospital_opens_a_restricted_patients_case_and_a_new_discharge_date_moves_the_nhs_referral(
    api_rig: ApiRig,
) -> None:
    rig, today = api_rig, london_today()
    planned = today + timedelta(weeks=14)

    assert_problem(
        await rig.post("lan-police", "/cases", discharge(planned)), 403, field="discharge.recorded_by"
    )
    opened = await rig.post("lan-nhs", "/cases", discharge(planned))
    assert opened.status_code == 201, opened.text
    ref = opened.json()["case_ref"]
    referral = (await deadlines(rig, ref))["restricted-patient-referral"]
    assert (referral["responsible"], referral["due_date"]) == (
        "nhs-lanarkshire",
        weeks_before(planned, 12),
    )

    later = planned + timedelta(weeks=3)
    change = {
        "recorded_by": "nhs-lanarkshire",
        "discharge_date": later.isoformat(),
        "reason": "tribunal adjourned",
    }
    await rig.event("lan-nhs", ref, "discharge-dates", change)
    referral = (await deadlines(rig, ref))["restricted-patient-referral"]
    assert (referral["state"], referral["due_date"]) == ("open", weeks_before(later, 12))
    notified = await rig.event("lan-nhs", ref, "notifications", {"notifying_agency": "nhs-lanarkshire"})
    assert notified["stage"] == "notification"
    assert (await deadlines(rig, ref))["restricted-patient-referral"]["state"] == "met"


async def test_a_fact_on_the_wrong_route_is_refused_naming_the_field_and_records_nothing(
    api_rig: ApiRig,
) -> None:
    rig, today = api_rig, london_today()
    release = today + timedelta(weeks=20)

    wrong_openings = [
        ("lan-police", {**disposal(today), "route": "custody", "release_date": release.isoformat()}, "route"),
        ("sps", {**upcoming_release(today, release), "route": "community"}, "route"),
        ("lan-nhs", {**discharge(release), "route": "custody", "release_date": release.isoformat()}, "route"),
        (
            "lan-police",
            {
                **disposal(today),
                "notification": {"notifying_agency": POLICE, "disposal_date": today.isoformat()},
            },
            "notification",
        ),
    ]
    for user, body, field in wrong_openings:
        assert_problem(await rig.post(user, "/cases", body), 422, field=field)
    assert openings_count(rig) == 0

    community = await open_case(rig, disposal(today))
    custody = (await rig.post("sps", "/cases", upcoming_release(today, release))).json()["case_ref"]
    release_change = {"recorded_by": POLICE, "release_date": release.isoformat(), "reason": "appeal"}
    assert_problem(
        await rig.post("lan-police", f"/cases/{community}/release-dates", release_change),
        422,
        field="release_date",
    )
    discharge_change = {
        "recorded_by": "sps",
        "discharge_date": release.isoformat(),
        "reason": "not a patient",
    }
    assert_problem(
        await rig.post("sps", f"/cases/{custody}/discharge-dates", discharge_change),
        422,
        field="discharge_date",
    )
    # A release date sent to the discharge route is not a discharge: the body names what is missing.
    misdirected = await rig.post(
        "sps", f"/cases/{custody}/discharge-dates", {**release_change, "recorded_by": "sps"}
    )
    assert_problem(misdirected, 422, field="discharge_date")
    for ref in (community, custody):
        changed = [d for d in (await deadlines(rig, ref)).values() if d["state"] != "open"]
        assert changed == []


async def test_the_co_ordinator_sends_the_pre_meeting_information_to_every_attending_agency(
    api_rig: ApiRig,
) -> None:
    rig = api_rig
    ref = await at_referral(rig)
    await rig.event(
        "lan-co",
        ref,
        "referral-decision",
        {"outcome": "accepted", "level": 2, "record_search_agencies": ["nhs-lanarkshire"]},
    )
    before = await deadlines(rig, ref)
    pack, meeting = before["pre-meeting-information"], before["initial-meeting"]
    assert pack["state"] == "open" and pack["due_date"] < meeting["due_date"]

    body = {"attending_agencies": LANARKSHIRE_AGENCIES[:3]}
    assert_problem(
        await rig.post("lan-police", f"/cases/{ref}/pre-meeting-information", body), 403, rule="role"
    )
    sent = await rig.event("lan-co", ref, "pre-meeting-information", body)
    assert [(c["deadline_id"], c["change"]) for c in sent["changes"]] == [("pre-meeting-information", "met")]
    packs = await pack_mail(rig, ref, 3)
    assert len(packs) == 3 and "Testperson" not in "".join(str(m) for m in packs)
    again = await rig.post("lan-co", f"/cases/{ref}/pre-meeting-information", body)
    assert_problem(again, 422, rule="pre-meeting information")
