"""The notification outbox: a notice is written down before it is sent, and marked once it has been.

One row per notice key, ever: a retried or replayed activity finds the row it wrote before (and its
recipients and text as they were then) instead of writing another.

Core statements on the table, not the ORM: a notice's activity makes four of them, and the ORM's unit of work
and bulk paths cost more CPU than the database work itself (issue 19, profiled over a lifecycle).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Select, Table, Update, bindparam, select, update
from sqlalchemy.orm import Session
from sqlalchemy.sql import Executable

from activities.notices import RenderedNotice
from store.models import Notification, OutboxStatus
from store.upsert import insert_for
from workflows.messages import Notice

LAST_ERROR_CHARS = 2000
OUTBOX = cast(Table, Notification.__table__)
# What sending a notice reads of its row.
READ = (OUTBOX.c.id, OUTBOX.c.status, OUTBOX.c.subject, OUTBOX.c.body, OUTBOX.c.to_address)


@dataclass(frozen=True)
class OutboxRow:
    id: int
    status: str
    subject: str
    body: str
    to_address: str


def find(session: Session, key: str, *, lock: bool = False) -> OutboxRow | None:
    """The notice's row; with `lock`, held (FOR UPDATE) until the transaction ends (PostgreSQL; SQLite
    locks the whole database on write anyway)."""
    row = session.connection().execute(_find_statement(lock), {"key": key}).one_or_none()
    return OutboxRow(*row) if row is not None else None


def write(session: Session, values: dict[str, Any]) -> OutboxRow:
    """The outbox row for `values["key"]`: inserted if the key is new (one statement, returning the row), else
    the row already there, locked as `find(lock=True)` locks it."""
    row = (
        session.connection().execute(_write_statement(session.get_bind().dialect.name), values).one_or_none()
    )
    if row is not None:
        return OutboxRow(*row)
    # Another attempt at the same notice wrote it between our look and our insert: theirs stands.
    found = find(session, values["key"], lock=True)
    assert found is not None
    return found


def write_notice(
    session: Session, notice: Notice, addresses: list[str], rendered: RenderedNotice, now: datetime
) -> OutboxRow:
    return write(
        session,
        {
            "key": notice.key,
            "case_ref": notice.case_ref,
            "area": notice.area,
            "kind": notice.kind.value,
            "recipient": notice.to,
            "to_address": ", ".join(addresses),
            "subject": rendered.subject,
            "body": rendered.body,
            "deadline_id": notice.deadline_id,
            "created_at": now,
            "status": OutboxStatus.PENDING.value,
            "attempts": 0,
        },
    )


def addresses_of(row: OutboxRow) -> list[str]:
    return [address.strip() for address in row.to_address.split(",") if address.strip()]


def record_failure(session: Session, outbox_id: int, error: BaseException) -> None:
    session.connection().execute(
        _failure_statement(),
        {"outbox_id": outbox_id, "last_error": f"{type(error).__name__}: {error}"[:LAST_ERROR_CHARS]},
    )


def mark_sent(session: Session, outbox_id: int, now: datetime) -> None:
    # last_error is kept: it says what delayed the notice, if anything did.
    session.connection().execute(_sent_statement(), {"outbox_id": outbox_id, "sent_at": now})


# The statements, built once (bound parameters carry the values).


@functools.cache
def _find_statement(lock: bool) -> Select[Any]:
    query = select(*READ).where(OUTBOX.c.key == bindparam("key"))
    return query.with_for_update() if lock else query


@functools.cache
def _write_statement(dialect: str) -> Executable:
    return insert_for(dialect, OUTBOX).on_conflict_do_nothing(index_elements=["key"]).returning(*READ)


@functools.cache
def _sent_statement() -> Update:
    return (
        update(OUTBOX)
        .where(OUTBOX.c.id == bindparam("outbox_id"))
        .values(status=OutboxStatus.SENT.value, sent_at=bindparam("sent_at"), attempts=OUTBOX.c.attempts + 1)
    )


@functools.cache
def _failure_statement() -> Update:
    return (
        update(OUTBOX)
        .where(OUTBOX.c.id == bindparam("outbox_id"))
        .values(attempts=OUTBOX.c.attempts + 1, last_error=bindparam("last_error"))
    )
