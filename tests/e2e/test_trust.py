"""Trust under mistaken, hostile and concurrent use (issue 10): each finding reproduced as written, and refused
or done exactly once. The API in-process against the real dev server, a real worker and a migrated database."""

from __future__ import annotations

import asyncio
import base64
import json
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from core.codec import WORKFLOW_ID_METADATA
from store.models import AuditEvent, EventRequest
from store.models import CaseOpening as CaseOpeningRow
from tests.e2e.api_rig import ApiRig, london_today
from tests.e2e.test_api_cases import assert_problem, at_referral, lanarkshire_notification, open_case

pytestmark = pytest.mark.timeout(180)


def openings(rig: ApiRig) -> list[CaseOpeningRow]:
    with Session(rig.engine) as session:
        return list(session.scalars(select(CaseOpeningRow)).all())


# ------------------------------------------------------------------ 2: tokens without an area


async def test_a_national_token_cannot_read_or_write_a_case_its_agency_is_not_involved_in(
    api_rig: ApiRig,
) -> None:
    case_ref = await open_case(api_rig)  # Lanarkshire police's case: SPS has no part in it

    file = await api_rig.get("sps", f"/cases/{case_ref}/case-file")
    assert_problem(file, 403, rule="national agency involvement")
    assert "Testperson" not in file.text
    assert_problem(await api_rig.get("sps", f"/cases/{case_ref}"), 403, rule="national agency involvement")
    event = await api_rig.post(
        "sps",
        f"/cases/{case_ref}/risk-changes",
        {"reporting_agency": "sps", "direction": "increased", "summary": "a hostile report"},
    )
    assert_problem(event, 403, rule="national agency involvement")
    with Session(api_rig.engine) as session:
        refused = session.scalars(
            select(AuditEvent).where(AuditEvent.case_ref == case_ref, AuditEvent.agency_id == "sps")
        ).all()
    assert {(r.action, r.outcome) for r in refused} >= {("read the case file", "refused")}
    status = (await api_rig.get("lan-co", f"/cases/{case_ref}")).json()
    assert not [c for c in status["deadlines"] if c["deadline_id"].startswith("risk-change")]


async def test_a_national_token_acts_on_a_case_that_asked_its_agency_for_a_record_search(
    api_rig: ApiRig,
) -> None:
    case_ref = await at_referral(api_rig)
    await api_rig.event(
        "lan-co",
        case_ref,
        "referral-decision",
        {"outcome": "accepted", "level": 2, "record_search_agencies": ["nhs-lanarkshire", "sps"]},
    )
    file = await api_rig.get("sps", f"/cases/{case_ref}/case-file")
    assert file.status_code == 200, file.text
    receipt = await api_rig.event("sps", case_ref, "record-searches", {"agency": "sps"})
    assert [c["deadline_id"] for c in receipt["changes"]] == ["record-search:sps"]


# ------------------------------------------------------------------ 3: concurrent openings, one key


async def test_twenty_parallel_openings_with_one_key_open_one_case(api_rig: ApiRig) -> None:
    body = lanarkshire_notification(london_today())
    responses = await asyncio.gather(
        *(api_rig.post("lan-police", "/cases", body, key="open-once-0001") for _ in range(20))
    )
    assert {r.status_code for r in responses} == {201}, [r.text for r in responses if r.status_code != 201]
    refs = {r.json()["case_ref"] for r in responses}
    assert len(refs) == 1
    assert [r.json()["replayed"] for r in responses].count(False) >= 1
    assert [(o.idempotency_key, o.case_ref) for o in openings(api_rig)] == [("open-once-0001", refs.pop())]


# ------------------------------------------------------------------ 4: dates no policy allows


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        (
            {
                "notification": {
                    "notifying_agency": "police-scotland-lanarkshire",
                    "disposal_date": "9999-12-31",
                }
            },
            "notification.disposal_date",
        ),
        ({"route": "custody", "release_date": "0001-01-01"}, "release_date"),
        ({"sonr_end_date": "0001-01-01"}, "sonr_end_date"),
    ],
)
async def test_a_date_the_arithmetic_cannot_bear_is_refused_and_starts_nothing(
    api_rig: ApiRig, changes: dict[str, Any], field: str
) -> None:
    body = lanarkshire_notification(london_today(), **changes)
    response = await api_rig.post("lan-police", "/cases", body, key="far-date")
    problem = assert_problem(response, 422, field=field)
    assert "nothing was recorded" not in problem["detail"]
    assert openings(api_rig) == []


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        (
            {"subject": {"name": "A Testperson", "date_of_birth": "1850-01-01", "address": "1 Row"}},
            "subject.date_of_birth",
        ),
        (
            {
                "notification": {
                    "notifying_agency": "police-scotland-lanarkshire",
                    "disposal_date": "2150-01-01",
                }
            },
            "notification.disposal_date",
        ),
        ({"sonr_end_date": "2150-01-01"}, "sonr_end_date"),
    ],
)
async def test_a_date_outside_its_policy_window_is_refused_naming_the_field(
    api_rig: ApiRig, changes: dict[str, Any], field: str
) -> None:
    response = await api_rig.post("lan-police", "/cases", lanarkshire_notification(london_today(), **changes))
    problem = assert_problem(response, 422, field=field)
    assert "outside the range" in problem["detail"] or "not a plausible date" in problem["detail"]
    assert openings(api_rig) == []


