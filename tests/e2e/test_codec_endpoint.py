"""The codec endpoint as a hostile or careless client uses it: every request is bounded before anything is
decrypted, payloads are decoded only for their own area's co-ordinator (the weekly digest's too), a reference
that names no case is refused, an error names no key, and a view of a case in the UI is one row of its audit
trail however many requests it takes."""

from __future__ import annotations

import asyncio
import base64
import json
from typing import Any
from uuid import uuid4

import httpx
import pytest
from google.protobuf import json_format
from sqlalchemy import select
from sqlalchemy.orm import Session
from temporalio.api.common.v1 import Payloads

from api.routes.codec import (
    MAX_DECODE_BYTES,
    MAX_DECODE_PAYLOADS,
    MAX_DECODE_WORKFLOWS,
    MAX_ENCODE_BYTES,
    SESSION_COOKIE,
)
from core.codec import ENCODING, KEY_ID_METADATA, WORKFLOW_ID_METADATA, is_encrypted, payloads_in
from store.models import AuditEvent
from tests.e2e.api_rig import ApiRig
from tests.e2e.test_api_cases import assert_problem, open_case
from tests.e2e.test_confidentiality import raw_history
from workflows.digest import DigestRequest, WeeklyDigestWorkflow, schedule_id

pytestmark = pytest.mark.timeout(120)

DECODE = "decode case history (Temporal codec)"
ENCODE = "encode payloads (Temporal codec)"
SUBJECT_LINE = b'{"name": "Alasdair Testperson", "address": "14 Example Row"}'


def b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


def plain_payloads(count: int = 1, data: bytes = SUBJECT_LINE) -> dict[str, Any]:
    return {"payloads": [{"metadata": {"encoding": b64(b"json/plain")}, "data": b64(data)}] * count}


def sealed_naming(workflow_id: str) -> dict[str, Any]:
    """A payload that claims to be encrypted for a workflow (what an attacker can make without the key)."""
    return {
        "metadata": {
            "encoding": b64(ENCODING),
            KEY_ID_METADATA: b64(b"dev-1"),
            WORKFLOW_ID_METADATA: b64(workflow_id.encode()),
        },
        "data": b64(b"\0" * 40),
    }


def fake_ref(n: int) -> str:
    return f"MAPPA-LAN-2026-{n:06X}"


async def encoded_for(rig: ApiRig, case_ref: str, count: int = 1) -> dict[str, Any]:
    response = await rig.http.post(
        "/codec/encode", json=plain_payloads(count), headers={**rig.auth("lan-co"), "X-Case-Ref": case_ref}
    )
    assert response.status_code == 200, response.text
    document: dict[str, Any] = response.json()
    return document


async def decode(rig: ApiRig, user: str, document: dict[str, Any] | bytes) -> httpx.Response:
    if isinstance(document, bytes):
        return await rig.http.post(
            "/codec/decode",
            content=document,
            headers={**rig.auth(user), "Content-Type": "application/json"},
        )
    return await rig.http.post("/codec/decode", json=document, headers=rig.auth(user))


def trail(rig: ApiRig, action: str = DECODE, case_ref: str | None = "any") -> list[AuditEvent]:
    with Session(rig.engine) as session:
        query = select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)
        if case_ref != "any":
            query = query.where(AuditEvent.case_ref.is_not_distinct_from(case_ref))
        return list(session.scalars(query).all())


# ------------------------------------------------------------------ bounded requests


async def test_a_decode_of_100000_payloads_naming_100000_unknown_cases_is_refused_unread_and_unrecorded(
    api_rig: ApiRig,
) -> None:
    body = json.dumps({"payloads": [sealed_naming(fake_ref(n)) for n in range(100_000)]}).encode()
    assert len(body) > MAX_DECODE_BYTES

    refused = await decode(api_rig, "lan-co", body)

    problem = assert_problem(refused, 413)
    assert f"{MAX_DECODE_BYTES // (1024 * 1024)} MiB" in problem["detail"]
    assert trail(api_rig) == []


async def test_a_decode_is_bounded_in_payloads_and_workflows_before_any_is_decrypted(
    api_rig: ApiRig,
) -> None:
    too_many = await decode(api_rig, "lan-co", plain_payloads(MAX_DECODE_PAYLOADS + 1))
    assert f"at most {MAX_DECODE_PAYLOADS} payloads" in assert_problem(too_many, 413)["detail"]

    spread = {"payloads": [sealed_naming(fake_ref(n)) for n in range(MAX_DECODE_WORKFLOWS + 1)]}
    too_wide = await decode(api_rig, "lan-co", spread)
    assert f"at most {MAX_DECODE_WORKFLOWS} workflows" in assert_problem(too_wide, 413)["detail"]
    assert trail(api_rig) == []

    # Within the bounds, the first reference that names no case refuses the request: one refusal, no read.
    within = {"payloads": [sealed_naming(fake_ref(n)) for n in range(MAX_DECODE_WORKFLOWS)]}
    unknown = await decode(api_rig, "lan-co", within)
    assert "there is no MAPPA case" in assert_problem(unknown, 404)["detail"]
    assert [(r.case_ref, r.outcome) for r in trail(api_rig)] == [(fake_ref(0), "refused")]


