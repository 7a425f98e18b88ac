"""Agency calendars: an iCalendar (ICS) feed of the deadlines an agency owes in its area.

Outlook, Google and Apple calendars subscribe to a URL and fetch it themselves, without our bearer token, so the
feed's secret is in its URL (`/calendars/{secret}.ics`; issued with `mappa calendar issue`). That secret opens
this one feed and nothing else, and the API's access log shows the path with the secret masked
(`RedactCalendarSecrets`). Every fetch is audited before the answer goes out; refused ones (a wrong or revoked
secret, which anyone can send) one by one up to a few per window, the rest counted together in one row, so
guessing cannot fill the audit trail.

Each event is one deadline, all day on its due day (a deadline "by end of Friday" is Friday's, whatever the
clocks do), with the exact instant in its description: its rule's title and the case reference, and a link to
the case's deadlines at the API's configured public address (never the request's Host). Nothing about a
person, and no text typed by an agency. An event's UID is a digest of case and deadline, so a moved deadline
moves in the calendar, and a met or cancelled one drops out of the feed and so out of the calendar.
"""

from __future__ import annotations

import hashlib
import logging
import re
import threading
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Path, Request, Response
from icalendar import Calendar, Event
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from api import problems
from api.deps import DbSession, SettingsDep
from core.database import session_factory
from store import calendars
from store.models import Agency, AuditOutcome
from store.views import rule_in_words, rule_title
from workflows.rules.calendar import due_day, local_due
from workflows.rules.deadlines import DeadlineState
from workflows.rules.policy import AREAS

log = logging.getLogger(__name__)
router = APIRouter(prefix="/calendars", tags=["calendars"])

ICS = "text/calendar; charset=utf-8"
PRODID = "-//MAPPA case orchestration//agency deadlines//EN"
# How often a client should fetch again (clients may fetch less often: Outlook takes hours).
REFRESH = timedelta(hours=1)
UID_DOMAIN = "deadlines.mappa"
# Refused fetches written one by one per window, counted across API processes from the trail itself; beyond
# that each process counts them and writes the count as one row (at most one row a window per process).
REFUSALS_PER_WINDOW = 5
REFUSAL_WINDOW = timedelta(minutes=10)

Secret = Annotated[
    str,
    Path(
        min_length=8,
        max_length=200,
        description="The feed's secret, from `mappa calendar issue` (it opens this feed only).",
    ),
]


def event_uid(case_ref: str, deadline_id: str) -> str:
    """The same for a deadline across every fetch (so a moved deadline moves); opaque, since a deadline id
    may carry an id an agency chose."""
    return f"{hashlib.sha256(f'{case_ref}/{deadline_id}'.encode()).hexdigest()[:32]}@{UID_DOMAIN}"


def ics_duration(span: timedelta) -> str:
    """An RFC 5545 duration ("PT1H"), for properties the library would otherwise write as "1:00:00"."""
    seconds = int(span.total_seconds())
    days, seconds = divmod(seconds, 86400)
    hours, seconds = divmod(seconds, 3600)
    minutes, seconds = divmod(seconds, 60)
    clock = "".join(f"{n}{unit}" for n, unit in ((hours, "H"), (minutes, "M"), (seconds, "S")) if n)
    if not days and not clock:
        return "PT0S"
    return "P" + (f"{days}D" if days else "") + (f"T{clock}" if clock else "")


def exact_due(due_at: datetime) -> str:
    """The deadline's instant in words and in UTC: "by end of Fri 06 Nov 2026 (Europe/London), i.e. before
    2026-11-07 00:00 UTC"."""
    return f"{local_due(due_at)} (Europe/London), i.e. before {due_at.astimezone(UTC):%Y-%m-%d %H:%M} UTC"


