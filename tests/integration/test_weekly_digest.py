"""The weekly digest: what the co-ordinator reads on a Monday, sent once per area and week through the mail
relay (a real SMTP server), from a ledger written the way the case workflows write it."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.message import Message
from uuid import uuid4

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session
from temporalio.testing import WorkflowEnvironment

from activities.digest import DIGEST_KIND, DigestActivities, digest_key
from activities.mailer import SmtpMailer
from core.database import session_factory
from core.settings import Settings
from store.directory import load_directory
from store.models import Notification
from store.views import rule_in_words
from tests.case_builders import SUBJECT, referral_accepted_with_record_searches
from tests.e2e.ops_ledger import _record, breached_record_search, case_ref, imported_unscreened_referral
from tests.helpers import SmtpSink, unique_task_queue
from worker.assembly import build_activities, build_worker
from workflows.digest import DigestOrder, DigestRequest, WeeklyDigestWorkflow, schedule_id

pytestmark = pytest.mark.timeout(120)

# Monday 16 March 2026, 08:00 in London (GMT): the digest's moment.
MONDAY = datetime(2026, 3, 16, 8, tzinfo=UTC)
CO_ORDINATOR = "lanarkshire.coordinator@mappa-scotland.example.gov.uk"
ACTING = "lanarkshire.deputy@mappa-scotland.example.gov.uk"  # acting co-ordinator 21 Dec 2026 - 8 Jan 2027


@pytest.fixture
def directory(engine: Engine) -> Engine:
    load_directory(engine, "store/seed/directory.json")
    return engine


@pytest.fixture
def digests(directory: Engine, smtp_server: SmtpSink) -> Iterator[DigestActivities]:
    yield DigestActivities(
        session_factory(directory), SmtpMailer(smtp_server.host, smtp_server.port, "mappa@example.gov.uk", 5)
    )


def accepted_last_thursday(engine: Engine) -> str:
    """Accepted Thu 12 March: NHS Lanarkshire and the police owe record searches by end of Thu 19 March."""
    ref = case_ref()
    at = MONDAY - timedelta(days=4)
    case = referral_accepted_with_record_searches(ref, at, ["nhs-lanarkshire", "police-scotland-lanarkshire"])
    _record(engine, case)
    return ref


def section(body: str, heading: str) -> str:
    """The lines under a heading of the digest, up to the next blank line."""
    start = body.index(heading)
    return body[start : body.index("\n\n", start)]


def text_of(message: Message) -> str:
    payload = message.get_payload(decode=True)
    assert isinstance(payload, bytes)
    return payload.decode().replace("\r\n", "\n")


async def test_the_co_ordinator_reads_breaches_the_weeks_deadlines_by_agency_and_compliance(
    directory: Engine, digests: DigestActivities, smtp_server: SmtpSink
) -> None:
    breached = breached_record_search(directory)
    due = accepted_last_thursday(directory)
    in_glasgow = breached_record_search(directory, area="glasgow")

    sent = digests.send_weekly_digest(DigestOrder(area="lanarkshire", as_of=MONDAY))

    (mail,) = await smtp_server.wait_for(1)
    assert mail["X-RcptTo"] == CO_ORDINATOR and sent.recipients == [CO_ORDINATOR]
    assert mail["Subject"] == "MAPPA weekly digest: Lanarkshire, week of Mon 16 Mar 2026"
    body = text_of(mail)
    breaches = section(body, "BREACHES STILL OPEN")
    assert f"{breached}  agency record search, nhs-lanarkshire: was due" in breaches
    # Overdue though not yet marked breached: listed with the breaches; its record searches are not due yet.
    assert f"{due}  screening against the ASP 3-point criteria, co-ordinator: was due" in breaches
    assert f"{due}  agency record search" not in breaches and in_glasgow not in body
    this_week = section(body, "DUE THIS WEEK, TO Sun 22 Mar 2026, BY AGENCY (2)")
    assert this_week.index("nhs-lanarkshire (1)") < this_week.index("police-scotland-lanarkshire (1)")
    assert f"{due}  agency record search: due by end of Thu 19 Mar 2026" in this_week
    compliance = section(body, "COMPLIANCE THIS REPORTING YEAR, DEADLINES DUE 01 Apr 2025 TO 16 Mar 2026")
    assert (
        "agency record search within" in compliance
        and "0 of 1 on time (0 late, 1 still breached)" in compliance
    )
    for detail in (SUBJECT.name, SUBJECT.address, SUBJECT.visor_ref, "Morag"):
        assert detail not in body
    assert sent.key == "weekly-digest/lanarkshire/2026-W12" and not sent.already_sent


async def test_deadlines_already_past_at_go_live_are_listed_and_counted_apart(
    directory: Engine, digests: DigestActivities, smtp_server: SmtpSink
) -> None:
    live = breached_record_search(directory)
    imported = imported_unscreened_referral(directory)  # go-live Fri 13 March

    digests.send_weekly_digest(DigestOrder(area="lanarkshire", as_of=MONDAY))

    (mail,) = await smtp_server.wait_for(1)
    body = text_of(mail)
    assert live in section(body, "BREACHES STILL OPEN") and imported not in section(
        body, "BREACHES STILL OPEN"
    )
    apart = section(body, "ALREADY PAST WHEN IMPORTED, STILL OPEN (2; not counted above)")
    assert [line.split("  ")[1] for line in apart.splitlines()[1:]] == [
        f"{imported}",  # the screening, due Tue 10 March
        f"{imported}",  # the decision, due Thu 12 March
    ]
    assert "was due by end of Thu 12 Mar 2026, before go-live" in apart
    screening = rule_in_words("lanarkshire", "asp-screening")
    decision = rule_in_words("lanarkshire", "referral-decision")
    # The system's own: the live case was decided on time and never screened.
    compliance = section(body, "COMPLIANCE THIS REPORTING YEAR")
    assert f"{decision}: 1 of 1 on time" in compliance
    assert f"{screening}: 0 of 1 on time (0 late, 1 still breached)" in compliance
    # The imported case's, counted apart: neither was met.
    before = section(body, "FELL DUE BEFORE GO-LIVE (IMPORTED CASES), COUNTED APART FROM THE ABOVE")
    assert before.splitlines()[1:] == [
        f"  {decision}: 0 of 1 on time (0 late, 1 still breached)",
        f"  {screening}: 0 of 1 on time (0 late, 1 still breached)",
    ]


async def test_the_acting_co_ordinator_receives_it_while_covering(
    digests: DigestActivities, smtp_server: SmtpSink
) -> None:
    digests.send_weekly_digest(DigestOrder(area="lanarkshire", as_of=datetime(2026, 12, 28, 8, tzinfo=UTC)))

    (mail,) = await smtp_server.wait_for(1)
    assert mail["X-RcptTo"] == ACTING


async def test_a_weeks_digest_is_sent_once_whatever_is_retried_and_the_next_week_gets_its_own(
    directory: Engine, digests: DigestActivities, smtp_server: SmtpSink
) -> None:
    first = digests.send_weekly_digest(DigestOrder(area="lanarkshire", as_of=MONDAY))
    retried = digests.send_weekly_digest(DigestOrder(area="lanarkshire", as_of=MONDAY + timedelta(hours=30)))
    next_week = digests.send_weekly_digest(DigestOrder(area="lanarkshire", as_of=MONDAY + timedelta(days=7)))

    assert (first.key, first.already_sent) == ("weekly-digest/lanarkshire/2026-W12", False)
    assert (retried.key, retried.already_sent) == (first.key, True)
    assert next_week.key == "weekly-digest/lanarkshire/2026-W13"
    mails = await smtp_server.wait_for(2)
    assert [m["X-MAPPA-Digest-Key"] for m in mails] == [first.key, next_week.key]
    with Session(directory) as session:
        rows = session.scalars(select(Notification).where(Notification.kind == DIGEST_KIND)).all()
    assert sorted((row.key, row.status) for row in rows) == [(first.key, "sent"), (next_week.key, "sent")]


async def test_a_digest_waits_in_the_outbox_while_the_relay_is_down(
    digests: DigestActivities, smtp_server: SmtpSink
) -> None:
    smtp_server.stop()
    with pytest.raises(Exception, match="mail relay did not accept weekly digest"):
        digests.send_weekly_digest(DigestOrder(area="lanarkshire", as_of=MONDAY))
    smtp_server.start()

    sent = digests.send_weekly_digest(DigestOrder(area="lanarkshire", as_of=MONDAY))

    (mail,) = await smtp_server.wait_for(1)
    assert mail["X-MAPPA-Digest-Key"] == sent.key == digest_key("lanarkshire", MONDAY)


async def test_the_digest_workflow_sends_one_digest_through_the_mail_relay(
    time_skipping_env: WorkflowEnvironment, directory: Engine, smtp_server: SmtpSink
) -> None:
    breached = breached_record_search(directory)
    settings = Settings(smtp_host=smtp_server.host, smtp_port=smtp_server.port, smtp_timeout_seconds=5)
    task_queue = unique_task_queue()
    client = time_skipping_env.client

    # The Schedule starts it on a Monday morning: move the server's clock there, so the second start below falls
    # in the same week whatever day the test runs (at the end of a Sunday, the minutes the first run takes on
    # the time-skipping clock would carry the second into the next week).
    now = await time_skipping_env.get_current_time()
    days_to_monday = (7 - now.weekday()) % 7 or 7
    monday_morning = (now + timedelta(days=days_to_monday)).replace(hour=8, minute=0, second=0, microsecond=0)
    await time_skipping_env.sleep(monday_morning - now)

    async with build_worker(client, settings, build_activities(settings, directory), task_queue=task_queue):
        # As the Schedule starts it; a second start the same week (a catch-up, a manual run) sends nothing.
        results = [
            await client.execute_workflow(
                WeeklyDigestWorkflow.run,
                DigestRequest(area="lanarkshire"),
                id=f"{schedule_id('lanarkshire')}-{uuid4().hex[:8]}",
                task_queue=task_queue,
            )
            for _ in range(2)
        ]

    (mail,) = await smtp_server.wait_for(1)
    assert mail["X-RcptTo"] in (CO_ORDINATOR, ACTING)  # whoever holds the role the day the test runs
    assert breached in text_of(mail)
    assert [r.already_sent for r in results] == [False, True]
    assert results[0].key == results[1].key


async def test_both_co_ordinators_see_a_transfer_between_their_areas(
    directory: Engine, digests: DigestActivities, smtp_server: SmtpSink
) -> None:
    from store.transfers import write_transfers
    from workflows.messages import TransferSummary

    asked = MONDAY - timedelta(days=3)
    awaiting = TransferSummary(
        transfer_id="transfer-1",
        from_area="lanarkshire",
        to_area="glasgow",
        state="requested",
        requested_at=asked,
        accept_by=asked + timedelta(days=7),
    )
    with session_factory(directory).begin() as session:
        write_transfers(session, "MAPPA-LAN-2026-MOVED1", [awaiting], MONDAY)
    digests.send_weekly_digest(DigestOrder(area="lanarkshire", as_of=MONDAY))
    digests.send_weekly_digest(DigestOrder(area="glasgow", as_of=MONDAY))
    mails = await smtp_server.wait_for(2)
    bodies = {str(m["Subject"]).split(": ")[1].split(",")[0]: text_of(m) for m in mails}
    out = section(bodies["Lanarkshire"], "TRANSFERS IN AND OUT")
    into = section(bodies["Glasgow"], "TRANSFERS IN AND OUT")
    assert "MAPPA-LAN-2026-MOVED1  out to Glasgow: awaiting the receiving co-ordinator" in out
    assert "MAPPA-LAN-2026-MOVED1  in from Lanarkshire: awaiting the receiving co-ordinator" in into
