"""Benchmark 4, open cases: many open cases with timers on one machine. The worker's memory and start-up,
memory per cached case, and how a burst of events across every case is served, against the baseline
workflow (same timers and activity, nothing else) in the same harness.

The worker is the production worker process (`python -m worker.main`, its default cache of 1,000 workflows),
the baseline's is `bench.worker_process` with the same settings. For each: start it on an empty task queue;
open the cases (each a notification with its screening deadline's timer); restart the worker (start-up with
every case open on the server); then one event to every case, 50 at a time (a co-ordinator's screening
decision: one ledger write; the baseline: one update and one activity), on the cold worker. Memory is the
worker process's RSS; per cached case is the growth over the idle worker divided by the cache's size.
"""

from __future__ import annotations

import asyncio
import sys
import time
from dataclasses import dataclass
from typing import Any

from temporalio.client import Client

from bench import cases
from bench.baseline import Ack, BaselineInput, Step
from bench.processes import WorkerProcess, worker_environment
from bench.report import Figure, Result, percentile
from bench.rig import MailSink, dev_server, ledger_database, task_queue
from workflows.case import MappaCaseWorkflow
from workflows.messages import CaseWorkflowInput, Receipt
from workflows.rules import events as ev

MIB = 2**20
CACHE_METRIC = "temporal_sticky_cache_size"
TASKS_METRIC = "temporal_workflow_task_execution_latency_count"
WAIT_SUM = "temporal_workflow_task_schedule_to_start_latency_sum"
WAIT_COUNT = "temporal_workflow_task_schedule_to_start_latency_count"
ACTIVITIES_METRIC = "temporal_activity_execution_latency_count"


@dataclass(frozen=True)
class Sizes:
    cases: int  # open on the server, each with its timers, through start-up and both bursts
    concurrency: int
    burst_cases: int  # the cold burst: one event to each of this many (none in the restarted worker's cache)
    warm_cases: int  # the second burst: the cases the first burst touched last, all in the worker's cache


WORKER_CACHE = 1000  # the SDK's default max_cached_workflows, which worker.main keeps
# Full size keeps 10,000 cases open but samples the cold burst: its rate and latency are per event, and 3,000
# uncached cases are three times the cache. The warm burst only covers what a cache can hold.
SMALL = Sizes(cases=300, concurrency=50, burst_cases=300, warm_cases=300)
FULL = Sizes(cases=10_000, concurrency=50, burst_cases=3_000, warm_cases=WORKER_CACHE)
BURST_RATE_TARGET = 0.8  # issue 12: cold burst throughput, against the baseline
BURST_P99_TARGET = 1.3  # and its p99 latency


@dataclass
class Measured:
    startup_empty: float = 0.0
    rss_empty: float = 0.0
    open_rate: float = 0.0
    rss_after_open: float = 0.0
    startup_full: float = 0.0
    rss_restarted: float = 0.0
    burst_latencies: list[float] | None = None
    burst_rate: float = 0.0
    rss_after_burst: float = 0.0
    cached: float = 0.0
    tasks: float = 0.0
    task_wait_ms: float = 0.0
    warm_latencies: list[float] | None = None
    warm_rate: float = 0.0
    warm_tasks: float = 0.0


async def bounded(count: int, concurrency: int, call: Any) -> tuple[list[float], float]:
    semaphore = asyncio.Semaphore(concurrency)
    latencies: list[float] = []

    async def one(number: int) -> None:
        async with semaphore:
            started = time.perf_counter()
            await call(number)
            latencies.append((time.perf_counter() - started) * 1000)

    began = time.perf_counter()
    await asyncio.gather(*(one(n) for n in range(count)))
    return latencies, time.perf_counter() - began


async def settle(worker: WorkerProcess, activities: float) -> None:
    """Until the worker has run `activities` activities and then one more second passes (the workflow task
    after each activity)."""
    while (await worker.metrics()).get(ACTIVITIES_METRIC, 0) < activities:
        await asyncio.sleep(0.25)
    await asyncio.sleep(1)