def feed_ics(
    deadlines: list[calendars.FeedDeadline], *, agency_id: str, agency_name: str, area: str, base_url: str
) -> bytes:
    """The feed as an iCalendar document: one all-day event per deadline, on its due day."""
    area_name = AREAS[area].name if area in AREAS else area
    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", "PUBLISH")
    calendar.add("x-wr-calname", f"MAPPA deadlines: {agency_name}, {area_name}")
    calendar.add("x-wr-timezone", "Europe/London")
    calendar.add("refresh-interval", REFRESH, parameters={"VALUE": "DURATION"})
    calendar.add("x-published-ttl", ics_duration(REFRESH))
    stamp = datetime.now(UTC).replace(microsecond=0)
    for d in deadlines:
        breached = d.state == DeadlineState.BREACHED.value
        title = rule_title(d.area, d.kind)
        day = due_day(d.due_at)
        event = Event()
        event.add("uid", event_uid(d.case_ref, d.deadline_id))
        event.add("dtstamp", stamp)
        # All day on the due day: a timed event at the end-of-day instant shows as 00:00 the next day.
        event.add("dtstart", day)
        event.add("dtend", day + timedelta(days=1))
        event.add("summary", f"{'BREACHED: ' if breached else ''}{title}, {d.case_ref}")
        event.add(
            "description",
            f"{rule_in_words(d.area, d.kind)}.\n"
            f"Case {d.case_ref}, {area_name}: due {exact_due(d.due_at)} ({agency_id}).\n"
            f"{'Breached: the co-ordinator has been told.' if breached else 'Open.'}",
        )
        event.add("url", f"{base_url}/cases/{d.case_ref}/deadlines")
        event.add("categories", ["MAPPA", d.kind])
        event.add("transp", "TRANSPARENT")  # a deadline does not make anyone busy
        calendar.add_component(event)
    return calendar.to_ical()


