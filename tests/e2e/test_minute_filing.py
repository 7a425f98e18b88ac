"""A minute is filed for a meeting the case file records, by that meeting's id, exactly once: over HTTP against the
dev server, a real worker and a migrated database.

The finding reproduced as written: a chair stored a minute dated 2099-01-01 (or today, with no meeting recorded)
listing housing as present, got 201, and housing read the risk assessment. Now such a minute is refused, naming
the rule, stores nothing, and housing reads nothing. A filing repeated, in parallel or after the case did not
answer, is stored once and recorded once."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

import api.minutes
from api import problems
from store.models import Minute
from tests.e2e.api_rig import ApiRig, london_today
from tests.e2e.test_api_cases import assert_problem
from tests.e2e.test_confidentiality import (
    MINUTE_SENTENCE,
    accepted_case,
    audit_rows,
    filing,
    meeting_body,
    minute_body,
    with_extra_users,
)

pytestmark = pytest.mark.timeout(180)

HOUSING = {
    "agency": "lanarkshire-housing",
    "representative": "Representative of lanarkshire-housing",
    "signed_confidentiality_statement": True,
}


def stored_minutes(rig: ApiRig, case_ref: str) -> list[Minute]:
    with Session(rig.engine) as session:
        return list(session.scalars(select(Minute).where(Minute.case_ref == case_ref)).all())


async def updates_accepted(rig: ApiRig, case_ref: str, name: str) -> int:
    """How many `name` updates the case's history records as accepted (each one applied once)."""
    history = await rig.env.client.get_workflow_handle(case_ref).fetch_history()
    return sum(
        1
        for e in history.events
        if e.HasField("workflow_execution_update_accepted_event_attributes")
        and e.workflow_execution_update_accepted_event_attributes.accepted_request.input.name == name
    )


async def housing_reads_nothing(rig: ApiRig, case_ref: str) -> None:
    """Housing reads no minute of the case, and the case file records none it could read."""
    for row in stored_minutes(rig, case_ref):
        refused = await rig.get("lan-housing", f"/minutes/{row.minute_ref}")
        assert refused.status_code in (403, 404) and MINUTE_SENTENCE not in refused.text
    file = (await rig.get("lan-co", f"/cases/{case_ref}/case-file")).json()
    assert not [m for m in file["meetings"] if "lanarkshire-housing" in m["attendees"]]


async def case_met(rig: ApiRig) -> str:
    """An accepted case whose initial meeting (meeting-1) is recorded, without its minute."""
    ref = await accepted_case(rig)
    await rig.event("lan-chair", ref, "meetings", meeting_body(london_today()))
    return ref


# ------------------------------------------------------------------ the finding, as written


async def test_a_minute_of_no_recorded_meeting_listing_housing_is_refused_stores_nothing_and_housing_reads_nothing(
    api_rig: ApiRig,
) -> None:
    rig = with_extra_users(api_rig)
    today = london_today()
    ref = await accepted_case(rig)  # no meeting recorded yet
    minutes = f"/cases/{ref}/minutes"
    for held_on in ("2099-01-01", today.isoformat()):
        claim = {**minute_body(today), "held_on": held_on}
        claim["attendees"] = [*claim["attendees"], HOUSING]
        # As sent in the finding: no meeting named at all.
        assert_problem(await rig.post("lan-chair", minutes, claim), 422, field="meeting_id")
        # Naming a meeting the case file does not record.
        unrecorded = await rig.post("lan-chair", minutes, {**claim, "meeting_id": "meeting-1"})
        assert_problem(unrecorded, 422, field="meeting_id", rule="meeting")
        assert "no meeting meeting-1 is recorded" in unrecorded.json()["detail"]
    assert stored_minutes(rig, ref) == []

    # Once meeting-1 is recorded (without housing), a minute dated 2099 or listing housing is still refused.
    await rig.event("lan-chair", ref, "meetings", meeting_body(today))
    claims: list[tuple[dict[str, Any], str]] = [
        ({**filing(today), "held_on": "2099-01-01"}, "held_on"),
        ({**filing(today), "attendees": [*filing(today)["attendees"], HOUSING]}, "attendees"),
    ]
    for claim, field in claims:
        refused = await rig.post("lan-chair", minutes, claim)
        assert_problem(refused, 422, field=field, rule="minute of a recorded meeting")
    assert stored_minutes(rig, ref) == []
    await housing_reads_nothing(rig, ref)

    # The minute of the meeting as recorded is filed; housing, not present, still reads nothing.
    filed = await rig.post("lan-chair", minutes, filing(today))
    assert filed.status_code == 201, filed.text
    assert (await rig.get("lan-housing", f"/minutes/{filed.json()['minute_ref']}")).status_code == 403
    assert (await rig.get("lan-nhs", f"/minutes/{filed.json()['minute_ref']}")).status_code == 200
    await housing_reads_nothing(rig, ref)


