"""Bulk import: 1,000 fictional cases in progress, checked (dry run), started and started again (issue 11).

The import runs as `mappa import cases --commit` does (api/imports.py: core check of every row, a reservation
and an audit row per case in the ledger database, `start_case` 16 at a time), against the dev server with the
production worker running, so each case's first workflow task (breaches marked and escalated, ledger written,
search attributes published) competes with the starts. The baseline starts the same 1,000 workflows bare: the
same inputs, no checks, reservations or audit rows.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from temporalio.client import Client
from temporalio.common import SearchAttributePair, TypedSearchAttributes, WorkflowIDReusePolicy

from api.case_service import WORKFLOW_TYPE, new_case_ref
from api.imports import DEFAULT_CONCURRENCY, Importer, RowOutcome, check_file, import_rows
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
from core.database import session_factory
from store.directory import SEED_DIRECTORY, AgencyDirectory, DirectoryFile
from workflows import search_attributes as sa
from workflows.messages import CaseWorkflowInput

ROWS = 1000


async def _settled(client: Client, queue: str, count: int) -> float:
    """Seconds until visibility lists `count` cases of `queue` with a stage (each ran its first task)."""
    watch = Stopwatch()
    query = f'TaskQueue = "{queue}" AND CaseStage IS NOT NULL'
    while (await client.count_workflows(query)).count < count:
        await asyncio.sleep(1)
    return watch.seconds


SEED = AgencyDirectory.of_file(DirectoryFile.read(SEED_DIRECTORY))  # the agencies the fictional rows name


async def run(full: bool = False) -> Result:
    result = Result(
        "import",
        "Bulk import of 1,000 cases in progress: dry run, real run, re-run",
        {"rows": ROWS, "concurrency": DEFAULT_CONCURRENCY},
    )
    now = datetime.now(UTC)
    text = as_csv(fictional_rows(ROWS, now.date()))
    watch = Stopwatch()
    check = check_file(text, "csv", now, directory=SEED)
    dry_run = watch.seconds
    assert len(check.rows) == ROWS, check.errors[:3]
    async with dev_server() as (_, client):
        with ledger_database() as ledger, MailSink() as mail:
            result.parameters["ledger"] = ledger.kind
            queue = task_queue("import")
            settings = settings_for(client, ledger, mail, queue)
            async with case_worker(client, settings, ledger):
                importer = Importer(
                    client, session_factory(ledger.engine), queue, "bench", None, "administrator", "bench"
                )
                watch = Stopwatch()
                first = await import_rows(importer, check.rows)
                started = watch.seconds
                settled = started + await _settled(client, queue, ROWS)
                assert {r.outcome for r in first} == {RowOutcome.STARTED}, [
                    r.error for r in first if r.error
                ][:3]
                watch = Stopwatch()
                again = await import_rows(importer, check.rows)
                rerun = watch.seconds
                assert {r.outcome for r in again} == {RowOutcome.ALREADY_IMPORTED}

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
                base_settled = base_started + await _settled(client, base_queue, ROWS)
    result.add(Figure("dry run: every row checked by the core", dry_run, "s"))
    result.add(
        Figure(f"real run: {ROWS} cases started", started, "s", base_started, "bare starts", "minutes")
    )
    result.add(
        Figure(
            f"real run: until all {ROWS} cases ran their first task",
            settled,
            "s",
            base_settled,
            "bare starts",
            "minutes",
            settled < 600,
        )
    )
    result.add(Figure("re-run of the same file: nothing started", rerun, "s"))
    result.notes.append(
        f"{sum(len(r.owes) for r in check.rows)} deadlines opened, "
        f"{sum(1 for r in check.rows for d in r.owes if d.breached)} of them already past (breached and "
        "escalated on the first task)"
    )
    return result
