"""Issue 10 finding 1, over HTTP against the dev server and worker: no agency can make itself ASP chair and so
read every minute. The roles that open a minute to an agency come only from facts recorded by those entitled
to record them (the co-ordinator names the ASP chair; attendance comes from the meeting the chair recorded, whose
minute is filed for it), and end."""

from __future__ import annotations

from typing import Any

import pytest

from tests.e2e.api_rig import ApiRig, london_today
from tests.e2e.test_confidentiality import (
    CHAIR_AGENCY,
    HIDDEN_ITEM,
    audit_rows,
    case_body,
    filing,
    meeting_body,
    with_extra_users,
)

pytestmark = pytest.mark.timeout(120)

JSW = "lanarkshire-justice-social-work"
ATTENDED = [CHAIR_AGENCY, JSW]  # police and justice social work
COUNCIL = "south-lanarkshire-council"
CRITERIA_MET = dict.fromkeys(
    (
        "aged_16_or_over",
        "unable_to_safeguard_own_interests",
        "at_risk_of_harm",
        "more_vulnerable_than_others",
    ),
    True,
)


def attended_by_police_and_jsw(body: dict[str, Any]) -> dict[str, Any]:
    return {
        **body,
        "attendees": [a for a in body["attendees"] if a["agency"] in ATTENDED],
    }


async def scottish_case_minuted_by_police_and_jsw(rig: ApiRig) -> tuple[str, str]:
    today = london_today()
    opened = await rig.post("lan-police", "/cases", case_body(today))
    assert opened.status_code == 201, opened.text
    ref: str = opened.json()["case_ref"]
    await rig.event("lan-co", ref, "screening", {"outcome": "referral-needed", "reason": "high risk"})
    await rig.event("lan-police", ref, "referrals", {"referring_agency": CHAIR_AGENCY, "level_sought": 2})
    await rig.event("lan-co", ref, "asp-screening", CRITERIA_MET)  # an AP1 is due
    await rig.event(
        "lan-co",
        ref,
        "referral-decision",
        {"outcome": "accepted", "level": 2, "record_search_agencies": [JSW]},
    )
    await rig.event("lan-chair", ref, "meetings", attended_by_police_and_jsw(meeting_body(today)))
    stored = await rig.post("lan-chair", f"/cases/{ref}/minutes", attended_by_police_and_jsw(filing(today)))
    assert stored.status_code == 201, stored.text
    return ref, stored.json()["minute_ref"]


async def test_no_agency_can_appoint_itself_asp_chair_and_read_every_minute(api_rig: ApiRig) -> None:
    rig = with_extra_users(api_rig)
    ref, minute_ref = await scottish_case_minuted_by_police_and_jsw(rig)
    minute = f"/minutes/{minute_ref}"
    assert (await rig.get("lan-housing", minute)).status_code == 403

    # The housing worker raises an ASP inquiry concern naming itself: a concern, not a chair.
    await rig.event("lan-housing", ref, "asp-inquiry-concerns", {"raised_by": "lanarkshire-housing"})
    after_concern = await rig.get("lan-housing", minute)
    assert after_concern.status_code == 403 and HIDDEN_ITEM not in after_concern.text

    # An NHS worker records the AP1 naming itself ASP chair: refused, naming the field and the rule.
    self_named = await rig.post(
        "lan-nhs",
        f"/cases/{ref}/ap1-referrals",
        {"locality": "South Lanarkshire", "asp_chair_agency": "nhs-lanarkshire"},
    )
    assert self_named.status_code == 403, self_named.text
    assert "only the co-ordinator names asp_chair_agency" in self_named.json()["detail"]
    after_ap1 = await rig.get("lan-nhs", minute)
    assert after_ap1.status_code == 403 and HIDDEN_ITEM not in after_ap1.text
    # Even from the co-ordinator, the AP1 names no chair: naming one is its own, recorded, act.
    by_co = await rig.post(
        "lan-co",
        f"/cases/{ref}/ap1-referrals",
        {"locality": "South Lanarkshire", "asp_chair_agency": COUNCIL},
    )
    assert by_co.status_code == 422 and by_co.json().get("field") == "asp_chair_agency", by_co.text
    # The AP1 itself is the referring police's deadline to meet (an agency meets only its own).
    await rig.event("lan-police", ref, "ap1-referrals", {"locality": "South Lanarkshire"})

    # The co-ordinator is not forced to circulate the minutes to either.
    await rig.event(
        "lan-co", ref, "minutes-circulations", {"meeting_id": "meeting-1", "recipients": ATTENDED}
    )

    # The audit trail records each of their reads as refused, none as legitimate.
    reads = [
        (r.user_name, r.outcome)
        for r in audit_rows(rig, ref, action="read a minute")
        if r.user_name in ("test lan-housing", "test lan-nhs")
    ]
    assert reads == [
        ("test lan-housing", "refused"),
        ("test lan-housing", "refused"),
        ("test lan-nhs", "refused"),
    ]


async def test_the_asp_chair_the_co_ordinator_names_reads_the_minutes_until_the_asp_side_closes(
    api_rig: ApiRig,
) -> None:
    rig = with_extra_users(api_rig)
    ref, minute_ref = await scottish_case_minuted_by_police_and_jsw(rig)
    minute = f"/minutes/{minute_ref}"
    named_by_worker = await rig.post("lan-council", f"/cases/{ref}/asp-chair", {"asp_chair_agency": COUNCIL})
    assert named_by_worker.status_code == 403
    assert (await rig.get("lan-council", minute)).status_code == 403

    await rig.event("lan-co", ref, "asp-chair", {"asp_chair_agency": COUNCIL})
    read = await rig.get("lan-council", minute)
    assert read.status_code == 200 and HIDDEN_ITEM in read.text
    (allowed,) = audit_rows(rig, ref, user_name="test lan-council", action="read a minute", outcome="allowed")
    assert "chairs the ASP side" in (allowed.reason or "")

    await rig.event("lan-co", ref, "asp-side-closed", {"reason": "the ASP protection plan ended"})
    assert (await rig.get("lan-council", minute)).status_code == 403
