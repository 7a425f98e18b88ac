"""What outlives a case's exit from MAPPA, over HTTP against the real dev server and worker (issue 9 point 5): a
subject access request about a case whose workflow has completed reopens it, once, under the same reference and
with its history; the case closes again when the request is decided. Minutes stay readable, and their sharing is
still the chair's decision, after exit."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from store.models import LedgerCase, LedgerDeadline
from tests.e2e.api_rig import ApiRig
from tests.e2e.test_api_cases import assert_problem
from tests.e2e.test_confidentiality import (
    ATTENDEES,
    HIDDEN_ITEM,
    MINUTE_SENTENCE,
    case_with_minuted_meeting,
    with_extra_users,
)

pytestmark = pytest.mark.timeout(180)

EXEMPTION = "DPA 2018 Sch 2 para 2: crime and taxation (prevention of crime)"


async def exited_case(rig: ApiRig) -> tuple[str, str]:
    """A level 2 case that met, circulated its minutes and exited MAPPA: its workflow has completed."""
    ref, minute_ref = await case_with_minuted_meeting(rig)
    await rig.event(
        "lan-co", ref, "minutes-circulations", {"meeting_id": "meeting-1", "recipients": ATTENDEES}
    )
    # The SWIS alert after the meeting outlives the exit too (000): updated first, nothing is left outstanding.
    await rig.event("lan-co", ref, "swis-alert-updates", {"meeting_id": "meeting-1"})
    exited = await rig.event(
        "lan-co", ref, "exit-decisions", {"outcome": "exit", "reason": "moved to another jurisdiction"}
    )
    assert exited["stage"] == "exited"
    await rig.env.client.get_workflow_handle(ref).result()
    return ref, minute_ref


async def latest_run(rig: ApiRig, ref: str) -> tuple[str, str]:
    """The run ID and status of the case's latest run."""
    description = await rig.env.client.get_workflow_handle(ref).describe()
    assert description.status is not None
    return description.run_id, description.status.name


async def ledger(rig: ApiRig, ref: str, deadline_id: str, state: str) -> dict[str, str]:
    """Every ledger row of the case (deadline -> state), once the ledger has `deadline_id` in `state`."""
    for _ in range(300):
        with Session(rig.engine) as session:
            rows = session.scalars(select(LedgerDeadline).where(LedgerDeadline.case_ref == ref)).all()
            states = {r.deadline_id: r.state for r in rows}
        if states.get(deadline_id) == state:
            return states
        await asyncio.sleep(0.05)
    raise AssertionError(f"the ledger has {deadline_id} of {ref} as {states.get(deadline_id)}, not {state}")


def ledger_stage(rig: ApiRig, ref: str) -> str:
    with Session(rig.engine) as session:
        case = session.get(LedgerCase, ref)
        assert case is not None
        return case.stage


async def decide(rig: ApiRig, ref: str, sar_id: str) -> dict[str, Any]:
    return await rig.event(
        "lan-chair",
        ref,
        "subject-access-decisions",
        {"sar_id": sar_id, "outcome": "withhold", "exemption": EXEMPTION, "reason": "risk to the victim"},
    )


async def test_a_subject_access_request_reopens_an_exited_case_which_closes_again_once_decided(
    api_rig: ApiRig,
) -> None:
    rig = api_rig
    ref, _ = await exited_case(rig)
    closed_run, status = await latest_run(rig, ref)
    assert status == "COMPLETED"
    before = await ledger(rig, ref, "minutes:meeting-1", "met")
    # A busy case may have continued as new before it exited (the rig suggests it at 200 events).
    runs_at_exit = (await rig.get("lan-ops", f"/cases/{ref}")).json()["runs"]

    requested = await rig.event(
        "lan-co", ref, "subject-access-requests", {"meeting_ids": ["meeting-1"]}, key="sar-after-exit"
    )
    assert requested["stage"] == "exiting" and not requested["replayed"]
    assert {c["deadline_id"] for c in requested["changes"]} == {"sar-1", *(f"sar-1:{a}" for a in ATTENDEES)}
    reopened_run, status = await latest_run(rig, ref)
    assert reopened_run != closed_run and status == "RUNNING"

    # The same case, carried on: its history, its exit record and its deadlines, the request's now enforced.
    case_status = (await rig.get("lan-ops", f"/cases/{ref}")).json()
    assert case_status["runs"] == runs_at_exit + 1 and case_status["summary"]["stage"] == "exiting"
    deadlines = {d["deadline_id"]: d for d in case_status["deadlines"]}
    assert deadlines["sar-1"]["state"] == "open" and deadlines["sar-1"]["reminder_at"] is not None
    assert deadlines["minutes:meeting-1"]["state"] == "met" and deadlines["screening"]["state"] == "met"
    case_file = (await rig.get("lan-co", f"/cases/{ref}/case-file")).json()
    assert case_file["exit_record"]["reason"] == "moved to another jurisdiction"
    during = await ledger(rig, ref, "sar-1", "open")
    assert {k: v for k, v in during.items() if k in before} == before
    assert ledger_stage(rig, ref) == "exiting"

    # Events the exited case does not take are still refused.
    late_meeting = await rig.post(
        "lan-co",
        f"/cases/{ref}/risk-changes",
        {
            "reporting_agency": "lanarkshire-justice-social-work",
            "direction": "increased",
            "summary": "too late",
        },
    )
    assert_problem(late_meeting, 409)

    await rig.event(
        "lan-nhs",
        ref,
        "subject-access-views",
        {"sar_id": "sar-1", "agency": "nhs-lanarkshire", "view": "disclose"},
    )
    decided = await decide(rig, ref, "sar-1")
    assert decided["stage"] == "exited"
    record = await rig.env.client.get_workflow_handle(ref).result()
    assert record is not None
    assert (await latest_run(rig, ref)) == (reopened_run, "COMPLETED")
    await ledger(rig, ref, "sar-1", "met")
    assert ledger_stage(rig, ref) == "exited"

    # A retry of the first request, after the case closed again, is answered from the case's memory of its
    # idempotency keys: the same receipt, and no third run.
    again = await rig.event(
        "lan-co", ref, "subject-access-requests", {"meeting_ids": ["meeting-1"]}, key="sar-after-exit"
    )
    assert again["replayed"] and again["changes"] == requested["changes"]
    assert (await latest_run(rig, ref)) == (reopened_run, "COMPLETED")


