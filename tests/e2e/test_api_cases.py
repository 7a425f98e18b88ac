"""The case API against the real dev server and a real worker: agencies take a case through MAPPA over HTTP.

Bodies are the JSON an agency's system would send; every refusal is a problem document naming the rule and
field at fault.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from api.app import create_app
from api.auth import revoke_tokens
from core.database import session_factory
from core.settings import Settings
from store.models import AuditEvent
from store.models import CaseOpening as CaseOpeningRow
from tests.e2e.api_rig import ApiRig, london_today

pytestmark = pytest.mark.timeout(120)

PROBLEM_JSON = "application/problem+json"
LANARKSHIRE_AGENCIES = [
    "police-scotland-lanarkshire",
    "lanarkshire-justice-social-work",
    "nhs-lanarkshire",
    "south-lanarkshire-council",
]


def lanarkshire_notification(today: date, **changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "area": "lanarkshire",
        "jurisdiction": "scotland",
        "category": 1,
        "lead_agency": "police-scotland-lanarkshire",
        "subject": {
            "name": "Alasdair Testperson",
            "date_of_birth": "1979-05-17",
            "address": "14 Example Row",
        },
        "notification": {
            "notifying_agency": "police-scotland-lanarkshire",
            "disposal_date": today.isoformat(),
            "recommended_level": 2,
        },
        "sonr_end_date": (today + timedelta(days=730)).isoformat(),
    }
    body.update(changes)
    return body


def meeting(today: date, next_review: date, **changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "held_on": today.isoformat(),
        "chair_agency": "police-scotland-lanarkshire",
        "chair_name": "Representative of police-scotland-lanarkshire",
        "chair_grade": "manager",
        "invited": LANARKSHIRE_AGENCIES,
        "attendees": [
            {"agency": a, "name": f"Representative of {a}", "signed_confidentiality_statement": True}
            for a in LANARKSHIRE_AGENCIES
        ],
        "level_decided": 2,
        "next_review_date": next_review.isoformat(),
        "not_to_be_shared": [{"item": "the victim's new address", "reason": "risk to the victim"}],
        "chair_record": ["reasonable-steps-taken", "decisions-recorded"],
    }
    body.update(changes)
    return body


async def open_case(rig: ApiRig, body: dict[str, Any] | None = None, user: str = "lan-police") -> str:
    response = await rig.post(user, "/cases", body or lanarkshire_notification(london_today()))
    assert response.status_code == 201, response.text
    case_ref: str = response.json()["case_ref"]
    return case_ref


async def at_referral(rig: ApiRig) -> str:
    """A Lanarkshire case whose level 2 referral awaits the co-ordinator's decision."""
    case_ref = await open_case(rig)
    await rig.event(
        "lan-co", case_ref, "screening", {"outcome": "referral-needed", "reason": "risk to a known adult"}
    )
    await rig.event(
        "lan-police",
        case_ref,
        "referrals",
        {"referring_agency": "police-scotland-lanarkshire", "level_sought": 2},
    )
    return case_ref


def assert_problem(
    response: httpx.Response, status: int, *, field: str | None = None, rule: str | None = None
) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM_JSON)
    problem: dict[str, Any] = response.json()
    assert problem["status"] == status and problem["title"] and problem["type"]
    if field is not None:
        assert problem.get("field") == field, problem
    if rule is not None:
        assert problem.get("rule") == rule, problem
    return problem


