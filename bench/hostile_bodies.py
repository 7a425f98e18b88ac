"""Benchmark 8, hostile bodies: another client's latency while the API is sent (a) the largest import the
import route refuses and (b) a 300 MB body with no token, against the same client alone.

The API is `uvicorn api.app:app` in its own process with the dev server behind it (the import route needs a
Temporal client before it reads its body; no worker: a refused import starts nothing). The other client is one
closed loop of `GET /deadlines/calculate` with a valid token. Each attacker is a process of its own sending over a
raw socket, one request after another for the whole phase: the import is a dry-run CSV as large as the import
route admits (just under its body limit, far over the row limit), sent by a co-ordinator; the anonymous body
declares 300 MB and is sent 1 MB at a time until the server answers or drops the connection. The phases
(alone, import, anonymous) alternate round by round, so each sees the same server and machine load.
"""

from __future__ import annotations

import asyncio
import contextlib
import multiprocessing
import socket
import time
from dataclasses import dataclass, field
from datetime import date
from multiprocessing.synchronize import Event as EventType
from pathlib import Path

import httpx

from api.auth import issue_token
from api.request_limits import body_limit_for
from bench.devserver import LOOPBACK
from bench.import_rows import as_csv, fictional_rows
from bench.processes import ApiProcess, worker_environment
from bench.report import Figure, Result, percentile
from bench.rig import MailSink, dev_server, ledger_database, task_queue
from core.database import session_factory

P99_TARGET = 1.5  # another client's p99 under attack, against the same client alone
# The anonymous sender flat out (refused in milliseconds, it is a connection flood) and paced.
PACED_PAUSE_SECONDS = 0.1
ANONYMOUS_BYTES = 300 * 1000 * 1000
PIECE = b"[" * 1_000_000
CALCULATION = "/deadlines/calculate?area=lanarkshire&rule=initial-meeting-level-2&date=2026-12-18"


@dataclass(frozen=True)
class Sizes:
    phase_seconds: float
    rounds: int


SMALL = Sizes(phase_seconds=15, rounds=2)
FULL = Sizes(phase_seconds=45, rounds=3)


def largest_refused_import() -> bytes:
    """A CSV just under the import route's body limit: 2,000 fictional rows repeated, some 330,000 in all."""
    limit = body_limit_for("POST", "/imports")
    assert limit is not None
    text = as_csv(fictional_rows(2000, date(2026, 12, 2)))
    header, _, rows = text.partition("\n")
    body = bytearray((header + "\n").encode())
    block = rows.encode()
    while len(body) + len(block) <= limit.max_bytes:
        body += block
    for line in block.splitlines(keepends=True):
        if len(body) + len(line) > limit.max_bytes:
            break
        body += line
    return bytes(body)


def _answer(connection: socket.socket) -> bytes:
    answer = b""
    try:
        while chunk := connection.recv(65536):
            answer += chunk
    except OSError:
        pass
    return answer


@dataclass
class Attempts:
    """What one attacker sent, summed: one message for the whole phase (a queue holding one item per attempt
    would fill its pipe and keep the attacker from exiting)."""

    statuses: set[str] = field(default_factory=set)
    count: int = 0
    seconds: float = 0.0
    sent: int = 0

    def add(self, answer: bytes, seconds: float, sent: int) -> None:
        self.statuses.add(answer[:12].decode(errors="replace") or "no answer")
        self.count += 1
        self.seconds += seconds
        self.sent += sent