async def test_two_parallel_subject_access_requests_on_an_exited_case_reopen_it_once(api_rig: ApiRig) -> None:
    rig = api_rig
    ref, _ = await exited_case(rig)
    closed_run, _ = await latest_run(rig, ref)

    responses = await asyncio.gather(
        *(
            rig.post(
                "lan-co", f"/cases/{ref}/subject-access-requests", {"meeting_ids": ["meeting-1"]}, key=key
            )
            for key in ("parallel-sar-a", "parallel-sar-b")
        )
    )
    assert [r.status_code for r in responses] == [200, 200], [r.text for r in responses]
    # One run took both: a second run started from the closed state would have numbered its request sar-1 too.
    opened = sorted(
        c["deadline_id"]
        for r in responses
        for c in r.json()["changes"]
        if c["deadline_id"].startswith("sar-")
    )
    assert [d for d in opened if ":" not in d] == ["sar-1", "sar-2"]
    reopened_run, status = await latest_run(rig, ref)
    assert reopened_run != closed_run and status == "RUNNING"
    case_file = (await rig.get("lan-co", f"/cases/{ref}/case-file")).json()
    assert [s["sar_id"] for s in case_file["subject_access_requests"]] == ["sar-1", "sar-2"]

    # The case closes only when both are decided.
    assert (await decide(rig, ref, "sar-1"))["stage"] == "exiting"
    assert (await decide(rig, ref, "sar-2"))["stage"] == "exited"
    await rig.env.client.get_workflow_handle(ref).result()
    assert (await latest_run(rig, ref)) == (reopened_run, "COMPLETED")


async def test_a_refused_subject_access_request_about_an_exited_case_reopens_nothing(api_rig: ApiRig) -> None:
    rig = api_rig
    ref, _ = await exited_case(rig)
    closed_run, _ = await latest_run(rig, ref)
    unknown = await rig.post(
        "lan-co", f"/cases/{ref}/subject-access-requests", {"meeting_ids": ["meeting-7"]}
    )
    assert_problem(unknown, 422, field=None)
    assert (await latest_run(rig, ref)) == (closed_run, "COMPLETED")
    # Other events are refused as before: the case has exited MAPPA.
    screening = await rig.post("lan-co", f"/cases/{ref}/screening", {"outcome": "level-1", "reason": "late"})
    assert "exited MAPPA" in assert_problem(screening, 409)["detail"]
    assert (await latest_run(rig, ref)) == (closed_run, "COMPLETED")


async def test_minutes_are_read_and_their_sharing_decided_by_the_chair_after_exit(api_rig: ApiRig) -> None:
    rig = with_extra_users(api_rig)
    ref, minute_ref = await exited_case(rig)

    minute = await rig.get("lan-nhs", f"/minutes/{minute_ref}")
    assert minute.status_code == 200, minute.text
    assert minute.json()["meeting_id"] == "meeting-1" and MINUTE_SENTENCE in minute.text
    assert (await rig.get("lan-housing", f"/minutes/{minute_ref}")).status_code == 403
    file = (await rig.get("lan-housing", f"/cases/{ref}/case-file")).json()
    assert HIDDEN_ITEM not in str(file)

    asked = await rig.post(
        "lan-nhs",
        f"/minutes/{minute_ref}/disclosures",
        {"recipient_agency": "north-lanarkshire-council", "rationale": "child protection case conference"},
    )
    assert asked.status_code == 201, asked.text
    decision = f"/disclosures/{asked.json()['disclosure_id']}/decision"
    grant = {"decision": "grant", "reason": "conclusions and actions only"}
    assert (await rig.post("lan-nhs-chair", decision, grant)).status_code == 403
    granted = await rig.post("lan-chair", decision, grant)
    assert granted.status_code == 200 and granted.json()["status"] == "granted", granted.text
    summary = await rig.get("lan-north", f"/minutes/{minute_ref}/executive-summary")
    assert summary.status_code == 200, summary.text
    assert HIDDEN_ITEM not in summary.text and MINUTE_SENTENCE not in summary.text
    listed = await rig.get("lan-co", f"/minutes/{minute_ref}/disclosures")
    assert [d["status"] for d in listed.json()] == ["granted"]
    # None of it touched the closed case.
    assert (await latest_run(rig, ref))[1] == "COMPLETED"
