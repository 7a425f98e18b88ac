"""Cases on the real Temporal dev server, served by a real worker (the case workflow and its real activities,
writing a SQLite ledger and sending mail to a local SMTP server), for tests of what ops and the Temporal UI
see. Time is real here: a breach is made by recording a meeting held two weeks ago, whose SWIS alert (same
day) and minutes (5 working days) were therefore due in the past. A meeting is never dated before the referral
it follows (dates in the case's order), so such a case is one imported already under management, its last
meeting three weeks ago (workflows/rules/imported.py)."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import Engine
from temporalio.client import WorkflowHandle
from temporalio.testing import WorkflowEnvironment

from core.database import make_engine
from core.settings import Settings
from store.directory import load_directory
from store.migrate import upgrade
from tests.case_builders import SCOTTISH_AGENCIES, SUBJECT, meeting
from tests.helpers import SmtpSink, unique_task_queue
from worker.assembly import build_activities, build_worker
from workflows.case import MappaCaseWorkflow
from workflows.messages import EVENT_UPDATES, CaseStatus, CaseWorkflowInput, Receipt
from workflows.rules import events as ev
from workflows.rules.calendar import LONDON, Jurisdiction
from workflows.rules.imported_row import ImportedPosition, ImportedStage
from workflows.rules.policy import AREAS

DIRECTORY = Path(__file__).resolve().parents[2] / "store" / "seed" / "directory.json"
LEVEL_3_STATEMENT = "Level 2 cannot commit police surveillance resources at short notice."
T = TypeVar("T")


def london_today() -> date:
    return datetime.now(LONDON).date()


def new_case_ref(area: str) -> str:
    return f"MAPPA-{AREAS[area].code}-2026-{secrets.token_hex(3).upper()}"


async def eventually(check: Callable[[], Awaitable[T]], what: str, timeout: float = 20.0) -> T:
    """Poll `check` until it stops raising AssertionError (visibility is eventually consistent)."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        try:
            return await check()
        except AssertionError as error:
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError(f"{what}: still not so after {timeout}s: {error}") from error
        await asyncio.sleep(0.2)


@dataclass
class DevCases:
    env: WorkflowEnvironment
    task_queue: str
    engine: Engine
    handles: list[WorkflowHandle[Any, Any]] = field(default_factory=list)

    async def open(self, opening: ev.CaseOpening) -> WorkflowHandle[Any, Any]:
        handle = await self.env.client.start_workflow(
            MappaCaseWorkflow.run,
            CaseWorkflowInput(opening=opening),
            id=opening.case_ref,
            task_queue=self.task_queue,
        )
        self.handles.append(handle)
        return handle

    async def import_case(
        self, opening: ev.CaseOpening, position: ImportedPosition
    ) -> WorkflowHandle[Any, Any]:
        handle = await self.env.client.start_workflow(
            MappaCaseWorkflow.run,
            CaseWorkflowInput(opening=opening, imported=position),
            id=opening.case_ref,
            task_queue=self.task_queue,
        )
        self.handles.append(handle)
        return handle

    async def send(self, handle: WorkflowHandle[Any, Any], event: ev.Event) -> Receipt:
        receipt: Receipt = await handle.execute_update(EVENT_UPDATES[type(event)], event, result_type=Receipt)
        return receipt

    async def status(self, handle: WorkflowHandle[Any, Any]) -> CaseStatus:
        status: CaseStatus = await handle.query(MappaCaseWorkflow.status)
        return status

    async def level_3_case_with_breaches(
        self, area: str = "lanarkshire", level: int = 3
    ) -> WorkflowHandle[Any, Any]:
        """A case managed at `level` (imported with its last meeting three weeks ago) whose next meeting,
        recorded today, was held two weeks ago: its SWIS alert and minutes are breached at once, and escalated
        to the co-ordinator. The review it meets was due in five weeks, so nothing else is breached."""
        case_ref = new_case_ref(area)
        opening = referral_opening(case_ref, area, level).model_copy(update={"referral": None})
        handle = await self.import_case(opening, managed_position(case_ref, level))
        held_on = london_today() - timedelta(days=14)
        review_weeks = 5 if level == 3 else 10
        await self.send(
            handle,
            meeting(
                held_on,
                held_on + timedelta(weeks=review_weeks),
                level=level,
                statement=LEVEL_3_STATEMENT if level == 3 else None,
            ),
        )
        return handle


def managed_position(case_ref: str, level: int) -> ImportedPosition:
    """A case under management at `level`: last met three weeks ago, its review set five weeks after that."""
    last_met = london_today() - timedelta(days=21)
    return ImportedPosition(
        import_ref=case_ref.removeprefix("MAPPA-"),
        stage=ImportedStage.ACTIVE_MANAGEMENT,
        level=level,  # type: ignore[arg-type]
        level_2_cannot_deliver=LEVEL_3_STATEMENT if level == 3 else None,
        last_meeting_on=last_met,
        next_review_date=last_met + timedelta(weeks=5),
    )


def referral_opening(case_ref: str, area: str, level: int) -> ev.CaseOpening:
    return ev.CaseOpening(
        case_ref=case_ref,
        area=area,
        jurisdiction=AREAS[area].jurisdiction,
        category=1,
        lead_agency="police-scotland-lanarkshire",
        subject=SUBJECT,
        referral=ev.ReferralSubmitted(
            referring_agency="police-scotland-lanarkshire",
            level_sought=level,  # type: ignore[arg-type]
            level_2_cannot_deliver=LEVEL_3_STATEMENT if level == 3 else None,
        ),
    )


def community_notification(case_ref: str) -> ev.CaseOpening:
    """Police notify the Lanarkshire co-ordinator of a category 1 offender sentenced today."""
    return ev.CaseOpening(
        case_ref=case_ref,
        area="lanarkshire",
        jurisdiction=Jurisdiction.SCOTLAND,
        category=1,
        lead_agency=SCOTTISH_AGENCIES[0],
        subject=SUBJECT,
        notification=ev.Notification(
            notifying_agency=SCOTTISH_AGENCIES[0], disposal_date=london_today(), recommended_level=2
        ),
    )


@asynccontextmanager
async def dev_cases(env: WorkflowEnvironment, tmp_path: Path, smtp: SmtpSink) -> AsyncIterator[DevCases]:
    """A worker on its own task queue for the test's cases; they are terminated when the test ends."""
    engine = make_engine(f"sqlite:///{tmp_path / 'ledger.db'}")
    upgrade(engine)
    load_directory(engine, DIRECTORY)
    settings = Settings(
        database_url=str(engine.url),
        task_queue=unique_task_queue(),
        temporal_namespace=env.client.namespace,
        smtp_host=smtp.host,
        smtp_port=smtp.port,
        smtp_timeout_seconds=5,
    )
    cases = DevCases(env, settings.task_queue, engine)
    try:
        async with build_worker(env.client, settings, build_activities(settings, engine)):
            try:
                yield cases
            finally:
                for handle in cases.handles:
                    with suppress(Exception):  # already closed, or never started
                        await handle.terminate("test over")
    finally:
        engine.dispose()
