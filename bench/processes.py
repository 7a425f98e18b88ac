"""The worker and the API as separate processes, as they are deployed: `python -m worker.main` and
`uvicorn api.app:app`, configured by MAPPA_* variables, with their CPU time and memory readable from /proc."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path

import httpx

from bench.devserver import CLOCK_TICKS, LOOPBACK, PAGE_SIZE
from bench.rig import REPO_ROOT, free_port

STARTUP_TIMEOUT_SECONDS = 120.0


def proc_cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def proc_rss_bytes(pid: int) -> int:
    return int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * PAGE_SIZE


class Process:
    """A child process whose output goes to a log file; `ready_line` in the log (or `is_ready`) means up."""

    def __init__(self, name: str, command: list[str], environment: Mapping[str, str]) -> None:
        self.name = name
        self.command = command
        self.environment = dict(environment)
        self.log_file = Path(tempfile.mkstemp(prefix=f"mappa-bench-{name}-", suffix=".log")[1])
        self.process: subprocess.Popen[bytes] | None = None
        self.started_at = 0.0
        self.startup_seconds = 0.0

    async def is_ready(self) -> bool:
        raise NotImplementedError

    async def start(self) -> float:
        """Start it and wait until it is ready; returns the seconds that took."""
        self.started_at = time.perf_counter()
        with self.log_file.open("wb") as log:
            self.process = subprocess.Popen(
                self.command,
                cwd=REPO_ROOT,
                env={**os.environ, "PYTHONUNBUFFERED": "1", **self.environment},
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        deadline = self.started_at + STARTUP_TIMEOUT_SECONDS
        while time.perf_counter() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited with {self.process.returncode}: {self.log()[-3000:]}")
            if await self.is_ready():
                self.startup_seconds = time.perf_counter() - self.started_at
                return self.startup_seconds
            await asyncio.sleep(0.02)
        raise RuntimeError(
            f"{self.name} was not ready within {STARTUP_TIMEOUT_SECONDS:.0f}s: {self.log()[-3000:]}"
        )

    def log(self) -> str:
        return self.log_file.read_text(errors="replace")

    async def stop(self, *, kill: bool = False) -> None:
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        process.send_signal(signal.SIGKILL if kill else signal.SIGTERM)
        try:
            await asyncio.to_thread(process.wait, 20)
        except subprocess.TimeoutExpired:
            process.kill()
            await asyncio.to_thread(process.wait)

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def cpu_seconds(self) -> float:
        return proc_cpu_seconds(self.pid)

    def rss_bytes(self) -> int:
        return proc_rss_bytes(self.pid)

    def remove_log(self) -> None:
        self.log_file.unlink(missing_ok=True)


def worker_environment(
    temporal_address: str, task_queue: str, database_url: str, smtp_port: int
) -> dict[str, str]:
    return {
        "MAPPA_TEMPORAL_ADDRESS": temporal_address,
        "MAPPA_TEMPORAL_NAMESPACE": "default",
        "MAPPA_TASK_QUEUE": task_queue,
        "MAPPA_DATABASE_URL": database_url,
        "MAPPA_SMTP_HOST": LOOPBACK,
        "MAPPA_SMTP_PORT": str(smtp_port),
        "MAPPA_SMTP_TIMEOUT_SECONDS": "5",
        "MAPPA_METRICS_PORT": str(free_port()),
        "MAPPA_SDK_METRICS_PORT": str(free_port()),
        "MAPPA_LOG_LEVEL": "INFO",
    }


class WorkerProcess(Process):
    """The production worker, `python -m worker.main`; ready once it logs that it is polling."""

    READY = "worker polling task queue"

    def __init__(self, environment: Mapping[str, str], command: list[str] | None = None) -> None:
        super().__init__("worker", command or [sys.executable, "-m", "worker.main"], environment)

    async def is_ready(self) -> bool:
        return self.READY in self.log()

    def metrics_url(self) -> str:
        port = self.environment.get("MAPPA_SDK_METRICS_PORT", self.environment["MAPPA_METRICS_PORT"])
        return f"http://{LOOPBACK}:{port}/metrics"

    async def metrics(self) -> dict[str, float]:
        """The SDK's Prometheus metrics, summed over their labels (worker.main serves them)."""
        values: dict[str, float] = {}
        for url in {
            self.metrics_url(),
            f"http://{LOOPBACK}:{self.environment['MAPPA_METRICS_PORT']}/metrics",
        }:
            try:
                async with httpx.AsyncClient(timeout=5) as http:
                    text = (await http.get(url)).text
            except httpx.HTTPError:
                continue
            for line in text.splitlines():
                if not line or line.startswith("#"):
                    continue
                name_part, _, value = line.rpartition(" ")
                name = name_part.split("{", 1)[0]
                try:
                    values[name] = values.get(name, 0.0) + float(value)
                except ValueError:
                    continue
        return values


class ApiProcess(Process):
    """The API as docker-compose serves it, `uvicorn api.app:app`; ready once /health answers."""

    def __init__(self, environment: Mapping[str, str]) -> None:
        self.port = free_port()
        super().__init__(
            "api",
            [
                sys.executable,
                "-m",
                "uvicorn",
                "api.app:app",
                "--host",
                LOOPBACK,
                "--port",
                str(self.port),
                "--log-level",
                "warning",
            ],
            environment,
        )

    @property
    def base_url(self) -> str:
        return f"http://{LOOPBACK}:{self.port}"

    async def is_ready(self) -> bool:
        try:
            async with httpx.AsyncClient(timeout=2) as http:
                return (await http.get(f"{self.base_url}/health")).status_code == 200
        except httpx.HTTPError:
            return False
