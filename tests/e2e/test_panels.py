"""A panel day over HTTP against the dev server and a real worker: several cases of one area scheduled for one day,
each in a meeting of its own (003: "careful scheduling of meetings"); a case of another area refuses the whole
panel, a repeated request is answered once, and each case's minute stays that case's (001, 003)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from tests.e2e.api_rig import ApiRig, london_today
from tests.e2e.test_api_cases import assert_problem, lanarkshire_notification, open_case
from tests.e2e.test_confidentiality import (
    ATTENDEES,
    CHAIR_AGENCY,
    MINUTE_SENTENCE,
    accepted_case,
    audit_rows,
    filing,
    meeting_body,
)

pytestmark = pytest.mark.timeout(180)

PANEL = "PANEL-2026-14"
PANEL_MEMBERS = [CHAIR_AGENCY, "lanarkshire-justice-social-work"]


async def glasgow_case(rig: ApiRig) -> str:
    body = lanarkshire_notification(
        london_today(),
        area="glasgow",
        lead_agency="police-scotland-glasgow",
        notification={
            "notifying_agency": "police-scotland-glasgow",
            "disposal_date": london_today().isoformat(),
            "recommended_level": 2,
        },
    )
    opened = await rig.post("gla-co", "/cases", body)
    assert opened.status_code == 201, opened.text
    ref: str = opened.json()["case_ref"]
    return ref


def panel_body(*case_refs: str, extra: dict[str, list[str]] | None = None) -> dict[str, Any]:
    return {
        "panel_ref": PANEL,
        "scheduled_for": london_today().isoformat(),
        "invited": PANEL_MEMBERS,
        "cases": [{"case_ref": ref, "invited": (extra or {}).get(ref, [])} for ref in case_refs],
    }


def invitations(rig: ApiRig, case_ref: str) -> list[str]:
    return [
        str(m["To"])
        for m in rig.smtp.messages
        if f"[{case_ref}] invitation to meeting-1" in str(m["Subject"])
    ]


async def test_a_panel_day_schedules_each_case_of_the_area_once_and_keeps_each_minute_to_its_own_case(
    api_rig: ApiRig,
) -> None:
    rig = api_rig
    first, second = await accepted_case(rig), await accepted_case(rig)
    elsewhere = await glasgow_case(rig)

    # A case of another area refuses the whole panel, naming the area: nothing is scheduled.
    refused = await rig.post("lan-co", "/panels", panel_body(first, second, elsewhere), key="panel-day-1")
    problem = assert_problem(refused, 403, rule="area")
    assert "Glasgow" in problem["detail"]
    assert [r.outcome for r in audit_rows(rig, elsewhere, action="schedule a meeting")] == ["refused"]
    assert_problem(await rig.get("lan-co", f"/panels/{PANEL}"), 404)
    file = (await rig.get("lan-co", f"/cases/{first}/case-file")).json()
    assert file["scheduled_meeting"] is None
    # A case that cannot take the meeting (still awaiting screening) refuses the panel too, naming the case; the
    # key is free again for the corrected request.
    unscreened = await open_case(rig)
    early = await rig.post("lan-co", "/panels", panel_body(first, unscreened), key="panel-day-1")
    assert unscreened in assert_problem(early, 409)["detail"]
    assert (await rig.get("lan-co", f"/cases/{first}/case-file")).json()["scheduled_meeting"] is None
    # Only the co-ordinator schedules a panel.
    assert_problem(await rig.post("lan-police", "/panels", panel_body(first, second)), 403, rule="role")

    # The area's own cases: each gets its own meeting on the panel, with the panel's and its own invitations.
    body = panel_body(
        first, second, extra={first: ["nhs-lanarkshire"], second: ["south-lanarkshire-council"]}
    )
    scheduled = await rig.post("lan-co", "/panels", body, key="panel-day-1")
    assert scheduled.status_code == 200, scheduled.text
    answer = scheduled.json()
    assert [c["case_ref"] for c in answer["cases"]] == [first, second] and not answer["replayed"]
    for case in answer["cases"]:
        changes = {(c["deadline_id"], c["change"]) for c in case["receipt"]["changes"]}
        assert ("pre-meeting-information", "re-armed") in changes
    for ref in (first, second):
        await _wait_for(lambda ref=ref: len(invitations(rig, ref)) == 3)
        allowed = audit_rows(rig, ref, action="schedule a meeting", outcome="allowed")
        assert [(r.user_name, r.target) for r in allowed] == [("test lan-co", PANEL)]

    # The same request again is answered with the first receipts, and schedules nothing again.
    again = await rig.post("lan-co", "/panels", body, key="panel-day-1")
    assert again.status_code == 200, again.text
    assert again.json()["replayed"] and [c["receipt"]["changes"] for c in again.json()["cases"]] == [
        c["receipt"]["changes"] for c in answer["cases"]
    ]
    await asyncio.sleep(1)
    assert [len(invitations(rig, ref)) for ref in (first, second)] == [3, 3]
    file = (await rig.get("lan-co", f"/cases/{first}/case-file")).json()
    assert file["scheduled_meeting"]["moved_from"] == [] and file["scheduled_meeting"]["panel_ref"] == PANEL
    # The same key with another panel body is refused, naming the key.
    other = await rig.post("lan-co", "/panels", panel_body(first), key="panel-day-1")
    assert_problem(other, 422, field="Idempotency-Key")

    panel = (await rig.get("lan-ops", f"/panels/{PANEL}")).json()
    assert [(c["case_ref"], c["meeting_id"], c["meeting_state"]) for c in panel["cases"]] == [
        (first, "meeting-1", "scheduled"),
        (second, "meeting-1", "scheduled"),
    ]
    assert "Ramsbottom" not in str(panel)
    assert_problem(await rig.get("gla-co", f"/panels/{PANEL}"), 404)  # another area's panel is not there

    # The panel sits: each case's meeting is its own, and so is its minute. NHS attended the first case's
    # meeting only: it reads that minute, never the second's.
    today = london_today()
    await rig.event("lan-chair", first, "meetings", meeting_body(today))
    second_present = [CHAIR_AGENCY, "lanarkshire-justice-social-work", "south-lanarkshire-council"]
    second_meeting = {
        **meeting_body(today),
        "invited": second_present,
        "attendees": [
            {"agency": a, "name": f"Representative of {a}", "signed_confidentiality_statement": True}
            for a in second_present
        ],
    }
    await rig.event("lan-chair", second, "meetings", second_meeting)
    minutes = {}
    for ref, present in ((first, ATTENDEES), (second, second_present)):
        minute = filing(today)
        minute["attendees"] = [
            {
                "agency": a,
                "representative": f"Representative of {a}",
                "signed_confidentiality_statement": True,
            }
            for a in present
        ]
        stored = await rig.post("lan-chair", f"/cases/{ref}/minutes", minute)
        assert stored.status_code == 201, stored.text
        minutes[ref] = stored.json()["minute_ref"]
    read = await rig.get("lan-nhs", f"/minutes/{minutes[first]}")
    assert read.status_code == 200 and read.json()["case_ref"] == first
    kept = await rig.get("lan-nhs", f"/minutes/{minutes[second]}")
    assert kept.status_code == 403 and MINUTE_SENTENCE not in kept.text
    assert (await rig.get("lan-council", f"/minutes/{minutes[second]}")).status_code == 200

    panel = (await rig.get("lan-co", f"/panels/{PANEL}")).json()
    assert [(c["meeting_state"], c["minute_filed"]) for c in panel["cases"]] == [
        ("held", True),
        ("held", True),
    ]
    assert not any(ref in str(panel) for ref in minutes.values())  # minutes are read through their case only


async def _wait_for(condition: Any, timeout: float = 30.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not condition():
        assert asyncio.get_running_loop().time() < deadline, "timed out"
        await asyncio.sleep(0.1)
