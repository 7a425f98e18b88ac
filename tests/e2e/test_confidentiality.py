"""Confidentiality over HTTP, against the real dev server and worker: the Temporal server holds no personal data
in plaintext, minutes go to attendees only, disclosures are the chair's decision, and every read, refusal and
decision is in the audit trail."""

from __future__ import annotations

import asyncio
import csv
import io
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from google.protobuf import json_format
from sqlalchemy import delete, select, text, update
from sqlalchemy.orm import Session
from temporalio.api.common.v1 import Payloads, WorkflowExecution
from temporalio.api.history.v1 import History
from temporalio.api.query.v1 import WorkflowQuery
from temporalio.api.workflowservice.v1 import (
    DescribeWorkflowExecutionRequest,
    DescribeWorkflowExecutionResponse,
    GetWorkflowExecutionHistoryRequest,
    QueryWorkflowRequest,
)

from api.auth import issue_token
from api.calculator import calculate_deadline
from core.codec import is_encrypted, payloads_in
from core.database import session_factory
from store.models import AuditEvent, Minute, MinuteDisclosure
from tests.e2e.api_rig import ApiRig, london_today

pytestmark = pytest.mark.timeout(120)

NAME = "Torquil Ramsbottom-Vance"
BORN = date(1981, 3, 9)
ADDRESS = "27 Quarrywood Terrace, Motherwell ML1 4QZ"
# A sentence only the minute holds.
MINUTE_SENTENCE = (
    "He has been seen waiting outside the primary school gates on Birchwood Crescent three times."
)
HIDDEN_ITEM = "the victim now lives with her sister in Carluke"

CHAIR_AGENCY = "police-scotland-lanarkshire"
ATTENDEES = [CHAIR_AGENCY, "lanarkshire-justice-social-work", "nhs-lanarkshire"]
ASP_CHAIR_AGENCY = "south-lanarkshire-council"

# Users beyond the rig's: agencies that did not attend, and a chair of another agency.
EXTRA_USERS = {
    "lan-housing": ("agency-worker", "lanarkshire-housing"),
    "lan-north": ("agency-worker", "north-lanarkshire-council"),
    "lan-nhs-chair": ("chair", "nhs-lanarkshire"),
}


def personal_data_forms() -> list[str]:
    """The subject's name, date of birth in every usual spelling, and address, as they might appear."""
    return [
        NAME,
        "Ramsbottom",
        BORN.isoformat(),
        BORN.strftime("%d/%m/%Y"),
        BORN.strftime("%d-%m-%Y"),
        BORN.strftime("%Y%m%d"),
        BORN.strftime("%Y/%m/%d"),
        "9 March 1981",
        "09 March 1981",
        "March 9, 1981",
        ADDRESS,
        "Quarrywood",
        "ML1 4QZ",
    ]


def with_extra_users(rig: ApiRig) -> ApiRig:
    with session_factory(rig.engine).begin() as session:
        for key, (role, agency) in EXTRA_USERS.items():
            rig.tokens[key] = issue_token(
                session, user_name=f"test {key}", agency_id=agency, role=role, area="lanarkshire"
            )
    return rig


def case_body(today: date) -> dict[str, Any]:
    return {
        "area": "lanarkshire",
        "jurisdiction": "scotland",
        "category": 1,
        "lead_agency": CHAIR_AGENCY,
        "subject": {"name": NAME, "date_of_birth": BORN.isoformat(), "address": ADDRESS},
        "notification": {
            "notifying_agency": CHAIR_AGENCY,
            "disposal_date": today.isoformat(),
            "recommended_level": 2,
        },
    }