@pytest.mark.parametrize(
    "body",
    [b"{}", b"[]", b'{"payloads": {}}', b"\xff", b'{"payloads": [1]}'],
)
async def test_a_body_that_is_no_payloads_document_is_a_bad_request(api_rig: ApiRig, body: bytes) -> None:
    assert_problem(await decode(api_rig, "lan-co", body), 400)


async def test_a_body_nested_100000_deep_is_refused_by_the_nesting_limit_before_it_is_parsed(
    api_rig: ApiRig,
) -> None:
    deep = b"[" * 100_000 + b"]" * 100_000
    assert assert_problem(await decode(api_rig, "lan-co", deep), 422)["rule"] == "JSON nesting limit"


async def test_a_53_mb_encode_is_refused_before_it_is_read(api_rig: ApiRig) -> None:
    case_ref = await open_case(api_rig)
    huge = plain_payloads(1, data=b"x" * (40 * 1024 * 1024))
    body = json.dumps(huge).encode()
    assert len(body) > 53_000_000

    refused = await api_rig.http.post(
        "/codec/encode",
        content=body,
        headers={**api_rig.auth("lan-co"), "X-Case-Ref": case_ref, "Content-Type": "application/json"},
    )
    assert f"{MAX_ENCODE_BYTES // (1024 * 1024)} MiB" in assert_problem(refused, 413)["detail"]
    assert [r.outcome for r in trail(api_rig, ENCODE)] == []


async def test_one_decode_of_two_cases_is_one_row_per_case_with_its_count(api_rig: ApiRig) -> None:
    first, second = await open_case(api_rig), await open_case(api_rig)
    payloads = (await encoded_for(api_rig, first, 3))["payloads"] + (await encoded_for(api_rig, second, 2))[
        "payloads"
    ]

    decoded = await decode(api_rig, "lan-co", {"payloads": payloads})

    assert decoded.status_code == 200, decoded.text
    assert [base64.b64decode(p["data"]) for p in decoded.json()["payloads"]] == [SUBJECT_LINE] * 5
    rows = trail(api_rig)
    assert [(r.case_ref, r.outcome, r.reason.split(";")[0]) for r in rows] == [  # type: ignore[union-attr]
        (first, "allowed", "3 payload(s) decoded"),
        (second, "allowed", "2 payload(s) decoded"),
    ]


# ------------------------------------------------------------------ references that name no case


async def test_encoding_for_a_reference_that_names_no_case_is_refused_and_recorded_so(
    api_rig: ApiRig,
) -> None:
    missing = fake_ref(0xABCDE)
    refused = await api_rig.http.post(
        "/codec/encode", json=plain_payloads(), headers={**api_rig.auth("lan-co"), "X-Case-Ref": missing}
    )
    assert_problem(refused, 404)
    assert [(r.case_ref, r.outcome) for r in trail(api_rig, ENCODE)] == [(missing, "refused")]


# ------------------------------------------------------------------ the area's other workflows


async def test_only_the_areas_co_ordinator_decodes_its_weekly_digest(api_rig: ApiRig) -> None:
    rig = api_rig
    workflow_id = f"{schedule_id('lanarkshire')}-{uuid4().hex[:8]}"
    sent = await rig.env.client.execute_workflow(
        WeeklyDigestWorkflow.run,
        DigestRequest(area="lanarkshire"),
        id=workflow_id,
        task_queue=rig.settings.task_queue,
    )
    assert sent.recipients
    encrypted = [p for p in payloads_in(await raw_history(rig, workflow_id)) if is_encrypted(p)]
    body = json_format.MessageToJson(Payloads(payloads=encrypted)).encode()

    glasgow = await decode(rig, "gla-co", body)
    problem = assert_problem(glasgow, 403, rule="area")
    assert "Lanarkshire" in problem["detail"]
    assert not any(address in glasgow.text for address in sent.recipients)

    lanarkshire = await decode(rig, "lan-co", body)
    assert lanarkshire.status_code == 200, lanarkshire.text
    plaintext = b"".join(p.data for p in json_format.Parse(lanarkshire.content, Payloads()).payloads)
    assert b"lanarkshire" in plaintext and sent.recipients[0].encode() in plaintext

    rows = trail(rig, case_ref=None)
    assert [(r.user_name, r.outcome, r.target) for r in rows] == [
        (
            "test gla-co",
            "refused",
            f"Temporal namespace default, weekly digest workflow {schedule_id('lanarkshire')}",
        ),
        (
            "test lan-co",
            "allowed",
            f"Temporal namespace default, weekly digest workflow {schedule_id('lanarkshire')}",
        ),
    ]


