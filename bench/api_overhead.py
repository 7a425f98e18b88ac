"""Benchmark 2, API overhead: an agency event sent through the API against the same Update sent directly with
the Temporal client, at 1 and at 50 concurrent clients.

The API is the real app (`api.app.create_app`) served by uvicorn on 127.0.0.1, with a bearer token, the
permission check and the audit record it writes; the worker is the production worker with its real
activities. The event is a change in risk reported by the police (`POST /cases/{ref}/risk-changes`, update
`report_risk_change`); the API keeps the event's audit row in its spool (`MAPPA_AUDIT_SPOOL`) and commits it after
answering, as deployed (README, "The audit trail"), and the benchmark checks every row reached the trail. Each client is a closed loop on its own case; the API and direct phases alternate
round by round on the same cases, so both see the same worker, server and case sizes.
"""

from __future__ import annotations

import asyncio
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from uuid import uuid4

import httpx
from sqlalchemy import Engine, func, select

from api.auth import issue_token
from bench import cases
from bench.processes import ApiProcess, WorkerProcess, worker_environment
from bench.report import Figure, Result, percentile
from bench.rig import (
    MailSink,
    dev_server,
    ledger_database,
    task_queue,
)
from core.database import session_factory
from store.models import AuditEvent
from workflows.case import MappaCaseWorkflow
from workflows.messages import CaseWorkflowInput, Receipt
from workflows.rules import events as ev

RATIO_TARGET = 1.2  # latency, 1 client, against the direct Update
THROUGHPUT_TARGET = 0.9  # events per second at 50 clients, against the direct Update
UNAVAILABLE_TARGET_SECONDS = 1.5  # "about a second"


@dataclass(frozen=True)
class Sizes:
    single_requests: int  # per path, one client
    requests_per_client: int  # per path and round, 50 clients
    clients: int
    rounds: int


SMALL = Sizes(single_requests=60, requests_per_client=5, clients=50, rounds=2)
FULL = Sizes(single_requests=300, requests_per_client=10, clients=50, rounds=3)

EVENT = ev.RiskChangeReported(
    reporting_agency=cases.LEAD, direction="increased", summary="new intelligence of contact with a child"
)


async def closed_loop(
    clients: int, requests: int, cases: int, send: Callable[[int], Awaitable[None]]
) -> tuple[list[float], float]:
    """`clients` loops, each sending `requests` events one after another; latencies (ms) and wall seconds.

    With many clients each has its own case; a single client spreads its events over all `cases`.
    """
    latencies: list[float] = []

    async def loop(client_number: int) -> None:
        for request in range(requests):
            case = request % cases if clients == 1 else client_number
            started = time.perf_counter()
            await send(case)
            latencies.append((time.perf_counter() - started) * 1000)

    wall = time.perf_counter()
    await asyncio.gather(*(loop(n) for n in range(clients)))
    return latencies, time.perf_counter() - wall


def audited_events(engine: Engine) -> int:
    with session_factory(engine)() as session:
        counted = session.scalar(
            select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "report a change in risk")
        )
    return counted or 0


