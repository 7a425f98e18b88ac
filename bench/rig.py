"""The parts every benchmark runs on: the real Temporal dev server on 127.0.0.1, a ledger database, a mail
sink and an in-process worker built by `worker.assembly`, exactly as the worker process builds it."""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from uuid import uuid4

import psycopg
from sqlalchemy import Engine
from sqlalchemy.engine import make_url
from temporalio.client import Client
from temporalio.worker import Worker
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner

from bench.devserver import LOOPBACK, DevServer
from core.codec import keys_document
from core.database import make_engine
from core.settings import Settings
from store.directory import load_directory
from store.migrate import upgrade
from worker.assembly import ACTIVITY_THREADS, build_activities, build_worker, sandbox_runner

REPO_ROOT = Path(__file__).resolve().parent.parent
SEED_DIRECTORY = REPO_ROOT / "store" / "seed" / "directory.json"
POSTGRES_URLS = (
    "postgresql+psycopg://postgres@127.0.0.1:5432/test",
    "postgresql+psycopg://root@127.0.0.1:5432/test",
)
# The server's default for limit.historyCount.suggestContinueAsNew, set explicitly so the figures do not
# move if the dev server's default does; production's dynamic config (deploy/temporal) uses the same value.
SUGGEST_CONTINUE_AS_NEW = 4096


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((LOOPBACK, 0))
        port: int = probe.getsockname()[1]
        return port


@contextlib.asynccontextmanager
async def dev_server(
    suggest_continue_as_new: int = SUGGEST_CONTINUE_AS_NEW,
) -> AsyncIterator[tuple[DevServer, Client]]:
    """A fresh dev server (in-memory) on 127.0.0.1 and a client of it with the project's converter."""
    server = DevServer(
        free_port(), dynamic_config={"limit.historyCount.suggestContinueAsNew": suggest_continue_as_new}
    )
    async with server:
        yield server, await server.client()


def postgres_server_url() -> str | None:
    """The local PostgreSQL `test` database, or None when none answers."""
    for url in POSTGRES_URLS:
        try:
            with psycopg.connect(url.replace("+psycopg", "", 1), connect_timeout=3):
                return url
        except psycopg.Error:
            continue
    return None


@contextlib.contextmanager
def postgres_schema(server_url: str, prefix: str = "bench") -> Iterator[str]:
    """A URL whose connections see only a fresh schema of the `test` database; dropped afterwards."""
    schema = f"{prefix}_{uuid4().hex[:10]}"
    libpq = server_url.replace("+psycopg", "", 1)
    with psycopg.connect(libpq, autocommit=True) as connection:
        connection.execute(f'CREATE SCHEMA "{schema}"')
    try:
        url = make_url(server_url).update_query_dict({"options": f"-csearch_path={schema}"})
        yield url.render_as_string(hide_password=False)
    finally:
        with psycopg.connect(libpq, autocommit=True) as connection:
            connection.execute(f'DROP SCHEMA "{schema}" CASCADE')


@dataclass
class Ledger:
    url: str
    engine: Engine
    kind: str  # "postgresql" or "sqlite"


@contextlib.contextmanager
def ledger_database(prefer: str = "postgresql") -> Iterator[Ledger]:
    """A migrated ledger with the seed directory: PostgreSQL (as in production) when one answers, else SQLite."""
    server = postgres_server_url() if prefer == "postgresql" else None
    with contextlib.ExitStack() as stack:
        if server is not None:
            url, kind = stack.enter_context(postgres_schema(server)), "postgresql"
        else:
            directory = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="mappa-bench-")))
            url, kind = f"sqlite:///{directory / 'mappa.db'}", "sqlite"
        engine = make_engine(url)
        try:
            upgrade(engine)
            load_directory(engine, SEED_DIRECTORY)
            yield Ledger(url, engine, kind)
        finally:
            engine.dispose()


class MailSink:
    """A real SMTP server on 127.0.0.1 that accepts and discards every message, in its own process: it stands
    for the mail relay, so its CPU time is not counted as the case's."""

    def __init__(self) -> None:
        self.port = free_port()
        self._process: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> MailSink:
        self._process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "aiosmtpd",
                "-n",
                "-c",
                "aiosmtpd.handlers.Sink",
                "-l",
                f"{LOOPBACK}:{self.port}",
            ],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError), socket.create_connection((LOOPBACK, self.port), timeout=1):
                return self
            time.sleep(0.1)
        raise RuntimeError(f"the mail sink did not listen on {LOOPBACK}:{self.port}")

    def __exit__(self, *exc_info: Any) -> None:
        if self._process is not None:
            self._process.terminate()
            self._process.wait(10)


def settings_for(client: Client, ledger: Ledger, mail: MailSink, task_queue: str) -> Settings:
    return Settings(
        temporal_namespace=client.namespace,
        task_queue=task_queue,
        database_url=ledger.url,
        smtp_host=LOOPBACK,
        smtp_port=mail.port,
        smtp_timeout_seconds=5,
    )


@contextlib.asynccontextmanager
async def case_worker(client: Client, settings: Settings, ledger: Ledger) -> AsyncIterator[Worker]:
    """The production worker (`build_worker`) with its real activities, polling `settings.task_queue`."""
    executor = ThreadPoolExecutor(ACTIVITY_THREADS, "bench-activity")
    worker = build_worker(
        client, settings, build_activities(settings, ledger.engine), activity_executor=executor
    )
    try:
        async with worker:
            yield worker
    finally:
        executor.shutdown(wait=False)


def baseline_worker_options() -> dict[str, Any]:
    """What a baseline workflow's worker shares with the production worker (`build_worker`), so that a ratio
    compares the workflows and not their workers: the sandbox, with the baseline's own module passed through as
    ours is, and as many workflow tasks at once (`MAPPA_WORKFLOW_TASK_SLOTS`)."""
    runner: SandboxedWorkflowRunner = sandbox_runner(also=("bench.baseline",))
    return {"workflow_runner": runner, "max_concurrent_workflow_tasks": Settings().workflow_task_slots}


def task_queue(name: str) -> str:
    return f"bench-{name}-{uuid4().hex[:8]}"


class Stopwatch:
    def __init__(self) -> None:
        self.started = time.perf_counter()

    @property
    def seconds(self) -> float:
        return time.perf_counter() - self.started


async def bounded_gather(limit: int, *coroutines: Any) -> list[Any]:
    """Run the coroutines with at most `limit` at a time, in order of submission."""
    semaphore = asyncio.Semaphore(limit)

    async def one(coroutine: Any) -> Any:
        async with semaphore:
            return await coroutine

    return await asyncio.gather(*(one(c) for c in coroutines))


def use_temporary_codec_key() -> Path | None:
    """Payloads are encrypted as in production. Unless a key is configured (MAPPA_CODEC_KEY_FILE or
    MAPPA_CODEC_KEYS), make a throwaway one for this run, so the benchmark needs no development key."""
    if os.environ.get("MAPPA_CODEC_KEY_FILE") or os.environ.get("MAPPA_CODEC_KEYS"):
        return None
    key_file = Path(tempfile.mkdtemp(prefix="mappa-bench-key-")) / "codec.key"
    key_file.write_text(keys_document({"bench-1": secrets.token_bytes(32)}, "bench-1"))
    key_file.chmod(0o600)
    os.environ["MAPPA_CODEC_KEY_FILE"] = str(key_file)
    return key_file
