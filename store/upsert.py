"""INSERT ... ON CONFLICT on both databases we run on, so a retried write lands once."""

from __future__ import annotations

from typing import Any

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session


def dialect_insert(session: Session, entity: Any) -> postgresql.Insert | sqlite.Insert:
    """An INSERT for `entity` that offers `on_conflict_do_update` / `on_conflict_do_nothing`.

    Both are single atomic statements guarded by a unique constraint: no read-then-write race between two
    attempts of the same activity.
    """
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        return postgresql.insert(entity)
    if dialect == "sqlite":
        return sqlite.insert(entity)
    raise NotImplementedError(f"upserts are written for PostgreSQL and SQLite, not {dialect}")
