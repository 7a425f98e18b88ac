"""Drill: the database goes away while the case activities are writing to it, and comes back."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session
from temporalio.client import WorkflowHandle
from temporalio.testing import WorkflowEnvironment

from bench import cases
from bench.rig import postgres_schema
from core.database import make_engine
from core.settings import Settings
from store.models import LedgerCase
from tests.drills.conftest import Ledger, TcpProxy, eventually, migrated
from tests.helpers import SmtpSink, unique_task_queue
from worker.assembly import build_activities, build_worker
from workflows.case import MappaCaseWorkflow
from workflows.messages import EVENT_UPDATES, CaseStatus, CaseWorkflowInput, Receipt
from workflows.rules import events as ev

pytestmark = pytest.mark.timeout(180)

CASES = 5


@pytest.fixture
def postgres_ledger(postgres_url: str) -> Iterator[Ledger]:
    """A fresh schema on the local PostgreSQL, built by the migrations; dropped afterwards."""
    with postgres_schema(postgres_url, prefix="drill") as url:
        ledger = migrated(url)
        try:
            yield ledger
        finally:
            ledger.engine.dispose()


@pytest.fixture
async def proxy(postgres_ledger: Ledger) -> AsyncIterator[TcpProxy]:
    url = make_url(postgres_ledger.url)
    relay = TcpProxy(url.host or "127.0.0.1", url.port or 5432)
    await relay.restore()
    try:
        yield relay
    finally:
        await relay.cut()


async def attempts_so_far(handle: WorkflowHandle[Any, Any]) -> int:
    """The highest attempt number among the case's activities still running or waiting to retry."""
    pending = (await handle.describe()).raw_description.pending_activities
    return max((activity.attempt for activity in pending), default=0)


async def test_activities_retry_while_the_database_is_away_and_the_ledger_ends_with_one_row_per_fact(
    dev_server_env: WorkflowEnvironment, postgres_ledger: Ledger, proxy: TcpProxy, smtp_server: SmtpSink
) -> None:
    """The worker reaches PostgreSQL through a relay that the drill cuts (connections reset, new ones refused)
    after the cases are open, then sends each case two events whose ledger writes and notices need it."""
    client = dev_server_env.client
    through_proxy = make_url(postgres_ledger.url).set(host="127.0.0.1", port=proxy.port)
    settings = Settings(
        database_url=through_proxy.render_as_string(hide_password=False),
        task_queue=unique_task_queue(),
        temporal_namespace=client.namespace,
        smtp_host=smtp_server.host,
        smtp_port=smtp_server.port,
        smtp_timeout_seconds=5,
    )
    engine = make_engine(settings.database_url)
    executor = ThreadPoolExecutor(16)
    day = cases.today()
    refs = [cases.new_case_ref() for _ in range(CASES)]
    worker = build_worker(client, settings, build_activities(settings, engine), activity_executor=executor)
    try:
        async with worker:
            handles = [
                await client.start_workflow(
                    MappaCaseWorkflow.run,
                    CaseWorkflowInput(opening=cases.notification(ref, day)),
                    id=ref,
                    task_queue=settings.task_queue,
                )
                for ref in refs
            ]
            await eventually(
                lambda: len(postgres_ledger.deadlines("screening")) == CASES, 30, "the cases in the ledger"
            )

            await proxy.cut()
            for handle in handles:
                for event in (
                    ev.ScreeningDecision(outcome="referral-needed", reason="joint assessment: high risk"),
                    ev.ReferralSubmitted(referring_agency=cases.LEAD, level_sought=2),
                ):
                    await handle.execute_update(EVENT_UPDATES[type(event)], event, result_type=Receipt)
            # Each case's ledger write has failed and is being retried.
            for handle in handles:
                while await attempts_so_far(handle) < 2:
                    await asyncio.sleep(0.2)
            assert all(row.state == "open" for row in postgres_ledger.deadlines("screening"))

            await proxy.restore()

            def caught_up() -> bool:
                sent = [n for n in postgres_ledger.notices() if n.status == "sent"]
                return len(sent) == CASES and len(postgres_ledger.deadlines("referral-decision")) == CASES

            await eventually(caught_up, 60, "the ledger and the outbox caught up")
            for handle in handles:
                while (await handle.describe()).raw_description.pending_activities:
                    await asyncio.sleep(0.2)
            statuses: list[CaseStatus] = [await handle.query(MappaCaseWorkflow.status) for handle in handles]
    finally:
        executor.shutdown(wait=False)
        engine.dispose()

    # Exactly one row per fact: per case, per deadline (in its latest state), per notice, per e-mail.
    in_workflows = {(s.summary.case_ref, d.deadline_id): d.state.value for s in statuses for d in s.deadlines}
    rows = postgres_ledger.deadlines()
    assert Counter((r.case_ref, r.deadline_id) for r in rows) == dict.fromkeys(in_workflows, 1)
    assert {(r.case_ref, r.deadline_id): r.state for r in rows} == in_workflows
    with Session(postgres_ledger.engine) as session:
        ledger_cases = session.scalars(select(LedgerCase)).all()
    assert sorted((c.case_ref, c.stage) for c in ledger_cases) == [(ref, "referral") for ref in sorted(refs)]
    receipts = postgres_ledger.notices("referral-receipt")
    assert sorted(n.case_ref for n in receipts) == sorted(refs)
    assert Counter(str(m["X-MAPPA-Notice-Key"]) for m in smtp_server.messages) == {n.key: 1 for n in receipts}