async def test_a_scottish_level_2_case_goes_from_notification_to_review_through_every_agency_route(
    api_rig: ApiRig,
) -> None:
    rig, today = api_rig, london_today()

    opened = await rig.post("lan-police", "/cases", lanarkshire_notification(today))
    assert opened.status_code == 201, opened.text
    case = opened.json()
    ref = case["case_ref"]
    assert ref.startswith(f"MAPPA-LAN-{today.year}-") and opened.headers["location"] == f"/cases/{ref}"
    assert case["stage"] == "notification" and not case["replayed"]
    assert "screening" in {d["deadline_id"] for d in case["deadlines"]}

    screened = await rig.event(
        "lan-co", ref, "screening", {"outcome": "referral-needed", "reason": "known adult at risk"}
    )
    assert screened["stage"] == "referral-due"
    referral = {
        "referring_agency": "police-scotland-lanarkshire",
        "level_sought": 2,
        "risk_summary": "High RoSH",
    }
    assert (await rig.event("lan-police", ref, "referrals", referral))["stage"] == "referral"
    await rig.event(
        "lan-co", ref, "further-information-requests", {"missing": "the victim's current address"}
    )
    await rig.event("lan-police", ref, "further-information", {"supplied_by": "police-scotland-lanarkshire"})

    asp = {
        k: True
        for k in (
            "aged_16_or_over",
            "unable_to_safeguard_own_interests",
            "at_risk_of_harm",
            "more_vulnerable_than_others",
        )
    }
    screening = await rig.event("lan-co", ref, "asp-screening", asp)
    assert {"deadline_id": "ap1-referral", "change": "opened"}.items() <= next(
        c for c in screening["changes"] if c["deadline_id"] == "ap1-referral"
    ).items()
    await rig.event("lan-police", ref, "ap1-referrals", {"locality": "South Lanarkshire"})
    await rig.event("lan-co", ref, "asp-chair", {"asp_chair_agency": "south-lanarkshire-council"})
    await rig.event("lan-council", ref, "asp-inquiry-concerns", {"raised_by": "south-lanarkshire-council"})
    await rig.event(
        "lan-council",
        ref,
        "asp-information-shared",
        {
            "shared_with": "lanarkshire-justice-social-work",
            "recipient": "justice-social-work",
            "shared": ["name", "date-of-birth", "address", "needs", "risks"],
        },
    )

    accepted = await rig.event(
        "lan-co",
        ref,
        "referral-decision",
        {
            "outcome": "accepted",
            "level": 2,
            "record_search_agencies": ["police-scotland-lanarkshire", "nhs-lanarkshire"],
        },
    )
    assert (accepted["stage"], accepted["level"]) == ("information-sharing", 2)
    await rig.event(
        "lan-police",
        ref,
        "record-searches",
        {"agency": "police-scotland-lanarkshire", "relevant_information_found": True},
    )
    await rig.event("lan-nhs", ref, "record-searches", {"agency": "nhs-lanarkshire"})
    await rig.event(
        "lan-police",
        ref,
        "children-at-risk",
        {
            "children": [{"name": "Isla Brodie"}, {"name": "Rory Brodie"}],
            "identified_by": "police-scotland-lanarkshire",
        },
    )
    await rig.event(
        "lan-police", ref, "child-protection-referrals", {"referred_by": "police-scotland-lanarkshire"}
    )

    action = {
        "action_id": "A1",
        "description": "Licence conditions check",
        "owner_agency": "police-scotland-lanarkshire",
        "due_date": (today + timedelta(days=14)).isoformat(),
    }
    held = await rig.event(
        "lan-chair", ref, "meetings", meeting(today, today + timedelta(weeks=8), rmp_actions=[action])
    )
    assert held["stage"] == "active-management"
    await rig.event(
        "lan-co", ref, "minutes-circulations", {"meeting_id": "meeting-1", "recipients": LANARKSHIRE_AGENCIES}
    )
    await rig.event("lan-police", ref, "swis-alert-updates", {"meeting_id": "meeting-1"})
    await rig.event(
        "lan-police", ref, "rmp-action-completions", {"meeting_id": "meeting-1", "action_id": "A1"}
    )

    await rig.event(
        "lan-nhs",
        ref,
        "risk-changes",
        {"reporting_agency": "nhs-lanarkshire", "direction": "increased", "summary": "Missed appointments"},
    )
    triaged = await rig.event(
        "lan-co",
        ref,
        "risk-change-triage",
        {"change_id": "risk-change-1", "outcome": "extra-review", "reason": "escalating behaviour"},
    )
    assert any(
        c["deadline_id"] == "extra-review:risk-change-1" and c["change"] == "opened"
        for c in triaged["changes"]
    )
    review = await rig.event("lan-chair", ref, "meetings", meeting(today, today + timedelta(weeks=12)))
    assert any(
        c["deadline_id"] == "extra-review:risk-change-1" and c["change"] == "met" for c in review["changes"]
    )
    await rig.event(
        "lan-chair",
        ref,
        "child-protection-sharing",
        {
            "meeting_id": "meeting-2",
            "conference": "South Lanarkshire child protection case conference",
            "reveals_third_party_source": False,
        },
    )
    await rig.event(
        "lan-co",
        ref,
        "subject-informed",
        {"informed": False, "reason": "telling him now would endanger the victim"},
    )
    raised = await rig.event(
        "lan-co",
        ref,
        "level-changes",
        {
            "new_level": 3,
            "reason": "Escalating risk",
            "level_2_cannot_deliver": "Police resources at short notice",
        },
    )
    assert raised["level"] == 3
    await rig.event("lan-police", ref, "sonr-end-notices", {"given_by": "police-scotland-lanarkshire"})
    assert (
        await rig.event(
            "lan-co",
            ref,
            "exit-decisions",
            {
                "outcome": "continue",
                "reason": "Risk remains high",
                "continue_basis": "shpo-application-pending",
            },
        )
    )["stage"] == "active-management"

    status = await rig.get("lan-ops", f"/cases/{ref}")
    assert status.status_code == 200, status.text
    summary = status.json()["summary"]
    assert (summary["stage"], summary["level"], summary["area"]) == ("active-management", 3, "lanarkshire")
    # No subject details (the deadline 'subject told of their MAPPA status' names the subject, not who they are).
    assert '"subject"' not in status.text and "Alasdair" not in status.text
    open_deadlines = (await rig.get("lan-ops", f"/cases/{ref}/deadlines", state="open")).json()
    assert {d["kind"] for d in open_deadlines} >= {"review-level-3", "minutes"}
    assert all(d["state"] == "open" for d in open_deadlines)

    case_file = await rig.get("lan-co", f"/cases/{ref}/case-file")
    assert case_file.status_code == 200 and case_file.json()["subject"]["name"] == "Alasdair Testperson"
    with Session(rig.engine) as session:
        reads = session.scalar(
            select(func.count()).where(AuditEvent.case_ref == ref, AuditEvent.action == "read the case file")
        )
    assert reads == 1

    # The referral's receipt reached the referring agency's single point of contact by e-mail.
    messages = await rig.smtp.wait_for(1, timeout=30)
    assert any(ref in (m["Subject"] or "") for m in messages)