def send_imports(port: int, token: str, body: bytes, stop: EventType, answers: multiprocessing.Queue) -> None:  # type: ignore[type-arg]
    head = (
        f"POST /imports?area=lanarkshire HTTP/1.1\r\nHost: {LOOPBACK}\r\nAuthorization: Bearer {token}\r\n"
        f"Content-Type: text/csv\r\nContent-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    ).encode()
    attempts = Attempts()
    while not stop.is_set():
        started = time.perf_counter()
        with socket.create_connection((LOOPBACK, port), timeout=600) as connection:
            with contextlib.suppress(OSError):
                connection.sendall(head + body)
            answer = _answer(connection)
        attempts.add(answer, time.perf_counter() - started, len(body))
    answers.put(attempts)


def send_anonymous(port: int, pause: float, stop: EventType, answers: multiprocessing.Queue) -> None:  # type: ignore[type-arg]
    head = (
        f"POST /cases HTTP/1.1\r\nHost: {LOOPBACK}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {ANONYMOUS_BYTES}\r\n\r\n"
    ).encode()
    attempts = Attempts()
    while not stop.is_set():
        started = time.perf_counter()
        sent = 0
        with socket.create_connection((LOOPBACK, port), timeout=600) as connection:
            try:
                connection.sendall(head)
                while sent < ANONYMOUS_BYTES and not stop.is_set():
                    connection.sendall(PIECE)
                    sent += len(PIECE)
            except OSError:
                pass
            answer = _answer(connection)
        attempts.add(answer, time.perf_counter() - started, sent)
        stop.wait(pause)
    answers.put(attempts)


def peak_rss_bytes(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    return 0


async def victim(http: httpx.AsyncClient, seconds: float) -> list[float]:
    """One client's closed loop for `seconds`: its latencies (ms)."""
    latencies: list[float] = []
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline:
        started = time.perf_counter()
        response = await http.get(CALCULATION)
        latencies.append((time.perf_counter() - started) * 1000)
        if response.status_code != 200:
            raise RuntimeError(f"the other client got {response.status_code}: {response.text[:300]}")
    return latencies


async def run(full: bool = False) -> Result:
    sizes = FULL if full else SMALL
    body = largest_refused_import()
    result = Result(
        "hostile-bodies",
        "Another client's latency while the largest refused import, or a 300 MB anonymous body, is sent",
        {
            "phase_seconds": sizes.phase_seconds,
            "rounds": sizes.rounds,
            "import_bytes": len(body),
            "import_rows": body.count(b"\n") - 1,
            "anonymous_bytes": ANONYMOUS_BYTES,
        },
    )
    samples: dict[str, list[float]] = {"alone": [], "import": [], "anonymous": [], "anonymous-paced": []}
    attempts = {phase: Attempts() for phase in samples if phase != "alone"}
    context = multiprocessing.get_context("fork")
    async with dev_server() as (server, _):
        with ledger_database() as ledger, MailSink() as mail:
            result.parameters["ledger"] = ledger.kind
            environment = worker_environment(server.address, task_queue("hostile"), ledger.url, mail.port)
            with session_factory(ledger.engine).begin() as session:
                token = issue_token(
                    session,
                    user_name="benchmark co-ordinator",
                    agency_id="lanarkshire-justice-social-work",
                    role="co-ordinator",
                    area="lanarkshire",
                )
            api = ApiProcess(environment)
            try:
                await api.start()
                headers = {"Authorization": f"Bearer {token}"}
                async with httpx.AsyncClient(base_url=api.base_url, headers=headers, timeout=600) as http:
                    await victim(http, 2)  # warm up: connection, token cache, first request
                    for _ in range(sizes.rounds):
                        for phase in samples:
                            stop = context.Event()
                            answers = context.Queue()
                            attacker = None
                            if phase == "import":
                                attacker = context.Process(
                                    target=send_imports, args=(api.port, token, body, stop, answers)
                                )
                            elif phase.startswith("anonymous"):
                                pause = PACED_PAUSE_SECONDS if phase == "anonymous-paced" else 0.0
                                attacker = context.Process(
                                    target=send_anonymous, args=(api.port, pause, stop, answers)
                                )
                            if attacker is not None:
                                attacker.start()
                                await asyncio.sleep(0.5)  # the first attack under way
                            samples[phase] += await victim(http, sizes.phase_seconds)
                            if attacker is not None:
                                stop.set()
                                summary: Attempts = await asyncio.to_thread(answers.get, True, 600)
                                await asyncio.to_thread(attacker.join, 60)
                                total = attempts[phase]
                                total.statuses |= summary.statuses
                                total.count += summary.count
                                total.seconds += summary.seconds
                                total.sent += summary.sent
                result.parameters["api_peak_rss_mib"] = round(peak_rss_bytes(api.pid) / 2**20, 1)
            finally:
                await api.stop()
                api.remove_log()
    alone = samples["alone"]
    for phase, label in (
        ("import", "the largest refused import"),
        ("anonymous", "300 MB anonymous bodies, back to back"),
        ("anonymous-paced", f"300 MB anonymous bodies, {1 / PACED_PAUSE_SECONDS:.0f} a second"),
    ):
        for p in (50, 99):
            ours, base = percentile(samples[phase], p), percentile(alone, p)
            target, met = (f"≤ {P99_TARGET}×", ours / base <= P99_TARGET) if p == 99 else (None, None)
            result.add(
                Figure(f"p{p} while {label} is sent", ours, "ms", base, "the client alone", target, met)
            )
        tried = attempts[phase]
        mean_seconds = tried.seconds / tried.count if tried.count else float("nan")
        mean_mb = tried.sent / tried.count / 1e6 if tried.count else float("nan")
        what = f"{mean_mb:.1f} MB files" if phase == "import" else f"{mean_mb:.1f} MB got out per attempt"
        result.notes.append(
            f"{label}: {tried.count} sent ({sorted(tried.statuses)}, {what}), each answered in "
            f"{mean_seconds:.3f} s on average; the other client made {len(samples[phase])} requests "
            f"({len(alone)} alone)"
        )
    return result
