"""A re-referral after exit, over HTTP: the new case is linked to the person's earlier one by the person key (never
by anything that names them), and the co-ordinator sees at screening the earlier case's level, exit day and basis;
another area's co-ordinator and an agency worker are refused; each read is audited on both cases."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from api.auth import READ_EARLIER_CASES
from store.models import PersonLink
from tests.e2e.api_rig import ApiRig, london_today
from tests.e2e.test_after_exit import exited_case, ledger_stage
from tests.e2e.test_confidentiality import BORN, NAME, audit_rows, case_body

pytestmark = pytest.mark.timeout(180)


async def test_a_re_referral_after_exit_shows_the_earlier_case_to_the_co_ordinator_at_screening(
    api_rig: ApiRig,
):
    earlier, _ = await exited_case(api_rig)
    for _ in range(200):  # the ledger records the exit once its activity has run
        if ledger_stage(api_rig, earlier) == "exited":
            break
        await asyncio.sleep(0.05)
    body = case_body(london_today())
    # The same person, typed differently: case, spacing and accents do not make another person.
    body["subject"] = {
        "name": f"  {NAME.upper()} ",
        "date_of_birth": BORN.isoformat(),
        "address": "elsewhere",
    }
    opened = await api_rig.post("lan-police", "/cases", body)
    assert opened.status_code == 201, opened.text
    ref = opened.json()["case_ref"]
    assert NAME.split()[0] not in opened.text

    shown = await api_rig.get("lan-co", f"/cases/{ref}/earlier-cases")
    assert shown.status_code == 200, shown.text
    [case] = shown.json()
    assert case["case_ref"] == earlier and case["still_open"] is False and case["level"] == 2
    assert case["stage"] == "exited" and case["exited_at"] is not None
    assert case["exit_basis"] == "moved to another jurisdiction"

    # Another area's co-ordinator, and an agency worker, do not read it.
    assert (await api_rig.get("gla-co", f"/cases/{ref}/earlier-cases")).status_code == 403
    assert (await api_rig.get("lan-police", f"/cases/{ref}/earlier-cases")).status_code == 403
    action = READ_EARLIER_CASES.action
    assert [r.outcome for r in audit_rows(api_rig, ref, action=action)].count("allowed") == 1
    assert [r.outcome for r in audit_rows(api_rig, ref, action=action)].count("refused") == 2
    assert [r.outcome for r in audit_rows(api_rig, earlier, action=action)] == ["allowed"]
    # The link names nobody: digests only.
    with Session(api_rig.engine) as session:
        keys = session.scalars(select(PersonLink.person_key).where(PersonLink.case_ref == ref)).all()
    assert keys and all(len(k) == 64 and NAME.lower() not in k for k in keys)


async def test_another_person_is_not_linked(api_rig: ApiRig):
    body = case_body(london_today())
    body["subject"] = {"name": "Another Person", "date_of_birth": "1970-01-01", "address": "x"}
    opened = await api_rig.post("lan-police", "/cases", body)
    assert opened.status_code == 201, opened.text
    shown = await api_rig.get("lan-co", f"/cases/{opened.json()['case_ref']}/earlier-cases")
    assert shown.status_code == 200 and shown.json() == []