async def measure(client: Client, variant: str, environment: dict[str, str], sizes: Sizes) -> Measured:
    m = Measured()
    command = None if variant == "ours" else [sys.executable, "-m", "bench.worker_process"]
    worker = WorkerProcess(environment, command)
    m.startup_empty = await worker.start()
    await asyncio.sleep(2)
    m.rss_empty = worker.rss_bytes() / MIB
    day = cases.today()
    refs = [cases.new_case_ref() for _ in range(sizes.cases)]
    queue = environment["MAPPA_TASK_QUEUE"]

    async def open_case(number: int) -> None:
        if variant == "ours":
            opening = CaseWorkflowInput(opening=cases.notification(refs[number], day))
            await client.start_workflow(MappaCaseWorkflow.run, opening, id=refs[number], task_queue=queue)
        else:
            baseline = BaselineInput(opening=Step(sequential=1))
            await client.start_workflow("BaselineCase", baseline, id=refs[number], task_queue=queue)

    try:
        _, wall = await bounded(sizes.cases, sizes.concurrency, open_case)
        await settle(worker, sizes.cases)
        m.open_rate = sizes.cases / wall
        m.rss_after_open = worker.rss_bytes() / MIB
        await worker.stop()

        worker = WorkerProcess(environment, command)
        m.startup_full = await worker.start()
        await asyncio.sleep(2)
        m.rss_restarted = worker.rss_bytes() / MIB
        before = await worker.metrics()
        screening = ev.ScreeningDecision(outcome="referral-needed", reason="joint assessment: high risk")

        async def event(number: int) -> None:
            handle = client.get_workflow_handle(refs[number])
            if variant == "ours":
                await handle.execute_update("screen_notification", screening, result_type=Receipt)
            else:
                await handle.execute_update("event", Step(sequential=1), result_type=Ack)

        burst = refs[: sizes.burst_cases]
        m.burst_latencies, wall = await bounded(len(burst), sizes.concurrency, lambda n: event(n))
        m.burst_rate = len(burst) / wall
        await settle(worker, len(burst))
        after = await worker.metrics()
        m.rss_after_burst = worker.rss_bytes() / MIB
        m.cached = after.get(CACHE_METRIC, 0)
        m.tasks = after.get(TASKS_METRIC, 0) - before.get(TASKS_METRIC, 0)
        waited = after.get(WAIT_COUNT, 0) - before.get(WAIT_COUNT, 0)
        m.task_wait_ms = (after.get(WAIT_SUM, 0) - before.get(WAIT_SUM, 0)) / max(waited, 1)

        # A second burst on the now warm worker: an event that changes no deadline for ours (its one activity
        # is the ledger write of the event's chronology entry), an update with one activity for the baseline.
        informed = ev.SubjectInformed(informed=True)

        async def quiet_event(number: int) -> None:
            handle = client.get_workflow_handle(refs[number])
            if variant == "ours":
                await handle.execute_update("record_subject_informed", informed, result_type=Receipt)
            else:
                await handle.execute_update("event", Step(sequential=1), result_type=Ack)

        warm = list(range(max(0, len(burst) - sizes.warm_cases), len(burst)))
        before = await worker.metrics()
        m.warm_latencies, wall = await bounded(len(warm), sizes.concurrency, lambda n: quiet_event(warm[n]))
        m.warm_rate = len(warm) / wall
        m.warm_tasks = (await worker.metrics()).get(TASKS_METRIC, 0) - before.get(TASKS_METRIC, 0)
    finally:
        await worker.stop()
        worker.remove_log()
    return m


async def run(full: bool = False) -> Result:
    sizes = FULL if full else SMALL
    result = Result(
        "open-cases",
        "Open cases: worker memory, start-up, memory per cached case, a burst of events across every case",
        {
            "cases": sizes.cases,
            "burst_cases": sizes.burst_cases,
            "warm_cases": sizes.warm_cases,
            "burst_concurrency": sizes.concurrency,
            "worker_cache": WORKER_CACHE,
        },
    )
    measured: dict[str, Measured] = {}
    async with dev_server() as (server, client):
        with ledger_database() as ledger, MailSink() as mail:
            result.parameters["ledger"] = ledger.kind
            for variant in ("baseline", "ours"):
                environment = worker_environment(
                    server.address, task_queue(f"open-{variant}"), ledger.url, mail.port
                )
                measured[variant] = await measure(client, variant, environment, sizes)
    ours, base = measured["ours"], measured["baseline"]
    per_case = lambda m: (m.rss_after_burst - m.rss_restarted) * 1024 / max(m.cached, 1)  # noqa: E731
    lat = ours.burst_latencies or []
    base_lat = base.burst_latencies or []
    for name, o, b, unit in (
        ("worker RSS, idle, no cases", ours.rss_empty, base.rss_empty, "MiB"),
        ("worker start-up, no cases", ours.startup_empty, base.startup_empty, "s"),
        (f"worker start-up, {sizes.cases} cases open", ours.startup_full, base.startup_full, "s"),
        (f"worker RSS after opening {sizes.cases} cases", ours.rss_after_open, base.rss_after_open, "MiB"),
        (
            f"worker RSS after the burst ({ours.cached:.0f} cached)",
            ours.rss_after_burst,
            base.rss_after_burst,
            "MiB",
        ),
        ("memory per cached case", per_case(ours), per_case(base), "KiB"),
        ("cases opened per second", ours.open_rate, base.open_rate, "/s"),
        ("burst: events per second", ours.burst_rate, base.burst_rate, "/s"),
        ("burst: p50 latency", percentile(lat, 50), percentile(base_lat, 50), "ms"),
        ("burst: p99 latency", percentile(lat, 99), percentile(base_lat, 99), "ms"),
        ("burst: max latency", percentile(lat, 100), percentile(base_lat, 100), "ms"),
        ("second burst (warm worker): events per second", ours.warm_rate, base.warm_rate, "/s"),
        (
            "second burst (warm worker): p99 latency",
            percentile(ours.warm_latencies or [], 99),
            percentile(base.warm_latencies or [], 99),
            "ms",
        ),
    ):
        target, met = None, None
        if name == "burst: events per second":
            target, met = f"≥ {BURST_RATE_TARGET}×", o / b >= BURST_RATE_TARGET
        elif name == "burst: p99 latency":
            target, met = f"≤ {BURST_P99_TARGET}×", o / b <= BURST_P99_TARGET
        result.add(Figure(name, o, unit, b, "baseline workflow", target, met))
    result.notes.append(
        f"first burst, on the restarted worker: {ours.tasks:.0f} workflow tasks for {sizes.burst_cases} events "
        f"(baseline {base.tasks:.0f}), each waiting {ours.task_wait_ms:.0f} ms on average once queued "
        f"(baseline {base.task_wait_ms:.0f} ms); the first event of each case after a restart is slow for "
        f"both workflows; second burst: {ours.warm_tasks:.0f} workflow tasks (baseline {base.warm_tasks:.0f}), "
        "every case in the worker's cache (1,000 by default)"
    )
    return result