async def test_an_event_the_stage_does_not_take_is_refused_with_409(api_rig: ApiRig) -> None:
    case_ref = await open_case(api_rig)
    response = await api_rig.post(
        "lan-co",
        f"/cases/{case_ref}/referral-decision",
        {"outcome": "accepted", "level": 2, "record_search_agencies": ["nhs-lanarkshire"]},
    )
    problem = assert_problem(response, 409, rule="stage")
    assert "stage 'notification'" in problem["detail"]


async def test_a_level_3_referral_without_the_statement_is_refused_and_changes_nothing(
    api_rig: ApiRig,
) -> None:
    case_ref = await open_case(api_rig)
    await api_rig.event("lan-co", case_ref, "screening", {"outcome": "referral-needed", "reason": "risk"})
    response = await api_rig.post(
        "lan-police",
        f"/cases/{case_ref}/referrals",
        {"referring_agency": "police-scotland-lanarkshire", "level_sought": 3},
    )
    problem = assert_problem(response, 422, field="level_2_cannot_deliver", rule="level 3 referral statement")
    assert "level 2 cannot deliver" in problem["detail"]
    status = (await api_rig.get("lan-co", f"/cases/{case_ref}")).json()
    assert status["summary"]["stage"] == "referral-due"


async def test_a_case_opened_by_a_level_3_referral_without_the_statement_is_never_started(
    api_rig: ApiRig,
) -> None:
    body = lanarkshire_notification(
        london_today(),
        route="asp-case-conference",
        notification=None,
        referral={"referring_agency": "police-scotland-lanarkshire", "level_sought": 3},
    )
    response = await api_rig.post("lan-police", "/cases", body)
    assert_problem(response, 422, field="referral.level_2_cannot_deliver", rule="level 3 referral statement")


async def test_a_rejected_referral_needs_reasons(api_rig: ApiRig) -> None:
    case_ref = await at_referral(api_rig)
    response = await api_rig.post("lan-co", f"/cases/{case_ref}/referral-decision", {"outcome": "rejected"})
    assert_problem(response, 422, field="reasons", rule="rejection reasons")
    rejected = await api_rig.event(
        "lan-co", case_ref, "referral-decision", {"outcome": "rejected", "reasons": "Manageable at level 1"}
    )
    assert (rejected["stage"], rejected["level"]) == ("level-1", 1)