async def test_payloads_of_a_workflow_the_codec_cannot_place_are_decoded_for_no_one(api_rig: ApiRig) -> None:
    for workflow_id in ("some-other-workflow", "weekly-digest-", "weekly-digest-atlantis-2026", "import-"):
        refused = await decode(api_rig, "lan-co", {"payloads": [sealed_naming(workflow_id)]})
        assert_problem(refused, 403, rule="codec scope")
        assert workflow_id not in {r.target for r in trail(api_rig)}


# ------------------------------------------------------------------ errors name no key


async def test_an_undecodable_payload_is_refused_without_naming_any_key(api_rig: ApiRig) -> None:
    case_ref = await open_case(api_rig)
    (payload,) = (await encoded_for(api_rig, case_ref))["payloads"]
    retired = {**payload, "metadata": {**payload["metadata"], KEY_ID_METADATA: b64(b"retired-7")}}
    altered = {**payload, "data": b64(b"\1" * 60)}
    key_ids = list(api_rig.app.state.key_ring.keys)  # type: ignore[union-attr]

    for bad in (retired, altered):
        refused = await decode(api_rig, "lan-co", {"payloads": [bad]})
        problem = assert_problem(refused, 400)
        assert problem["type"].endswith("undecodable-payload")
        assert not [k for k in key_ids if k in refused.text] and "known" not in refused.text


# ------------------------------------------------------------------ signing in for the UI


async def test_a_sign_in_sent_from_another_site_sets_no_cookie(api_rig: ApiRig) -> None:
    rig = api_rig
    for origin in ("https://evil.example", "null", "http://mappa.test.evil.example"):
        forged = await rig.http.post(
            "/codec/login", data={"token": rig.tokens["lan-co"]}, headers={"Origin": origin}
        )
        assert forged.status_code == 403 and "set-cookie" not in forged.headers, origin
    assert trail(rig, "sign in to decode case history") == []

    for origin in ("http://mappa.test", rig.settings.ui_origin):  # this page's own origin, and the UI's
        signed_in = await rig.http.post(
            "/codec/login", data={"token": rig.tokens["lan-co"]}, headers={"Origin": origin}
        )
        assert signed_in.status_code == 200, origin
        cookie = signed_in.headers["set-cookie"].lower()
        assert cookie.startswith(SESSION_COOKIE) and "samesite=strict" in cookie and "httponly" in cookie
        rig.http.cookies.clear()


async def test_the_sign_in_page_says_the_uis_settings_and_links_straight_back(api_rig: ApiRig) -> None:
    rig = api_rig
    ui_page = f"{rig.settings.ui_origin}/namespaces/default/workflows"
    form = await rig.http.get("/codec/login", params={"then": ui_page})
    assert f'value="{ui_page}"' in form.text
    elsewhere = await rig.http.get("/codec/login", params={"then": "https://evil.example/"})
    assert "evil.example" not in elsewhere.text

    signed_in = await rig.http.post("/codec/login", data={"token": rig.tokens["lan-co"], "then": ui_page})
    rig.http.cookies.clear()
    assert signed_in.status_code == 200
    page = signed_in.text
    assert f'href="{ui_page}"' in page
    assert (
        f"{rig.settings.api_base_url}/codec" in page and "Include cross-origin" in page and "reload" in page
    )
    assert "mappa.test" not in page  # the configured address, not the request's Host


# ------------------------------------------------------------------ one row per case view


async def test_a_view_of_a_case_in_the_ui_is_one_row_of_its_audit_trail(api_rig: ApiRig) -> None:
    rig = api_rig
    case_ref = await open_case(rig)
    other = await open_case(rig)
    encrypted = [p for p in payloads_in(await raw_history(rig, case_ref)) if is_encrypted(p)]
    assert encrypted
    # As the UI does: each event's payloads in a request of their own, many at once, the page loaded 3 times.
    requests = [Payloads(payloads=[p]) for p in encrypted] * 60
    for view in range(3):
        batch = requests[view * 60 : (view + 1) * 60]
        answers = await asyncio.gather(
            *(decode(rig, "lan-co", json_format.MessageToJson(r).encode()) for r in batch)
        )
        assert {a.status_code for a in answers} == {200}

    rows = trail(rig, case_ref=case_ref)
    assert [(r.user_name, r.outcome) for r in rows] == [("test lan-co", "allowed")]
    assert "further requests within 10 minutes" in (rows[0].reason or "")

    # Another case, or another user, is another row; a refusal is recorded once too.
    await decode(rig, "lan-co", await encoded_for(rig, other))
    for _ in range(5):
        assert (await decode(rig, "gla-co", await encoded_for(rig, other))).status_code == 403
    assert [(r.user_name, r.outcome) for r in trail(rig, case_ref=other)] == [
        ("test lan-co", "allowed"),
        ("test gla-co", "refused"),
    ]
