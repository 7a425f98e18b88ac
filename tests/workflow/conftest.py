"""A real worker for workflow tests: the case workflow and its real activities, writing to a SQLite ledger and
sending e-mail to a real SMTP server on loopback, on the time-skipping test server."""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email.message import Message
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, select
from temporalio.client import Client, WorkflowHandle
from temporalio.testing import WorkflowEnvironment

from core.codec import decode_in_place
from core.database import make_engine, session_factory
from core.settings import Settings
from store.directory import load_directory
from store.migrate import upgrade
from store.models import LedgerDeadline, LedgerEscalation
from tests.clock import pinned_instant
from tests.conftest import time_skipping_environment
from tests.helpers import SmtpSink, unique_task_queue
from worker.assembly import build_activities, build_worker
from workflows.case import MappaCaseWorkflow
from workflows.messages import CaseStatus, CaseWorkflowInput, Deadline, Receipt
from workflows.rules import events as ev

DIRECTORY = Path(__file__).resolve().parents[2] / "store" / "seed" / "directory.json"
HISTORIES = Path(__file__).resolve().parent / "histories"


@dataclass
class CaseRig:
    """What a workflow test drives: the Temporal environment, a worker's task queue, the ledger and the mail."""

    env: WorkflowEnvironment
    client: Client
    task_queue: str
    engine: Engine
    smtp: SmtpSink
    handles: list[WorkflowHandle[Any, Any]] = field(default_factory=list)

    async def now(self) -> datetime:
        return await self.env.get_current_time()

    async def open_case(self, opening: ev.CaseOpening) -> WorkflowHandle[Any, Any]:
        handle = await self.client.start_workflow(
            MappaCaseWorkflow.run,
            CaseWorkflowInput(opening=opening),
            id=opening.case_ref,
            task_queue=self.task_queue,
        )
        self.handles.append(handle)
        return handle

    async def send(
        self, handle: WorkflowHandle[Any, Any], event: ev.Event, key: str | None = None
    ) -> Receipt:
        from workflows.messages import EVENT_UPDATES

        result: Receipt = await handle.execute_update(
            EVENT_UPDATES[type(event)], event, id=key, result_type=Receipt
        )
        return result

    async def keep_history(self, handle: WorkflowHandle[Any, Any], name: str) -> None:
        """With RECORD_HISTORIES=1, save the case's history for the replay test (tests/workflow/test_replay.py).

        Saved histories are committed: every later change to the workflow must still replay them, or be
        guarded with `workflow.patched`.
        """
        if os.environ.get("RECORD_HISTORIES") != "1":
            return
        history = await handle.fetch_history()
        # Saved decrypted: this session's test key dies with it, the saved history must outlive it.
        codec = self.client.data_converter.payload_codec
        assert codec is not None
        for event in history.events:
            await decode_in_place(event, codec)
        path = HISTORIES / f"{name}.json"  # a name may hold a folder: "timeline/custody-release-moved"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(history.to_json())

    async def status(self, handle: WorkflowHandle[Any, Any]) -> CaseStatus:
        result: CaseStatus = await handle.query(MappaCaseWorkflow.status)
        return result

    async def deadline(self, handle: WorkflowHandle[Any, Any], deadline_id: str) -> Deadline:
        status = await self.status(handle)
        return next(d for d in status.deadlines if d.deadline_id == deadline_id)

    async def pass_time(self, delta: timedelta) -> None:
        await self.env.sleep(delta)

    def mail_for(self, case_ref: str, *words: str) -> list[Message]:
        return [
            m
            for m in self.smtp.messages
            if case_ref in str(m["Subject"]) and all(w.lower() in str(m["Subject"]).lower() for w in words)
        ]

    async def wait_for_mail(
        self, case_ref: str, *words: str, count: int = 1, timeout: float = 60.0
    ) -> list[Message]:
        """The case's messages whose subject has all `words`, once at least `count` have arrived."""
        deadline = asyncio.get_running_loop().time() + timeout
        while len(found := self.mail_for(case_ref, *words)) < count:
            if asyncio.get_running_loop().time() > deadline:
                subjects = [m["Subject"] for m in self.smtp.messages if case_ref in str(m["Subject"])]
                raise AssertionError(f"expected {count} message(s) about {words}; {case_ref} got: {subjects}")
            await asyncio.sleep(0.05)
        return found

    async def ledger_row(
        self, case_ref: str, deadline_id: str, state: str | None = None, timeout: float = 60.0
    ) -> LedgerDeadline:
        """The ledger's row for a deadline once the ledger activity has written it (in `state`, if given)."""
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            row = self.ledger_deadlines(case_ref).get(deadline_id)
            if row is not None and (state is None or row.state == state):
                return row
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError(
                    f"ledger has {deadline_id} of {case_ref} as {row and row.state}, not {state}"
                )
            await asyncio.sleep(0.05)

    def ledger_deadlines(self, case_ref: str) -> dict[str, LedgerDeadline]:
        with session_factory(self.engine)() as session:
            rows = session.scalars(select(LedgerDeadline).where(LedgerDeadline.case_ref == case_ref)).all()
            return {r.deadline_id: r for r in rows}

    def escalations(self, case_ref: str) -> list[LedgerEscalation]:
        with session_factory(self.engine)() as session:
            return list(
                session.scalars(select(LedgerEscalation).where(LedgerEscalation.case_ref == case_ref)).all()
            )