async def run(full: bool = False) -> Result:
    sizes = FULL if full else SMALL
    result = Result(
        "api-overhead",
        "API overhead: a change in risk through the API vs the same Update sent with the Temporal client",
        {
            "single_requests": sizes.single_requests,
            "clients": sizes.clients,
            "requests_per_client_per_round": sizes.requests_per_client,
            "rounds": sizes.rounds,
        },
    )
    samples: dict[tuple[int, str], list[float]] = {}
    throughput: dict[tuple[int, str], list[float]] = {}
    api_cpu: list[float] = []
    unavailable_seconds = float("nan")
    sent_through_api = 0
    async with dev_server() as (server, client):
        with ledger_database() as ledger, MailSink() as mail, tempfile.TemporaryDirectory() as spool:
            result.parameters["ledger"] = ledger.kind
            queue = task_queue("api")
            environment = worker_environment(server.address, queue, ledger.url, mail.port)
            with session_factory(ledger.engine).begin() as session:
                token = issue_token(
                    session,
                    user_name="benchmark police officer",
                    agency_id=cases.LEAD,
                    role="agency-worker",
                    area=cases.AREA,
                )
            api_environment = {**environment, "MAPPA_AUDIT_SPOOL": str(Path(spool) / "audit-spool.db")}
            worker, api = WorkerProcess(environment), ApiProcess(api_environment)
            try:
                await worker.start()
                await api.start()
                day = cases.today()
                refs = [cases.new_case_ref() for _ in range(sizes.clients)]
                handles = [
                    await client.start_workflow(
                        MappaCaseWorkflow.run,
                        CaseWorkflowInput(opening=cases.notification(ref, day)),
                        id=ref,
                        task_queue=queue,
                    )
                    for ref in refs
                ]
                body = EVENT.model_dump(mode="json")
                headers = {"Authorization": f"Bearer {token}"}
                limits = httpx.Limits(
                    max_connections=sizes.clients * 2, max_keepalive_connections=sizes.clients * 2
                )
                async with httpx.AsyncClient(
                    base_url=api.base_url, headers=headers, limits=limits, timeout=60
                ) as http:

                    async def through_api(n: int) -> None:
                        nonlocal sent_through_api
                        sent_through_api += 1
                        response = await http.post(f"/cases/{refs[n]}/risk-changes", json=body)
                        if response.status_code != 200:
                            raise RuntimeError(f"API answered {response.status_code}: {response.text}")

                    async def direct(n: int) -> None:
                        await handles[n].execute_update(
                            "report_risk_change", EVENT, id=str(uuid4()), result_type=Receipt
                        )

                    paths = {"api": through_api, "direct": direct}
                    # Warm up both paths (connections, the worker's sandbox, the API's first request).
                    for send in paths.values():
                        for n in range(len(refs)):
                            await send(n)
                    for clients_count, requests in (
                        (1, sizes.single_requests // 2),
                        (sizes.clients, sizes.requests_per_client),
                    ):
                        for _ in range(2 if clients_count == 1 else sizes.rounds):
                            for name, send in paths.items():
                                cpu = api.cpu_seconds()
                                latencies, wall = await closed_loop(clients_count, requests, len(refs), send)
                                if name == "api":
                                    api_cpu.append((api.cpu_seconds() - cpu) / len(latencies) * 1000)
                                samples.setdefault((clients_count, name), []).extend(latencies)
                                throughput.setdefault((clients_count, name), []).append(len(latencies) / wall)
                # Last: Temporal goes away under the running API; how long until it answers 503?
                await server.stop()
                async with httpx.AsyncClient(base_url=api.base_url, headers=headers, timeout=60) as http:
                    started = time.perf_counter()
                    response = await http.post(f"/cases/{refs[0]}/risk-changes", json=body)
                    unavailable_seconds = time.perf_counter() - started
                    sent_through_api += 1
                if response.status_code != 503:
                    raise RuntimeError(f"with Temporal down the API answered {response.status_code}")
            finally:
                await api.stop()  # its shutdown drains what the spool still holds
                await worker.stop()
                api.remove_log()
                worker.remove_log()
            audited = audited_events(ledger.engine)
    if audited != sent_through_api:
        raise RuntimeError(f"{sent_through_api} events sent through the API, {audited} audit rows written")
    result.notes.append(
        f"every event's audit row reached the trail: {audited} rows for {sent_through_api} events"
    )
    for clients_count in (1, sizes.clients):
        via_api, direct_update = samples[(clients_count, "api")], samples[(clients_count, "direct")]
        for p in (50, 99):
            ours, base = percentile(via_api, p), percentile(direct_update, p)
            target: str | None = None
            met: bool | None = None
            if clients_count == 1:
                target, met = f"≤ {RATIO_TARGET}×", ours / base <= RATIO_TARGET
            result.add(
                Figure(
                    f"{clients_count} client(s): p{p} latency", ours, "ms", base, "direct Update", target, met
                )
            )
        rate_api = sum(throughput[(clients_count, "api")]) / len(throughput[(clients_count, "api")])
        rate_direct = sum(throughput[(clients_count, "direct")]) / len(throughput[(clients_count, "direct")])
        target, met = None, None
        if clients_count == sizes.clients:
            target, met = f"≥ {THROUGHPUT_TARGET}×", rate_api / rate_direct >= THROUGHPUT_TARGET
        result.add(
            Figure(
                f"{clients_count} client(s): events per second",
                rate_api,
                "/s",
                rate_direct,
                "direct Update",
                target,
                met,
            )
        )
        result.notes.append(
            f"{clients_count} client(s): {len(via_api)} requests through the API, {len(direct_update)} direct"
        )
    result.add(
        Figure(
            "Temporal down: time to the 503",
            unavailable_seconds,
            "s",
            target=f"≤ {UNAVAILABLE_TARGET_SECONDS} s",
            met=unavailable_seconds <= UNAVAILABLE_TARGET_SECONDS,
        )
    )
    result.notes.append(
        f"the API process used {min(api_cpu):.1f}-{max(api_cpu):.1f} ms of CPU per event; the API, the worker "
        "and this load generator are separate processes, as deployed"
    )
    return result
