"""The weekly digests' Temporal Schedules on the real dev server (the time-skipping server has no Schedules),
made by the same one-shot command `make dev` and docker-compose run: `python -m worker.schedules`."""

from __future__ import annotations

import asyncio
import os
import sys
from datetime import timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo

import pytest
from temporalio.client import Client, ScheduleActionStartWorkflow
from temporalio.testing import WorkflowEnvironment

from tests.helpers import unique_task_queue
from worker.schedules import ensure_digest_schedules
from workflows.digest import schedule_id
from workflows.rules.policy import AREAS

pytestmark = pytest.mark.timeout(120)
LONDON = ZoneInfo("Europe/London")


async def run_schedules_command(env: WorkflowEnvironment, task_queue: str) -> str:
    process = await asyncio.create_subprocess_exec(
        *(sys.executable, "-m", "worker.schedules"),
        env={
            **os.environ,
            "MAPPA_TEMPORAL_ADDRESS": env.client.service_client.config.target_host,
            "MAPPA_TEMPORAL_NAMESPACE": env.client.namespace,
            "MAPPA_TASK_QUEUE": task_queue,
        },
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    output, _ = await process.communicate()
    assert process.returncode == 0, output.decode()
    return output.decode()


async def delete_all(client: Client) -> None:
    for area in AREAS:
        await client.get_schedule_handle(schedule_id(area)).delete()


async def test_every_area_has_a_monday_8am_london_digest_schedule_and_running_it_again_changes_nothing(
    dev_server_env: WorkflowEnvironment,
) -> None:
    client = dev_server_env.client
    task_queue = unique_task_queue()
    try:
        first = await run_schedules_command(dev_server_env, task_queue)
        again = await run_schedules_command(dev_server_env, task_queue)

        assert "schedule weekly-digest-lanarkshire created" in first
        assert "schedule weekly-digest-lanarkshire updated" in again
        listed = {s.id async for s in await client.list_schedules()}
        assert {schedule_id(area) for area in AREAS} <= listed
        described = await client.get_schedule_handle("weekly-digest-lanarkshire").describe()
        action = described.schedule.action
        assert isinstance(action, ScheduleActionStartWorkflow)
        assert (action.workflow, action.task_queue) == ("WeeklyDigestWorkflow", task_queue)
        assert described.schedule.spec.time_zone_name == "Europe/London"
        upcoming = [t.astimezone(LONDON) for t in described.info.next_action_times]
        assert upcoming, "the schedule has no next action"
        assert all((t.weekday(), t.hour, t.minute) == (0, 8, 0) for t in upcoming), upcoming
        assert all(later - earlier == timedelta(weeks=1) for earlier, later in pairwise(upcoming))
    finally:
        await delete_all(client)


async def test_a_schedule_paused_in_the_ui_stays_paused_when_the_schedules_are_made_again(
    dev_server_env: WorkflowEnvironment,
) -> None:
    client = dev_server_env.client
    task_queue = unique_task_queue()
    try:
        await ensure_digest_schedules(client, task_queue, areas=["glasgow"])
        await client.get_schedule_handle("weekly-digest-glasgow").pause(note="co-ordinator on leave")

        done = await ensure_digest_schedules(client, task_queue, areas=["glasgow"])

        described = await client.get_schedule_handle("weekly-digest-glasgow").describe()
        assert done == {"weekly-digest-glasgow": "updated"}
        assert described.schedule.state.paused
    finally:
        await client.get_schedule_handle("weekly-digest-glasgow").delete()
