"""Run the whole development stack in one terminal until Ctrl-C: `make dev` (or `make demo`).

1. the Temporal dev server, persisting to data/temporal.db so cases survive restarts, with the `mappa`
   namespace, every case search attribute and the UI (http://localhost:8233) decoding payloads through the
   API's /codec endpoint;
2. the worker (`python -m worker.main`), once the server answers, and the weekly digests' Schedules
   (`python -m worker.schedules`, once: creates or updates them);
3. the API (`uvicorn api.app:app`).

Each child's output is prefixed with its name, line by line; a line longer than `MAX_LINE_BYTES` (a hostile
request line in the API's access log) is cut, never fatal, so a child is never left blocked on a full pipe.
Ctrl-C or SIGTERM stops the children, newest first, so the worker drains before the server goes away. If any
child dies the others are stopped and we exit non-zero; an unexpected error here stops them too. (Children run
in their own sessions, so if this process is SIGKILLed they outlive it: stop them by pid.)
With `--demo`, `python -m cli.main demo load` runs once when the API answers.
"""

import argparse
import asyncio
import contextlib
import os
import signal
import sys
from collections.abc import Callable, Coroutine
from datetime import timedelta
from pathlib import Path
from typing import Any

from temporalio.api.workflowservice.v1 import DescribeNamespaceRequest
from temporalio.client import Client

from core.settings import Settings, get_settings
from worker.binaries import temporal_cli_path
from worker.search_attribute_registry import cli_flags

REPO_ROOT = Path(__file__).resolve().parent.parent
DATA_DIR = REPO_ROOT / "data"
STARTUP_TIMEOUT_SECONDS = 60.0
STOP_GRACE_SECONDS = 10.0
MAX_LINE_BYTES = 8 * 1024
READ_BYTES = 64 * 1024
# Uvicorn's HTTP parser refuses a request line and headers longer than this when they arrive in pieces; the
# API's guard (api/request_limits.py, MAX_HEADER_BYTES) refuses them when they arrive whole.
H11_MAX_INCOMPLETE_EVENT_SIZE = 16 * 1024


class Child:
    """One long-running process whose output is copied to ours, line by line, behind a name tag."""

    def __init__(self, name: str, process: asyncio.subprocess.Process) -> None:
        self.name = name
        self.process = process
        self.output_copied = asyncio.create_task(copy_output(name, process))

    @classmethod
    async def start(cls, name: str, *command: str | Path) -> "Child":
        process = await asyncio.create_subprocess_exec(
            *command,
            cwd=REPO_ROOT,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
            # Own process group: a terminal Ctrl-C reaches only us, and we stop children in order.
            start_new_session=True,
        )
        say("devstack", f"started {name} (pid {process.pid})")
        return cls(name, process)

    async def stop(self) -> None:
        """SIGTERM to the child's process group, SIGKILL after `STOP_GRACE_SECONDS`; never raises for a child
        that is already gone or whose output copying failed."""
        grace_seconds = STOP_GRACE_SECONDS
        if self.process.returncode is None:
            self._signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(self.process.wait(), grace_seconds)
            except TimeoutError:
                say("devstack", f"{self.name} ignored SIGTERM for {grace_seconds:.0f}s; killing it")
                self._signal(signal.SIGKILL)
                await self.process.wait()
        # Anything the group left behind (a child of the child) goes with it.
        self._signal(signal.SIGKILL)
        try:
            await asyncio.wait_for(self.output_copied, 5)
        except Exception as error:  # the output is only a copy: stopping goes on
            say("devstack", f"{self.name}'s output: {type(error).__name__}: {error}")

    def _signal(self, signum: signal.Signals) -> None:
        # Own session, so the group id is the child's pid.
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.process.pid, signum)


def say(name: str, line: str) -> None:
    sys.stdout.write(f"[{name}] {line}\n")
    sys.stdout.flush()


