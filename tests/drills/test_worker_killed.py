"""Drill: the worker is killed while 50 cases have deadlines due in the next minute, and comes back later."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import UTC, datetime

import pytest

from bench import cases
from bench.devserver import DevServer
from tests.drills import short_deadlines
from tests.drills.conftest import Ledger, eventually, short_deadline_worker
from tests.helpers import SmtpSink
from workflows.case import MappaCaseWorkflow
from workflows.messages import CaseStatus, CaseWorkflowInput

pytestmark = pytest.mark.timeout(240)

CASES = 50
SCREENING_DUE_AFTER_SECONDS = 20
SECONDS_DEAD_AFTER_LAST_DUE = 10


async def test_every_breach_is_escalated_exactly_once_after_the_worker_comes_back(
    dev_server: DevServer, sqlite_ledger: Ledger, smtp_server: SmtpSink
) -> None:
    """The worker is SIGKILLed once the 50 cases are open and their screening deadlines are 15-20 s away; it
    stays dead until every deadline has been due for 10 s, then a new worker starts.

    The issue's drill restarts it two minutes later. What the outcome depends on is only that the deadlines
    fall due while no worker runs: their timers fire on the server, which keeps the workflow tasks until a
    worker polls. Ten seconds past the last deadline is the same situation as two minutes past it, at a
    sixth of the test's time.
    """
    client = await dev_server.client()
    worker = short_deadline_worker(dev_server, sqlite_ledger, smtp_server.port, SCREENING_DUE_AFTER_SECONDS)
    await worker.start()
    queue = worker.environment["MAPPA_TASK_QUEUE"]
    day = cases.today()
    refs = [cases.new_case_ref(short_deadlines.SCREENING_CODE) for _ in range(CASES)]
    semaphore = asyncio.Semaphore(10)

    async def open_case(ref: str) -> None:
        opening = cases.notification(ref, day, area=short_deadlines.SCREENING_AREA)
        async with semaphore:
            await client.start_workflow(
                MappaCaseWorkflow.run, CaseWorkflowInput(opening=opening), id=ref, task_queue=queue
            )

    try:
        await asyncio.gather(*(open_case(ref) for ref in refs))
        await eventually(
            lambda: len(sqlite_ledger.deadlines("screening")) == CASES,
            30,
            "every case's screening deadline in the ledger",
        )
        await worker.stop(kill=True)
        screening = sqlite_ledger.deadlines("screening")
        now = datetime.now(UTC)
        assert all(row.state == "open" and now < row.due_at for row in screening), (
            "killed before any fell due"
        )
        last_due = max(row.due_at for row in screening)
        assert (last_due - now).total_seconds() < 60, "all fall due within the next minute"

        await asyncio.sleep((last_due - datetime.now(UTC)).total_seconds() + SECONDS_DEAD_AFTER_LAST_DUE)
        assert not sqlite_ledger.escalations() and not smtp_server.messages, (
            "nothing escalated with no worker"
        )

        worker = short_deadline_worker(
            dev_server, sqlite_ledger, smtp_server.port, SCREENING_DUE_AFTER_SECONDS
        )
        worker.environment["MAPPA_TASK_QUEUE"] = queue
        await worker.start()
        await eventually(
            lambda: sum(1 for n in sqlite_ledger.notices("breach-escalation") if n.status == "sent") == CASES,
            60,
            f"{CASES} breach escalations sent",
        )
        await asyncio.sleep(2)  # anything sent twice would arrive now
        statuses: list[CaseStatus] = [
            await client.get_workflow_handle(ref).query(MappaCaseWorkflow.status) for ref in refs
        ]
    finally:
        await worker.stop()
        worker.remove_log()

    escalations = sqlite_ledger.escalations()
    assert Counter((e.case_ref, e.deadline_id) for e in escalations) == {
        (ref, "screening"): 1 for ref in refs
    }
    assert all(e.kind == "breach-escalation" and e.lateness_seconds > 0 for e in escalations)
    notices = sqlite_ledger.notices("breach-escalation")
    assert sorted(n.case_ref for n in notices) == sorted(refs)
    delivered = Counter(str(m["X-MAPPA-Notice-Key"]) for m in smtp_server.messages)
    assert delivered == {n.key: 1 for n in notices}, "each escalation e-mailed once, none lost"
    for status in statuses:
        (deadline,) = [d for d in status.deadlines if d.deadline_id == "screening"]
        assert deadline.state == "breached" and deadline.escalations == 1
    assert {row.state for row in sqlite_ledger.deadlines("screening")} == {"breached"}
