"""The baseline a case is measured against: a workflow that takes the same updates, starts the same timers
and runs the same number of activities as a MAPPA case, and does nothing else.

Its shape is not guessed: `Shape.of_history` reads it from a real case's history (per event: the activities
run one after another, then those run together), so both workflows do the same Temporal work.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from datetime import datetime, timedelta

from pydantic import BaseModel
from temporalio import activity, workflow
from temporalio.api.enums.v1 import EventType
from temporalio.client import WorkflowHistory

TIMER = timedelta(days=30)


class Step(BaseModel):
    """What one event makes the workflow do: `sequential` activities one at a time, then `parallel` at once."""

    sequential: int = 0
    parallel: int = 0


class BaselineInput(BaseModel):
    opening: Step


class Ack(BaseModel):
    ok: bool = True


@activity.defn(name="baseline_nothing")
def do_nothing(_: Step) -> Ack:
    return Ack()


@workflow.defn(name="BaselineCase")
class BaselineCaseWorkflow:
    def __init__(self) -> None:
        self._steps: list[Step] = []
        self._changed = False

    @workflow.run
    async def run(self, inp: BaselineInput) -> None:
        self._steps.append(inp.opening)
        while True:
            while self._steps:
                step = self._steps.pop(0)
                for _ in range(step.sequential):
                    await self._nothing(step)
                await asyncio.gather(*(self._nothing(step) for _ in range(step.parallel)))
            self._changed = False
            with contextlib.suppress(TimeoutError):
                await workflow.wait_condition(lambda: self._changed, timeout=TIMER)

    async def _nothing(self, step: Step) -> Ack:
        return await workflow.execute_activity(do_nothing, step, start_to_close_timeout=timedelta(seconds=30))

    @workflow.update
    async def event(self, step: Step) -> Ack:
        self._steps.append(step)
        self._changed = True
        return Ack()


class DueAt(BaseModel):
    due_at: datetime


# When each baseline deadline's activity ran (workflow id → Unix time); read by the benchmark.
done_at: dict[str, float] = {}


@activity.defn(name="baseline_escalate_nothing")
def escalate_nothing(due: DueAt) -> None:
    done_at[activity.info().workflow_id or ""] = time.time()


@workflow.defn(name="BaselineDeadline")
class BaselineDeadlineWorkflow:
    """Sleeps until a due instant, then runs one activity that does nothing: a bare timer and activity."""

    @workflow.run
    async def run(self, due: DueAt) -> None:
        await workflow.sleep(max(due.due_at - workflow.now(), timedelta(seconds=1)))
        await workflow.execute_activity(escalate_nothing, due, start_to_close_timeout=timedelta(seconds=30))


class Shape(BaseModel):
    """Per event of a case's history (the start first): the activities it ran, and the history's totals."""

    steps: list[Step]
    events: int
    updates: int
    timers_started: int
    activities: int

    @classmethod
    def of_history(cls, history: WorkflowHistory) -> Shape:
        """Activities scheduled in one workflow task with nothing running ran together; one scheduled when
        another had just completed ran after it."""
        steps: list[Step] = [Step()]
        running = 0
        batch = 0
        for event in history.events:
            kind = event.event_type
            if kind == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED:
                steps.append(Step())
            elif kind == EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED:
                batch = 0
            elif kind == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
                batch += 1
                running += 1
                if batch == 1:
                    steps[-1].sequential += 1
                else:
                    # A second activity in the same task: the batch runs together.
                    if batch == 2:
                        steps[-1].sequential -= 1
                        steps[-1].parallel += 1
                    steps[-1].parallel += 1
            elif kind == EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED:
                running -= 1
        counts = {
            "updates": EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED,
            "timers_started": EventType.EVENT_TYPE_TIMER_STARTED,
            "activities": EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED,
        }
        totals = {
            name: sum(1 for e in history.events if e.event_type == kind) for name, kind in counts.items()
        }
        return cls(steps=steps, events=len(history.events), **totals)