# ------------------------------------------------------------------ exactly once


async def test_parallel_repeats_of_one_filing_with_one_key_store_and_record_the_minute_once(
    api_rig: ApiRig,
) -> None:
    rig = api_rig
    today = london_today()
    ref = await case_met(rig)
    answers = await asyncio.gather(
        *(rig.post("lan-chair", f"/cases/{ref}/minutes", filing(today), key="minute-1") for _ in range(6))
    )
    assert [a.status_code for a in answers] == [201] * 6, [a.text for a in answers]
    assert len({a.json()["minute_ref"] for a in answers}) == 1
    assert sorted(a.json()["replayed"] for a in answers) == [False] + [True] * 5
    (row,) = stored_minutes(rig, ref)
    assert (row.minute_ref, row.meeting_id) == (answers[0].json()["minute_ref"], "meeting-1")
    assert await updates_accepted(rig, ref, "file_minute") == 1
    file = (await rig.get("lan-co", f"/cases/{ref}/case-file")).json()
    assert file["meetings"][0]["minute_ref"] == row.minute_ref
    assert file["meetings"][0]["minute_digest"] == row.digest

    # The key is bound to its body: another minute under it is refused, naming the key, and stores nothing.
    other = {**filing(today), "conclusions": "A different account."}
    reused = await rig.post("lan-chair", f"/cases/{ref}/minutes", other, key="minute-1")
    assert_problem(reused, 422, field="Idempotency-Key")
    assert len(stored_minutes(rig, ref)) == 1


async def test_of_different_minutes_filed_at_once_for_one_meeting_exactly_one_is_stored(
    api_rig: ApiRig,
) -> None:
    rig = api_rig
    today = london_today()
    ref = await case_met(rig)
    versions = [{**filing(today), "conclusions": f"Version {i} of the conclusions."} for i in range(5)]
    answers = await asyncio.gather(
        *(
            rig.post("lan-chair", f"/cases/{ref}/minutes", v, key=f"version-{i}")
            for i, v in enumerate(versions)
        )
    )
    statuses = sorted(a.status_code for a in answers)
    assert statuses == [201] + [409] * 4, [a.text for a in answers]
    (won,) = [a.json() for a in answers if a.status_code == 201]
    (row,) = stored_minutes(rig, ref)
    assert row.minute_ref == won["minute_ref"]
    assert await updates_accepted(rig, ref, "file_minute") == 1
    for lost in (a for a in answers if a.status_code == 409):
        assert lost.json()["rule"] == "one minute, one meeting" and won["minute_digest"] not in lost.text


async def filed_while_the_case_does_not_answer(
    rig: ApiRig, monkeypatch: pytest.MonkeyPatch, key: str | None = None
) -> tuple[str, httpx.Response]:
    """A case whose meeting-1's minute was filed while the case did not answer (the minute stored, the event
    not sent); the case answers again afterwards: (case, the answer to that filing)."""
    ref = await case_met(rig)

    async def case_not_answering(*args: Any, **kwargs: Any) -> Any:
        raise problems.temporal_unavailable("the case's worker did not answer in time")

    with monkeypatch.context() as patched:
        patched.setattr(api.minutes, "send_event", case_not_answering)
        answer = await rig.post("lan-chair", f"/cases/{ref}/minutes", filing(london_today()), key=key)
    return ref, answer


