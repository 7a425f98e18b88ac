"""The import's one summary, built from its stored rows on SQLite and PostgreSQL: a worker that stops after
starting a batch's cases and before writing their outcomes leaves those cases to the next attempt, which finds
them already started, and the co-ordinator's summary still lists every deadline already past in them; a second
file with the same rows starts nothing and summarises nothing; a summary sent again is the same one, started
once.

Temporal is a recording stand-in here (a start of a workflow already started is refused, as the server refuses
it); the e2e tests run the same activities against the dev server.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import Engine, select
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.testing import ActivityEnvironment

from api.import_jobs import ImportActivities, Submitter, store_import
from api.import_reading import split_rows
from api.imports import CheckedRow, check_row, read_rows
from bench.import_rows import as_csv, fictional_rows
from core.converter import key_ring_for
from core.database import session_factory
from core.settings import Settings
from store.models import ImportFileRow
from tests.e2e.api_rig import london_today
from tests.import_expectations import SEED_DIRECTORY
from workflows.imports import ImportBatch, ImportSummaryOrder
from workflows.rules.records import NoticeKind

ROWS = 14  # two of each of the seven positions the fictional rows take


@dataclass
class RecordingTemporal:
    """Starts workflows by id, once: a second start of the same id is refused as Temporal refuses it."""

    started: dict[str, Any] = field(default_factory=dict)

    async def start_workflow(self, workflow: Any, arg: Any, *, id: str, **_: Any) -> None:
        if id in self.started:
            raise WorkflowAlreadyStartedError(id, str(workflow))
        self.started[id] = arg


class WorkerStopped(Exception):
    """The worker went away after starting the batch's cases, before writing their outcomes."""


def _stored(engine: Engine, import_id: str) -> list[ImportFileRow]:
    with session_factory(engine)() as session:
        rows = list(
            session.scalars(
                select(ImportFileRow).where(ImportFileRow.import_id == import_id).order_by(ImportFileRow.line)
            )
        )
        session.expunge_all()
    return rows


async def test_a_case_started_before_the_worker_stopped_is_still_in_the_one_summary(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    text = as_csv(fictional_rows(ROWS, london_today()))
    read = read_rows(split_rows(text, "csv"), "lanarkshire", directory=SEED_DIRECTORY)
    now = datetime.now(UTC)
    past_in = {
        c.row.import_ref
        for c in (check_row(line, row, now) for line, row in read.rows)
        if isinstance(c, CheckedRow) and any(o.breached for o in c.owes)
    }
    assert past_in and len(past_in) < ROWS
    settings = Settings(database_url=str(engine.url))
    sessions = session_factory(engine)
    who = Submitter("test", None, "administrator", "t")
    import_id, _ = store_import(sessions, key_ring_for(settings), "lanarkshire", "first", read, who)
    temporal = RecordingTemporal()
    env = ActivityEnvironment(client=temporal)  # type: ignore[arg-type]
    activities = ImportActivities(sessions, settings)

    # The first attempt starts every case of the batch, then its worker stops before the outcomes are written.
    settle = ImportActivities._settle

    def stopped(*args: Any, **kwargs: Any) -> Any:
        raise WorkerStopped

    monkeypatch.setattr(ImportActivities, "_settle", stopped)
    with pytest.raises(WorkerStopped):
        await env.run(activities.import_batch, ImportBatch(import_id, 0, ROWS))
    assert len(temporal.started) == ROWS
    assert {r.outcome for r in _stored(engine, import_id)} == {None}
    # The retry finds each case started: already imported, yet this import's.
    monkeypatch.setattr(ImportActivities, "_settle", settle)
    progress = await env.run(activities.import_batch, ImportBatch(import_id, 0, ROWS))
    assert (progress.finished, progress.started, progress.already_imported) == (True, 0, ROWS)

    sent = await env.run(activities.send_import_summary, ImportSummaryOrder(import_id))
    summaries = [
        n for n in temporal.started.values() if getattr(n, "kind", None) is NoticeKind.IMPORT_SUMMARY
    ]
    assert len(summaries) == 1
    case_of = {r.import_ref: r.case_ref for r in _stored(engine, import_id)}
    listed = {line.split(":")[0] for line in summaries[0].lines}
    assert listed == {case_of[ref] for ref in past_in}
    assert (sent.cases, sent.deadlines) == (len(past_in), len(summaries[0].lines))

    # Sent again (a retried activity, a resumed import): the same summary, not started a second time.
    assert await env.run(activities.send_import_summary, ImportSummaryOrder(import_id)) == sent
    assert (
        len([n for n in temporal.started.values() if getattr(n, "kind", None) is NoticeKind.IMPORT_SUMMARY])
        == 1
    )

    # The same rows in another file: every case an earlier import's, so nothing to summarise.
    again, stored = store_import(sessions, key_ring_for(settings), "lanarkshire", "second", read, who)
    assert stored and again != import_id
    progress = await env.run(activities.import_batch, ImportBatch(again, 0, ROWS))
    assert (progress.finished, progress.already_imported) == (True, ROWS)
    assert await env.run(activities.send_import_summary, ImportSummaryOrder(again)) == type(sent)(0, 0)
    assert {r.past_at_import is None for r in _stored(engine, again)} == {True}
