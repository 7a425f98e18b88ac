"""Fault drills: the real dev server (a process the drill owns), the production worker as a process that can
be killed, a SQLite or PostgreSQL ledger, and a local SMTP server. They assert outcomes, never times."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from bench.devserver import DevServer
from bench.processes import WorkerProcess, worker_environment
from core.database import make_engine
from store.directory import load_directory
from store.migrate import upgrade
from store.models import LedgerDeadline, LedgerEscalation, Notification
from tests.drills import short_deadlines
from tests.helpers import free_port, unique_task_queue

DIRECTORY = Path(__file__).resolve().parents[2] / "store" / "seed" / "directory.json"


@dataclass
class Ledger:
    url: str
    engine: Engine

    def notices(self, kind: str | None = None) -> list[Notification]:
        with Session(self.engine) as session:
            query = select(Notification)
            if kind is not None:
                query = query.where(Notification.kind == kind)
            return list(session.scalars(query).all())

    def deadlines(self, deadline_id: str | None = None) -> list[LedgerDeadline]:
        with Session(self.engine) as session:
            query = select(LedgerDeadline)
            if deadline_id is not None:
                query = query.where(LedgerDeadline.deadline_id == deadline_id)
            return list(session.scalars(query).all())

    def escalations(self) -> list[LedgerEscalation]:
        with Session(self.engine) as session:
            return list(session.scalars(select(LedgerEscalation)).all())


def migrated(url: str) -> Ledger:
    engine = make_engine(url)
    upgrade(engine)
    load_directory(engine, DIRECTORY)
    short_deadlines.add_co_ordinators(engine)
    return Ledger(url, engine)


@pytest.fixture
def sqlite_ledger(tmp_path: Path) -> Iterator[Ledger]:
    ledger = migrated(f"sqlite:///{tmp_path / 'mappa.db'}")
    try:
        yield ledger
    finally:
        ledger.engine.dispose()


@pytest.fixture
async def dev_server(tmp_path: Path) -> AsyncIterator[DevServer]:
    """A dev server of the drill's own, persisting to a SQLite file in tmp_path, on a fixed free port."""
    server = DevServer(free_port(), db_file=tmp_path / "temporal.db", log_file=tmp_path / "temporal.log")
    async with server:
        yield server


def short_deadline_worker(server: DevServer, ledger: Ledger, smtp_port: int, seconds: float) -> WorkerProcess:
    """The production worker (`worker.main`) in its own process, with the drill areas registered."""
    environment = worker_environment(server.address, unique_task_queue(), ledger.url, smtp_port)
    environment[short_deadlines.SECONDS_VARIABLE] = str(seconds)
    return WorkerProcess(environment, command=[sys.executable, "-m", "tests.drills.short_deadlines"])


async def eventually(check: Callable[[], bool], timeout: float, what: str) -> None:
    """Wait until `check()` holds; fail saying `what` did not happen."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not check():
        if loop.time() > deadline:
            raise AssertionError(f"not within {timeout:.0f}s: {what}")
        await asyncio.sleep(0.2)


class TcpProxy:
    """A TCP relay on 127.0.0.1 to a database server: `cut()` refuses new connections and resets open ones
    (the database gone, mid-transaction if one is running); `restore()` accepts again on the same port."""

    def __init__(self, target_host: str, target_port: int) -> None:
        self.target = (target_host, target_port)
        self.port = free_port()
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()

    async def restore(self) -> None:
        self._server = await asyncio.start_server(self._relay, "127.0.0.1", self.port, reuse_address=True)

    async def cut(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None
        for writer in list(self._writers):
            writer.transport.abort()
        self._writers.clear()

    async def _relay(self, client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter) -> None:
        try:
            server_reader, server_writer = await asyncio.open_connection(*self.target)
        except OSError:
            client_writer.transport.abort()
            return
        self._writers |= {client_writer, server_writer}

        async def pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            try:
                while data := await reader.read(65536):
                    writer.write(data)
                    await writer.drain()
            except (ConnectionError, OSError):
                pass
            finally:
                writer.transport.abort()
                self._writers.discard(writer)

        await asyncio.gather(pipe(client_reader, server_writer), pipe(server_reader, client_writer))