class LineCutter:
    """Splits output read in pieces into lines of at most `limit` bytes: the rest of a longer line is dropped
    and counted, and whatever the pieces, memory held is at most one line."""

    def __init__(self, limit: int = MAX_LINE_BYTES) -> None:
        self.limit = limit
        self._line = bytearray()
        self._dropped = 0

    def feed(self, piece: bytes) -> list[str]:
        lines: list[str] = []
        *complete, rest = piece.split(b"\n")
        for part in complete:
            self._keep(part)
            lines.append(self._take())
        self._keep(rest)
        return lines

    def end(self) -> list[str]:
        """The last line, if the output did not end with a newline."""
        return [self._take()] if self._line or self._dropped else []

    def _keep(self, part: bytes) -> None:
        room = self.limit - len(self._line)
        self._line += part[:room]
        self._dropped += max(0, len(part) - room)

    def _take(self) -> str:
        text = self._line.decode(errors="replace").rstrip()
        if self._dropped:
            text += f" [... {self._dropped} more bytes cut]"
        self._line, self._dropped = bytearray(), 0
        return text


async def copy_output(name: str, process: asyncio.subprocess.Process) -> None:
    assert process.stdout is not None
    lines = LineCutter()
    while piece := await process.stdout.read(READ_BYTES):
        for line in lines.feed(piece):
            say(name, line)
    for line in lines.end():
        say(name, line)


def uvicorn_limits() -> list[str]:
    """The pure-Python HTTP parser, which refuses a request line or headers arriving in pieces beyond the
    limit (431); the API's own guard refuses one that arrives whole (414 / 431)."""
    return ["--http", "h11", "--h11-max-incomplete-event-size", str(H11_MAX_INCOMPLETE_EVENT_SIZE)]


def temporal_command(settings: Settings) -> list[str | Path]:
    port = settings.temporal_address.rsplit(":", 1)[1]
    return [
        temporal_cli_path(),
        *("server", "start-dev"),
        *("--db-filename", DATA_DIR / "temporal.db"),
        *("--ip", "127.0.0.1"),
        *("--port", port),
        *("--ui-port", str(settings.ui_port)),
        *("--namespace", settings.temporal_namespace),
        *cli_flags(),
        *("--ui-codec-endpoint", f"http://localhost:{settings.api_port}/codec"),
        # No network here: the UI's newsfeed would only fail.
        "--ui-disable-news-fetch",
        *("--log-level", "warn"),
    ]


async def wait_for_temporal(settings: Settings, server: Child) -> None:
    """Poll until the frontend answers and our namespace exists (the worker needs both)."""
    deadline = asyncio.get_running_loop().time() + STARTUP_TIMEOUT_SECONDS
    last_error = "no answer yet"
    while asyncio.get_running_loop().time() < deadline:
        if server.process.returncode is not None:
            raise RuntimeError(f"the Temporal dev server exited with code {server.process.returncode}")
        try:
            client = await asyncio.wait_for(
                Client.connect(settings.temporal_address, namespace=settings.temporal_namespace), 5
            )
            await client.workflow_service.describe_namespace(
                DescribeNamespaceRequest(namespace=settings.temporal_namespace), timeout=timedelta(seconds=5)
            )
            return
        except Exception as error:  # any failure here just means "not ready yet"
            last_error = str(error) or type(error).__name__
        await asyncio.sleep(0.5)
    raise RuntimeError(
        f"the Temporal dev server did not answer on {settings.temporal_address} within "
        f"{STARTUP_TIMEOUT_SECONDS:.0f}s ({last_error}); is another server holding the port?"
    )


async def wait_for_port(host: str, port: int, child: Child) -> None:
    deadline = asyncio.get_running_loop().time() + STARTUP_TIMEOUT_SECONDS
    while asyncio.get_running_loop().time() < deadline and child.process.returncode is None:
        try:
            _, writer = await asyncio.open_connection(host, port)
        except OSError:
            await asyncio.sleep(0.3)
            continue
        writer.close()
        await writer.wait_closed()
        return
    raise RuntimeError(f"{child.name} did not listen on {host}:{port} within {STARTUP_TIMEOUT_SECONDS:.0f}s")


async def load_demo_cases(settings: Settings, api: Child | None) -> None:
    if not (REPO_ROOT / "cli" / "main.py").exists():
        say("devstack", "cli/main.py does not exist yet: no demo cases loaded")
        return
    if api is not None:
        try:
            await wait_for_port(settings.api_host, settings.api_port, api)
        except RuntimeError as error:
            say("devstack", f"no demo cases loaded: {error}")
            return
    demo = await Child.start("demo", sys.executable, "-m", "cli.main", "demo", "load")
    try:
        code = await demo.process.wait()
    finally:
        await demo.stop()
    say("devstack", "demo cases loaded" if code == 0 else f"demo load failed with exit code {code}")


