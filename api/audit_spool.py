"""The audit rows of agency events, kept on the API's own disk until they are committed to `audit_events`.

An event's "allowed" row is appended here (SQLite, WAL, `synchronous=FULL`: on disk before the call returns)
before the event is sent, and a background task (`drain_forever`) moves rows to the database in batches after
the answer, retrying until the database takes them. A crash of the API between its answer and the drain loses
nothing: the next start drains what the file holds. A crash between the database's commit and the row leaving
this file writes nothing twice: each row keeps its spool id, unique in `audit_events`.

Only events take this path: the event itself is durable in the case's history once the answer is given, and the
row says who sent it. Reads of personal data and every refusal are still committed before the answer
(`api.audit.record`): a read must never go unrecorded, not even for the moments before a drain.

One API process per spool file: the file is locked while open (`SpoolInUse` otherwise).
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import json
import logging
import sqlite3
import threading
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from uuid import uuid4

from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from store.models import AuditEvent
from store.upsert import dialect_insert

log = logging.getLogger(__name__)

BATCH = 200  # rows per database transaction
IDLE_SECONDS = 1.0  # a drain runs at least this often, and whenever a request settles
RETRY_SECONDS = (0.5, 30.0)  # back-off while the database does not take rows: first wait, longest wait


class SpoolInUse(RuntimeError):
    """Another process holds the spool file: each API process needs its own."""


@dataclass(frozen=True)
class SpooledRow:
    """One audit row as `audit_events` will hold it; `at` is when the access happened, not when it drained."""

    user_name: str
    agency_id: str | None
    role: str
    action: str
    case_ref: str | None
    outcome: str
    at: str  # ISO 8601, UTC
    target: str | None = None
    reason: str | None = None

    @staticmethod
    def now() -> str:
        return datetime.now(UTC).isoformat()


class AuditSpool:
    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self._lock_file = open(path.with_name(path.name + ".lock"), "a")  # noqa: SIM115 (held while open)
        try:
            fcntl.flock(self._lock_file, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            self._lock_file.close()
            raise SpoolInUse(f"{path} is held by another process; give each API process its own") from None
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")  # each append reaches the disk before it returns
        self._db.execute("CREATE TABLE IF NOT EXISTS spooled (spool_id TEXT PRIMARY KEY, row TEXT NOT NULL)")
        self._mutex = threading.Lock()
        self._in_flight: set[str] = set()
        self.wake = asyncio.Event()

    def append(self, row: SpooledRow) -> str:
        """Keep `row` (on disk when this returns); it is drained once `settle`d, or after a restart."""
        spool_id = uuid4().hex
        with self._mutex:
            self._db.execute(
                "INSERT INTO spooled (spool_id, row) VALUES (?, ?)", (spool_id, json.dumps(asdict(row)))
            )
            self._in_flight.add(spool_id)
        return spool_id

    def settle(self, spool_id: str) -> None:
        """The request is answered: its row may go."""
        with self._mutex:
            self._in_flight.discard(spool_id)
        self.wake.set()

    def withdraw(self, spool_id: str) -> None:
        """The access turned out not to be allowed (no such case): its row is never written."""
        with self._mutex:
            self._db.execute("DELETE FROM spooled WHERE spool_id = ?", (spool_id,))
            self._in_flight.discard(spool_id)

    def waiting(self, limit: int = BATCH) -> list[tuple[str, SpooledRow]]:
        """Rows whose requests are answered (or were cut short by a crash), oldest first."""
        with self._mutex:
            in_flight = set(self._in_flight)
            rows = self._db.execute(
                "SELECT spool_id, row FROM spooled ORDER BY rowid LIMIT ?", (limit + len(in_flight),)
            ).fetchall()
        ready = [(i, SpooledRow(**json.loads(row))) for i, row in rows if i not in in_flight]
        return ready[:limit]

    def remove(self, spool_ids: list[str]) -> None:
        with self._mutex:
            self._db.executemany("DELETE FROM spooled WHERE spool_id = ?", [(i,) for i in spool_ids])

    def count(self) -> int:
        with self._mutex:
            counted: int = self._db.execute("SELECT count(*) FROM spooled").fetchone()[0]
        return counted

    def close(self) -> None:
        with self._mutex:
            self._db.close()
        self._lock_file.close()


def drain_once(spool: AuditSpool, engine: Engine) -> int:
    """Commit one batch of waiting rows to `audit_events`, then drop them from the spool; how many.

    Raises SQLAlchemyError (the rows stay) when the database does not take them."""
    batch = spool.waiting()
    if not batch:
        return 0
    with Session(engine) as session, session.begin():
        insert = dialect_insert(session, AuditEvent)
        rows = [
            {**asdict(row), "at": datetime.fromisoformat(row.at), "spool_id": spool_id}
            for spool_id, row in batch
        ]
        session.execute(insert.on_conflict_do_nothing(index_elements=["spool_id"]), rows)
    spool.remove([spool_id for spool_id, _ in batch])
    return len(batch)


def drain_all(spool: AuditSpool, engine: Engine) -> int:
    """Drain until nothing waits; how many rows were written."""
    written = 0
    while moved := drain_once(spool, engine):
        written += moved
    return written


async def drain_forever(spool: AuditSpool, engine: Engine) -> None:
    """The API's background drain: whenever a request settles (and at least every IDLE_SECONDS), with a growing
    wait while the database is unavailable. Cancel it to stop."""
    wait = RETRY_SECONDS[0]
    while True:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(spool.wake.wait(), IDLE_SECONDS)
        spool.wake.clear()
        try:
            await asyncio.to_thread(drain_all, spool, engine)
            wait = RETRY_SECONDS[0]
        except SQLAlchemyError as error:
            log.error(
                "audit rows not yet written (%d kept on disk, retrying in %.1f s): %s",
                spool.count(),
                wait,
                error,
            )
            await asyncio.sleep(wait)
            wait = min(wait * 2, RETRY_SECONDS[1])
