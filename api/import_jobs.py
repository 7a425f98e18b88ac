"""An import as a job: a committed file's rows stored sealed, its workflow started, its progress read; and the
activity that starts each batch of its rows (workflows/imports.py).

`submit_import` stores the rows the file reading accepted (each row's cells sealed under the payload keys,
bound to the import and line) and those it refused (their errors only), then starts the import's workflow under
the import's random reference. The same file sent again for the same area finds its import and starts nothing
new. `ImportActivities.import_batch` checks each stored row in the core as its case would open now, starts it as
`api/imports.py` does (a reservation per `import_ref`, then the case's workflow) and writes its outcome, with the
deadlines already past in the case it started. `ImportActivities.send_import_summary`, once every row has
settled, sends the co-ordinator one summary of those.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import string
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from temporalio import activity
from temporalio.client import Client, WorkflowExecutionStatus, WorkflowQueryFailedError
from temporalio.common import SearchAttributePair, TypedSearchAttributes, WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError

from api.imports import (
    DEFAULT_CONCURRENCY,
    CheckedRow,
    ImportedRow,
    Importer,
    ImportRow,
    ReadRows,
    RowError,
    RowOutcome,
    check_row,
    import_rows,
)
from core.codec import KeyRing
from core.settings import Settings
from store.models import ImportFile, ImportFileRow
from workflows import search_attributes as sa
from workflows.import_summary import ImportSummaryWorkflow
from workflows.import_summary import workflow_id as summary_workflow_id
from workflows.imports import (
    BATCH_ROWS,
    BATCHES_PER_RUN,
    IMPORT_BATCH,
    IMPORT_WORKFLOW,
    SEND_IMPORT_SUMMARY,
    ImportBatch,
    ImportJob,
    ImportProgress,
    ImportSummaryOrder,
    ImportSummarySent,
)
from workflows.messages import Notice
from workflows.rules.calendar import LONDON
from workflows.rules.imported import PastAtImport, import_summary
from workflows.rules.policy import AREAS, UnknownArea, area_by_code

IMPORT_ID_PATTERN = r"^IMP-[A-Z]{3}-[0-9]{4}-[A-Z0-9]{6}$"
# A committed import: its rows wait in the database and start in the background, a batch at a time.
MAX_IMPORT_ROWS = 50_000
REFUSED = "refused"
_ALPHABET = string.ascii_uppercase + string.digits


@dataclass(frozen=True)
class Submitter:
    """Who commits the file (for each case's audit row) and where it came from."""

    user_name: str
    agency_id: str | None
    role: str
    source: str


def new_import_id(area: str, now: datetime | None = None) -> str:
    """`IMP-{area code}-{year}-{6 random}`: the workflow's id, so never anything about a person."""
    year = (now or datetime.now(UTC)).astimezone(LONDON).year
    return f"IMP-{AREAS[area].code}-{year}-{''.join(secrets.choice(_ALPHABET) for _ in range(6))}"


def area_of_import(import_id: str) -> str | None:
    try:
        return area_by_code(import_id.split("-")[1]).area_id
    except (IndexError, UnknownArea):
        return None


def _sealed_for(import_id: str, line: int) -> bytes:
    return f"import-row:{import_id}:{line}".encode()


def _error_cells(errors: list[RowError]) -> list[dict[str, Any]]:
    return [{"line": e.line, "field": e.field, "rule": e.rule, "message": e.message} for e in errors]


def _past_cells(past: list[PastAtImport]) -> list[dict[str, Any]]:
    """A case's deadlines already past at the import, as stored with its row (the case is the row's)."""
    return [
        {
            "kind": p.kind,
            "title": p.title,
            "due_date": p.due_date.isoformat(),
            "re_escalated_to": p.re_escalated_to,
        }
        for p in past
    ]


def _past_of(case_ref: str, cells: list[dict[str, Any]]) -> list[PastAtImport]:
    return [
        PastAtImport(case_ref, c["kind"], c["title"], date.fromisoformat(c["due_date"]), c["re_escalated_to"])
        for c in cells
    ]


def store_import(
    sessions: Callable[[], Session],
    keys: KeyRing,
    area: str,
    file_digest: str,
    read: ReadRows,
    who: Submitter,
) -> tuple[str, bool]:
    """(import id, whether this call stored it): the rows stored once per area and file."""
    with sessions() as session:
        for _ in range(3):
            held = session.scalars(
                select(ImportFile.import_id).where(
                    ImportFile.area == area, ImportFile.file_digest == file_digest
                )
            ).one_or_none()
            if held is not None:
                return held, False
            import_id = new_import_id(area)
            refused: dict[int, list[RowError]] = {}
            for error in read.errors:
                refused.setdefault(error.line, []).append(error)
            session.add(
                ImportFile(
                    import_id=import_id,
                    area=area,
                    file_digest=file_digest,
                    source=who.source[:200],
                    user_name=who.user_name,
                    agency_id=who.agency_id,
                    role=who.role,
                    rows=len(read.rows) + len(refused),
                )
            )
            session.flush()
            for line, row in read.rows:
                key_id, sealed = keys.encrypt(row.model_dump_json().encode(), _sealed_for(import_id, line))
                session.add(
                    ImportFileRow(
                        import_id=import_id,
                        line=line,
                        import_ref=row.import_ref,
                        key_id=key_id,
                        sealed=sealed,
                    )
                )
            for line, errors in refused.items():
                session.add(
                    ImportFileRow(
                        import_id=import_id, line=line, outcome=REFUSED, errors=_error_cells(errors)
                    )
                )
            try:
                session.commit()
            except IntegrityError:  # the same file sent twice at once, or the id taken: look again
                session.rollback()
                continue
            return import_id, True
    raise RuntimeError("no import reference could be reserved")


async def start_import(
    client: Client,
    task_queue: str,
    import_id: str,
    area: str,
    rows: int,
    *,
    batch_rows: int = BATCH_ROWS,
    batches_per_run: int = BATCHES_PER_RUN,
) -> bool:
    """Start the import's workflow; False if it is running or has completed (the same file sent again). One
    that failed or was terminated starts again, and carries on from the rows already settled."""
    try:
        await client.start_workflow(
            IMPORT_WORKFLOW,
            ImportJob(import_id, area, ImportProgress(rows=rows), batch_rows, batches_per_run),
            id=import_id,
            task_queue=task_queue,
            id_reuse_policy=WorkflowIDReusePolicy.ALLOW_DUPLICATE_FAILED_ONLY,
            search_attributes=TypedSearchAttributes(
                [SearchAttributePair(sa.AREA, area), SearchAttributePair(sa.IMPORT_ROWS_SETTLED, 0)]
            ),
            static_summary=f"import {import_id}: {rows} rows",
        )
    except WorkflowAlreadyStartedError:
        return False
    return True


# ------------------------------------------------------------------------------------------ status


@dataclass(frozen=True)
class ImportRowStatus:
    line: int
    import_ref: str | None
    outcome: str | None  # None: not yet reached
    case_ref: str | None
    errors: list[dict[str, Any]]


@dataclass(frozen=True)
class ImportStatus:
    import_id: str
    area: str
    state: str  # running, completed, failed, ... (the workflow's status)
    progress: ImportProgress
    rows: list[ImportRowStatus]


def progress_in(session: Session, import_id: str, rows: int, after_line: int = 0) -> ImportProgress:
    """The counts as the database has them (the workflow's `progress` query gives the same)."""
    counts: Counter[str | None] = Counter(
        dict(
            session.execute(
                select(ImportFileRow.outcome, func.count())
                .where(ImportFileRow.import_id == import_id)
                .group_by(ImportFileRow.outcome)
            ).all()
        )
    )
    return ImportProgress(
        rows=rows,
        started=counts[RowOutcome.STARTED.value],
        already_imported=counts[RowOutcome.ALREADY_IMPORTED.value],
        refused=counts[REFUSED],
        failed=counts[RowOutcome.FAILED.value],
        after_line=after_line,
        finished=counts[None] == 0,
    )


def _stored(
    sessions: Callable[[], Session], import_id: str
) -> tuple[ImportFile, list[ImportRowStatus]] | None:
    with sessions() as session:
        found = session.get(ImportFile, import_id)
        if found is None:
            return None
        session.expunge(found)
        rows = [
            ImportRowStatus(r.line, r.import_ref, r.outcome, r.case_ref, r.errors or [])
            for r in session.scalars(
                select(ImportFileRow).where(ImportFileRow.import_id == import_id).order_by(ImportFileRow.line)
            )
        ]
        return found, rows


async def import_status(
    client: Client, sessions: Callable[[], Session], import_id: str
) -> ImportStatus | None:
    """The import's rows as stored, and its progress as its workflow answers it (the database's counts when
    the workflow cannot answer)."""
    stored = await asyncio.to_thread(_stored, sessions, import_id)
    if stored is None:
        return None
    found, rows = stored
    handle = client.get_workflow_handle(import_id)
    try:
        state = (await handle.describe()).status
        progress: ImportProgress = await handle.query("progress", result_type=ImportProgress)
        state_name = state.name.lower() if state is not None else "unknown"
    except (RPCError, WorkflowQueryFailedError):
        with sessions() as session:
            progress = progress_in(session, import_id, found.rows)
        state_name = "unknown"
    if state_name == WorkflowExecutionStatus.CONTINUED_AS_NEW.name.lower():
        state_name = "running"
    return ImportStatus(import_id, found.area, state_name, progress, rows)


# ------------------------------------------------------------------------------------------ the activity


class ImportActivities:
    """The import workflow's activities, bound to the database and the case workflows' task queue."""

    def __init__(self, sessions: Callable[[], Session], settings: Settings) -> None:
        self.sessions = sessions
        self.settings = settings
        self._keys: KeyRing | None = None

    def all(self) -> list[Callable[..., Any]]:
        return [self.import_batch, self.send_import_summary]

    def _key_ring(self) -> KeyRing:
        if self._keys is None:
            from core.converter import key_ring_for

            self._keys = key_ring_for(self.settings)
        return self._keys

    def _next_rows(self, batch: ImportBatch) -> tuple[ImportFile, list[tuple[int, ImportRow]], int]:
        """The file, the next batch's rows not yet settled (opened), and the batch's last line."""
        with self.sessions() as session:
            found = session.get(ImportFile, batch.import_id)
            if found is None:
                raise ValueError(f"no import {batch.import_id}")
            session.expunge(found)
            stored = list(
                session.scalars(
                    select(ImportFileRow)
                    .where(ImportFileRow.import_id == batch.import_id, ImportFileRow.line > batch.after_line)
                    .order_by(ImportFileRow.line)
                    .limit(batch.rows)
                )
            )
        keys = self._key_ring()
        pending = [
            (
                r.line,
                ImportRow.model_validate_json(
                    keys.decrypt(r.key_id or "", r.sealed, _sealed_for(batch.import_id, r.line))
                ),
            )
            for r in stored
            if r.outcome is None and r.sealed is not None
        ]
        return found, pending, stored[-1].line if stored else batch.after_line

    def _check(self, pending: list[tuple[int, ImportRow]]) -> tuple[list[CheckedRow], list[list[RowError]]]:
        now = datetime.now(UTC)
        checked: list[CheckedRow] = []
        refused: list[list[RowError]] = []
        for line, row in pending:
            result = check_row(line, row, now)
            if isinstance(result, list):
                refused.append(result)
            else:
                checked.append(result)
        return checked, refused

    def _settle(
        self,
        import_id: str,
        checked: list[CheckedRow],
        done: list[ImportedRow],
        refused: list[list[RowError]],
        last_line: int,
        rows: int,
    ) -> ImportProgress:
        checked_on = {c.line: c for c in checked}
        with self.sessions() as session:
            by_line = {
                r.line: r
                for r in session.scalars(
                    select(ImportFileRow).where(
                        ImportFileRow.import_id == import_id,
                        ImportFileRow.line.in_([d.line for d in done] + [e[0].line for e in refused]),
                    )
                )
            }
            for d in done:
                # The reference imported before with other content: refused, as the dry run says; a re-send
                # would not change that. Anything else that failed may start when the file is sent again.
                changed = d.error is not None and d.error.rule == "one import per reference"
                by_line[d.line].outcome = REFUSED if changed else d.outcome.value
                by_line[d.line].case_ref = d.case_ref
                by_line[d.line].errors = _error_cells([d.error]) if d.error else None
                if d.outcome is RowOutcome.STARTED and d.case_ref is not None:
                    # As the case was started: what was past at the check this run made.
                    by_line[d.line].past_at_import = _past_cells(
                        checked_on[d.line].past_at_import(d.case_ref)
                    )
            for errors in refused:
                by_line[errors[0].line].outcome = REFUSED
                by_line[errors[0].line].errors = _error_cells(errors)
            session.commit()
            progress = progress_in(session, import_id, rows, last_line)
            more = session.scalar(
                select(func.count())
                .select_from(ImportFileRow)
                .where(ImportFileRow.import_id == import_id, ImportFileRow.line > last_line)
            )
        return replace(progress, finished=not more)

    @activity.defn(name=IMPORT_BATCH)
    async def import_batch(self, batch: ImportBatch) -> ImportProgress:
        """Start the rows after `batch.after_line`, `batch.rows` of them; each row's outcome written once."""
        found, pending, last_line = await asyncio.to_thread(self._next_rows, batch)
        checked, refused = await asyncio.to_thread(self._check, pending)
        importer = Importer(
            client=activity.client(),
            sessions=self.sessions,
            task_queue=self.settings.task_queue,
            user_name=found.user_name,
            agency_id=found.agency_id,
            role=found.role,
            source=f"import {found.import_id} ({found.source})",
            on_reserved=_reserved_for(batch.import_id),
            key_ring=self._key_ring(),
        )
        done = await import_rows(
            importer, checked, DEFAULT_CONCURRENCY, on_done=lambda _: activity.heartbeat()
        )
        return await asyncio.to_thread(
            self._settle, batch.import_id, checked, done, refused, last_line, found.rows
        )

    def _summary(self, import_id: str) -> tuple[Notice | None, list[PastAtImport]]:
        """The co-ordinator's one notice for the import, from its stored rows: every deadline already past in
        the cases it started (None when none was). A case an earlier import started is that import's."""
        with self.sessions() as session:
            found = session.get(ImportFile, import_id)
            if found is None:
                raise ValueError(f"no import {import_id}")
            stored = session.execute(
                select(ImportFileRow.case_ref, ImportFileRow.past_at_import).where(
                    ImportFileRow.import_id == import_id,
                    ImportFileRow.outcome.in_((RowOutcome.STARTED.value, RowOutcome.ALREADY_IMPORTED.value)),
                    ImportFileRow.past_at_import.is_not(None),
                )
            ).all()
            committed_at = found.created_at
        past = [p for case_ref, cells in stored if case_ref for p in _past_of(case_ref, cells or [])]
        # The import's moment: the same for every retry, so the same summary under the same key.
        return import_summary(found.area, past, _aware(committed_at)), past

    @activity.defn(name=SEND_IMPORT_SUMMARY)
    async def send_import_summary(self, order: ImportSummaryOrder) -> ImportSummarySent:
        """Start the summary's workflow, once: its id is made from what it lists, so a retry, a resumed import
        or the same file sent again finds it started and sends nothing twice."""
        notice, past = await asyncio.to_thread(self._summary, order.import_id)
        if notice is None:
            return ImportSummarySent(deadlines=0, cases=0)
        with contextlib.suppress(WorkflowAlreadyStartedError):
            await activity.client().start_workflow(
                ImportSummaryWorkflow.run,
                notice,
                id=summary_workflow_id(notice),
                task_queue=self.settings.task_queue,
                id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
            )
        return ImportSummarySent(deadlines=len(past), cases=len({p.case_ref for p in past}))


def _reserved_for(import_id: str) -> Callable[[Session, CheckedRow, str], None]:
    """Record, with the reservation itself, that this import reserved the row's case and what was past in it:
    if the case starts and the worker stops before the row settles, the row settles on the retry as already
    imported, and is still this import's to summarise."""

    def reserved(session: Session, checked: CheckedRow, case_ref: str) -> None:
        stored = session.scalars(
            select(ImportFileRow).where(
                ImportFileRow.import_id == import_id, ImportFileRow.line == checked.line
            )
        ).one()
        stored.case_ref = case_ref
        stored.past_at_import = _past_cells(checked.past_at_import(case_ref))

    return reserved


def _aware(instant: datetime) -> datetime:
    """A stored instant (SQLite gives it back without its zone: it was written in UTC)."""
    return instant if instant.tzinfo is not None else instant.replace(tzinfo=UTC)