async def test_an_invalid_body_is_a_problem_naming_the_field(api_rig: ApiRig) -> None:
    case_ref = await open_case(api_rig)
    response = await api_rig.post(
        "lan-co", f"/cases/{case_ref}/screening", {"outcome": "maybe", "reason": "x"}
    )
    problem = assert_problem(response, 422, field="outcome")
    assert problem["errors"][0]["location"] == "body"
    malformed = await api_rig.http.post(
        f"/cases/{case_ref}/screening",
        content=b"{not json",
        headers={**api_rig.auth("lan-co"), "content-type": "application/json"},
    )
    assert_problem(malformed, 422, field="body")


async def test_an_unknown_case_is_404_and_an_exited_case_409(api_rig: ApiRig) -> None:
    unknown = await api_rig.get("lan-co", f"/cases/MAPPA-LAN-{london_today().year}-ZZZZZZ")
    assert_problem(unknown, 404)
    unknown_area = await api_rig.get("lan-co", "/cases/MAPPA-XYZ-2026-ZZZZZZ")
    assert_problem(unknown_area, 404)

    case_ref = await open_case(api_rig)
    await api_rig.event(
        "lan-co", case_ref, "exit-decisions", {"outcome": "exit", "reason": "Not a MAPPA offender"}
    )
    await api_rig.env.client.get_workflow_handle(case_ref).result()  # the workflow has finished
    after = await api_rig.post(
        "lan-co", f"/cases/{case_ref}/screening", {"outcome": "level-1", "reason": "late"}
    )
    problem = assert_problem(after, 409)
    assert "exited MAPPA" in problem["detail"]
    # An exited case can still be read.
    assert (await api_rig.get("lan-ops", f"/cases/{case_ref}")).json()["summary"]["stage"] == "exited"


async def test_requests_without_a_valid_token_are_401(api_rig: ApiRig) -> None:
    case_ref = await open_case(api_rig)
    missing = await api_rig.http.get(f"/cases/{case_ref}")
    assert_problem(missing, 401)
    assert missing.headers["www-authenticate"].startswith("Bearer")
    unknown = await api_rig.http.get(
        f"/cases/{case_ref}", headers={"Authorization": "Bearer mappa_not-a-token"}
    )
    assert_problem(unknown, 401)
    assert 'error="invalid_token"' in unknown.headers["www-authenticate"]

    assert (await api_rig.get("lan-nhs", f"/cases/{case_ref}")).status_code == 200
    with session_factory(api_rig.engine).begin() as session:
        assert revoke_tokens(session, user_name="test lan-nhs") == 1
    # The API remembers a token's holder for a few seconds; once they pass, the revoked token is refused.
    api_rig.pass_token_cache_time()
    revoked = await api_rig.get("lan-nhs", f"/cases/{case_ref}")
    assert_problem(revoked, 401)


async def test_users_act_only_in_their_role_area_and_agency(api_rig: ApiRig) -> None:
    case_ref = await open_case(api_rig)

    wrong_role = await api_rig.post(
        "lan-police", f"/cases/{case_ref}/screening", {"outcome": "level-1", "reason": "x"}
    )
    assert "co-ordinator" in assert_problem(wrong_role, 403, rule="role")["detail"]
    wrong_area = await api_rig.post(
        "gla-co", f"/cases/{case_ref}/screening", {"outcome": "level-1", "reason": "x"}
    )
    assert "Lanarkshire" in assert_problem(wrong_area, 403, rule="area")["detail"]
    await api_rig.event("lan-co", case_ref, "screening", {"outcome": "referral-needed", "reason": "risk"})
    wrong_agency = await api_rig.post(
        "lan-nhs",
        f"/cases/{case_ref}/referrals",
        {"referring_agency": "police-scotland-lanarkshire", "level_sought": 2},
    )
    assert_problem(wrong_agency, 403, rule="agency acts for itself", field="referring_agency")
    # The co-ordinator records on an agency's behalf.
    await api_rig.event(
        "lan-co",
        case_ref,
        "referrals",
        {"referring_agency": "police-scotland-lanarkshire", "level_sought": 2},
    )
    wrong_opener = await api_rig.post("was-police", "/cases", lanarkshire_notification(london_today()))
    assert_problem(wrong_opener, 403, rule="area")
    not_their_notification = await api_rig.post("lan-nhs", "/cases", lanarkshire_notification(london_today()))
    assert_problem(not_their_notification, 403, field="notification.notifying_agency")

    ops_status = await api_rig.get("lan-ops", f"/cases/{case_ref}")
    assert ops_status.status_code == 200
    assert_problem(await api_rig.get("lan-ops", f"/cases/{case_ref}/case-file"), 403, rule="role")
    ops_event = await api_rig.post(
        "lan-ops",
        f"/cases/{case_ref}/risk-changes",
        {"reporting_agency": "nhs-lanarkshire", "direction": "increased", "summary": "x"},
    )
    assert_problem(ops_event, 403, rule="role")

    with Session(api_rig.engine) as session:
        refusals = session.scalar(
            select(func.count()).where(AuditEvent.outcome == "refused", AuditEvent.case_ref == case_ref)
        )
    assert refusals == 5