@dataclass
class RunningWorker:
    task_queue: str
    engine: Engine
    smtp: SmtpSink


@contextlib.asynccontextmanager
async def running_worker(env: WorkflowEnvironment, folder: Path) -> AsyncIterator[RunningWorker]:
    """A worker with the real activities: a SQLite ledger in `folder`, e-mail to a loopback SMTP server."""
    smtp = SmtpSink()
    smtp.start()
    settings = Settings(
        database_url=f"sqlite:///{folder / 'mappa.db'}",
        smtp_host=smtp.host,
        smtp_port=smtp.port,
        task_queue=unique_task_queue(),
    )
    engine = make_engine(settings.database_url)
    upgrade(engine)
    load_directory(engine, DIRECTORY)
    executor = ThreadPoolExecutor(16)
    worker = build_worker(
        env.client,
        settings,
        build_activities(settings, engine),
        task_queue=settings.task_queue,
        activity_executor=executor,
        # The workflow modules run under the sandbox's restrictions here (production shares them with the
        # worker): a non-deterministic call in `workflows.case` fails these journeys.
        strict_sandbox=True,
    )
    try:
        async with worker:
            yield RunningWorker(settings.task_queue, engine, smtp)
    finally:
        executor.shutdown(wait=False)
        engine.dispose()
        smtp.stop()


@pytest.fixture(scope="module")
async def time_skipping_env() -> AsyncIterator[WorkflowEnvironment]:
    """A time-skipping server for each test module. Its clock is shared by the module's tests, and every case an
    earlier test left open wakes when a later test skips time: with the whole session on one server, a skip of
    weeks woke dozens of cases and `env.sleep` timed out on a loaded machine."""
    async with time_skipping_environment() as env:
        yield env


# Cases are never terminated after a test: on the time-skipping server a terminated workflow leaves the clock
# locked and the next `env.sleep` times out. They stay open, served by the module's worker.
@pytest.fixture(scope="module")
async def case_worker(
    time_skipping_env: WorkflowEnvironment, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[RunningWorker]:
    """One worker for the module's server: its clock is shared, so a case left behind by an earlier test must
    still have a worker for its timers and activities, or it holds the clock back."""
    async with running_worker(time_skipping_env, tmp_path_factory.mktemp("ledger")) as worker:
        yield worker


@pytest.fixture
async def rig(time_skipping_env: WorkflowEnvironment, case_worker: RunningWorker) -> AsyncIterator[CaseRig]:
    yield CaseRig(
        time_skipping_env,
        time_skipping_env.client,
        case_worker.task_queue,
        case_worker.engine,
        case_worker.smtp,
    )


@pytest.fixture
async def dev_rig(dev_server_env: WorkflowEnvironment, tmp_path: Path) -> AsyncIterator[CaseRig]:
    """The same on the real dev server (real time; continue-as-new suggested at 200 events)."""
    if pinned_instant() is not None:
        pytest.skip("the dev server keeps the real clock: a test on it is not run with MAPPA_TODAY pinned")
    async with running_worker(dev_server_env, tmp_path) as worker:
        rig = CaseRig(dev_server_env, dev_server_env.client, worker.task_queue, worker.engine, worker.smtp)
        yield rig
        for handle in rig.handles:
            await handle.terminate("test finished")
