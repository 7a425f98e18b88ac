"""The Temporal dev server as a process we own: started on 127.0.0.1, stopped, killed or restarted on the same
port and database file, with its CPU time and memory readable from /proc.

`WorkflowEnvironment.start_local` hides the server's process; benchmarks need its CPU time (the server's
work is part of every case's cost) and the fault drills need to stop and restart it.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import tempfile
from collections.abc import Mapping
from datetime import timedelta
from pathlib import Path
from typing import Any

from temporalio.api.workflowservice.v1 import DescribeNamespaceRequest
from temporalio.client import Client
from temporalio.converter import DataConverter

from core.converter import data_converter_for
from core.settings import Settings
from worker.binaries import temporal_cli_path
from worker.search_attribute_registry import cli_flags

LOOPBACK = "127.0.0.1"
STARTUP_TIMEOUT_SECONDS = 60.0
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
PAGE_SIZE = os.sysconf("SC_PAGE_SIZE")


class DevServer:
    """`temporal server start-dev` on 127.0.0.1 with every case search attribute registered."""

    def __init__(
        self,
        port: int,
        *,
        db_file: Path | None = None,
        dynamic_config: Mapping[str, Any] | None = None,
        namespace: str = "default",
        log_file: Path | None = None,
    ) -> None:
        self.port = port
        self.db_file = db_file
        self.dynamic_config = dict(dynamic_config or {})
        self.namespace = namespace
        self.log_file = log_file or Path(tempfile.mkstemp(prefix="temporal-dev-", suffix=".log")[1])
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def address(self) -> str:
        return f"{LOOPBACK}:{self.port}"

    def command(self) -> list[str]:
        command = [
            str(temporal_cli_path()),
            *("server", "start-dev", "--headless"),
            *("--ip", LOOPBACK, "--port", str(self.port)),
            *("--namespace", self.namespace),
            *cli_flags(),
            *("--log-level", "error"),
        ]
        if self.db_file is not None:
            command += ["--db-filename", str(self.db_file)]
        for key, value in self.dynamic_config.items():
            command += ["--dynamic-config-value", f"{key}={value}"]
        return command

    async def start(self) -> None:
        if self.process is not None and self.process.poll() is None:
            return
        with self.log_file.open("ab") as log:
            self.process = subprocess.Popen(
                self.command(), stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT
            )
        await self._wait_until_ready()

    async def _wait_until_ready(self) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + STARTUP_TIMEOUT_SECONDS
        last_error = "no answer"
        while loop.time() < deadline:
            assert self.process is not None
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"the dev server exited with {self.process.returncode}: {self.log_file.read_text()[-2000:]}"
                )
            try:
                client = await asyncio.wait_for(Client.connect(self.address, namespace=self.namespace), 3)
                await client.workflow_service.describe_namespace(
                    DescribeNamespaceRequest(namespace=self.namespace), timeout=timedelta(seconds=3)
                )
                return
            except Exception as error:  # not up yet
                last_error = str(error) or type(error).__name__
            await asyncio.sleep(0.2)
        raise RuntimeError(f"the dev server on {self.address} did not answer: {last_error}")

    async def stop(self, *, kill: bool = False) -> None:
        """SIGTERM (a clean shutdown) or SIGKILL, then wait for the process to go."""
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        process.send_signal(signal.SIGKILL if kill else signal.SIGTERM)
        try:
            await asyncio.to_thread(process.wait, 15)
        except subprocess.TimeoutExpired:
            process.kill()
            await asyncio.to_thread(process.wait)

    async def restart(self) -> None:
        await self.stop()
        await self.start()

    async def client(self, converter: DataConverter | None = None) -> Client:
        """A client with the project's (encrypting) converter for the configured key, unless given another."""
        return await Client.connect(
            self.address, namespace=self.namespace, data_converter=converter or data_converter_for(Settings())
        )

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def cpu_seconds(self) -> float:
        """User + system CPU time the server has used so far."""
        fields = Path(f"/proc/{self.pid}/stat").read_text().rpartition(")")[2].split()
        return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS

    def rss_bytes(self) -> int:
        return int(Path(f"/proc/{self.pid}/statm").read_text().split()[1]) * PAGE_SIZE

    async def __aenter__(self) -> DevServer:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()
        with contextlib.suppress(OSError):
            self.log_file.unlink()
