"""An agency's calendar feed over HTTP, parsed with the same iCalendar library that builds it.

The ledger is written the way a case's workflow writes it (a real case file, the real `record_in_ledger`
activity); the feed is opened by its own secret, as Outlook would open it."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from icalendar import Calendar
from sqlalchemy import Engine, select

from activities.case_activities import CaseActivities
from activities.mailer import SmtpMailer
from api.app import create_app
from api.routes.calendars import RedactCalendarSecrets, event_uid
from core.database import session_factory
from core.settings import Settings
from store.calendars import issue_feed, revoke_feeds
from store.models import AuditEvent
from tests.case_builders import SUBJECT, referral_accepted_with_record_searches
from tests.e2e.api_rig import database, issue_tokens
from tests.e2e.ops_ledger import breached_record_search, case_ref
from tests.helpers import free_port
from workflows.messages import CaseSummary, LedgerUpdate
from workflows.rules import events as ev
from workflows.rules.case import CaseFile

pytestmark = pytest.mark.timeout(60)

SEARCH = "record-search:nhs-lanarkshire"


@dataclass
class Feeds:
    http: httpx.AsyncClient
    engine: Engine
    tokens: dict[str, str]

    def issue(self, agency: str = "nhs-lanarkshire", area: str = "lanarkshire") -> str:
        with session_factory(self.engine).begin() as session:
            _feed, secret = issue_feed(session, agency_id=agency, area=area, issued_by="test administrator")
        return secret

    async def fetch(self, secret: str) -> httpx.Response:
        return await self.http.get(f"/calendars/{secret}.ics")

    async def events(self, secret: str) -> dict[str, datetime]:
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


@pytest.fixture
async def feeds(tmp_path: Path) -> AsyncIterator[Feeds]:
    url, engine = database(tmp_path)
    app = create_app(Settings(database_url=url, temporal_address="127.0.0.1:1"), engine=engine)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://mappa.test"
    ) as http:
        yield Feeds(http, engine, issue_tokens(engine))
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
    assert str(open_search["url"]) == f"http://mappa.test/cases/{ref}/deadlines"
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