def minute_body(today: date) -> dict[str, Any]:
    return {
        "held_on": today.isoformat(),
        "chair_agency": CHAIR_AGENCY,
        "attendees": [
            {
                "agency": a,
                "representative": f"Representative of {a}",
                "signed_confidentiality_statement": True,
            }
            for a in ATTENDEES
        ],
        "risk_assessment": f"Very high risk of serious harm to his former partner. {MINUTE_SENTENCE}",
        "critical_risk_factors": ["Fixation on the former partner", "Alcohol misuse"],
        "rmp_actions": [
            {
                "action_id": "A1",
                "description": "Licence conditions check",
                "owner_agency": CHAIR_AGENCY,
                "due_date": (today + timedelta(days=14)).isoformat(),
            }
        ],
        "contingency_plan": "Recall to custody on any approach to the victim.",
        "not_to_be_shared": [{"item": HIDDEN_ITEM, "reason": "risk to the victim"}],
        "conclusions": "Managed at level 2; exclusion zone around the victim's workplace.",
    }


def meeting_body(today: date) -> dict[str, Any]:
    return {
        "held_on": today.isoformat(),
        "chair_agency": CHAIR_AGENCY,
        "chair_name": f"Representative of {CHAIR_AGENCY}",
        "chair_grade": "manager",
        "invited": ATTENDEES,
        "attendees": [
            {"agency": a, "name": f"Representative of {a}", "signed_confidentiality_statement": True}
            for a in ATTENDEES
        ],
        "level_decided": 2,
        "next_review_date": (today + timedelta(weeks=8)).isoformat(),
        "not_to_be_shared": [{"item": HIDDEN_ITEM, "reason": "risk to the victim"}],
    }


def filing(today: date, meeting_id: str = "meeting-1") -> dict[str, Any]:
    """The minute of the meeting the case file records as `meeting_id`."""
    return {**minute_body(today), "meeting_id": meeting_id}


async def case_with_minuted_meeting(rig: ApiRig, *, asp: bool = False) -> tuple[str, str]:
    """A Lanarkshire level 2 case whose first meeting was recorded, then its minute filed: (case, minute)."""
    today = london_today()
    ref = await accepted_case(rig, asp=asp)
    await rig.event("lan-chair", ref, "meetings", meeting_body(today))
    stored = await rig.post("lan-chair", f"/cases/{ref}/minutes", filing(today))
    assert stored.status_code == 201, stored.text
    minute_ref: str = stored.json()["minute_ref"]
    return ref, minute_ref


async def accepted_case(rig: ApiRig, *, asp: bool = False) -> str:
    """A Lanarkshire case accepted at level 2, its initial meeting not yet held."""
    today = london_today()
    opened = await rig.post("lan-police", "/cases", case_body(today))
    assert opened.status_code == 201, opened.text
    ref: str = opened.json()["case_ref"]
    await rig.event("lan-co", ref, "screening", {"outcome": "referral-needed", "reason": "high risk"})
    await rig.event("lan-police", ref, "referrals", {"referring_agency": CHAIR_AGENCY, "level_sought": 2})
    if asp:
        criteria = ("aged_16_or_over", "unable_to_safeguard_own_interests", "at_risk_of_harm")
        await rig.event(
            "lan-co",
            ref,
            "asp-screening",
            {**dict.fromkeys(criteria, True), "more_vulnerable_than_others": True},
        )
        await rig.event("lan-police", ref, "ap1-referrals", {"locality": "South Lanarkshire"})
        # The co-ordinator names the ASP chair (issue 10 finding 1).
        await rig.event("lan-co", ref, "asp-chair", {"asp_chair_agency": ASP_CHAIR_AGENCY})
    await rig.event(
        "lan-co",
        ref,
        "referral-decision",
        {"outcome": "accepted", "level": 2, "record_search_agencies": ["nhs-lanarkshire"]},
    )
    return ref


def audit_rows(rig: ApiRig, case_ref: str | None = None, **where: str) -> list[AuditEvent]:
    with Session(rig.engine) as session:
        query = select(AuditEvent).order_by(AuditEvent.id)
        if case_ref is not None:
            query = query.where(AuditEvent.case_ref == case_ref)
        rows = session.scalars(query).all()
    return [r for r in rows if all(getattr(r, k) == v for k, v in where.items())]


