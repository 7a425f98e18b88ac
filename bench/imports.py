"""Bulk import as a workflow: 1,000 fictional cases in progress (10,000 at full size), checked (dry run), committed
and sent again.

The import runs as `mappa import cases --commit` does (api/import_jobs.py): the rows are read and stored sealed in
the ledger database, then the import's own workflow starts them a batch at a time (each row checked by the core,
a reservation and an audit row per case, `start_case` 16 at a time), against the dev server with the production
worker running, so each case's first workflow task (breaches marked, ledger written, search attributes
published) competes with the starts. The baseline starts the same workflows bare, 16 at a time from the
client: the same inputs, no checks, reservations, audit rows or import workflow.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from temporalio.client import Client
from temporalio.common import SearchAttributePair, TypedSearchAttributes, WorkflowIDReusePolicy

from api.case_service import WORKFLOW_TYPE, new_case_ref
from api.import_jobs import Submitter, import_status, start_import, store_import
from api.import_reading import split_rows
from api.imports import DEFAULT_CONCURRENCY, check_file, directory_from_file, read_rows
from bench.import_rows import as_csv, fictional_rows
from bench.report import Figure, Result
from bench.rig import (
    MailSink,
    Stopwatch,
    bounded_gather,
    case_worker,
    dev_server,
    ledger_database,
    settings_for,
    task_queue,
)
from core.converter import key_ring_for
from core.database import session_factory
from store.directory import DirectoryFile
from worker.main import SEED_DIRECTORY
from workflows import search_attributes as sa
from workflows.messages import CaseWorkflowInput

ROWS = 1000
FULL_ROWS = 10_000


async def _settled(client: Client, queue: str, count: int) -> float:
    """Seconds until visibility lists `count` cases of `queue` with a stage (each ran its first task)."""
    watch = Stopwatch()
    query = f'TaskQueue = "{queue}" AND CaseStage IS NOT NULL'
    while (await client.count_workflows(query)).count < count:
        await asyncio.sleep(1)
    return watch.seconds


async def _all_started(client: Client, sessions: object, import_id: str, rows: int) -> None:
    while True:
        status = await import_status(client, sessions, import_id)  # type: ignore[arg-type]
        assert status is not None
        if status.progress.finished:
            assert status.progress.started == rows, status.progress
            return
        await asyncio.sleep(0.5)


async def run(full: bool = False) -> Result:
    rows = FULL_ROWS if full else ROWS
    result = Result(
        "import",
        f"Bulk import of {rows:,} cases in progress as a workflow: dry run, commit, re-send",
        {"rows": rows, "concurrency": DEFAULT_CONCURRENCY},
    )
    now = datetime.now(UTC)
    text = as_csv(fictional_rows(rows, now.date()))
    directory = directory_from_file(DirectoryFile.read(SEED_DIRECTORY))
    watch = Stopwatch()
    check = check_file(text, "csv", now, directory=directory)
    dry_run = watch.seconds
    assert len(check.rows) == rows, check.errors[:3]
    who = Submitter("bench", None, "administrator", "bench")
    async with dev_server() as (_, client):
        with ledger_database() as ledger, MailSink() as mail:
            result.parameters["ledger"] = ledger.kind
            queue = task_queue("import")
            settings = settings_for(client, ledger, mail, queue)
            sessions = session_factory(ledger.engine)
            keys = key_ring_for(settings)
            async with case_worker(client, settings, ledger):
                watch = Stopwatch()
                read = read_rows(split_rows(text, "csv"), "lanarkshire", directory=directory)
                import_id, _ = store_import(sessions, keys, "lanarkshire", "bench", read, who)
                await start_import(client, queue, import_id, "lanarkshire", rows)
                stored = watch.seconds
                await _all_started(client, sessions, import_id, rows)
                started = watch.seconds
                settled = started + await _settled(client, queue, rows)
                watch = Stopwatch()
                again, stored_again = store_import(sessions, keys, "lanarkshire", "bench", read, who)
                assert (again, stored_again) == (import_id, False)
                assert not await start_import(client, queue, import_id, "lanarkshire", rows)
                resend = watch.seconds

                base_queue = task_queue("import-baseline")
                base_settings = settings_for(client, ledger, mail, base_queue)
            async with case_worker(client, base_settings, ledger):
                watch = Stopwatch()
                await bounded_gather(
                    DEFAULT_CONCURRENCY,
                    *(
                        client.start_workflow(
                            WORKFLOW_TYPE,
                            CaseWorkflowInput(
                                opening=r.opening.model_copy(update={"case_ref": new_case_ref("LAN")}),
                                imported=r.position,
                            ),
                            id=f"bench-{i}-{new_case_ref('LAN')}",
                            task_queue=base_queue,
                            id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
                            search_attributes=TypedSearchAttributes(
                                [SearchAttributePair(sa.IMPORT_REF, r.row.import_ref)]
                            ),
                        )
                        for i, r in enumerate(check.rows)
                    ),
                )
                base_started = watch.seconds
                base_settled = base_started + await _settled(client, base_queue, rows)
    result.add(Figure("dry run: every row checked by the core", dry_run, "s"))
    result.add(Figure("commit: rows read, stored sealed, import workflow started", stored, "s"))
    result.add(
        Figure(f"commit: all {rows:,} cases started", started, "s", base_started, "bare starts", "minutes")
    )
    result.add(
        Figure(
            f"commit: until all {rows:,} cases ran their first task",
            settled,
            "s",
            base_settled,
            "bare starts",
            "minutes",
            settled < 600 * (rows / ROWS),
        )
    )
    result.add(Figure("re-send of the same file: nothing started", resend, "s"))
    result.notes.append(
        f"{sum(len(r.owes) for r in check.rows)} deadlines opened, "
        f"{sum(1 for r in check.rows for d in r.owes if d.breached)} of them already past (breached on the "
        "first task)"
    )
    return result
