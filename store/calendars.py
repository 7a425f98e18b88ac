"""Agency calendar feeds: their secrets, and the open deadlines each feed shows.

A calendar client (Outlook, Google, Apple) subscribes to a URL and fetches it on its own, without our bearer
token; so a feed's URL carries its own secret. The secret is made here, shown once, and only its sha256 is
kept. It names one agency in one area and opens that feed only: it is not an API token, and no other route
accepts it. Every fetch is written to the audit trail, refused ones included.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from store.models import Agency, AuditEvent, AuditOutcome, CalendarFeed, LedgerDeadline
from workflows.rules.deadlines import DeadlineState
from workflows.rules.policy import AREAS

# Distinct from API tokens (`mappa_...`), so a secret pasted in the wrong place is recognisable.
SECRET_PREFIX = "mappacal_"
FEED_ROLE = "calendar-feed"  # the audit trail's `role` for a fetch: no user is behind it
FETCH = "fetch the agency calendar feed"
REFUSALS_COUNTED = "refused calendar feed fetches, counted together"
# A feed is an agency's working list, not an archive: the deadlines it still owes.
OWED = (DeadlineState.OPEN.value, DeadlineState.BREACHED.value)
FEED_LIMIT = 2000


class CalendarFeedError(ValueError):
    """A feed cannot be issued or revoked as asked; the message says why, for the CLI."""


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def issue_feed(session: Session, *, agency_id: str, area: str, issued_by: str) -> tuple[CalendarFeed, str]:
    """A new feed for `agency_id`'s deadlines in `area`, and its secret: the only time it is ever shown."""
    if area not in AREAS:
        raise CalendarFeedError(f"unknown area {area!r}; areas: {', '.join(AREAS)}")
    agency = session.get(Agency, agency_id)
    if agency is None:
        raise CalendarFeedError(f"agency {agency_id!r} is not in the MAPPA directory (mappa directory load)")
    if agency.area not in (None, area):
        raise CalendarFeedError(f"agency {agency_id!r} works in {agency.area}, not {area}")
    secret = SECRET_PREFIX + secrets.token_urlsafe(32)
    feed = CalendarFeed(secret_hash=hash_secret(secret), agency_id=agency_id, area=area, issued_by=issued_by)
    session.add(feed)
    session.flush()
    return feed, secret


def revoke_feeds(
    session: Session, *, feed_id: int | None = None, agency_id: str | None = None, area: str | None = None
) -> int:
    """Revoke one feed by id, or every live feed of an agency (in one area, if given); how many were."""
    if (feed_id is None) == (agency_id is None):
        raise CalendarFeedError("revoke by feed id or by agency")
    statement = update(CalendarFeed).where(CalendarFeed.revoked_at.is_(None))
    if feed_id is not None:
        statement = statement.where(CalendarFeed.id == feed_id)
    else:
        statement = statement.where(CalendarFeed.agency_id == agency_id)
        if area is not None:
            statement = statement.where(CalendarFeed.area == area)
    result = session.execute(statement.values(revoked_at=datetime.now(UTC)))
    return int(getattr(result, "rowcount", 0) or 0)


def feed_for_secret(session: Session, secret: str) -> CalendarFeed | None:
    """The feed a secret opens (revoked or not: the caller refuses a revoked one), or None."""
    return session.scalars(
        select(CalendarFeed).where(CalendarFeed.secret_hash == hash_secret(secret))
    ).one_or_none()


def record_fetch(
    session: Session, feed: CalendarFeed | None, outcome: AuditOutcome, reason: str | None = None
) -> None:
    """One audit row for one fetch, added to the session (the caller commits before it answers)."""
    session.add(
        AuditEvent(
            user_name=f"calendar feed {feed.id}" if feed else "unknown calendar feed",
            agency_id=feed.agency_id if feed else None,
            role=FEED_ROLE,
            action=FETCH,
            case_ref=None,
            target=f"calendar:{feed.agency_id}:{feed.area}" if feed else None,
            outcome=outcome.value,
            reason=reason,
        )
    )


def refused_fetches_since(session: Session, since: datetime) -> int:
    """Refused fetches written to the audit trail since `since` (one by one, or counted together)."""
    return int(
        session.scalar(
            select(func.count())
            .select_from(AuditEvent)
            .where(
                AuditEvent.at >= since,
                AuditEvent.role == FEED_ROLE,
                AuditEvent.outcome == AuditOutcome.REFUSED.value,
            )
        )
        or 0
    )


def record_refusals_counted(session: Session, count: int, first: datetime, last: datetime) -> None:
    """One audit row for `count` refused fetches that were not written one by one."""
    session.add(
        AuditEvent(
            user_name="calendar feed fetches",
            agency_id=None,
            role=FEED_ROLE,
            action=REFUSALS_COUNTED,
            case_ref=None,
            target=None,
            outcome=AuditOutcome.REFUSED.value,
            reason=f"{count} refused fetch(es) between {first:%Y-%m-%d %H:%M:%S} and {last:%Y-%m-%d %H:%M:%S} UTC, "
            "beyond the number recorded one by one",
        )
    )


@dataclass(frozen=True)
class FeedDeadline:
    """One deadline as a calendar shows it: nothing about a person, no text typed by an agency."""

    case_ref: str
    deadline_id: str
    area: str
    kind: str
    responsible: str
    due_at: datetime
    state: str


def owed_deadlines(session: Session, *, agency_id: str, area: str) -> list[FeedDeadline]:
    """The deadlines `agency_id` is responsible for in `area` that are open or breached, soonest first."""
    d = LedgerDeadline
    query = (
        select(d.case_ref, d.deadline_id, d.area, d.kind, d.responsible, d.due_at, d.state)
        .where(d.area == area, d.responsible == agency_id, d.state.in_(OWED))
        .order_by(d.due_at, d.case_ref, d.deadline_id)
        .limit(FEED_LIMIT)
    )
    return [FeedDeadline(**row._asdict()) for row in session.execute(query)]
