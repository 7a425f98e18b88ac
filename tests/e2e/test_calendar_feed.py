"""An agency's calendar feed over HTTP, parsed with the same iCalendar library that builds it.

The ledger is written the way a case's workflow writes it (a real case file, the real `record_in_ledger`
activity); the feed is opened by its own secret, as Outlook would open it."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from icalendar import Calendar
from sqlalchemy import Engine, select

from activities.case_activities import CaseActivities
from activities.mailer import SmtpMailer
from api.app import create_app
from api.routes import calendars as calendar_route
from api.routes.calendars import (
    REFUSAL_WINDOW,
    REFUSALS_PER_WINDOW,
    RedactCalendarSecrets,
    event_uid,
    write_counted_refusals,
)
from core.database import session_factory
from core.settings import Settings
from store.calendars import issue_feed, revoke_feeds
from store.models import AuditEvent, LedgerDeadline
from tests.case_builders import SUBJECT, referral_accepted_with_record_searches
from tests.e2e.api_rig import database, issue_tokens
from tests.e2e.ops_ledger import breached_record_search, case_ref
from tests.helpers import free_port
from workflows.messages import CaseSummary, LedgerUpdate
from workflows.rules import events as ev
from workflows.rules.calendar import local_due
from workflows.rules.case import CaseFile

pytestmark = pytest.mark.timeout(60)

SEARCH = "record-search:nhs-lanarkshire"
PUBLIC_API_URL = "https://mappa.example.gov.uk"


@dataclass
class Feeds:
    http: httpx.AsyncClient
    engine: Engine
    tokens: dict[str, str]
    app: FastAPI

    def issue(self, agency: str = "nhs-lanarkshire", area: str = "lanarkshire") -> str:
        with session_factory(self.engine).begin() as session:
            _feed, secret = issue_feed(session, agency_id=agency, area=area, issued_by="test administrator")
        return secret

    async def fetch(self, secret: str) -> httpx.Response:
        return await self.http.get(f"/calendars/{secret}.ics")

    async def events(self, secret: str) -> dict[str, date]:
        """The feed's events, parsed with the iCalendar library: UID -> start."""
        response = await self.fetch(secret)
        assert response.status_code == 200, response.text
        assert response.headers["content-type"].startswith("text/calendar")
        calendar = Calendar.from_ical(response.content)
        return {str(event["uid"]): event.decoded("dtstart") for event in calendar.walk("VEVENT")}

    def fetches(self) -> list[tuple[str | None, str, str | None]]:
        with session_factory(self.engine)() as session:
            rows = session.scalars(
                select(AuditEvent).where(AuditEvent.role == "calendar-feed").order_by(AuditEvent.id)
            )
            return [(row.agency_id, row.outcome, row.target) for row in rows]

    def audit_rows(self) -> list[AuditEvent]:
        with session_factory(self.engine)() as session:
            return list(
                session.scalars(
                    select(AuditEvent).where(AuditEvent.role == "calendar-feed").order_by(AuditEvent.id)
                )
            )


@pytest.fixture
async def feeds(tmp_path: Path) -> AsyncIterator[Feeds]:
    url, engine = database(tmp_path)
    settings = Settings(database_url=url, temporal_address="127.0.0.1:1", public_api_url=PUBLIC_API_URL)
    app = create_app(settings, engine=engine)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://mappa.test"
    ) as http:
        yield Feeds(http, engine, issue_tokens(engine), app)
    engine.dispose()


def _record(engine: Engine, case: CaseFile) -> None:
    activities = CaseActivities(
        session_factory(engine), SmtpMailer("127.0.0.1", free_port(), "ops@example.gov.uk")
    )
    activities.record_in_ledger(LedgerUpdate(case=CaseSummary.of(case), deadlines=case.take_ledger_pending()))


def accepted_with_record_searches(engine: Engine) -> tuple[str, CaseFile]:
    """A referral accepted an hour ago: NHS Lanarkshire and the police each owe a record search."""
    ref = case_ref()
    at = datetime.now(UTC) - timedelta(hours=1)
    case = referral_accepted_with_record_searches(ref, at, ["nhs-lanarkshire", "police-scotland-lanarkshire"])
    _record(engine, case)
    return ref, case


