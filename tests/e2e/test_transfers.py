"""A case transferred from Lanarkshire to Glasgow over HTTP, against the dev server and a real worker: the
sending co-ordinator asks, a co-ordinator of another area cannot decide it, Glasgow's accepts; then Glasgow's
tokens act on the case, and Lanarkshire's read it (audited) but send it nothing."""

from __future__ import annotations

import pytest

from api.auth import issue_token
from core.database import session_factory
from store.models import AuditOutcome
from tests.e2e.api_rig import ApiRig, london_today
from tests.e2e.test_confidentiality import CHAIR_AGENCY, audit_rows, case_body

pytestmark = pytest.mark.timeout(120)

JSW = "lanarkshire-justice-social-work"
ACCEPTED = {
    "receiving_area": "glasgow",
    "lead_agency": "police-scotland-glasgow",
    "handovers": [{"from_agency": JSW, "to_agency": "glasgow-justice-social-work"}],
}


def with_other_areas(rig: ApiRig) -> ApiRig:
    users = {
        "lob-co": ("co-ordinator", "edinburgh-justice-social-work", "lothian-and-borders"),
        "gla-police": ("agency-worker", "police-scotland-glasgow", "glasgow"),
    }
    with session_factory(rig.engine).begin() as session:
        for key, (role, agency, area) in users.items():
            rig.tokens[key] = issue_token(
                session, user_name=f"test {key}", agency_id=agency, role=role, area=area
            )
    return rig


async def lanarkshire_case_asked_of_glasgow(rig: ApiRig) -> str:
    opened = await rig.post("lan-police", "/cases", case_body(london_today()))
    assert opened.status_code == 201, opened.text
    ref: str = opened.json()["case_ref"]
    await rig.event("lan-co", ref, "screening", {"outcome": "referral-needed", "reason": "high risk"})
    await rig.event("lan-police", ref, "referrals", {"referring_agency": CHAIR_AGENCY, "level_sought": 2})
    await rig.event(
        "lan-co",
        ref,
        "referral-decision",
        {"outcome": "accepted", "level": 2, "record_search_agencies": [JSW]},
    )
    receipt = await rig.event(
        "lan-co", ref, "transfer-requests", {"receiving_area": "glasgow", "reason": "the subject moved"}
    )
    assert [c["deadline_id"] for c in receipt["changes"]] == ["transfer-acceptance:transfer-1"]
    return ref


async def test_a_case_transferred_to_glasgow_is_glasgows_and_lanarkshire_keeps_read_access(api_rig: ApiRig):
    rig = with_other_areas(api_rig)
    ref = await lanarkshire_case_asked_of_glasgow(rig)

    # Before acceptance the case is Lanarkshire's: Glasgow may decide the transfer and nothing else.
    assert (await rig.get("gla-co", f"/cases/{ref}")).status_code == 403
    for user in ("lob-co", "lan-co"):  # another area's co-ordinator, and the sender itself
        refused = await rig.post(user, f"/cases/{ref}/transfer-acceptances", ACCEPTED)
        assert refused.status_code == 403, refused.text
    refused_rows = audit_rows(
        rig, ref, outcome=AuditOutcome.REFUSED.value, action="accept a transfer of the case"
    )
    assert {r.user_name for r in refused_rows} == {"test lob-co", "test lan-co"}
    # The lead agency is the receiving area's responsible authority, from the directory.
    wrong_lead = await rig.post(
        "gla-co", f"/cases/{ref}/transfer-acceptances", {**ACCEPTED, "lead_agency": CHAIR_AGENCY}
    )
    assert wrong_lead.status_code == 422 and "Lanarkshire" in wrong_lead.json()["detail"]

    receipt = await rig.event("gla-co", ref, "transfer-acceptances", ACCEPTED)
    assert any(c["change"] == "transferred" and c.get("reason") for c in receipt["changes"])
    status = await rig.get("gla-co", f"/cases/{ref}")
    assert status.status_code == 200 and status.json()["summary"]["area"] == "glasgow"
    assert status.json()["summary"]["lead_agency"] == "police-scotland-glasgow"

    # Glasgow's tokens act on the case; the record search handed over is Glasgow's to return.
    searched = await rig.post(
        "gla-co", f"/cases/{ref}/record-searches", {"agency": "glasgow-justice-social-work"}
    )
    assert searched.status_code == 200, searched.text
    risk = {"reporting_agency": "police-scotland-glasgow", "direction": "increased", "summary": "new address"}
    await rig.event("gla-police", ref, "risk-changes", risk)

    # Lanarkshire reads what it did, audited, and sends nothing.
    assert (await rig.get("lan-co", f"/cases/{ref}")).status_code == 200
    case_file = await rig.get("lan-co", f"/cases/{ref}/case-file")
    assert case_file.status_code == 200 and case_file.json()["transfers"][0]["to_area"] == "glasgow"
    assert audit_rows(rig, ref, user_name="test lan-co", action="read the case file", outcome="allowed")
    for user, path, body in (
        (
            "lan-co",
            "risk-change-triage",
            {"change_id": "risk-change-1", "outcome": "no-action", "reason": "x"},
        ),
        ("lan-police", "risk-changes", {**risk, "reporting_agency": CHAIR_AGENCY}),
    ):
        refused = await rig.post(user, f"/cases/{ref}/{path}", body)
        assert refused.status_code == 403 and "Glasgow" in refused.json()["detail"], refused.text
    assert audit_rows(rig, ref, user_name="test lan-police", outcome=AuditOutcome.REFUSED.value)
    # An area the case never was in reads nothing.
    assert (await rig.get("lob-co", f"/cases/{ref}")).status_code == 403