async def test_an_event_date_outside_its_window_is_refused_before_it_reaches_the_case(
    api_rig: ApiRig,
) -> None:
    case_ref = await open_case(api_rig)
    far = (london_today() + timedelta(days=365 * 60)).isoformat()
    response = await api_rig.post(
        "lan-co",
        f"/cases/{case_ref}/exit-decisions",
        {"outcome": "shpo-granted", "reason": "SHPO granted", "new_sonr_end_date": far},
    )
    assert_problem(response, 422, field="new_sonr_end_date", rule="plausible dates")


# ------------------------------------------------------------------ 9: keys bound to their request


async def test_one_key_with_another_opening_is_refused_naming_the_key(api_rig: ApiRig) -> None:
    today = london_today()
    first = await api_rig.post("lan-police", "/cases", lanarkshire_notification(today), key="notif-0042")
    assert first.status_code == 201
    again = await api_rig.post("lan-police", "/cases", lanarkshire_notification(today), key="notif-0042")
    assert again.status_code == 201 and again.json()["case_ref"] == first.json()["case_ref"]
    assert again.json()["replayed"] is True
    other = lanarkshire_notification(
        today, subject={"name": "Somebody Else", "date_of_birth": "1990-02-02", "address": "2 Other Row"}
    )
    problem = assert_problem(
        await api_rig.post("lan-police", "/cases", other, key="notif-0042"), 422, field="Idempotency-Key"
    )
    assert "notif-0042" in problem["detail"]
    assert len(openings(api_rig)) == 1


async def test_one_key_with_another_event_is_refused_and_a_true_repeat_says_replayed(api_rig: ApiRig) -> None:
    case_ref = await open_case(api_rig)
    report = {
        "reporting_agency": "police-scotland-lanarkshire",
        "direction": "increased",
        "summary": "threats",
    }
    first = await api_rig.event("lan-police", case_ref, "risk-changes", report, key="risk-1")
    assert first["replayed"] is False
    repeat = await api_rig.event("lan-police", case_ref, "risk-changes", report, key="risk-1")
    assert repeat["replayed"] is True and repeat["changes"] == first["changes"]
    changed = await api_rig.post(
        "lan-police", f"/cases/{case_ref}/risk-changes", {**report, "direction": "decreased"}, key="risk-1"
    )
    problem = assert_problem(changed, 422, field="Idempotency-Key")
    assert "risk-1" in problem["detail"]
    case = (await api_rig.get("lan-co", f"/cases/{case_ref}/case-file")).json()
    assert [(r["direction"]) for r in case["risk_changes"]] == ["increased"]


async def test_a_key_the_case_refused_is_free_for_the_corrected_event(api_rig: ApiRig) -> None:
    case_ref = await at_referral(api_rig)
    refused = await api_rig.post(
        "lan-co", f"/cases/{case_ref}/referral-decision", {"outcome": "rejected"}, key="decision-1"
    )
    assert_problem(refused, 422, field="reasons")
    corrected = await api_rig.event(
        "lan-co",
        case_ref,
        "referral-decision",
        {"outcome": "rejected", "reasons": "not MAPPA eligible"},
        key="decision-1",
    )
    assert corrected["replayed"] is False and corrected["level"] == 1
    with Session(api_rig.engine) as session:
        assert len(session.scalars(select(EventRequest)).all()) == 1


# ------------------------------------------------------------------ 10: names, codec


@pytest.mark.parametrize(
    "name", ["Alasdair\x00Testperson", "Alasdair \u202eTestperson", "Alasdair\nTestperson"]
)
async def test_a_name_with_nul_or_bidi_controls_is_refused(api_rig: ApiRig, name: str) -> None:
    body = lanarkshire_notification(
        london_today(), subject={"name": name, "date_of_birth": "1979-05-17", "address": "14 Example Row"}
    )
    assert_problem(await api_rig.post("lan-police", "/cases", body), 422, field="subject.name")


def payloads_document() -> dict[str, Any]:
    data = base64.b64encode(json.dumps({"outcome": "exit"}).encode()).decode()
    return {"payloads": [{"metadata": {"encoding": base64.b64encode(b"json/plain").decode()}, "data": data}]}


async def test_codec_encode_is_bound_to_a_case_and_audited(api_rig: ApiRig) -> None:
    case_ref = await open_case(api_rig)
    unbound = await api_rig.http.post(
        "/codec/encode", json=payloads_document(), headers=api_rig.auth("lan-co")
    )
    assert_problem(unbound, 422, field="X-Case-Ref")
    other_area = await api_rig.http.post(
        "/codec/encode", json=payloads_document(), headers={**api_rig.auth("gla-co"), "X-Case-Ref": case_ref}
    )
    assert_problem(other_area, 403, rule="area")

    bound = await api_rig.http.post(
        "/codec/encode", json=payloads_document(), headers={**api_rig.auth("lan-co"), "X-Case-Ref": case_ref}
    )
    assert bound.status_code == 200, bound.text
    metadata = bound.json()["payloads"][0]["metadata"]
    assert base64.b64decode(metadata[WORKFLOW_ID_METADATA]).decode() == case_ref
    decoded = await api_rig.http.post("/codec/decode", json=bound.json(), headers=api_rig.auth("lan-co"))
    assert base64.b64decode(decoded.json()["payloads"][0]["data"]) == b'{"outcome": "exit"}'
    with Session(api_rig.engine) as session:
        trail = session.scalars(
            select(AuditEvent).where(AuditEvent.case_ref == case_ref, AuditEvent.action.like("encode%"))
        ).all()
    assert {(a.user_name, a.outcome) for a in trail} == {
        ("test gla-co", "refused"),
        ("test lan-co", "allowed"),
    }