async def test_an_agencys_feed_shows_only_the_deadlines_it_owes_in_its_area(feeds: Feeds) -> None:
    ref, _case = accepted_with_record_searches(feeds.engine)
    breached = breached_record_search(feeds.engine)
    in_glasgow = breached_record_search(feeds.engine, area="glasgow")
    secret = feeds.issue()

    response = await feeds.fetch(secret)

    assert response.status_code == 200, response.text
    calendar = Calendar.from_ical(response.content)
    events = {str(e["uid"]): e for e in calendar.walk("VEVENT")}
    assert set(events) == {event_uid(ref, SEARCH), event_uid(breached, SEARCH)}
    assert event_uid(ref, "record-search:police-scotland-lanarkshire") not in events
    assert event_uid(in_glasgow, SEARCH) not in events
    open_search = events[event_uid(ref, SEARCH)]
    assert str(open_search["summary"]) == f"agency record search, {ref}"
    assert str(open_search["url"]) == f"{PUBLIC_API_URL}/cases/{ref}/deadlines"
    assert str(events[event_uid(breached, SEARCH)]["summary"]).startswith("BREACHED: ")
    assert "NHS Lanarkshire" in str(calendar["x-wr-calname"])
    # Nothing about the person: not the name, the date of birth, the address nor the ViSOR reference.
    text = response.text
    for detail in (SUBJECT.name, SUBJECT.address, SUBJECT.date_of_birth.isoformat(), SUBJECT.visor_ref):
        assert str(detail) not in text
    assert response.headers["cache-control"] == "private, no-store"
    assert feeds.fetches() == [("nhs-lanarkshire", "allowed", "calendar:nhs-lanarkshire:lanarkshire")]


async def test_a_moved_deadline_moves_in_the_calendar_and_a_met_one_leaves_it(feeds: Feeds) -> None:
    ref, case = accepted_with_record_searches(feeds.engine)
    secret = feeds.issue()
    uid = event_uid(ref, SEARCH)
    before = (await feeds.events(secret))[uid]

    # The case moves the deadline a week later: the ledger's row keeps its key and takes the new due time.
    search = case.deadlines[SEARCH]
    moved = search.model_copy(update={"due_at": search.due_at + timedelta(days=7)})
    CaseActivities(
        session_factory(feeds.engine), SmtpMailer("127.0.0.1", free_port(), "ops@example.gov.uk")
    ).record_in_ledger(LedgerUpdate(case=CaseSummary.of(case), deadlines=[moved]))
    after = await feeds.events(secret)
    assert after[uid] == before + timedelta(days=7)
    assert len(after) == 1

    case.apply(ev.RecordSearchReturned(agency="nhs-lanarkshire"), datetime.now(UTC))
    _record(feeds.engine, case)
    assert uid not in await feeds.events(secret)
    assert len(feeds.fetches()) == 3


async def test_a_feed_secret_opens_its_feed_and_nothing_else(feeds: Feeds) -> None:
    secret = feeds.issue()

    as_bearer = await feeds.http.get("/ops/deadlines", headers={"Authorization": f"Bearer {secret}"})
    api_token_as_feed = await feeds.fetch(feeds.tokens["lan-nhs"])

    assert as_bearer.status_code == 401
    assert api_token_as_feed.status_code == 404
    assert api_token_as_feed.json()["type"] == "urn:mappa:problem:calendar-feed-not-found"
    assert feeds.fetches() == [(None, "refused", None)]


async def test_a_revoked_feed_answers_gone_and_the_refusal_is_audited(feeds: Feeds) -> None:
    secret = feeds.issue()
    assert (await feeds.fetch(secret)).status_code == 200
    with session_factory(feeds.engine).begin() as session:
        assert revoke_feeds(session, agency_id="nhs-lanarkshire") == 1

    response = await feeds.fetch(secret)

    assert response.status_code == 410
    assert "revoked" in response.json()["detail"]
    assert [outcome for _agency, outcome, _target in feeds.fetches()] == ["allowed", "refused"]


def test_the_access_log_never_shows_a_feed_secret() -> None:
    record = logging.LogRecord(
        "uvicorn.access",
        logging.INFO,
        __file__,
        1,
        '%s - "%s %s HTTP/%s" %d',
        ("127.0.0.1:5000", "GET", "/calendars/mappacal_s3cr3tvalue.ics", "1.1", 200),
        None,
    )

    assert RedactCalendarSecrets().filter(record)

    assert record.getMessage() == '127.0.0.1:5000 - "GET /calendars/[secret].ics HTTP/1.1" 200'


# ------------------------------------------------------------------------------------------ all-day events


def _ledger_due(engine: Engine, ref: str) -> tuple[date, datetime]:
    with session_factory(engine)() as session:
        row = session.scalars(
            select(LedgerDeadline).where(LedgerDeadline.case_ref == ref, LedgerDeadline.deadline_id == SEARCH)
        ).one()
        return row.due_date, row.due_at


# Referrals accepted at noon on days either side of the clocks going back (Sun 25 Oct 2026) and in summer and
# winter: the record searches they open fall due at the end of a London day in BST or in GMT.
ACCEPTED_ON = [
    datetime(2026, 6, 15, 11, tzinfo=UTC),
    datetime(2026, 10, 19, 11, tzinfo=UTC),
    datetime(2026, 10, 22, 11, tzinfo=UTC),
    datetime(2026, 10, 26, 12, tzinfo=UTC),
    datetime(2026, 10, 30, 12, tzinfo=UTC),
    datetime(2027, 3, 25, 12, tzinfo=UTC),
]