class RefusalTally:
    """Refused fetches this process did not write one by one: how many, and the first and last."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._count = 0
        self._first: datetime | None = None
        self._last: datetime | None = None

    def add(self, at: datetime) -> None:
        with self._lock:
            self._count += 1
            self._first = self._first or at
            self._last = at

    def take(self) -> tuple[int, datetime, datetime] | None:
        """The tally so far (emptied), or None when there is nothing to write."""
        with self._lock:
            if not self._count or self._first is None or self._last is None:
                return None
            taken = (self._count, self._first, self._last)
            self._count, self._first, self._last = 0, None, None
            return taken

    def give_back(self, taken: tuple[int, datetime, datetime]) -> None:
        """A tally whose row could not be written is counted again."""
        count, first, last = taken
        with self._lock:
            self._count += count
            self._first = min(first, self._first) if self._first else first
            self._last = max(last, self._last) if self._last else last


def refusal_tally(state: Any) -> RefusalTally:
    tally: RefusalTally | None = getattr(state, "calendar_refusals", None)
    if tally is None:
        tally = state.calendar_refusals = RefusalTally()
    return tally


def write_counted_refusals(state: Any) -> None:
    """Write what this process counted and did not yet write (when the API stops)."""
    taken = refusal_tally(state).take()
    if taken is None or state.engine is None:
        return
    try:
        with session_factory(state.engine).begin() as session:
            calendars.record_refusals_counted(session, *taken)
    except SQLAlchemyError as error:
        log.error("audit trail not written (%d refused calendar feed fetches): %s", taken[0], error)


def now_utc() -> datetime:
    return datetime.now(UTC)


def _answer(
    db: Session, secret: str, tally: RefusalTally
) -> tuple[calendars.CalendarFeed, str, list[calendars.FeedDeadline]]:
    """Look the feed up, audit the fetch (committed), and read its deadlines; or raise the refusal."""
    feed = calendars.feed_for_secret(db, secret)
    refusal: problems.ProblemError | None = None
    if feed is None:
        refusal = problems.not_found(
            "calendar-feed-not-found", "No such calendar feed", "no calendar feed has this address"
        )
    elif feed.revoked_at is not None:
        refusal = problems.ProblemError(
            410,
            "calendar-feed-revoked",
            "The calendar feed has been revoked",
            "this calendar feed was revoked; ask the MAPPA unit for a new one and subscribe again",
        )
    counted: tuple[int, datetime, datetime] | None = None
    if refusal is not None:
        now = now_utc()
        if calendars.refused_fetches_since(db, now - REFUSAL_WINDOW) >= REFUSALS_PER_WINDOW:
            tally.add(now)  # written later, with the others, as one row
            raise refusal
        counted = tally.take()
        if counted is not None:
            calendars.record_refusals_counted(db, *counted)
    calendars.record_fetch(
        db,
        feed,
        AuditOutcome.REFUSED if refusal else AuditOutcome.ALLOWED,
        refusal.problem.detail if refusal else None,
    )
    try:
        db.commit()
    except SQLAlchemyError as error:
        db.rollback()
        if counted is not None:
            tally.give_back(counted)
        log.error("audit trail not written (calendar feed fetch): %s", error)
        raise problems.audit_unavailable() from None
    if refusal is not None:
        raise refusal
    assert feed is not None
    agency = db.get(Agency, feed.agency_id)
    deadlines = calendars.owed_deadlines(db, agency_id=feed.agency_id, area=feed.area)
    return feed, agency.name if agency else feed.agency_id, deadlines


FEED_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"content": {"text/calendar": {}}, "description": "The feed (RFC 5545)."},
    404: {"model": problems.Problem, "description": "No calendar feed has this secret."},
    410: {"model": problems.Problem, "description": "The feed has been revoked."},
}


@router.get(
    "/{secret}.ics",
    summary="An agency's deadlines, as a calendar feed",
    description="The open and breached deadlines the feed's agency is responsible for in its area, as "
    "iCalendar (subscribe to this URL in Outlook or any calendar), each an all-day event on its due day. The "
    "secret in the URL is the only credential, and it opens nothing else; every fetch is audited (refused "
    f"ones one by one up to {REFUSALS_PER_WINDOW} per {int(REFUSAL_WINDOW.total_seconds() // 60)} minutes, "
    "the rest counted together). 404 for an unknown secret, 410 for a revoked one.",
    response_class=Response,
    responses=FEED_RESPONSES | problems.responses(422, 503),
    operation_id="calendar_feed",
)
async def calendar_feed(secret: Secret, request: Request, db: DbSession, settings: SettingsDep) -> Response:
    tally = refusal_tally(request.app.state)
    feed, agency_name, deadlines = await run_in_threadpool(_answer, db, secret, tally)
    body = feed_ics(
        deadlines,
        agency_id=feed.agency_id,
        agency_name=agency_name,
        area=feed.area,
        base_url=settings.api_base_url,
    )
    filename = f"mappa-{feed.agency_id}-{feed.area}.ics"
    return Response(
        body,
        media_type=ICS,
        headers={
            "Content-Disposition": f'inline; filename="{filename}"',
            # The URL is a credential: keep it and the feed out of shared caches and Referer headers.
            "Cache-Control": "private, no-store",
            "Referrer-Policy": "no-referrer",
        },
    )


# ------------------------------------------------------------------------------------------ access log

_SECRET_IN_PATH = re.compile(r"(/calendars/)[^/?\s]+(\.ics)")


class RedactCalendarSecrets(logging.Filter):
    """Masks a feed's secret in a logged request line: the secret in the URL is the feed's credential."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(
                _SECRET_IN_PATH.sub(r"\1[secret]\2", arg) if isinstance(arg, str) else arg
                for arg in record.args
            )
        if isinstance(record.msg, str):
            record.msg = _SECRET_IN_PATH.sub(r"\1[secret]\2", record.msg)
        return True


def install_log_redaction(logger_name: str = "uvicorn.access") -> None:
    """Mask feed secrets in uvicorn's access log (once, however many apps are made)."""
    logger = logging.getLogger(logger_name)
    if not any(isinstance(f, RedactCalendarSecrets) for f in logger.filters):
        logger.addFilter(RedactCalendarSecrets())
