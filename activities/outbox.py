"""The notification outbox: a notice is written down before it is sent, and marked once it has been.

One row per notice key, ever: a retried or replayed activity finds the row it wrote before (and its
recipients and text as they were then) instead of writing another.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from activities.notices import RenderedNotice
from store.models import Notification, OutboxStatus
from store.upsert import dialect_insert
from workflows.messages import Notice

LAST_ERROR_CHARS = 2000


def find(session: Session, key: str, *, lock: bool = False) -> Notification | None:
    """The notice's row; with `lock`, held (FOR UPDATE) until the transaction ends (PostgreSQL; SQLite
    locks the whole database on write anyway)."""
    query = select(Notification).where(Notification.key == key)
    if lock:
        query = query.with_for_update()
    return session.scalars(query).one_or_none()


def write(
    session: Session, notice: Notice, addresses: list[str], rendered: RenderedNotice, now: datetime
) -> Notification:
    """The outbox row for `notice`: inserted if its key is new, else the row already there."""
    insert = dialect_insert(session, Notification)
    session.execute(
        insert.values(
            key=notice.key,
            case_ref=notice.case_ref,
            area=notice.area,
            kind=notice.kind.value,
            recipient=notice.to,
            to_address=", ".join(addresses),
            subject=rendered.subject,
            body=rendered.body,
            deadline_id=notice.deadline_id,
            created_at=now,
            status=OutboxStatus.PENDING.value,
            attempts=0,
        ).on_conflict_do_nothing(index_elements=["key"])
    )
    row = find(session, notice.key, lock=True)
    assert row is not None
    return row


def addresses_of(row: Notification) -> list[str]:
    return [address.strip() for address in row.to_address.split(",") if address.strip()]


def record_failure(session: Session, outbox_id: int, error: BaseException) -> None:
    session.execute(
        update(Notification)
        .where(Notification.id == outbox_id)
        .values(
            attempts=Notification.attempts + 1,
            last_error=f"{type(error).__name__}: {error}"[:LAST_ERROR_CHARS],
        )
    )


def mark_sent(session: Session, outbox_id: int, now: datetime) -> None:
    # last_error is kept: it says what delayed the notice, if anything did.
    session.execute(
        update(Notification)
        .where(Notification.id == outbox_id)
        .values(status=OutboxStatus.SENT.value, sent_at=now, attempts=Notification.attempts + 1)
    )
