"""Benchmark 9, the midnight surge: every case's deadline falls due at the same instant (deadlines fall due at the
end of a working day, so at national scale thousands breach at midnight), and each breach is escalated by e-mail
through a relay that limits its clients' rate, as real relays do.

The cases are imported at the notification stage, notified yesterday: the core counts their screening deadline
from noon of that day. A benchmark-only area (registered in this process, never in production code, as the
breach-lateness benchmark does) sets the screening timescale to the hours from that noon to the chosen instant,
so every case's deadline falls due at that one instant. The worker is the production worker (in this process, so
that it sees the area; its cache holds every case) with its real activities, writing to PostgreSQL and sending
to a local SMTP relay (a separate process) that accepts at most `relay_rate` messages in any second and answers
451 beyond it.

Measured from the instant: the time until every escalation has been sent, the lateness of each (the outbox's
`sent_at` minus the deadline's `due_at`), the attempts the activities made and the relay refused, the most the
relay took in any second, and any message it took twice. Twice: with the worker's sends paced under the relay's
limit (`MAPPA_SMTP_RATE_PER_SECOND`), and as before, unpaced. The baseline: as many bare workflows sleeping until
one instant, then running an activity that does nothing, on the same server.

`python -m bench.midnight_surge relay PORT RATE LOG` runs the relay alone.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter, deque
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, cast

from sqlalchemy import func, select
from sqlalchemy.orm import Session
from temporalio.client import Client
from temporalio.common import SearchAttributePair, TypedSearchAttributes
from temporalio.worker import Worker

from bench import cases
from bench.baseline import BaselineDeadlineWorkflow, DueAt, done_at, escalate_nothing
from bench.breach_lateness import BENCH_AREA, CpuMeter
from bench.devserver import LOOPBACK
from bench.report import Figure, Result, percentile
from bench.rig import (
    baseline_worker_options,
    bounded_gather,
    case_worker,
    dev_server,
    free_port,
    ledger_database,
    settings_for,
    task_queue,
)
from store.models import LedgerCase, LedgerEscalation, Notification, RoleHolder
from workflows import search_attributes as sa
from workflows.case import MappaCaseWorkflow
from workflows.messages import CaseWorkflowInput
from workflows.rules.calendar import local_time_on
from workflows.rules.imported import NOON
from workflows.rules.imported_row import ImportedPosition, ImportedStage
from workflows.rules.policy import AREAS, Area, DeadlineKind, Timescale

DRAIN_TARGET_SECONDS = 300.0  # every escalation sent within 5 minutes of the instant (5,000 cases)
PACED_SHARE = 0.9  # the worker sends at this share of the relay's limit: room for the network's jitter
OPENING_RATE = 10.0  # imported cases a second the instant is planned for (2 shared cores)
BASELINE_OPENING_RATE = 80.0
MARGIN_SECONDS = 30.0


@dataclass(frozen=True)
class Sizes:
    cases: int
    relay_rate: int  # messages the relay takes in any one second
    unpaced_cases: int  # the unpaced surge shows the retry storm's shape at this size; bigger is only longer


SMALL = Sizes(cases=500, relay_rate=25, unpaced_cases=500)
FULL = Sizes(cases=5000, relay_rate=25, unpaced_cases=500)


# ------------------------------------------------------------------ the relay (its own process)


class RateLimitedRelay:
    """An aiosmtpd handler: takes a message when fewer than `rate` were taken in the last second, else 451 at
    MAIL FROM (before the message is sent). Logs each acceptance and refusal with its time."""

    def __init__(self, rate: int, log: Path) -> None:
        self.rate = rate
        self.taken: deque[float] = deque()
        self.log = log.open("a", buffering=1)
        self.lock = threading.Lock()

    async def handle_MAIL(
        self, server: Any, session: Any, envelope: Any, address: str, options: list[str]
    ) -> str:
        now = time.monotonic()
        with self.lock:
            while self.taken and now - self.taken[0] >= 1.0:
                self.taken.popleft()
            if len(self.taken) >= self.rate:
                self.log.write(f"refused {time.time():.6f}\n")
                return "451 4.7.1 Too many messages from you: try again later"
            self.taken.append(now)
            self.log.write(f"mail {time.time():.6f}\n")
        envelope.mail_from = address
        envelope.mail_options.extend(options)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        content = envelope.original_content or b""
        message_id = next(
            (
                line.split(b":", 1)[1].strip().decode()
                for line in content.splitlines()
                if line.lower().startswith(b"message-id:")
            ),
            "",
        )
        self.log.write(f"data {time.time():.6f} {message_id}\n")
        return "250 OK"


def relay_main(port: int, rate: int, log: Path) -> None:
    from aiosmtpd.controller import Controller

    controller = Controller(RateLimitedRelay(rate, log), hostname=LOOPBACK, port=port)
    controller.start()
    stopped = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopped.set())
    stopped.wait()
    controller.stop()


@dataclass
class RelayLog:
    accepted_at: list[float]
    refused: int
    message_ids: Counter[str]

    @classmethod
    def read(cls, path: Path) -> RelayLog:
        accepted: list[float] = []
        refused = 0
        ids: Counter[str] = Counter()
        for line in path.read_text().splitlines():
            kind, _, rest = line.partition(" ")
            if kind == "mail":
                accepted.append(float(rest))
            elif kind == "refused":
                refused += 1
            elif kind == "data":
                ids[rest.partition(" ")[2]] += 1
        return cls(accepted, refused, ids)

    def most_in_one_second(self) -> int:
        times, most, first = sorted(self.accepted_at), 0, 0
        for last, at in enumerate(times):
            while at - times[first] >= 1.0:
                first += 1
            most = max(most, last - first + 1)
        return most

    def taken_twice(self) -> int:
        return sum(1 for count in self.message_ids.values() if count > 1)


class Relay:
    def __init__(self, rate: int, log: Path) -> None:
        self.rate, self.log, self.port = rate, log, free_port()
        self._process: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> Relay:
        self._process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "bench.midnight_surge",
                "relay",
                str(self.port),
                str(self.rate),
                str(self.log),
            ],
            stdin=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 30
        import socket

        while time.monotonic() < deadline:
            with contextlib.suppress(OSError), socket.create_connection((LOOPBACK, self.port), timeout=1):
                return self
            time.sleep(0.1)
        raise RuntimeError(f"the relay did not listen on {LOOPBACK}:{self.port}")

    def __exit__(self, *exc_info: Any) -> None:
        if self._process is not None:
            self._process.terminate()
            self._process.wait(10)


# ------------------------------------------------------------------ the surge


def register_area(instant: datetime, notified_noon: datetime) -> None:
    """Screening falls due at `instant` for every case notified at `notified_noon` (hours may be fractional:
    `compute_due` adds them as a timedelta)."""
    hours = (instant - notified_noon).total_seconds() / 3600
    AREAS[BENCH_AREA.area_id] = Area(
        BENCH_AREA.area_id,
        BENCH_AREA.code,
        BENCH_AREA.name,
        BENCH_AREA.jurisdiction,
        overrides={DeadlineKind.SCREENING: Timescale("hours", cast(int, hours))},
    )


async def wait_for(count: int, counted: Any, until: float, what: str) -> None:
    while (done := counted()) < count:
        if time.time() > until:
            raise RuntimeError(f"only {done} of {count} {what} in time")
        await asyncio.sleep(0.5)


@dataclass
class Surge:
    lateness: list[float]  # seconds from the instant to each escalation (or no-op activity) done
    cpu_ms: float  # per escalation, worker and dev server
    attempts: int = 0  # activity attempts at the escalations
    relay: RelayLog | None = None


async def baseline_surge(client: Client, sizes: Sizes, cpu: CpuMeter) -> Surge:
    queue = task_queue("surge-baseline")
    done_at.clear()
    instant = datetime.now(UTC) + timedelta(seconds=sizes.cases / BASELINE_OPENING_RATE + MARGIN_SECONDS)
    worker = Worker(
        client,
        task_queue=queue,
        workflows=[BaselineDeadlineWorkflow],
        activities=[escalate_nothing],
        activity_executor=ThreadPoolExecutor(16),
        max_concurrent_activities=16,
        max_cached_workflows=sizes.cases,
        **baseline_worker_options(),
    )
    async with worker:
        await bounded_gather(
            16,
            *(
                client.start_workflow(
                    BaselineDeadlineWorkflow.run,
                    DueAt(due_at=instant),
                    id=f"surge-baseline-{n}",
                    task_queue=queue,
                )
                for n in range(sizes.cases)
            ),
        )
        if datetime.now(UTC) > instant - timedelta(seconds=5):
            raise RuntimeError("the baseline's workflows opened too slowly for the planned instant")
        await asyncio.sleep((instant - datetime.now(UTC)).total_seconds())
        cpu.start = cpu.now()
        await wait_for(sizes.cases, lambda: len(done_at), time.time() + 1800, "no-op escalations")
        cpu.stop()
    return Surge([at - instant.timestamp() for at in done_at.values()], cpu.spent / sizes.cases * 1000)


async def case_surge(client: Client, sizes: Sizes, cpu: CpuMeter, paced: bool, log: Path) -> Surge:
    yesterday = cases.today() - timedelta(days=1)
    notified_noon = local_time_on(yesterday, NOON)
    instant = datetime.now(UTC) + timedelta(seconds=sizes.cases / OPENING_RATE + MARGIN_SECONDS)
    register_area(instant, notified_noon)
    with ledger_database() as ledger, Relay(sizes.relay_rate, log) as relay:
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
        queue = task_queue("surge")
        settings = settings_for(client, ledger, relay, queue).model_copy(  # type: ignore[arg-type]
            update={
                "smtp_rate_per_second": sizes.relay_rate * PACED_SHARE if paced else None,
                "workflow_cache_size": sizes.cases,
            }
        )
        async with case_worker(client, settings, ledger):

            def start(n: int) -> Any:
                ref = cases.new_case_ref(BENCH_AREA.code)
                return client.start_workflow(
                    MappaCaseWorkflow.run,
                    CaseWorkflowInput(
                        opening=cases.notification(ref, yesterday, area=BENCH_AREA.area_id),
                        imported=ImportedPosition(
                            import_ref=f"surge-{n}", stage=ImportedStage.NOTIFICATION, notified_on=yesterday
                        ),
                    ),
                    id=ref,
                    task_queue=queue,
                    search_attributes=TypedSearchAttributes(
                        [SearchAttributePair(sa.IMPORT_REF, f"surge-{n}")]
                    ),
                )

            await bounded_gather(16, *(start(n) for n in range(sizes.cases)))

            def counted(query: Any) -> int:
                with Session(ledger.engine) as session:
                    return int(session.scalar(query) or 0)

            opened = select(func.count()).select_from(LedgerCase)
            await wait_for(sizes.cases, lambda: counted(opened), instant.timestamp() - 2, "cases opened")
            await asyncio.sleep(max(0.0, (instant - datetime.now(UTC)).total_seconds()))
            cpu.start = cpu.now()
            sent = (
                select(func.count())
                .select_from(Notification)
                .where(Notification.kind == "breach-escalation", Notification.sent_at.is_not(None))
            )
            await wait_for(sizes.cases, lambda: counted(sent), time.time() + 1800, "escalations sent")
            cpu.stop()
        with Session(ledger.engine) as session:
            rows = session.execute(
                select(LedgerEscalation.due_at, Notification.sent_at, Notification.attempts)
                .join(Notification, Notification.key == LedgerEscalation.key)
                .where(LedgerEscalation.kind == "breach-escalation")
            ).all()
    if len({due for due, _, _ in rows}) != 1:
        raise RuntimeError("the deadlines did not all fall due at one instant")
    lateness = [(sent - due).total_seconds() for due, sent, _ in rows if sent is not None and due is not None]
    return Surge(lateness, cpu.spent / sizes.cases * 1000, sum(a for _, _, a in rows), RelayLog.read(log))


def load() -> str:
    return "load average " + ", ".join(f"{x:.1f}" for x in os.getloadavg())


async def run(full: bool = False) -> Result:
    sizes = FULL if full else SMALL
    result = Result(
        "midnight-surge",
        "The midnight surge: every case's deadline due at one instant, escalated through a rate-limited relay",
        {
            "cases": sizes.cases,
            "relay_rate_per_second": sizes.relay_rate,
            "paced_at": sizes.relay_rate * PACED_SHARE,
        },
    )
    result.notes.append(f"at the start: {load()}")
    logs = Path(os.environ.get("TMPDIR", "/tmp")) / f"mappa-surge-{os.getpid()}"
    logs.mkdir(parents=True, exist_ok=True)
    try:
        async with dev_server() as (server, client):
            base = await baseline_surge(client, sizes, CpuMeter(server))
            result.notes.append(f"after the baseline: {load()}")
            paced = await case_surge(client, sizes, CpuMeter(server), True, logs / "paced.log")
            result.notes.append(f"after the paced surge: {load()}")
            # Each refused attempt logs its failure; thousands of them would bury the figures.
            logging.getLogger("temporalio.activity").setLevel(logging.ERROR)
            storm = Sizes(sizes.unpaced_cases, sizes.relay_rate, sizes.unpaced_cases)
            unpaced = await case_surge(client, storm, CpuMeter(server), False, logs / "unpaced.log")
            result.notes.append(f"after the unpaced surge: {load()}")
    finally:
        AREAS.pop(BENCH_AREA.area_id, None)
    report(result, sizes, base, paced, unpaced, storm)
    return result


def report(result: Result, sizes: Sizes, base: Surge, paced: Surge, unpaced: Surge, storm: Sizes) -> None:
    for name, ours in (("paced", paced), (f"unpaced ({storm.cases} cases)", unpaced)):
        drained = max(ours.lateness)
        target, met = (
            (f"≤ {DRAIN_TARGET_SECONDS:.0f} s", drained <= DRAIN_TARGET_SECONDS)
            if name == "paced"
            else (None, None)
        )
        result.add(
            Figure(
                f"{name}: instant → every escalation sent",
                drained,
                "s",
                max(base.lateness),
                "timer + no-op activity",
                target,
                met,
            )
        )
        result.add(
            Figure(
                f"{name}: lateness p50",
                percentile(ours.lateness, 50),
                "s",
                percentile(base.lateness, 50),
                "timer + no-op activity",
            )
        )
        result.add(
            Figure(
                f"{name}: lateness p99",
                percentile(ours.lateness, 99),
                "s",
                percentile(base.lateness, 99),
                "timer + no-op activity",
            )
        )
        assert ours.relay is not None
        result.add(
            Figure(
                f"{name}: escalation attempts per escalation",
                ours.attempts / len(ours.lateness),
                "",
                1.0,
                "one each",
            )
        )
        result.add(Figure(f"{name}: refused by the relay (451)", ours.relay.refused, ""))
        most = ours.relay.most_in_one_second()
        result.add(
            Figure(
                f"{name}: most messages the relay took in one second",
                most,
                "",
                sizes.relay_rate,
                "the relay's limit",
                f"≤ {sizes.relay_rate}",
                most <= sizes.relay_rate,
            )
        )
        result.add(
            Figure(
                f"{name}: CPU per escalation (worker + dev server)",
                ours.cpu_ms,
                "ms",
                base.cpu_ms,
                "timer + no-op activity",
            )
        )
        result.notes.append(
            f"{name}: {len(ours.lateness)} escalations, {len(ours.relay.accepted_at)} messages taken by the relay, "
            f"{ours.relay.taken_twice()} taken twice"
        )


if __name__ == "__main__" and sys.argv[1:2] == ["relay"]:
    relay_main(int(sys.argv[2]), int(sys.argv[3]), Path(sys.argv[4]))