async def test_the_same_idempotency_key_twice_records_one_event(api_rig: ApiRig) -> None:
    case_ref = await open_case(api_rig)
    body = {"reporting_agency": "nhs-lanarkshire", "direction": "increased", "summary": "Missed appointments"}
    first = await api_rig.event("lan-nhs", case_ref, "risk-changes", body, key="nhs-risk-0001")
    again = await api_rig.event("lan-nhs", case_ref, "risk-changes", body, key="nhs-risk-0001")
    # Within one run Temporal itself answers the repeated update ID with the first result, marked a replay.
    assert again == {**first, "replayed": True} and first["replayed"] is False
    deadlines = (await api_rig.get("lan-co", f"/cases/{case_ref}/deadlines")).json()
    assert [d["deadline_id"] for d in deadlines if d["kind"] == "risk-change-triage"] == [
        "triage:risk-change-1"
    ]
    # Another agency's identical key is its own request.
    other = await api_rig.event(
        "lan-police",
        case_ref,
        "risk-changes",
        {**body, "reporting_agency": "police-scotland-lanarkshire"},
        key="nhs-risk-0001",
    )
    assert [c["deadline_id"] for c in other["changes"]] == ["triage:risk-change-2"]
    # The same key for a different kind of event is a mistake, not a repeat.
    reused = await api_rig.post(
        "lan-nhs",
        f"/cases/{case_ref}/children-at-risk",
        {"children": [{"name": "Isla Brodie"}], "identified_by": "nhs-lanarkshire"},
        key="nhs-risk-0001",
    )
    assert_problem(reused, 422, field="Idempotency-Key")


async def test_opening_a_case_twice_with_the_same_key_opens_it_once(api_rig: ApiRig) -> None:
    body = lanarkshire_notification(london_today())
    first = await api_rig.post("lan-police", "/cases", body, key="police-open-42")
    again = await api_rig.post("lan-police", "/cases", body, key="police-open-42")
    assert first.status_code == again.status_code == 201
    assert again.json()["case_ref"] == first.json()["case_ref"]
    assert (first.json()["replayed"], again.json()["replayed"]) == (False, True)
    with Session(api_rig.engine) as session:
        assert session.scalar(select(func.count()).select_from(CaseOpeningRow)) == 1
        opened = session.scalars(select(AuditEvent.case_ref).where(AuditEvent.action == "open a case")).all()
    assert opened == [first.json()["case_ref"]] * 2


async def test_temporal_unavailable_is_503_not_500(api_rig: ApiRig) -> None:
    settings = Settings(
        database_url=str(api_rig.engine.url), temporal_address="127.0.0.1:1", task_queue="unused"
    )
    app = create_app(settings, engine=api_rig.engine)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://mappa.test"
    ) as http:
        response = await http.post(
            f"/cases/MAPPA-LAN-{london_today().year}-ABC123/screening",
            json={"outcome": "level-1", "reason": "x"},
            headers=api_rig.auth("lan-co"),
        )
        assert_problem(response, 503)
        assert response.headers["retry-after"]
        health = await http.get("/health")
    assert health.status_code == 503 and health.json() == {
        "status": "degraded",
        "temporal": "unavailable",
        "database": "ok",
    }
    assert (await api_rig.http.get("/health")).json()["status"] == "ok"
