"""Benchmark 3, breach lateness: many cases whose deadlines fall due within the same minute; the time from
each deadline falling due to its breach escalation being sent (the `escalate_breach` activity done).

The statutory timescales are counted in working days, weeks or hours, so a benchmark-only area is registered
in this process (never in production code) whose screening deadline is `lead` seconds after the notification
instead of 2 working days: `Timescale("hours", lead / 3600)`, computed by the production deadline code. The
cases are opened evenly over a window (1,000 a minute), so their deadlines fall due evenly over a window of
the same length, `lead` seconds later; the worker is the production worker (in this process, so that it sees
the area) with its real activities, writing to PostgreSQL and sending mail to a local SMTP server.

Lateness is read from the ledger: `notifications.sent_at` (set as the activity finishes) minus the deadline's
`due_at` (`ledger_escalations.due_at`). The baseline beside it: as many trivial workflows each sleeping until
the same kind of due instant and then running one activity that does nothing, on the same server.
"""

from __future__ import annotations

import asyncio
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, cast

from sqlalchemy import select
from sqlalchemy.orm import Session
from temporalio.client import Client
from temporalio.worker import Worker

from bench import cases
from bench.baseline import BaselineDeadlineWorkflow, DueAt, done_at, escalate_nothing
from bench.devserver import DevServer
from bench.report import Figure, Result, percentile
from bench.rig import (
    MailSink,
    baseline_worker_options,
    case_worker,
    dev_server,
    ledger_database,
    settings_for,
    task_queue,
)
from store.models import LedgerEscalation, Notification, RoleHolder
from workflows.case import MappaCaseWorkflow
from workflows.messages import CaseWorkflowInput
from workflows.rules.calendar import Jurisdiction
from workflows.rules.policy import AREAS, Area, DeadlineKind, Timescale

P99_TARGET_SECONDS = 1.0
BENCH_AREA = Area(
    "benchmark-short-deadlines", "BSD", "Benchmark area (short deadlines)", Jurisdiction.ENGLAND_AND_WALES
)


@dataclass(frozen=True)
class Sizes:
    cases: int
    window_seconds: float  # the deadlines fall due evenly over this window
    lead_seconds: float  # from a case's opening to its screening deadline


# 1,000 deadlines in one minute; the small run keeps the rate (200 in 12 s), which is what lateness depends on.
SMALL = Sizes(cases=200, window_seconds=12, lead_seconds=20)
FULL = Sizes(cases=1000, window_seconds=60, lead_seconds=75)


def register_area(lead_seconds: float) -> Area:
    """The benchmark area, in this process's policy table: screening due `lead_seconds` after notification.

    Timescale amounts are whole numbers in the policy tables; a fraction of an hour is what makes the
    deadline fall due within the benchmark, and `compute_due` adds it as `timedelta(hours=amount)`."""
    area = Area(
        BENCH_AREA.area_id,
        BENCH_AREA.code,
        BENCH_AREA.name,
        BENCH_AREA.jurisdiction,
        overrides={DeadlineKind.SCREENING: Timescale("hours", cast(int, lead_seconds / 3600))},
    )
    AREAS[area.area_id] = area
    return area


async def open_evenly(sizes: Sizes, start: Any) -> float:
    """Start `sizes.cases` workflows evenly over the window, so their deadlines fall due evenly over it too;
    the seconds the opening took."""
    interval = sizes.window_seconds / sizes.cases
    began = time.perf_counter()

    async def one(number: int) -> None:
        await asyncio.sleep(number * interval)
        await start(number)

    await asyncio.gather(*(one(n) for n in range(sizes.cases)))
    return time.perf_counter() - began


class CpuMeter:
    """CPU seconds of this process (worker and driver) plus the dev server, from the first deadline on."""

    def __init__(self, server: DevServer) -> None:
        self.server = server
        self.start = 0.0
        self.spent = 0.0

    def now(self) -> float:
        return time.process_time() + self.server.cpu_seconds()

    async def from_first_due(self, lead_seconds: float, opened_at: float) -> None:
        await asyncio.sleep(max(0.0, opened_at + lead_seconds - time.perf_counter()))
        self.start = self.now()

    def stop(self) -> None:
        self.spent = self.now() - self.start