async def create_schedules() -> None:
    """The weekly digests' Schedules (one per area), created or brought up to date; a failure is reported, and
    the rest of the stack runs on."""
    schedules = await Child.start("schedules", sys.executable, "-m", "worker.schedules")
    try:
        code = await schedules.process.wait()
    finally:
        await schedules.stop()
    say(
        "devstack",
        "weekly digest schedules ready" if code == 0 else f"schedules failed with exit code {code}",
    )


async def start_and_supervise(settings: Settings, demo: bool, children: list[Child]) -> int:
    """Start the stack into `children`, then wait; returns 1 when a child dies (runs until cancelled)."""
    server = await Child.start("temporal", *temporal_command(settings))
    children.append(server)
    await wait_for_temporal(settings, server)
    say(
        "devstack",
        f"Temporal is up on {settings.temporal_address}; UI on http://localhost:{settings.ui_port}",
    )

    if settings.smtp_host in ("127.0.0.1", "localhost"):
        # No relay is configured for development: keep what the cases send in data/mailbox/.
        children.append(
            await Child.start(
                "mail",
                *(sys.executable, "-m", "worker.dev_mailbox"),
                *("--host", settings.smtp_host, "--port", str(settings.smtp_port)),
            )
        )

    if (REPO_ROOT / "worker" / "main.py").exists():
        children.append(await Child.start("worker", sys.executable, "-m", "worker.main"))
        await create_schedules()
    else:
        say("devstack", "worker/main.py does not exist yet: not starting the worker")

    api: Child | None = None
    if (REPO_ROOT / "api" / "app.py").exists():
        api = await Child.start(
            "api",
            *(sys.executable, "-m", "uvicorn", "api.app:app"),
            *("--host", settings.api_host, "--port", str(settings.api_port)),
            *uvicorn_limits(),
        )
        children.append(api)
        say(
            "devstack",
            f"decrypted history in the UI: a co-ordinator signs in at http://localhost:{settings.api_port}"
            "/codec/login (README, Confidentiality)",
        )
    else:
        say("devstack", "api/app.py does not exist yet: not starting the API")

    demo_task = asyncio.create_task(load_demo_cases(settings, api)) if demo else None
    say("devstack", "running; Ctrl-C stops everything")
    try:
        exits = {asyncio.create_task(child.process.wait()): child for child in children}
        done, _ = await asyncio.wait(exits, return_when=asyncio.FIRST_COMPLETED)
        for finished in done:
            child = exits[finished]
            say("devstack", f"{child.name} exited with code {child.process.returncode}; stopping the rest")
        return 1
    finally:
        if demo_task is not None:
            demo_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await demo_task


Stack = Callable[[list[Child]], Coroutine[Any, Any, int]]


async def run(stack: Stack) -> int:
    """Run `stack` (which starts children into the list it is given and returns an exit code when one dies)
    until it returns, fails, or SIGINT / SIGTERM arrives; then stop every child it started, whatever happened."""
    stop_requested = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop_requested.set)

    children: list[Child] = []
    exit_code = 1
    stop = asyncio.create_task(stop_requested.wait())
    try:
        running = asyncio.create_task(stack(children))
        await asyncio.wait([running, stop], return_when=asyncio.FIRST_COMPLETED)
        if running.done():
            try:
                exit_code = running.result()
            except (RuntimeError, OSError) as error:  # a start-up failure, already explained in the message
                say("devstack", str(error))
        else:
            say("devstack", "stopping")
            exit_code = 0
            running.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await running
    finally:
        # Reached on any exit, an unexpected error included: no child outlives the stack.
        stop.cancel()
        for child in reversed(children):
            await child.stop()
        say("devstack", "stopped")
    return exit_code


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Run Temporal, the worker and the API until Ctrl-C.")
    parser.add_argument("--demo", action="store_true", help="load the demo cases once the API is up")
    demo = parser.parse_args(argv).demo
    settings = get_settings()
    DATA_DIR.mkdir(exist_ok=True)
    return asyncio.run(run(lambda children: start_and_supervise(settings, demo, children)))


if __name__ == "__main__":
    sys.exit(main())
