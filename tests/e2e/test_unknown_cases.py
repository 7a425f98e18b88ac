"""A reference that names no case: a national agency's token cannot tell it from a case it has no part in, and
nobody's attempt on it is recorded as an allowed access."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from store.models import AuditEvent
from tests.e2e.api_rig import ApiRig
from tests.e2e.test_api_cases import assert_problem, open_case

pytestmark = pytest.mark.timeout(120)

NO_SUCH_CASE = "MAPPA-LAN-2026-ZZZZZZ"
RISK_CHANGE = {"reporting_agency": "sps", "direction": "increased", "summary": "a hostile report"}


def trail(rig: ApiRig, case_ref: str) -> list[tuple[str, str, str]]:
    with Session(rig.engine) as session:
        rows = session.scalars(
            select(AuditEvent).where(AuditEvent.case_ref == case_ref).order_by(AuditEvent.id)
        ).all()
    return [(r.user_name, r.action, r.outcome) for r in rows]


def answer(response: httpx.Response, case_ref: str) -> tuple[int, dict[str, Any]]:
    """What the client learns, with the reference it asked about taken out."""
    return response.status_code, {k: str(v).replace(case_ref, "REF") for k, v in response.json().items()}


async def test_a_national_token_is_answered_alike_for_a_case_it_has_no_part_in_and_for_no_case(
    api_rig: ApiRig,
) -> None:
    rig = api_rig
    not_involved = await open_case(rig)  # Lanarkshire police's case: SPS has no part in it

    for ref in (not_involved, NO_SUCH_CASE):
        assert_problem(
            await rig.get("sps", f"/cases/{ref}/case-file"), 403, rule="national agency involvement"
        )
    for path in ("/case-file", "", "/deadlines"):
        existing = await rig.get("sps", f"/cases/{not_involved}{path}")
        missing = await rig.get("sps", f"/cases/{NO_SUCH_CASE}{path}")
        assert answer(existing, not_involved) == answer(missing, NO_SUCH_CASE), path
    existing_event = await rig.post("sps", f"/cases/{not_involved}/risk-changes", RISK_CHANGE)
    missing_event = await rig.post("sps", f"/cases/{NO_SUCH_CASE}/risk-changes", RISK_CHANGE)
    assert answer(existing_event, not_involved) == answer(missing_event, NO_SUCH_CASE)

    # Audited alike too: each attempt a refusal, on either reference.
    def refusals(ref: str) -> list[tuple[str, str, str]]:
        return [row for row in trail(rig, ref) if row[0] == "test sps"]

    assert len(refusals(NO_SUCH_CASE)) == len(refusals(not_involved)) == 5
    assert {outcome for _, _, outcome in refusals(NO_SUCH_CASE)} == {"refused"}


async def test_a_co_ordinators_read_of_no_case_is_not_recorded_as_allowed(api_rig: ApiRig) -> None:
    rig = api_rig
    read = await rig.get("lan-co", f"/cases/{NO_SUCH_CASE}/case-file")
    assert_problem(read, 404)
    event = await rig.post(
        "lan-co", f"/cases/{NO_SUCH_CASE}/screening", {"outcome": "referral-needed", "reason": "a test"}
    )
    assert_problem(event, 404)
    status = await rig.get("lan-co", f"/cases/{NO_SUCH_CASE}")
    assert_problem(status, 404)
    assert [(action, outcome) for _, action, outcome in trail(rig, NO_SUCH_CASE)] == [
        ("read the case file", "refused"),
        (
            "screen a notification",
            "refused",
        ),
    ]


async def test_the_audit_trail_of_no_case_is_not_found_and_stays_so(api_rig: ApiRig) -> None:
    rig = api_rig
    for _ in range(2):  # a refusal on a reference does not make it a case
        assert_problem(await rig.get("lan-co", f"/cases/{NO_SUCH_CASE}/audit"), 404)
    assert [outcome for _, _, outcome in trail(rig, NO_SUCH_CASE)] == ["refused", "refused"]

    case_ref = await open_case(rig)
    exported = await rig.get("lan-co", f"/cases/{case_ref}/audit")
    assert exported.status_code == 200, exported.text
    assert [r["action"] for r in exported.json()][-1] == "read a case's audit trail"