async def wait_for(count: int, counted: Any, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while counted() < count:
        if time.monotonic() > deadline:
            raise RuntimeError(f"only {counted()} of {count} escalations within {timeout:.0f}s")
        await asyncio.sleep(0.5)


async def baseline_lateness(client: Client, sizes: Sizes, cpu: CpuMeter) -> tuple[list[float], float]:
    queue = task_queue("breach-baseline")
    done_at.clear()
    worker = Worker(
        client,
        task_queue=queue,
        workflows=[BaselineDeadlineWorkflow],
        activities=[escalate_nothing],
        activity_executor=ThreadPoolExecutor(16),
        max_concurrent_activities=16,
        **baseline_worker_options(),
    )
    due: dict[str, datetime] = {}
    async with worker:

        async def start(number: int) -> None:
            # Due the lead time after its own start, as a case's deadline is after its opening.
            ref = f"baseline-deadline-{number}"
            due[ref] = datetime.now(UTC) + timedelta(seconds=sizes.lead_seconds)
            await client.start_workflow(
                BaselineDeadlineWorkflow.run, DueAt(due_at=due[ref]), id=ref, task_queue=queue
            )

        began = time.perf_counter()
        opening = await open_evenly(sizes, start)
        await cpu.from_first_due(sizes.lead_seconds, began)
        await wait_for(sizes.cases, lambda: len(done_at), sizes.lead_seconds + 300)
        cpu.stop()
    return [done_at[ref] - due[ref].timestamp() for ref in due], opening


async def case_lateness(
    client: Client, sizes: Sizes, cpu: CpuMeter
) -> tuple[list[float], list[float], float, str]:
    with ledger_database() as ledger, MailSink() as mail:
        with Session(ledger.engine) as session, session.begin():
            session.add(
                RoleHolder(
                    area=BENCH_AREA.area_id,
                    role="co-ordinator",
                    name="Benchmark Co-ordinator",
                    email="coordinator@benchmark.example.gov.uk",
                    valid_from=datetime(2000, 1, 1).date(),
                )
            )
        queue = task_queue("breach")
        async with case_worker(client, settings_for(client, ledger, mail, queue), ledger):
            day = cases.today()

            async def start(number: int) -> None:
                ref = cases.new_case_ref(BENCH_AREA.code)
                await client.start_workflow(
                    MappaCaseWorkflow.run,
                    CaseWorkflowInput(opening=cases.notification(ref, day, area=BENCH_AREA.area_id)),
                    id=ref,
                    task_queue=queue,
                )

            began = time.perf_counter()
            opening = await open_evenly(sizes, start)
            await cpu.from_first_due(sizes.lead_seconds, began)

            def escalations_sent() -> int:
                with Session(ledger.engine) as session:
                    return len(
                        session.scalars(
                            select(Notification.id).where(
                                Notification.kind == "breach-escalation", Notification.sent_at.is_not(None)
                            )
                        ).all()
                    )

            await wait_for(sizes.cases, escalations_sent, sizes.lead_seconds + 300)
            cpu.stop()
        with Session(ledger.engine) as session:
            rows = session.execute(
                select(LedgerEscalation.due_at, LedgerEscalation.escalated_at, Notification.sent_at)
                .join(Notification, Notification.key == LedgerEscalation.key)
                .where(LedgerEscalation.kind == "breach-escalation")
            ).all()
        done = [(sent - due).total_seconds() for due, _, sent in rows if due and sent]
        started = [(escalated - due).total_seconds() for due, escalated, _ in rows if due]
        return done, started, opening, ledger.kind


async def run(full: bool = False) -> Result:
    sizes = FULL if full else SMALL
    result = Result(
        "breach-lateness",
        "Breach lateness: deadlines of many cases falling due together → escalation sent",
        {
            "cases": sizes.cases,
            "lead_seconds": sizes.lead_seconds,
            "window_seconds": sizes.window_seconds,
        },
    )
    register_area(sizes.lead_seconds)
    try:
        async with dev_server() as (server, client):
            base_cpu, ours_cpu = CpuMeter(server), CpuMeter(server)
            base, base_opening = await baseline_lateness(client, sizes, base_cpu)
            ours, started, opening, ledger_kind = await case_lateness(client, sizes, ours_cpu)
    finally:
        AREAS.pop(BENCH_AREA.area_id, None)
    result.parameters["ledger"] = ledger_kind
    for name, p in (("p50", 50), ("p99", 99), ("max", 100)):
        ours_value, base_value = percentile(ours, p), percentile(base, p)
        target = f"p99 ≤ {P99_TARGET_SECONDS:.0f} s" if p == 99 else None
        result.add(
            Figure(
                f"due → escalation sent, {name}",
                ours_value * 1000,
                "ms",
                base_value * 1000,
                "timer + no-op activity",
                target,
                ours_value <= P99_TARGET_SECONDS if target else None,
            )
        )
    result.add(Figure("due → escalation activity started, p99", percentile(started, 99) * 1000, "ms"))
    result.add(
        Figure(
            "CPU per breach (worker + dev server)",
            ours_cpu.spent / sizes.cases * 1000,
            "ms",
            base_cpu.spent / sizes.cases * 1000,
            "timer + no-op activity",
        )
    )
    result.notes.append(
        f"{len(ours)} breaches, each escalated once; the deadlines fell due evenly over {opening:.1f} s "
        f"({sizes.cases / sizes.window_seconds * 60:.0f} a minute; baseline {base_opening:.1f} s)"
    )
    return result
