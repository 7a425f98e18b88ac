"""INSERT ... ON CONFLICT on both databases we run on, so a retried write lands once."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session
from sqlalchemy.sql import Executable


def dialect_insert(session: Session, entity: Any) -> postgresql.Insert | sqlite.Insert:
    """An INSERT for `entity` that offers `on_conflict_do_update` / `on_conflict_do_nothing`.

    Both are single atomic statements guarded by a unique constraint: no read-then-write race between two
    attempts of the same activity.
    """
    return insert_for(session.get_bind().dialect.name, entity)


def insert_for(dialect: str, target: Any) -> postgresql.Insert | sqlite.Insert:
    if dialect == "postgresql":
        return postgresql.insert(target)
    if dialect == "sqlite":
        return sqlite.insert(target)
    raise NotImplementedError(f"upserts are written for PostgreSQL and SQLite, not {dialect}")


def upsert_rows(
    session: Session, entity: Any, key: Sequence[str], rows: list[dict[str, Any]], *, update: bool = True
) -> int:
    """INSERT every row, ON CONFLICT (`key`) DO UPDATE the other columns given (the latest write wins), or with
    `update=False` DO NOTHING (the first write is kept). One statement for all the rows, on the session's
    connection and transaction.

    The statement is built once per table, key and column set and reused: building it (the conflict clause's
    EXCLUDED alias above all) and the ORM's bulk-insert path cost the ledger write four times the database
    work itself (issue 19, profiled in the cold burst).

    Returns how many rows were inserted or updated when one row is given (with `update=False`: 1 if it was new,
    0 if it was there); for several rows, what the driver reports, which may be -1."""
    if not rows:
        return 0
    dialect = session.get_bind().dialect.name
    statement = _upsert_statement(dialect, entity.__table__, tuple(key), tuple(rows[0]), update)
    result = session.connection().execute(statement, rows)
    return int(getattr(result, "rowcount", -1))


@functools.cache
def _upsert_statement(
    dialect: str, table: Table, key: tuple[str, ...], columns: tuple[str, ...], update: bool
) -> Executable:
    insert = insert_for(dialect, table)
    if not update:
        return insert.on_conflict_do_nothing(index_elements=list(key))
    changed = {column: insert.excluded[column] for column in columns if column not in key}
    return insert.on_conflict_do_update(index_elements=list(key), set_=changed)