async def test_a_minute_stored_while_the_case_did_not_answer_is_kept_and_filed_once_by_the_repeat(
    api_rig: ApiRig, monkeypatch: pytest.MonkeyPatch
) -> None:
    rig = api_rig
    today = london_today()
    ref, first = await filed_while_the_case_does_not_answer(rig, monkeypatch, key="after-outage")
    assert_problem(first, 503)
    assert first.json()["type"].endswith("minute-stored-not-filed") and first.headers["Retry-After"]
    # Nothing recorded is lost: the minute is stored, but no meeting names it yet, so nobody reads it as of right.
    (row,) = stored_minutes(rig, ref)
    assert row.meeting_id == "meeting-1" and row.minute_ref in first.text
    assert (await rig.get("lan-nhs", f"/minutes/{row.minute_ref}")).status_code == 403
    assert await updates_accepted(rig, ref, "file_minute") == 0

    again = await asyncio.gather(
        *(rig.post("lan-chair", f"/cases/{ref}/minutes", filing(today), key="after-outage") for _ in range(3))
    )
    assert [a.status_code for a in again] == [201] * 3, [a.text for a in again]
    assert {a.json()["minute_ref"] for a in again} == {row.minute_ref}
    assert all(a.json()["replayed"] for a in again)
    assert [r.minute_ref for r in stored_minutes(rig, ref)] == [row.minute_ref]
    assert await updates_accepted(rig, ref, "file_minute") == 1
    read = await rig.get("lan-nhs", f"/minutes/{row.minute_ref}")
    assert read.status_code == 200 and read.json()["meeting_id"] == "meeting-1"


async def test_a_minute_stored_but_not_filed_blocks_no_one_a_different_minute_files_it_first_and_is_refused(
    api_rig: ApiRig, monkeypatch: pytest.MonkeyPatch
) -> None:
    rig = api_rig
    today = london_today()
    ref, first = await filed_while_the_case_does_not_answer(rig, monkeypatch)
    assert first.status_code == 503
    (row,) = stored_minutes(rig, ref)
    # A different minute for the meeting: the stored one is filed first (it was recorded), this one refused.
    other = {**filing(today), "conclusions": "A later account of the meeting."}
    refused = await rig.post("lan-chair", f"/cases/{ref}/minutes", other)
    assert_problem(refused, 409, field="meeting_id", rule="one minute, one meeting")
    file = (await rig.get("lan-co", f"/cases/{ref}/case-file")).json()
    assert file["meetings"][0]["minute_ref"] == row.minute_ref
    assert [r.minute_ref for r in stored_minutes(rig, ref)] == [row.minute_ref]


async def test_only_the_chair_of_the_agency_that_chaired_the_meeting_files_its_minute_and_refusals_are_audited(
    api_rig: ApiRig,
) -> None:
    rig = with_extra_users(api_rig)
    today = london_today()
    ref = await case_met(rig)
    minutes = f"/cases/{ref}/minutes"
    # An NHS chair (NHS attended, police chaired) names itself the chair: the meeting says otherwise.
    as_nhs = {**filing(today), "chair_agency": "nhs-lanarkshire"}
    assert_problem(await rig.post("lan-nhs-chair", minutes, as_nhs), 422, field="chair_agency")
    # ... or names police: not its agency.
    assert_problem(await rig.post("lan-nhs-chair", minutes, filing(today)), 403)
    for worker in ("lan-co", "lan-police", "lan-housing"):
        assert_problem(await rig.post(worker, minutes, filing(today)), 403)
    assert stored_minutes(rig, ref) == []
    refused = {r.user_name for r in audit_rows(rig, ref, action="file a meeting's minute", outcome="refused")}
    assert refused >= {"test lan-nhs-chair", "test lan-co", "test lan-police", "test lan-housing"}


async def test_a_minute_is_filed_after_the_exit_decision_while_the_minutes_are_outstanding(
    api_rig: ApiRig,
) -> None:
    rig = api_rig
    today = london_today()
    ref = await case_met(rig)
    await rig.event("lan-co", ref, "exit-decisions", {"outcome": "exit", "reason": "risk reduced"})
    assert (await rig.get("lan-co", f"/cases/{ref}")).json()["summary"]["stage"] == "exiting"
    filed = await rig.post("lan-chair", f"/cases/{ref}/minutes", filing(today))
    assert filed.status_code == 201, filed.text
    assert (await rig.get("lan-nhs", f"/minutes/{filed.json()['minute_ref']}")).status_code == 200