async def test_each_deadline_is_an_all_day_event_on_its_due_day_across_a_clock_change(feeds: Feeds) -> None:
    refs = []
    for accepted in ACCEPTED_ON:
        ref = case_ref()
        _record(feeds.engine, referral_accepted_with_record_searches(ref, accepted, ["nhs-lanarkshire"]))
        refs.append(ref)
    secret = feeds.issue()

    response = await feeds.fetch(secret)

    assert response.status_code == 200, response.text
    calendar = Calendar.from_ical(response.content)
    assert calendar["x-published-ttl"] == "PT1H"
    assert "X-PUBLISHED-TTL:PT1H\r\n" in response.text
    events = {str(e["uid"]): e for e in calendar.walk("VEVENT")}
    due_times = []
    for ref in refs:
        due_date, due_at = _ledger_due(feeds.engine, ref)
        due_times.append(due_at)
        event = events[event_uid(ref, SEARCH)]
        start, end = event.decoded("dtstart"), event.decoded("dtend")
        assert type(start) is date and start == due_date, (ref, start, due_date)
        assert end == due_date + timedelta(days=1)
        assert event["dtstart"].params["VALUE"] == "DATE"
        description = str(event["description"])
        assert local_due(due_at) in description  # "by end of Fri 06 Nov 2026"
        assert f"{due_at.astimezone(UTC):%Y-%m-%d %H:%M} UTC" in description
    # Some fell due at the end of a BST day (23:00 UTC), others at the end of a GMT day (00:00 UTC next day).
    assert {t.astimezone(UTC).hour for t in due_times} == {23, 0}


async def test_event_links_use_the_configured_address_never_the_requests_host(feeds: Feeds) -> None:
    ref, _case = accepted_with_record_searches(feeds.engine)
    secret = feeds.issue()

    response = await feeds.http.get(f"/calendars/{secret}.ics", headers={"Host": "attacker.example"})

    assert response.status_code == 200, response.text
    assert "attacker.example" not in response.text
    (event,) = Calendar.from_ical(response.content).walk("VEVENT")
    assert str(event["url"]) == f"{PUBLIC_API_URL}/cases/{ref}/deadlines"


# ------------------------------------------------------------------------------------------ guessing


async def test_guessing_feed_secrets_writes_a_bounded_number_of_audit_rows(
    feeds: Feeds, monkeypatch: pytest.MonkeyPatch
) -> None:
    secret = feeds.issue()
    guesses = [f"mappacal_guess{n:04d}" for n in range(20)]

    answers = [await feeds.fetch(guess) for guess in guesses]

    assert {a.status_code for a in answers} == {404}
    refused = [row for row in feeds.audit_rows() if row.outcome == "refused"]
    assert len(refused) == REFUSALS_PER_WINDOW
    # The rightful feed is still answered and recorded while someone guesses.
    assert (await feeds.fetch(secret)).status_code == 200
    assert feeds.fetches()[-1] == ("nhs-lanarkshire", "allowed", "calendar:nhs-lanarkshire:lanarkshire")

    # A window later the next refusal is written, with the ones counted meanwhile in one row.
    later = datetime.now(UTC) + REFUSAL_WINDOW + timedelta(seconds=1)
    monkeypatch.setattr(calendar_route, "now_utc", lambda: later)
    assert (await feeds.fetch("mappacal_oneguessmore")).status_code == 404
    rows = feeds.audit_rows()
    counted = [row for row in rows if row.action == "refused calendar feed fetches, counted together"]
    assert len(counted) == 1 and counted[0].reason is not None
    assert counted[0].reason.startswith(f"{20 - REFUSALS_PER_WINDOW} refused fetch(es) between ")
    assert len([row for row in rows if row.outcome == "refused"]) == REFUSALS_PER_WINDOW + 2


async def test_refusals_counted_but_not_yet_written_are_written_when_the_api_stops(feeds: Feeds) -> None:
    for n in range(REFUSALS_PER_WINDOW + 3):
        assert (await feeds.fetch(f"mappacal_guess{n:04d}")).status_code == 404

    write_counted_refusals(feeds.app.state)

    (counted,) = [row for row in feeds.audit_rows() if row.user_name == "calendar feed fetches"]
    assert counted.reason is not None and counted.reason.startswith("3 refused fetch(es)")
    write_counted_refusals(feeds.app.state)
    assert len(feeds.audit_rows()) == REFUSALS_PER_WINDOW + 1
