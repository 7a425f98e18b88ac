"""A file of cases in progress, imported by one workflow: its rows started in batches, its progress answered.

The file's rows wait in the ledger database, sealed under the payload keys (`import_file_rows`, written by
`api/import_jobs.py` when the co-ordinator commits the file). This workflow only walks them: it asks one
activity to start the next batch after the last line settled, and keeps the counts. The activity checks each
row in the core and starts its case as any import does (a reservation per `import_ref`, then the case's own
workflow), and writes each row's outcome; a row with an outcome is never started again, so a retried batch, a
restarted worker or a re-sent file starts nothing twice. The history holds no row: only line numbers and counts
(the workflow id is the import's random reference; the search attributes are the area and a count).

When every row has settled, a last activity sends the co-ordinator the import's one summary of the deadlines
already past in the cases it started (each row's past deadlines are stored with its outcome, so the summary is
built from the database whatever worker, run or retry started the row); the summary's own workflow is keyed by
what it lists, so a retried activity or a resumed import sends it once.

A big file continues as new every `batches_per_run` batches (or when Temporal suggests it), carrying the
counts and the last line settled. Import-light: the sandbox re-imports this module per run.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy

from workflows.search_attributes import IMPORT_ROWS_SETTLED

IMPORT_BATCH = "import_batch"
SEND_IMPORT_SUMMARY = "send_import_summary"
IMPORT_WORKFLOW = "MappaImport"
BATCH_ROWS = 100
BATCHES_PER_RUN = 100


@dataclass(frozen=True)
class ImportProgress:
    """How far an import has got. `rows`: the file's rows; each settles as exactly one of the four."""

    rows: int
    started: int = 0
    already_imported: int = 0
    refused: int = 0  # by the check (at reading, or in the core when its turn came)
    failed: int = 0  # not started: Temporal or the database refused; a re-sent file tries it again
    after_line: int = 0  # every row up to this line has settled
    finished: bool = False

    @property
    def settled(self) -> int:
        return self.started + self.already_imported + self.refused + self.failed


@dataclass(frozen=True)
class ImportJob:
    import_id: str
    area: str
    progress: ImportProgress
    batch_rows: int = BATCH_ROWS
    batches_per_run: int = BATCHES_PER_RUN


@dataclass(frozen=True)
class ImportBatch:
    import_id: str
    after_line: int
    rows: int


@dataclass(frozen=True)
class ImportSummaryOrder:
    import_id: str


@dataclass(frozen=True)
class ImportSummarySent:
    """What the import's summary listed (0, 0: nothing was already past, and nothing is sent)."""

    deadlines: int
    cases: int


@workflow.defn(name=IMPORT_WORKFLOW)
class MappaImportWorkflow:
    def __init__(self) -> None:
        self._progress = ImportProgress(rows=0)

    @workflow.run
    async def run(self, job: ImportJob) -> ImportProgress:
        self._progress = job.progress
        batches = 0
        while not self._progress.finished:
            self._progress = await workflow.execute_activity(
                IMPORT_BATCH,
                ImportBatch(job.import_id, self._progress.after_line, job.batch_rows),
                result_type=ImportProgress,
                summary=f"rows after line {self._progress.after_line}",
                start_to_close_timeout=timedelta(minutes=10),
                heartbeat_timeout=timedelta(minutes=1),
                # Keep trying while Temporal's frontend or the database is away: each row's outcome is
                # written once, so a retried batch resumes where the last one stopped.
                retry_policy=RetryPolicy(maximum_interval=timedelta(minutes=1)),
            )
            workflow.upsert_search_attributes([IMPORT_ROWS_SETTLED.value_set(self._progress.settled)])
            batches += 1
            if not self._progress.finished and (
                batches >= job.batches_per_run or workflow.info().is_continue_as_new_suggested()
            ):
                workflow.continue_as_new(replace(job, progress=self._progress))
        await workflow.execute_activity(
            SEND_IMPORT_SUMMARY,
            ImportSummaryOrder(job.import_id),
            result_type=ImportSummarySent,
            summary="the co-ordinator's summary of deadlines already past at the import",
            start_to_close_timeout=timedelta(minutes=2),
            retry_policy=RetryPolicy(maximum_interval=timedelta(minutes=1)),
        )
        return self._progress

    @workflow.query(name="progress")
    def progress(self) -> ImportProgress:
        return self._progress