async def raw_history(rig: ApiRig, case_ref: str) -> History:
    """The case's history exactly as the Temporal server stores it: gRPC, no data converter, no codec."""
    service = rig.env.client.workflow_service
    history, page = History(), b""
    while True:
        response = await service.get_workflow_execution_history(
            GetWorkflowExecutionHistoryRequest(
                namespace=rig.env.client.namespace,
                execution=WorkflowExecution(workflow_id=case_ref),
                next_page_token=page,
            )
        )
        history.events.extend(response.history.events)
        page = response.next_page_token
        if not page:
            return history


async def published(rig: ApiRig, case_ref: str, stage: str) -> DescribeWorkflowExecutionResponse:
    """The case's description once the workflow has published `stage` to its search attributes and memo (it
    does so after the activities an event queued, so a moment after the event's answer)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 20
    while True:
        description = await rig.env.client.workflow_service.describe_workflow_execution(
            DescribeWorkflowExecutionRequest(
                namespace=rig.env.client.namespace, execution=WorkflowExecution(workflow_id=case_ref)
            )
        )
        indexed = description.workflow_execution_info.search_attributes.indexed_fields
        if "CaseStage" in indexed and stage.encode() in indexed["CaseStage"].data:
            return description
        assert loop.time() < deadline, f"{case_ref} never published stage {stage}"
        await asyncio.sleep(0.1)


def leaked(raw: bytes, needles: list[str]) -> list[str]:
    lowered = raw.lower()
    return [n for n in needles if n.lower().encode() in lowered]


async def test_the_temporal_server_holds_no_personal_data_and_no_minute_text(api_rig: ApiRig) -> None:
    rig = api_rig
    ref, _ = await case_with_minuted_meeting(rig)
    description = await published(rig, ref, "active-management")
    history = await raw_history(rig, ref)
    # The UI's "current details" come from a query the worker answers: also only ciphertext on the wire.
    details = await rig.env.client.workflow_service.query_workflow(
        QueryWorkflowRequest(
            namespace=rig.env.client.namespace,
            execution=WorkflowExecution(workflow_id=ref),
            query=WorkflowQuery(query_type="__temporal_workflow_metadata"),
        )
    )
    stored = [
        history.SerializeToString(),
        json_format.MessageToJson(history).encode(),
        description.SerializeToString(),
        details.SerializeToString(),
    ]

    needles = [*personal_data_forms(), MINUTE_SENTENCE, "Birchwood", HIDDEN_ITEM, "Carluke"]
    assert [leaked(raw, needles) for raw in stored] == [[], [], [], []]
    # Every payload is encrypted, but for search attributes (indexed, and free of personal data) and the
    # SDK's own patch markers (a patch's name).
    plain = [(event, p) for event in history.events for p in payloads_in(event) if not is_encrypted(p)]
    assert any("type" in p.metadata for _, p in plain)
    assert [
        p
        for event, p in plain
        if "type" not in p.metadata
        and not event.marker_recorded_event_attributes.marker_name.endswith("patch")
    ] == []
    assert all(is_encrypted(p) for p in description.workflow_execution_info.memo.fields.values())
    assert len(history.events) > 10


async def test_the_history_decodes_through_the_codec_endpoint_for_a_co_ordinator_only(
    api_rig: ApiRig,
) -> None:
    rig = api_rig
    ref, _ = await case_with_minuted_meeting(rig)
    encrypted = [p for p in payloads_in(await raw_history(rig, ref)) if is_encrypted(p)]
    body = json_format.MessageToJson(Payloads(payloads=encrypted))
    headers = {"Content-Type": "application/json", "X-Namespace": rig.env.client.namespace}

    decoded = await rig.http.post("/codec/decode", content=body, headers={**headers, **rig.auth("lan-co")})
    assert decoded.status_code == 200, decoded.text
    payloads = json_format.Parse(decoded.content, Payloads()).payloads
    assert len(payloads) == len(encrypted) and not any(is_encrypted(p) for p in payloads)
    plaintext = b"".join(p.data for p in payloads)
    assert NAME.encode() in plaintext and BORN.isoformat().encode() in plaintext
    assert MINUTE_SENTENCE.encode() not in plaintext  # the minute itself never went to Temporal

    agency_worker = await rig.http.post(
        "/codec/decode", content=body, headers={**headers, **rig.auth("lan-police")}
    )
    assert agency_worker.status_code == 403 and NAME not in agency_worker.text
    nobody = await rig.http.post("/codec/decode", content=body, headers=headers)
    assert nobody.status_code == 401 and NAME not in nobody.text
    other_area = await rig.http.post("/codec/decode", content=body, headers={**headers, **rig.auth("gla-co")})
    assert other_area.status_code == 403 and "Lanarkshire" in other_area.json()["detail"]

    decodes = audit_rows(rig, ref, action="decode case history (Temporal codec)")
    assert [(r.user_name, r.outcome) for r in decodes] == [
        ("test lan-co", "allowed"),
        ("test lan-police", "refused"),
        ("test gla-co", "refused"),
    ]


async def test_the_temporal_ui_may_call_the_codec_endpoint_from_its_origin_only(api_rig: ApiRig) -> None:
    rig = api_rig
    preflight = {
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization,content-type,x-namespace",
    }
    ui = await rig.http.options("/codec/decode", headers={"Origin": rig.settings.ui_origin, **preflight})
    assert ui.status_code == 200
    assert ui.headers["access-control-allow-origin"] == rig.settings.ui_origin
    assert ui.headers["access-control-allow-credentials"] == "true"
    allowed = {h.strip().lower() for h in ui.headers["access-control-allow-headers"].split(",")}
    assert {"authorization", "content-type", "x-namespace"} <= allowed

    elsewhere = await rig.http.options(
        "/codec/decode", headers={"Origin": "https://evil.example", **preflight}
    )
    assert "access-control-allow-origin" not in elsewhere.headers
    # CORS is for the codec only: the rest of the API is not for browsers on the UI's origin.
    cases = await rig.http.options("/cases", headers={"Origin": rig.settings.ui_origin, **preflight})
    assert "access-control-allow-origin" not in cases.headers


async def test_a_co_ordinator_signs_in_once_for_the_ui_and_its_cookie_decodes(api_rig: ApiRig) -> None:
    rig = api_rig
    ref, _ = await case_with_minuted_meeting(rig)
    encrypted = [p for p in payloads_in(await raw_history(rig, ref)) if is_encrypted(p)][:3]
    body = json_format.MessageToJson(Payloads(payloads=encrypted))

    refused = await rig.http.post("/codec/login", data={"token": rig.tokens["lan-police"]})
    assert refused.status_code == 403 and "set-cookie" not in refused.headers
    signed_in = await rig.http.post("/codec/login", data={"token": rig.tokens["lan-co"]})
    assert signed_in.status_code == 200
    cookie = signed_in.headers["set-cookie"].lower()
    assert "httponly" in cookie and "path=/codec" in cookie and "samesite=strict" in cookie

    # The UI's request: no Authorization header, the cookie ("Include cross-origin credentials").
    decoded = await rig.http.post(
        "/codec/decode",
        content=body,
        headers={
            "Content-Type": "application/json",
            "X-Namespace": rig.env.client.namespace,
            "Origin": rig.settings.ui_origin,
        },
    )
    assert decoded.status_code == 200, decoded.text
    assert decoded.headers["access-control-allow-origin"] == rig.settings.ui_origin
    rig.http.cookies.clear()


async def test_only_attending_agencies_read_a_minute_and_every_attempt_is_audited(api_rig: ApiRig) -> None:
    rig = with_extra_users(api_rig)
    ref, minute_ref = await case_with_minuted_meeting(rig)

    refused = await rig.get("lan-housing", f"/minutes/{minute_ref}")
    assert refused.status_code == 403, refused.text
    assert refused.json()["rule"] == "minutes to attendees only" and MINUTE_SENTENCE not in refused.text
    assert (await rig.get("lan-housing", f"/minutes/{minute_ref}/executive-summary")).status_code == 403
    assert (await rig.get("lan-ops", f"/minutes/{minute_ref}")).status_code == 403
    # Another area's minute answers as one that does not exist.
    elsewhere = await rig.get("gla-co", f"/minutes/{minute_ref}")
    assert elsewhere.status_code == 404 and MINUTE_SENTENCE not in elsewhere.text

    read = await rig.get("lan-nhs", f"/minutes/{minute_ref}")
    assert read.status_code == 200, read.text
    minute = read.json()
    assert minute["meeting_id"] == "meeting-1" and MINUTE_SENTENCE in minute["content"]["risk_assessment"]
    assert minute["content"]["not_to_be_shared"] == [{"item": HIDDEN_ITEM, "reason": "risk to the victim"}]
    assert all(a["signed_confidentiality_statement"] for a in minute["content"]["attendees"])

    reads = [(r.user_name, r.action, r.outcome) for r in audit_rows(rig, ref) if r.target == minute_ref]
    assert reads == [
        ("test lan-housing", "read a minute", "refused"),
        ("test lan-housing", "read a minute's executive summary", "refused"),
        ("test lan-ops", "read a minute", "refused"),
        ("test gla-co", "read a minute", "refused"),
        ("test lan-nhs", "read a minute", "allowed"),
    ]
    (allowed,) = audit_rows(rig, ref, user_name="test lan-nhs", action="read a minute")
    assert (allowed.agency_id, allowed.role, allowed.reason) == (
        "nhs-lanarkshire",
        "agency-worker",
        "nhs-lanarkshire attended meeting-1",
    )

    # The same trail, through the API and as CSV.
    export = await rig.get("lan-co", f"/cases/{ref}/audit")
    assert export.status_code == 200
    assert {"refused", "allowed"} <= {e["outcome"] for e in export.json()}
    as_csv = await rig.get("lan-chair", f"/cases/{ref}/audit", format="csv")
    assert as_csv.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(as_csv.text)))
    assert {"user_name", "agency_id", "role", "action", "at", "reason", "outcome"} <= set(rows[0])
    assert rows[-1]["action"] == "read a case's audit trail"  # reading the trail is in the trail
    assert (await rig.get("lan-police", f"/cases/{ref}/audit")).status_code == 403


async def test_what_a_meeting_keeps_back_shows_in_the_case_file_only_to_its_attendees(
    api_rig: ApiRig,
) -> None:
    rig = with_extra_users(api_rig)
    ref, _ = await case_with_minuted_meeting(rig)
    outsider = await rig.get("lan-housing", f"/cases/{ref}/case-file")
    assert outsider.status_code == 200 and HIDDEN_ITEM not in outsider.text
    assert outsider.json()["meetings"][0]["not_to_be_shared"] == []
    attendee = (await rig.get("lan-nhs", f"/cases/{ref}/case-file")).json()
    assert attendee["meetings"][0]["not_to_be_shared"] == [
        {"item": HIDDEN_ITEM, "reason": "risk to the victim"}
    ]


async def test_the_asp_chair_reads_the_minutes_of_a_case_open_to_both_mappa_and_asp(api_rig: ApiRig) -> None:
    rig = api_rig
    _, minute_ref = await case_with_minuted_meeting(rig, asp=True)
    read = await rig.get("lan-council", f"/minutes/{minute_ref}")
    assert read.status_code == 200, read.text
    (row,) = audit_rows(rig, user_name="test lan-council", action="read a minute")
    assert "chairs the ASP side" in (row.reason or "")


async def test_a_granted_disclosure_lets_exactly_its_recipient_read_the_executive_summary(
    api_rig: ApiRig,
) -> None:
    rig = with_extra_users(api_rig)
    ref, minute_ref = await case_with_minuted_meeting(rig)

    outsider = await rig.post(
        "lan-housing",
        f"/minutes/{minute_ref}/disclosures",
        {"recipient_agency": "lanarkshire-housing", "rationale": "we want it"},
    )
    assert outsider.status_code == 403
    asked = await rig.post(
        "lan-nhs",
        f"/minutes/{minute_ref}/disclosures",
        {
            "recipient_agency": "north-lanarkshire-council",
            "rationale": "child protection case conference for the children at his new address",
        },
    )
    assert asked.status_code == 201, asked.text
    disclosure = asked.json()
    assert (disclosure["status"], disclosure["what"]) == ("requested", "executive-summary")
    decision = f"/disclosures/{disclosure['disclosure_id']}/decision"

    # Requested is not granted; only the chair of the meeting's chair agency decides.
    assert (await rig.get("lan-north", f"/minutes/{minute_ref}/executive-summary")).status_code == 403
    grant = {"decision": "grant", "reason": "conclusions and actions only; no third-party source revealed"}
    assert (await rig.post("lan-nhs-chair", decision, grant)).status_code == 403
    assert (await rig.post("lan-co", decision, grant)).status_code == 403
    granted = await rig.post("lan-chair", decision, grant)
    assert granted.status_code == 200, granted.text
    expires = datetime.fromisoformat(granted.json()["expires_at"])
    assert timedelta(days=29) < expires - datetime.now(UTC) <= timedelta(days=30)
    again = await rig.post("lan-chair", decision, {"decision": "refuse", "reason": "second thoughts"})
    assert again.status_code == 409

    summary = await rig.get("lan-north", f"/minutes/{minute_ref}/executive-summary")
    assert summary.status_code == 200, summary.text
    assert set(summary.json()) == {
        "minute_ref",
        "case_ref",
        "held_on",
        "chair_agency",
        "conclusions",
        "actions",
    }
    assert HIDDEN_ITEM not in summary.text and MINUTE_SENTENCE not in summary.text
    # Exactly the recipient, and exactly the summary.
    assert (await rig.get("lan-north", f"/minutes/{minute_ref}")).status_code == 403
    assert (await rig.get("lan-housing", f"/minutes/{minute_ref}/executive-summary")).status_code == 403

    # Time-limited: once it has expired, the recipient is refused again.
    with session_factory(rig.engine).begin() as session:
        session.execute(
            update(MinuteDisclosure)
            .where(MinuteDisclosure.disclosure_ref == disclosure["disclosure_id"])
            .values(expires_at=datetime.now(UTC) - timedelta(minutes=1))
        )
    assert (await rig.get("lan-north", f"/minutes/{minute_ref}/executive-summary")).status_code == 403

    decisions = audit_rows(rig, ref, user_name="test lan-chair", action="grant a disclosure of a minute")
    assert len(decisions) == 1 and "north-lanarkshire-council" in (decisions[0].reason or "")
    refused_deciders = [
        r.user_name for r in audit_rows(rig, ref, action="decide on sharing a minute", outcome="refused")
    ]
    # The second decision (already decided) is refused and audited too.
    assert refused_deciders == ["test lan-nhs-chair", "test lan-co", "test lan-chair"]
    listed = await rig.get("lan-co", f"/minutes/{minute_ref}/disclosures")
    assert [d["status"] for d in listed.json()] == ["granted"]


async def test_a_refused_disclosure_gives_the_recipient_nothing(api_rig: ApiRig) -> None:
    rig = with_extra_users(api_rig)
    ref, minute_ref = await case_with_minuted_meeting(rig)
    asked = await rig.post(
        "lan-co",
        f"/minutes/{minute_ref}/disclosures",
        {"recipient_agency": "lanarkshire-housing", "what": "minute", "rationale": "tenancy review"},
    )
    refused = await rig.post(
        "lan-chair",
        f"/disclosures/{asked.json()['disclosure_id']}/decision",
        {"decision": "refuse", "reason": "the minute names a third-party source"},
    )
    assert refused.status_code == 200 and refused.json()["expires_at"] is None
    assert (await rig.get("lan-housing", f"/minutes/{minute_ref}")).status_code == 403
    (row,) = audit_rows(rig, ref, action="refuse a disclosure of a minute")
    assert row.outcome == "allowed" and "third-party source" in (row.reason or "")


async def test_a_minute_must_match_the_meeting_the_case_file_records_and_a_refused_one_stores_nothing(
    api_rig: ApiRig,
) -> None:
    rig = api_rig
    today = london_today()
    ref, minute_ref = await case_with_minuted_meeting(rig)
    await rig.event("lan-chair", ref, "meetings", meeting_body(today))  # meeting-2, no minute yet
    minutes = f"/cases/{ref}/minutes"

    def refused_as(response: Any, status: int, field: str, rule: str | None = None) -> None:
        assert response.status_code == status, response.text
        assert response.json()["field"] == field, response.text
        assert rule is None or response.json()["rule"] == rule, response.text

    second = filing(today, "meeting-2")
    refused_as(
        await rig.post("lan-chair", minutes, {**second, "held_on": (today - timedelta(days=1)).isoformat()}),
        422,
        "held_on",
        "minute of a recorded meeting",
    )
    fewer = {**second, "attendees": second["attendees"][:2]}
    refused_as(await rig.post("lan-chair", minutes, fewer), 422, "attendees", "minute of a recorded meeting")
    housing = {
        "agency": "lanarkshire-housing",
        "representative": "H",
        "signed_confidentiality_statement": True,
    }
    more = {**second, "attendees": [*second["attendees"], housing]}
    refused_as(await rig.post("lan-chair", minutes, more), 422, "attendees", "minute of a recorded meeting")
    refused_as(await rig.post("lan-chair", minutes, filing(today, "meeting-9")), 422, "meeting_id")
    # meeting-1 has its minute: another is refused; the same one again is that minute, stored once.
    another = {**filing(today, "meeting-1"), "conclusions": "A second version of the conclusions."}
    refused_as(await rig.post("lan-chair", minutes, another), 409, "meeting_id", "one minute, one meeting")
    again = await rig.post("lan-chair", minutes, filing(today, "meeting-1"))
    assert again.status_code == 201 and again.json()["minute_ref"] == minute_ref and again.json()["replayed"]
    unsigned = filing(today, "meeting-2")
    unsigned["attendees"][1]["signed_confidentiality_statement"] = False
    refused_as(await rig.post("lan-chair", minutes, unsigned), 422, "attendees", "confidentiality statement")
    not_their_agency = await rig.post("lan-chair", minutes, {**second, "chair_agency": "nhs-lanarkshire"})
    assert not_their_agency.status_code == 403
    # A meeting is recorded without its minute: naming one is refused, naming the field.
    naming = {**meeting_body(today), "minute_ref": minute_ref}
    refused_as(await rig.post("lan-chair", f"/cases/{ref}/meetings", naming), 422, "minute_ref")

    with Session(rig.engine) as session:
        rows = session.scalars(select(Minute.minute_ref).where(Minute.case_ref == ref)).all()
    assert rows == [minute_ref]  # nothing refused was stored
    filed = await rig.post("lan-chair", minutes, second)
    assert filed.status_code == 201, filed.text
    assert filed.json()["meeting_id"] == "meeting-2" and filed.json()["minute_ref"] != minute_ref


async def test_a_minute_altered_in_the_database_is_not_returned(api_rig: ApiRig) -> None:
    rig = api_rig
    _, minute_ref = await case_with_minuted_meeting(rig)
    with session_factory(rig.engine).begin() as session:
        row = session.scalars(select(Minute).where(Minute.minute_ref == minute_ref)).one()
        row.content = row.content[:-1] + bytes([row.content[-1] ^ 1])
    response = await rig.get("lan-nhs", f"/minutes/{minute_ref}")
    assert response.status_code == 409 and response.json()["type"].endswith("minute-integrity")
    # The key-encrypted content is unreadable in the table itself.
    with Session(rig.engine) as session:
        stored = session.scalars(select(Minute.content).where(Minute.minute_ref == minute_ref)).one()
    assert MINUTE_SENTENCE.encode() not in stored


async def test_no_read_without_its_audit_record(api_rig: ApiRig) -> None:
    rig = api_rig
    ref, minute_ref = await case_with_minuted_meeting(rig)
    with session_factory(rig.engine).begin() as session:
        session.execute(text("DROP TRIGGER audit_events_no_delete"))  # only to make the table unwritable
        session.execute(delete(AuditEvent))
        session.execute(text("DROP TABLE audit_events"))

    minute = await rig.get("lan-nhs", f"/minutes/{minute_ref}")
    assert minute.status_code == 503 and minute.json()["type"].endswith("audit-unavailable")
    assert MINUTE_SENTENCE not in minute.text
    case_file = await rig.get("lan-co", f"/cases/{ref}/case-file")
    assert case_file.status_code == 503 and NAME not in case_file.text


async def test_a_subject_access_request_runs_to_a_decision_with_its_deadlines_tracked(
    api_rig: ApiRig,
) -> None:
    rig = api_rig
    ref, _ = await case_with_minuted_meeting(rig)
    today = london_today()

    requested = await rig.event("lan-co", ref, "subject-access-requests", {"meeting_ids": ["meeting-1"]})
    opened = {c["deadline_id"] for c in requested["changes"] if c["change"] == "opened"}
    assert opened == {"sar-1", *(f"sar-1:{a}" for a in ATTENDEES)}

    deadlines = {d["deadline_id"]: d for d in (await rig.get("lan-ops", f"/cases/{ref}/deadlines")).json()}
    sar = deadlines["sar-1"]
    assert (sar["kind"], sar["state"], sar["responsible"]) == (
        "subject-access-request",
        "open",
        "co-ordinator",
    )
    expected = calculate_deadline(
        "lanarkshire", "subject-access-request", date.fromisoformat(sar["counted_from"])
    )
    assert sar["due_date"] == expected.due_date.isoformat()
    assert 28 <= (date.fromisoformat(sar["due_date"]) - today).days <= 31  # one calendar month
    for agency in ATTENDEES:
        consultation = deadlines[f"sar-1:{agency}"]
        assert (consultation["kind"], consultation["responsible"]) == ("sar-consultation", agency)

    await rig.event(
        "lan-nhs",
        ref,
        "subject-access-views",
        {"sar_id": "sar-1", "agency": "nhs-lanarkshire", "view": "disclose"},
    )
    withhold = {"sar_id": "sar-1", "agency": CHAIR_AGENCY, "view": "withhold"}
    no_exemption = await rig.post("lan-police", f"/cases/{ref}/subject-access-views", withhold)
    assert no_exemption.status_code == 422 and no_exemption.json()["field"] == "exemption"
    exemption = "DPA 2018 Sch 2 para 2: crime and taxation (prevention of crime)"
    await rig.event("lan-police", ref, "subject-access-views", {**withhold, "exemption": exemption})
    other_agency = await rig.post(
        "lan-nhs", f"/cases/{ref}/subject-access-views", {**withhold, "exemption": "x"}
    )
    assert other_agency.status_code == 403

    decided = await rig.event(
        "lan-chair",
        ref,
        "subject-access-decisions",
        {
            "sar_id": "sar-1",
            "outcome": "withhold",
            "exemption": exemption,
            "reason": "disclosure would put the victim at risk",
        },
    )
    changes = {c["deadline_id"]: c["change"] for c in decided["changes"]}
    assert changes == {"sar-1": "met", "sar-1:lanarkshire-justice-social-work": "cancelled"}

    states = {
        d["deadline_id"]: d["state"] for d in (await rig.get("lan-co", f"/cases/{ref}/deadlines")).json()
    }
    assert {k: v for k, v in states.items() if k.startswith("sar-1")} == {
        "sar-1": "met",
        "sar-1:nhs-lanarkshire": "met",
        f"sar-1:{CHAIR_AGENCY}": "met",
        "sar-1:lanarkshire-justice-social-work": "cancelled",
    }
    case_file = (await rig.get("lan-co", f"/cases/{ref}/case-file")).json()
    (sar_record,) = case_file["subject_access_requests"]
    assert (sar_record["outcome"], sar_record["exemption"]) == ("withhold", exemption)
    assert audit_rows(rig, ref, action="decide a subject access request", outcome="allowed")


async def test_an_unknown_minute_is_404_and_the_attempt_is_audited(api_rig: ApiRig) -> None:
    response = await api_rig.get("lan-nhs", "/minutes/MIN-ZZZZZZZZZZZZ")
    assert response.status_code == 404
    (row,) = audit_rows(api_rig, target="MIN-ZZZZZZZZZZZZ")
    assert (row.outcome, row.action) == ("refused", "read a minute")
