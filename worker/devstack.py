"""Run the whole development stack in one terminal until Ctrl-C: `make dev` (or `make demo`).

1. the Temporal dev server, persisting to data/temporal.db so cases survive restarts, with the `mappa`
   namespace, every case search attribute and the UI (http://localhost:8233) decoding payloads through the
   API's /codec endpoint;
2. the worker (`python -m worker.main`), once the server answers, and the weekly digests' Schedules
   (`python -m worker.schedules`, once: creates or updates them);
3. the API (`uvicorn api.app:app`).

Each child's output is prefixed with its name. Ctrl-C or SIGTERM stops the children, newest first, so the
worker drains before the server goes away. If any child dies the others are stopped and we exit non-zero.
(Children run in their own sessions, so if this process is SIGKILLed they outlive it: stop them by pid.)
With `--demo`, `python -m cli.main demo load` runs once when the API answers.
"""

import argparse
import asyncio
import contextlib
import os
import signal
import sys
from datetime import timedelta
from pathlib import Path

from temporalio.api.workflowservice.v1 import DescribeNamespaceRequest
from temporalio.client import Client

from core.settings import Settings, get_settings
from worker.binaries import temporal_cli_path
from worker.search_attribute_registry import cli_flags

REPO_ROOT = Path(__file__).resolve().parent.parent
DATA_DIR = REPO_ROOT / "data"
STARTUP_TIMEOUT_SECONDS = 60.0
STOP_GRACE_SECONDS = 10.0


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
        if self.process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                self.process.terminate()
            try:
                await asyncio.wait_for(self.process.wait(), STOP_GRACE_SECONDS)
            except TimeoutError:
                say("devstack", f"{self.name} ignored SIGTERM for {STOP_GRACE_SECONDS:.0f}s; killing it")
                with contextlib.suppress(ProcessLookupError):
                    self.process.kill()
                await self.process.wait()
        await self.output_copied


def say(name: str, line: str) -> None:
    sys.stdout.write(f"[{name}] {line}\n")
    sys.stdout.flush()


async def copy_output(name: str, process: asyncio.subprocess.Process) -> None:
    assert process.stdout is not None
    async for raw in process.stdout:
        say(name, raw.decode(errors="replace").rstrip())


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


async def run(demo: bool) -> int:
    settings = get_settings()
    DATA_DIR.mkdir(exist_ok=True)

    stop_requested = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop_requested.set)

    children: list[Child] = []
    stack = asyncio.create_task(start_and_supervise(settings, demo, children))
    stop = asyncio.create_task(stop_requested.wait())
    await asyncio.wait([stack, stop], return_when=asyncio.FIRST_COMPLETED)
    exit_code = 0
    if stack.done():
        stop.cancel()
        try:
            exit_code = stack.result()
        except (RuntimeError, OSError) as error:  # a start-up failure, already explained in the message
            say("devstack", str(error))
            exit_code = 1
    else:
        say("devstack", "stopping")
        stack.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await stack
    for child in reversed(children):
        await child.stop()
    say("devstack", "stopped")
    return exit_code


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Run Temporal, the worker and the API until Ctrl-C.")
    parser.add_argument("--demo", action="store_true", help="load the demo cases once the API is up")
    return asyncio.run(run(demo=parser.parse_args(argv).demo))


if __name__ == "__main__":
    sys.exit(main())
