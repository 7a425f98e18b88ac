"""Trust under mistaken, hostile and concurrent use (issue 10): each finding reproduced as written, and refused
or done exactly once. The API in-process against the real dev server, a real worker and a migrated database."""

from __future__ import annotations

import asyncio
import base64
import json
import re
from datetime import date, timedelta
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from api import problems
from api.case_service import send_event
from core.codec import WORKFLOW_ID_METADATA
from store.models import AuditEvent, EventRequest
from store.models import CaseOpening as CaseOpeningRow
from tests.e2e.api_rig import ApiRig, london_today
from tests.e2e.test_api_cases import assert_problem, at_referral, lanarkshire_notification, open_case
from tests.e2e.test_confidentiality import (
    CHAIR_AGENCY,
    HIDDEN_ITEM,
    MINUTE_SENTENCE,
    audit_rows,
    case_body,
    case_with_minuted_meeting,
    filing,
    meeting_body,
    with_extra_users,
)
from workflows.rules import events as ev
from workflows.rules.actors import Actor, Role

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


# ------------------------------------------------------------------ 5: a disclosure is decided once


async def test_ten_concurrent_decisions_on_one_disclosure_decide_it_once(api_rig: ApiRig) -> None:
    rig = with_extra_users(api_rig)
    ref, minute_ref = await case_with_minuted_meeting(rig)
    asked = await rig.post(
        "lan-nhs",
        f"/minutes/{minute_ref}/disclosures",
        {"recipient_agency": "north-lanarkshire-council", "rationale": "child protection conference"},
    )
    decision = f"/disclosures/{asked.json()['disclosure_id']}/decision"
    bodies = [{"decision": "grant" if i % 2 else "refuse", "reason": f"decision {i}"} for i in range(10)]
    answers = await asyncio.gather(*(rig.post("lan-chair", decision, body) for body in bodies))
    statuses = sorted(a.status_code for a in answers)
    assert statuses == [200] + [409] * 9, [a.text for a in answers]
    (winner,) = [a.json() for a in answers if a.status_code == 200]
    listed = (await rig.get("lan-co", f"/minutes/{minute_ref}/disclosures")).json()
    assert [d["status"] for d in listed] == [winner["status"]]
    assert listed[0]["decision_reason"] == winner["decision_reason"]
    decided = [r for r in audit_rows(rig, ref) if r.action.endswith("a disclosure of a minute")]
    refused = audit_rows(rig, ref, action="decide on sharing a minute", outcome="refused")
    assert len(decided) == 1 and len(refused) == 9


# ------------------------------------------------------------------ 6: an agency meets only its own deadlines


async def accepted_case(rig: ApiRig) -> str:
    """A Lanarkshire level 2 case, notified today by the police (its lead agency) and accepted."""
    opened = await rig.post("lan-police", "/cases", case_body(london_today()))
    ref: str = opened.json()["case_ref"]
    await rig.event("lan-co", ref, "screening", {"outcome": "referral-needed", "reason": "high risk"})
    await rig.event("lan-police", ref, "referrals", {"referring_agency": CHAIR_AGENCY, "level_sought": 2})
    await rig.event(
        "lan-co",
        ref,
        "referral-decision",
        {"outcome": "accepted", "level": 2, "record_search_agencies": ["nhs-lanarkshire"]},
    )
    return ref


async def test_an_agency_cannot_meet_another_agencys_deadline_but_the_co_ordinator_may_for_it(
    api_rig: ApiRig,
) -> None:
    rig = with_extra_users(api_rig)
    today = london_today()
    ref = await accepted_case(rig)
    jsw = "lanarkshire-justice-social-work"
    meeting = {
        "held_on": today.isoformat(),
        "chair_agency": CHAIR_AGENCY,
        "chair_name": f"Representative of {CHAIR_AGENCY}",
        "chair_grade": "manager",
        "invited": [CHAIR_AGENCY, jsw],
        "attendees": [
            {"agency": a, "name": f"Representative of {a}", "signed_confidentiality_statement": True}
            for a in (CHAIR_AGENCY, jsw)
        ],
        "level_decided": 2,
        "next_review_date": (today + timedelta(weeks=8)).isoformat(),
        "rmp_actions": [
            {
                "action_id": "A1",
                "description": "home visit",
                "owner_agency": jsw,
                "due_date": (today + timedelta(days=14)).isoformat(),
            }
        ],
    }
    await rig.event("lan-chair", ref, "meetings", meeting)
    # NHS completes justice social work's RMP action; housing records the police's SWIS update.
    done = {"meeting_id": "meeting-1", "action_id": "A1"}
    assert_problem(
        await rig.post("lan-nhs", f"/cases/{ref}/rmp-action-completions", done), 403, rule="deadline owner"
    )
    housing_swis = await rig.post(
        "lan-housing", f"/cases/{ref}/swis-alert-updates", {"meeting_id": "meeting-1"}
    )
    assert_problem(housing_swis, 403, rule="deadline owner")
    assert audit_rows(rig, ref, user_name="test lan-housing", outcome="refused")

    # The co-ordinator may record both on the agencies' behalf, and the deadlines say so.
    await rig.event("lan-co", ref, "swis-alert-updates", {"meeting_id": "meeting-1"})
    await rig.event("lan-co", ref, "rmp-action-completions", done)
    deadlines = {d["deadline_id"]: d for d in (await rig.get("lan-co", f"/cases/{ref}/deadlines")).json()}
    swis, action = deadlines["swis-alert:meeting-1"], deadlines["rmp:meeting-1:A1"]
    assert (swis["state"], swis["met_for"]) == ("met", CHAIR_AGENCY)
    assert swis["met_by"] == f"{jsw} (co-ordinator)"
    # The co-ordinator's own agency is justice social work: its action, met by it, not on anyone's behalf.
    assert (action["state"], action["met_for"]) == ("met", None)


