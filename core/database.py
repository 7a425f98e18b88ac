"""Engines and sessions. Tables are made by the Alembic migrations (`store.migrate.upgrade`), never here."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.orm import Session, sessionmaker

# A writer waits this long for SQLite's single write lock before giving up ("database is locked").
SQLITE_BUSY_TIMEOUT_MS = 15_000


def normalise_url(url: str | URL) -> URL:
    """`postgresql://` and `postgres://` (what hosting platforms hand out) mean psycopg 3 here."""
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed


def make_engine(url: str | URL) -> Engine:
    parsed = normalise_url(url)
    if parsed.get_backend_name() != "sqlite":
        # pre_ping: a worker lives for weeks; connections dropped by a PostgreSQL restart are replaced.
        # max_overflow: a notice holds its connection while the mail relay takes it (one transaction per
        # notice), so the worker's 16 activity threads may each hold one, with the API's requests beside.
        return create_engine(parsed, pool_pre_ping=True, max_overflow=20)

    if parsed.database and parsed.database != ":memory:":
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(parsed)
    event.listen(engine, "connect", _configure_sqlite_connection)
    return engine


def _configure_sqlite_connection(dbapi_connection: Any, _record: Any) -> None:
    # WAL lets the API read while the worker writes; busy_timeout makes a second writer wait instead of
    # failing at once; SQLite enforces foreign keys only when asked, per connection.
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA foreign_keys=ON")
    finally:
        cursor.close()


def session_factory(engine: Engine) -> sessionmaker[Session]:
    # expire_on_commit=False: rows read in a transaction stay usable after it commits (e.g. an outbox row
    # that is then delivered outside any transaction).
    return sessionmaker(engine, expire_on_commit=False)
