"""The import's workflow on the real dev server: it continues as new through a big file, and a worker stopped in
the middle of an import leaves it to the next worker, which carries on; every row's case starts exactly once, the
co-ordinator gets exactly one summary of what was already past in them, and nothing about the people in the file
reaches the workflow's id, history or search attributes."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from email.message import Message
from uuid import uuid4

import pytest
from sqlalchemy import func, select

from api.import_jobs import Submitter, import_status, start_import, store_import
from api.import_reading import split_rows
from api.imports import CheckedRow, check_row, read_rows
from bench.import_rows import as_csv, fictional_rows
from core.converter import key_ring_for
from core.database import session_factory
from store.models import AuditEvent, CaseOpening
from tests.e2e.api_rig import ApiRig, london_today
from tests.helpers import unique_task_queue
from tests.import_expectations import SEED_DIRECTORY
from worker.assembly import build_activities, build_worker

pytestmark = pytest.mark.timeout(300)
ROWS = 60


async def test_a_worker_stopped_mid_import_leaves_it_to_the_next_and_each_case_starts_once(
    api_rig: ApiRig,
) -> None:
    prefix = f"W{uuid4().hex[:8]}"
    rows = fictional_rows(ROWS, london_today())
    for row in rows:
        row["import_ref"] = f"{prefix}-{row['import_ref']}"
    read = read_rows(split_rows(as_csv(rows), "csv"), "lanarkshire", directory=SEED_DIRECTORY)
    sessions = session_factory(api_rig.engine)
    settings = api_rig.settings.model_copy(update={"task_queue": unique_task_queue()})
    import_id, stored = store_import(
        sessions,
        key_ring_for(settings),
        "lanarkshire",
        prefix,
        read,
        Submitter("test", None, "administrator", "t"),
    )
    assert stored
    checked = [check_row(line, row, datetime.now(UTC)) for line, row in read.rows]
    past_in = {
        c.row.import_ref for c in checked if isinstance(c, CheckedRow) and any(o.breached for o in c.owes)
    }
    assert past_in
    client = api_rig.env.client
    # Batches of 5 rows, continuing as new every 2 batches: 12 batches, 6 runs.
    await start_import(
        client, settings.task_queue, import_id, "lanarkshire", ROWS, batch_rows=5, batches_per_run=2
    )

    first = build_worker(client, settings, build_activities(settings, api_rig.engine))
    async with first:
        for _ in range(600):
            status = await import_status(client, sessions, import_id)
            assert status is not None
            if status.progress.settled >= 15:
                break
            await asyncio.sleep(0.1)
    # The first worker is gone (its in-flight batch, if any, is abandoned mid-way); the second carries on.
    halfway = status.progress.settled
    assert halfway < ROWS
    async with build_worker(client, settings, build_activities(settings, api_rig.engine)):
        for _ in range(600):
            status = await import_status(client, sessions, import_id)
            assert status is not None
            if status.progress.finished and status.state == "completed":
                break
            await asyncio.sleep(0.2)
        assert status.progress.finished and status.state == "completed", status.progress
        case_refs = {r.case_ref for r in status.rows if r.case_ref}
        summaries = await _summaries_naming(api_rig, case_refs)
        # The summary is sent by its own workflow: give a second one, were there any, the time to arrive.
        await asyncio.sleep(2)
        summaries = await _summaries_naming(api_rig, case_refs)
    # One summary, naming every case with a deadline already past, whichever worker started it.
    assert len(summaries) == 1
    body = summaries[0].get_payload(decode=True).decode()
    assert {r.case_ref for r in status.rows if r.case_ref and r.case_ref in body} == {
        r.case_ref for r in status.rows if r.import_ref in past_in
    }
    assert (status.progress.settled, status.progress.refused, status.progress.failed) == (ROWS, 0, 0)
    assert {r.outcome for r in status.rows} <= {"started", "already-imported"}

    refs = [row["import_ref"] for row in rows]
    with sessions() as session:
        reserved = session.scalar(
            select(func.count()).select_from(CaseOpening).where(CaseOpening.idempotency_key.in_(refs))
        )
        audited = session.scalar(
            select(func.count())
            .select_from(AuditEvent)
            .where(AuditEvent.action == "import a case", AuditEvent.target.in_([f"import:{r}" for r in refs]))
        )
    assert (reserved, audited) == (ROWS, ROWS)
    listed = [
        w.id async for w in client.list_workflows(f'ImportRef >= "{prefix}" AND ImportRef < "{prefix}~"')
    ]
    for _ in range(60):
        if len(listed) == ROWS:
            break
        await asyncio.sleep(0.5)
        listed = [
            w.id async for w in client.list_workflows(f'ImportRef >= "{prefix}" AND ImportRef < "{prefix}~"')
        ]
    assert sorted(listed) == sorted(r.case_ref for r in status.rows if r.case_ref)

    # Continued as new (runs chained), and nothing personal in the import's id, attributes or history.
    handle = client.get_workflow_handle(import_id)
    runs = [w async for w in client.list_workflows(f'WorkflowId = "{import_id}"')]
    assert len(runs) >= ROWS // 10
    history = await handle.fetch_history()
    raw = history.to_json()
    for row in rows:
        for value in (row["subject_name"], row["subject_address"], row["import_ref"]):
            assert value not in raw
    assert prefix not in import_id


async def _summaries_naming(rig: ApiRig, case_refs: set[str]) -> list[Message]:
    """The import summaries that name any of these cases, once at least one has arrived."""
    found: list[Message] = []
    for _ in range(120):
        found = [
            m
            for m in rig.smtp.messages
            if "already past at the import" in str(m["Subject"])
            and any(ref in m.get_payload(decode=True).decode() for ref in case_refs)
        ]
        if found:
            return found
        await asyncio.sleep(0.5)
    return found