async def test_nhs_cannot_record_the_polices_ap1_referral(api_rig: ApiRig) -> None:
    case_ref = await at_referral(api_rig)
    criteria = ("aged_16_or_over", "unable_to_safeguard_own_interests", "at_risk_of_harm")
    await api_rig.event(
        "lan-co",
        case_ref,
        "asp-screening",
        {**dict.fromkeys(criteria, True), "more_vulnerable_than_others": True},
    )
    # The AP1 names no chair (only the co-ordinator names one, by its own act): the NHS is refused on the
    # deadline alone, which is the police's to meet.
    ap1 = {"locality": "South Lanarkshire"}
    assert_problem(
        await api_rig.post("lan-nhs", f"/cases/{case_ref}/ap1-referrals", ap1), 403, rule="deadline owner"
    )
    status = (await api_rig.get("lan-co", f"/cases/{case_ref}")).json()
    assert {d["deadline_id"]: d["state"] for d in status["deadlines"]}["ap1-referral"] == "open"


# ------------------------------------------------------------------ 7: dates in the case's own order


async def test_a_meeting_in_1900_or_before_the_referral_is_refused_and_breaches_nothing(
    api_rig: ApiRig,
) -> None:
    rig = api_rig
    today = london_today()
    ref = await accepted_case(rig)
    before = (await rig.get("lan-co", f"/cases/{ref}/deadlines")).json()
    for held_on, review in (
        (date(1900, 1, 1), date(1900, 2, 1)),
        (today - timedelta(days=1), today + timedelta(weeks=4)),
    ):
        body = {
            "held_on": held_on.isoformat(),
            "chair_agency": CHAIR_AGENCY,
            "attendees": [{"agency": CHAIR_AGENCY, "signed_confidentiality_statement": True}],
            "level_decided": 2,
            "next_review_date": review.isoformat(),
        }
        refused = await rig.post("lan-chair", f"/cases/{ref}/meetings", body)
        assert refused.status_code == 422, refused.text
        assert refused.json()["field"] in ("held_on", "next_review_date")
    after = (await rig.get("lan-co", f"/cases/{ref}/deadlines")).json()
    assert after == before
    assert not [d for d in after if d["state"] == "breached"]


# ------------------------------------------------------------------ 10: minutes, disclosures and what they reveal


async def test_one_minute_cannot_be_the_record_of_two_meetings(api_rig: ApiRig) -> None:
    rig = api_rig
    today = london_today()
    ref, minute_ref = await case_with_minuted_meeting(rig)
    # A meeting naming a stored minute as it is recorded is refused: minutes are filed for recorded meetings.
    naming = {**meeting_body(today), "minute_ref": minute_ref}
    assert_problem(await rig.post("lan-chair", f"/cases/{ref}/meetings", naming), 422, field="minute_ref")
    await rig.event("lan-chair", ref, "meetings", meeting_body(today))  # meeting-2
    # Sent to the case directly (past the API, which makes a new reference for each minute), meeting-1's minute
    # filed as meeting-2's is refused by the case itself.
    digest = (await rig.get("lan-police", f"/minutes/{minute_ref}")).json()["minute_digest"]
    event = ev.MinuteFiled(
        meeting_id="meeting-2",
        minute_ref=minute_ref,
        minute_digest=digest,
        sent_by=Actor(role=Role.CHAIR, agency=CHAIR_AGENCY),
    )
    with pytest.raises(problems.ProblemError) as refused:
        await send_event(rig.env.client, ref, event, "a-direct-update")
    problem = refused.value.problem
    assert (problem.status, problem.field, problem.rule) == (409, "minute_ref", "one minute, one meeting")
    file = (await rig.get("lan-co", f"/cases/{ref}/case-file")).json()
    assert [m["minute_ref"] for m in file["meetings"]] == [minute_ref, None]


