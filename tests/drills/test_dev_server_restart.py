"""Drill: the Temporal dev server is stopped and started again on its SQLite file."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

import pytest
from temporalio.client import Client

from bench import cases
from bench.devserver import DevServer
from tests.drills import short_deadlines
from tests.drills.conftest import Ledger, eventually, short_deadline_worker
from tests.helpers import SmtpSink
from workflows import search_attributes as sa
from workflows.case import MappaCaseWorkflow
from workflows.messages import CaseStatus, CaseWorkflowInput

pytestmark = pytest.mark.timeout(180)

SHORT_CASES = 10
ORDINARY_CASES = 3
SCREENING_DUE_AFTER_SECONDS = 30


async def open_cases(client: Client) -> list[str]:
    return sorted([row.id async for row in client.list_workflows('ExecutionStatus = "Running"')])


async def by_stage(client: Client, stage: str) -> list[str]:
    """The cases the Temporal UI's query box finds at `stage`: the search attributes as indexed."""
    return sorted([row.id async for row in client.list_workflows(f'CaseStage = "{stage}"')])


async def attributes(client: Client, ref: str) -> dict[str, Any]:
    described = await client.get_workflow_handle(ref).describe()
    return {key.name: described.typed_search_attributes.get(key) for key in sa.ALL}


async def test_open_cases_their_deadlines_and_attributes_survive_a_restart_and_the_timers_still_fire(
    dev_server: DevServer, sqlite_ledger: Ledger, smtp_server: SmtpSink
) -> None:
    client = await dev_server.client()
    worker = short_deadline_worker(dev_server, sqlite_ledger, smtp_server.port, SCREENING_DUE_AFTER_SECONDS)
    await worker.start()
    queue = worker.environment["MAPPA_TASK_QUEUE"]
    day = cases.today()
    short = [cases.new_case_ref(short_deadlines.SCREENING_CODE) for _ in range(SHORT_CASES)]
    ordinary = [cases.new_case_ref() for _ in range(ORDINARY_CASES)]
    try:
        for ref in short + ordinary:
            area = short_deadlines.SCREENING_AREA if ref in short else cases.AREA
            await client.start_workflow(
                MappaCaseWorkflow.run,
                CaseWorkflowInput(opening=cases.notification(ref, day, area=area)),
                id=ref,
                task_queue=queue,
            )
        refs = sorted(short + ordinary)
        await eventually(
            lambda: len(sqlite_ledger.deadlines("screening")) == len(refs),
            30,
            "every case opened in the ledger",
        )

        while await by_stage(client, "notification") != refs:  # visibility catches up
            await asyncio.sleep(0.2)
        before_attributes = {ref: await attributes(client, ref) for ref in refs}
        before_status: dict[str, CaseStatus] = {
            ref: await client.get_workflow_handle(ref).query(MappaCaseWorkflow.status) for ref in refs
        }

        await dev_server.restart()
        client = await dev_server.client()

        assert await open_cases(client) == refs
        assert await by_stage(client, "notification") == refs
        assert {ref: await attributes(client, ref) for ref in refs} == before_attributes
        after_status = {
            ref: await client.get_workflow_handle(ref).query(MappaCaseWorkflow.status) for ref in refs
        }
        assert after_status == before_status
        due = [d.due_at for ref in short for d in after_status[ref].deadlines if d.deadline_id == "screening"]
        assert datetime.now(UTC) < min(due), "the restart was over before any short deadline fell due"

        # The short deadlines' timers, set before the restart, fire after it.
        await eventually(
            lambda: (
                sum(1 for n in sqlite_ledger.notices("breach-escalation") if n.status == "sent")
                == SHORT_CASES
            ),
            60,
            f"{SHORT_CASES} breach escalations after the restart",
        )
        breached = {
            ref: await client.get_workflow_handle(ref).query(MappaCaseWorkflow.status) for ref in short
        }
        for status in breached.values():
            (screening,) = [d for d in status.deadlines if d.deadline_id == "screening"]
            assert screening.state == "breached" and screening.escalations == 1
        for ref in ordinary:
            assert (await client.get_workflow_handle(ref).query(MappaCaseWorkflow.status)) == before_status[
                ref
            ]
        await eventually(lambda: len(smtp_server.messages) == SHORT_CASES, 10, "one e-mail per breach")
    finally:
        await worker.stop()
        worker.remove_log()
    escalated = {str(m["X-MAPPA-Case-Ref"]) for m in smtp_server.messages}
    assert escalated == set(short)
