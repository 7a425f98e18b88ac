"""The weekly digest: what an area's co-ordinator should know on a Monday morning, from the deadline ledger.

Breaches still open, what falls due this week (by responsible agency), and this reporting year's compliance so
far; imported cases' deadlines already past at go-live are listed and counted apart, never mixed in. It goes to whoever holds the co-ordinator role that day (an acting co-ordinator first; the deputy when
nobody does), through the same outbox as every notice: written once under `weekly-digest/<area>/<ISO week>`,
then sent, then marked. A retry, a restarted worker or a Schedule catching up after an outage finds the row
and sends nothing twice. Like every notice, it names cases by reference only.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date, datetime, timedelta
from itertools import groupby
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined
from sqlalchemy.orm import Session, sessionmaker
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities import outbox
from activities.mailer import Mailer, message_id_for
from store import views
from store.directory import resolve_recipient
from store.models import DirectoryRole, OutboxStatus, utcnow
from store.transfers import transfers_of_area
from workflows.digest import SEND_WEEKLY_DIGEST, DigestOrder, DigestSent
from workflows.rules.calendar import LONDON, local_date, local_due
from workflows.rules.policy import AREAS

TEMPLATES = Path(__file__).resolve().parent / "templates"
DIGEST_KIND = "weekly-digest"
# The annual report's year, and so "this reporting year", starts on 1 April.
REPORTING_YEAR_STARTS = (4, 1)
# Rows listed per section; the rest are counted and left to the ops page.
SHOWN = 50


def digest_key(area: str, as_of: datetime) -> str:
    """One digest per area and ISO week (Europe/London): `weekly-digest/lanarkshire/2026-W50`."""
    year, week, _ = local_date(as_of).isocalendar()
    return f"{DIGEST_KIND}/{area}/{year}-W{week:02d}"


def reporting_year_start(today: date) -> date:
    month, day = REPORTING_YEAR_STARTS
    start = date(today.year, month, day)
    return start if today >= start else date(today.year - 1, month, day)


def week_end(today: date) -> date:
    """The Sunday that ends `today`'s week."""
    return today + timedelta(days=6 - today.weekday())


class DigestTemplates:
    def __init__(self, directory: Path = TEMPLATES) -> None:
        self._env = Environment(
            loader=FileSystemLoader(directory),
            autoescape=False,
            undefined=StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
            keep_trailing_newline=True,
        )
        self._env.filters["due"] = local_due

    def render(self, context: dict[str, Any]) -> str:
        body = self._env.get_template(f"{DIGEST_KIND}.txt.j2").render(context)
        return re.sub(r"\n{3,}", "\n\n", body)


def compose(session: Session, area: str, as_of: datetime, key: str, note: str | None) -> tuple[str, str]:
    """The digest's subject and body, from the ledger as it stands at `as_of`."""
    today = local_date(as_of)
    sunday = week_end(today)
    lists = views.breached_and_due_soon(session, within_days=7, area=area, now=as_of)
    due = [d for d in lists.due_soon if d.due_date <= sunday]
    due.sort(key=lambda d: (d.responsible, d.due_at, d.case_ref))
    report = views.compliance(
        session, area=area, period_start=reporting_year_start(today), period_end=today, now=as_of
    )
    area_name = AREAS[area].name if area in AREAS else area
    # Both co-ordinators see a transfer: awaiting its decision, or decided in the last week.
    transfers = [
        {
            "case_ref": t.case_ref,
            "direction": "in from" if t.to_area == area else "out to",
            "other": _area_name(t.from_area if t.to_area == area else t.to_area),
            "state": t.state,
            "when": t.accept_by if t.state == "requested" else t.decided_at,
        }
        for t in transfers_of_area(session, area, as_of - timedelta(days=7))
    ]
    monday = today - timedelta(days=today.weekday())
    subject = f"MAPPA weekly digest: {area_name}, week of {monday:%a %d %b %Y}"
    body = DigestTemplates().render(
        {
            "area_name": area_name,
            "as_at": f"{as_of.astimezone(LONDON):%a %d %b %Y %H:%M}",
            "note": note,
            "breaches": lists.breached,
            "breaches_before_go_live": lists.breached_before_go_live,
            "due_by_agency": [
                (agency, list(rows)) for agency, rows in groupby(due, key=lambda d: d.responsible)
            ],
            "due_count": len(due),
            "week_ends": f"{sunday:%a %d %b %Y}",
            "report": report,
            "transfers": transfers,
            "shown": SHOWN,
            "key": key,
        }
    )
    return subject, body


def _area_name(area: str) -> str:
    return AREAS[area].name if area in AREAS else area


class DigestActivities:
    def __init__(
        self, sessions: sessionmaker[Session], mailer: Mailer, *, clock: Callable[[], datetime] = utcnow
    ) -> None:
        self._sessions = sessions
        self._mailer = mailer
        self._clock = clock

    def all(self) -> list[Callable[..., Any]]:
        return [self.send_weekly_digest]

    @activity.defn(name=SEND_WEEKLY_DIGEST)
    def send_weekly_digest(self, order: DigestOrder) -> DigestSent:
        """Write this week's digest for the area's co-ordinator to the outbox (once), then send it."""
        key = digest_key(order.area, order.as_of)
        with self._sessions.begin() as session:
            row = outbox.find(session, key)
            if row is None:
                recipient = resolve_recipient(
                    session, order.area, DirectoryRole.CO_ORDINATOR.value, local_date(order.as_of)
                )
                subject, body = compose(session, order.area, order.as_of, key, recipient.note)
                row = self._write(session, key, order.area, recipient.addresses, subject, body)
        addresses = outbox.addresses_of(row)
        sent = DigestSent(
            key=key,
            recipients=addresses,
            already_sent=row.status == OutboxStatus.SENT.value,
        )
        log = {"area": order.area, "notice_key": key, "notice_kind": DIGEST_KIND}
        if sent.already_sent:
            activity.logger.info("weekly digest %s already sent", key, extra=log)
            return sent
        try:
            self._mailer.send(
                addresses,
                row.subject,
                row.body,
                message_id=message_id_for(key, self._mailer.sender),
                headers={"X-MAPPA-Digest-Key": key, "X-MAPPA-Area": order.area},
            )
        except Exception as error:
            with self._sessions.begin() as session:
                outbox.record_failure(session, row.id, error)
            activity.logger.warning("weekly digest %s not sent; will retry", key, extra=log)
            raise ApplicationError(
                f"mail relay did not accept weekly digest {key}: {type(error).__name__}: {error}",
                type="MailRelayUnavailable",
            ) from error
        with self._sessions.begin() as session:
            outbox.mark_sent(session, row.id, self._clock())
        activity.logger.info("weekly digest %s sent", key, extra=log)
        return sent

    def _write(
        self, session: Session, key: str, area: str, addresses: list[str], subject: str, body: str
    ) -> outbox.OutboxRow:
        return outbox.write(
            session,
            {
                "key": key,
                "case_ref": "",  # about an area, not a case
                "area": area,
                "kind": DIGEST_KIND,
                "recipient": DirectoryRole.CO_ORDINATOR.value,
                "to_address": ", ".join(addresses),
                "subject": subject,
                "body": body,
                "deadline_id": None,
                "created_at": self._clock(),
                "status": OutboxStatus.PENDING.value,
                "attempts": 0,
            },
        )