async def test_a_whole_minute_disclosure_withholds_the_items_not_to_be_shared_unless_named(
    api_rig: ApiRig,
) -> None:
    rig = with_extra_users(api_rig)
    _, minute_ref = await case_with_minuted_meeting(rig)

    async def granted_minute(recipient: str, share_items: list[str]) -> dict[str, Any]:
        asked = await rig.post(
            "lan-co",
            f"/minutes/{minute_ref}/disclosures",
            {"recipient_agency": recipient, "what": "minute", "rationale": "joint review"},
        )
        disclosure = asked.json()["disclosure_id"]
        granted = await rig.post(
            "lan-chair",
            f"/disclosures/{disclosure}/decision",
            {"decision": "grant", "reason": "needed in full", "share_items": share_items},
        )
        assert granted.status_code == 200, granted.text
        return granted.json()

    await granted_minute("lanarkshire-housing", [])
    read = await rig.get("lan-housing", f"/minutes/{minute_ref}")
    assert read.status_code == 200 and MINUTE_SENTENCE in read.text
    assert HIDDEN_ITEM not in read.text and read.json()["content"]["not_to_be_shared"] == []

    unknown = await rig.post(
        "lan-co",
        f"/minutes/{minute_ref}/disclosures",
        {"recipient_agency": "north-lanarkshire-council", "what": "minute", "rationale": "joint review"},
    )
    named_wrongly = await rig.post(
        "lan-chair",
        f"/disclosures/{unknown.json()['disclosure_id']}/decision",
        {"decision": "grant", "reason": "in full", "share_items": ["an item the minute does not have"]},
    )
    assert_problem(named_wrongly, 422, field="share_items")
    shown = await granted_minute("north-lanarkshire-council", [HIDDEN_ITEM])
    assert shown["items_shared"] == [HIDDEN_ITEM]
    assert HIDDEN_ITEM in (await rig.get("lan-north", f"/minutes/{minute_ref}")).text


async def test_disclosure_ids_are_not_guessable_and_another_areas_look_missing(api_rig: ApiRig) -> None:
    rig = with_extra_users(api_rig)
    _, minute_ref = await case_with_minuted_meeting(rig)
    ids = []
    for rationale in ("first", "second"):
        asked = await rig.post(
            "lan-co",
            f"/minutes/{minute_ref}/disclosures",
            {"recipient_agency": "north-lanarkshire-council", "rationale": rationale},
        )
        ids.append(asked.json()["disclosure_id"])
    assert all(re.fullmatch(r"DIS-[A-Z0-9]{16}", i) for i in ids) and ids[0] != ids[1]

    grant = {"decision": "grant", "reason": "ok"}
    elsewhere = await rig.post("gla-co", f"/disclosures/{ids[0]}/decision", grant)
    missing = await rig.post("gla-co", "/disclosures/DIS-AAAAAAAAAAAAAAAA/decision", grant)
    assert elsewhere.status_code == missing.status_code == 404
    assert elsewhere.json()["type"] == missing.json()["type"]
    assert elsewhere.json()["detail"].replace(ids[0], "X") == missing.json()["detail"].replace(
        "DIS-AAAAAAAAAAAAAAAA", "X"
    )
    minute_elsewhere = await rig.get("gla-co", f"/minutes/{minute_ref}")
    minute_missing = await rig.get("gla-co", "/minutes/MIN-AAAAAAAAAAAA")
    assert minute_elsewhere.status_code == minute_missing.status_code == 404
    assert minute_elsewhere.json()["type"] == minute_missing.json()["type"]


async def test_a_second_minute_for_a_meeting_does_not_echo_the_first(api_rig: ApiRig) -> None:
    rig = api_rig
    today = london_today()
    ref, minute_ref = await case_with_minuted_meeting(rig)
    digest = (await rig.get("lan-police", f"/minutes/{minute_ref}")).json()["minute_digest"]
    other = {**filing(today), "conclusions": "Another account of the meeting."}
    refused = await rig.post("lan-chair", f"/cases/{ref}/minutes", other)
    assert_problem(refused, 409, field="meeting_id", rule="one minute, one meeting")
    assert (
        digest not in refused.text and MINUTE_SENTENCE not in refused.text and HIDDEN_ITEM not in refused.text
    )
