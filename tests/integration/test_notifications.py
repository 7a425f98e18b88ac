"""Notices by e-mail through a real SMTP server on loopback, with the outbox on SQLite and PostgreSQL.

A notice is written to the outbox before it is sent, sent once, and never lost: while the mail relay is down
the activity fails (Temporal retries it) and the notice waits in the outbox until the relay takes it.
"""

import asyncio
from email.header import decode_header, make_header
from email.message import Message

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from activities.case_activities import CaseActivities
from activities.mailer import SmtpMailer, message_id_for
from core.database import make_engine, session_factory
from store.directory import load_directory
from store.models import Notification
from tests.helpers import SmtpSink
from tests.integration.case_files import PERSONAL_DATA, lanarkshire_referral, record_search_reminder
from workflows.messages import ACTIVITY_FOR_NOTICE, RECORD_IN_LEDGER, NoticeKind

SENDER = "mappa-noreply@example.gov.uk"
NHS_LANARKSHIRE_SPOC = "mappa.spoc@nhs-lanarkshire.example.gov.uk"


@pytest.fixture
def activities(engine: Engine, smtp_server: SmtpSink) -> CaseActivities:
    load_directory(engine, "store/seed/directory.json")
    mailer = SmtpMailer(smtp_server.host, smtp_server.port, SENDER, timeout=5)
    return CaseActivities(session_factory(engine), mailer)


def outbox_rows(engine: Engine) -> list[Notification]:
    with Session(engine) as session:
        return list(session.scalars(select(Notification)).all())


def subject_of(message: Message) -> str:
    return str(make_header(decode_header(message["Subject"])))


def whole_message(message: Message) -> str:
    return message.as_string() + message.get_payload(decode=True).decode()  # type: ignore[union-attr]


async def test_a_reminder_is_delivered_once_naming_the_case_and_not_the_subject(
    engine: Engine, activities: CaseActivities, smtp_server: SmtpSink
) -> None:
    reminder = record_search_reminder("nhs-lanarkshire")

    # Inside an activity context, as the worker runs it (sync activities run on a worker thread).
    delivered = await asyncio.to_thread(ActivityEnvironment().run, activities.send_reminder, reminder)

    (message,) = await smtp_server.wait_for(1)
    # The record search falls due at the end of Monday 9 March 2026, London time.
    assert (
        subject_of(message)
        == "[MAPPA-LAN-2026-0001] reminder: agency record search — due by end of Mon 09 Mar 2026"
    )
    assert message["X-RcptTo"] == NHS_LANARKSHIRE_SPOC
    assert message["From"] == SENDER
    assert message["Message-ID"] == message_id_for(reminder.key, SENDER)
    text = whole_message(message)
    assert "MAPPA-LAN-2026-0001" in text and "Lanarkshire" in text
    assert not [word for word in PERSONAL_DATA if word in text]

    assert delivered.recipients == [NHS_LANARKSHIRE_SPOC]
    (row,) = outbox_rows(engine)
    assert (row.id, row.key, row.status, row.attempts, row.recipient) == (
        delivered.outbox_id,
        reminder.key,
        "sent",
        1,
        "nhs-lanarkshire",
    )
    assert row.sent_at is not None and row.last_error is None


async def test_a_notice_sent_twice_is_one_email_and_one_outbox_row(
    engine: Engine, activities: CaseActivities, smtp_server: SmtpSink
) -> None:
    (receipt,) = lanarkshire_referral().take_outbox()
    assert receipt.kind is NoticeKind.REFERRAL_RECEIPT

    first = await asyncio.to_thread(activities.acknowledge_referral, receipt)
    again = await asyncio.to_thread(activities.acknowledge_referral, receipt)  # retried after a lost answer

    assert first == again
    (message,) = await smtp_server.wait_for(1)
    assert len(smtp_server.messages) == 1
    assert message["X-RcptTo"] == "justice.mappa@lanarkshire-jsw.example.gov.uk"
    assert subject_of(message) == "[MAPPA-LAN-2026-0001] referral received (level 2 sought)"
    assert len(outbox_rows(engine)) == 1


async def test_while_the_mail_relay_is_down_the_notice_waits_in_the_outbox_with_the_error(
    engine: Engine, activities: CaseActivities, smtp_server: SmtpSink
) -> None:
    reminder = record_search_reminder()
    smtp_server.stop()

    with pytest.raises(ApplicationError, match="mail relay did not accept") as failure:
        await asyncio.to_thread(activities.send_reminder, reminder)

    assert failure.value.type == "MailRelayUnavailable" and not failure.value.non_retryable
    (row,) = outbox_rows(engine)
    assert (row.key, row.status, row.attempts, row.sent_at) == (reminder.key, "pending", 1, None)
    assert row.last_error is not None and "Connection" in row.last_error


async def test_when_the_mail_relay_returns_a_retry_delivers_the_notice_exactly_once(
    engine: Engine, activities: CaseActivities, smtp_server: SmtpSink
) -> None:
    reminder = record_search_reminder()
    smtp_server.stop()
    for _ in range(2):
        with pytest.raises(ApplicationError):
            await asyncio.to_thread(activities.send_reminder, reminder)

    smtp_server.start()
    await asyncio.to_thread(activities.send_reminder, reminder)
    await asyncio.to_thread(activities.send_reminder, reminder)  # a late duplicate retry

    (message,) = await smtp_server.wait_for(1)
    assert len(smtp_server.messages) == 1
    assert message["Message-ID"] == message_id_for(reminder.key, SENDER)
    (row,) = outbox_rows(engine)
    assert (row.status, row.attempts) == ("sent", 3)
    assert row.last_error is not None  # what delayed it stays on record


async def test_a_notice_for_an_agency_not_in_the_directory_reaches_the_co_ordinator_saying_so(
    engine: Engine, activities: CaseActivities, smtp_server: SmtpSink
) -> None:
    reminder = record_search_reminder("east-kilbride-youth-team")

    delivered = await asyncio.to_thread(activities.send_reminder, reminder)

    (message,) = await smtp_server.wait_for(1)
    assert delivered.recipients == ["lanarkshire.coordinator@mappa-scotland.example.gov.uk"]
    assert message["X-RcptTo"] == "lanarkshire.coordinator@mappa-scotland.example.gov.uk"
    assert "agency 'east-kilbride-youth-team', which is not in the MAPPA directory" in whole_message(message)


async def test_a_notice_for_an_area_without_a_co_ordinator_fails_until_one_is_added(
    engine: Engine, activities: CaseActivities, smtp_server: SmtpSink
) -> None:
    reminder = record_search_reminder().model_copy(update={"area": "fife", "to": "co-ordinator"})

    with pytest.raises(LookupError, match="no co-ordinator"):
        await asyncio.to_thread(activities.send_reminder, reminder)

    assert outbox_rows(engine) == [] and smtp_server.messages == []


def test_every_activity_the_workflow_calls_is_registered_by_name() -> None:
    activities = CaseActivities(
        session_factory(make_engine("sqlite://")), SmtpMailer("127.0.0.1", 25, SENDER)
    )
    names = {getattr(fn, "__temporal_activity_definition").name for fn in activities.all()}
    assert names == {*ACTIVITY_FOR_NOTICE.values(), RECORD_IN_LEDGER}


async def test_escalate_breach_refuses_other_kinds_of_notice(activities: CaseActivities) -> None:
    (receipt,) = lanarkshire_referral().take_outbox()
    with pytest.raises(ApplicationError) as failure:
        await asyncio.to_thread(activities.escalate_breach, receipt)
    assert failure.value.non_retryable


async def test_notices_share_one_connection_to_the_relay_and_outlive_the_relay_restarting(
    engine: Engine, smtp_server: SmtpSink
) -> None:
    load_directory(engine, "store/seed/directory.json")
    mailer = SmtpMailer(smtp_server.host, smtp_server.port, SENDER, timeout=5)
    activities = CaseActivities(session_factory(engine), mailer)
    reminder = record_search_reminder()
    keys = [f"{reminder.key}-{n}" for n in range(4)]

    for key in keys[:3]:
        await asyncio.to_thread(activities.send_reminder, reminder.model_copy(update={"key": key}))
    assert mailer.connections_opened == 1

    # The relay restarts: the pooled connection is dead, and the next notice goes on a fresh one.
    smtp_server.stop()
    smtp_server.start()
    await asyncio.to_thread(activities.send_reminder, reminder.model_copy(update={"key": keys[3]}))

    await smtp_server.wait_for(4)
    assert sorted(str(m["X-MAPPA-Notice-Key"]) for m in smtp_server.messages) == sorted(keys)
    assert {row.status for row in outbox_rows(engine)} == {"sent"}
    assert mailer.connections_opened == 2
    mailer.close()


async def test_two_attempts_at_the_same_notice_at_once_send_it_once(
    engine: Engine, activities: CaseActivities, smtp_server: SmtpSink
) -> None:
    if engine.dialect.name == "sqlite":
        pytest.skip("SQLite sends after its write transaction, so it cannot hold the row across the send")
    reminder = record_search_reminder()

    # A retry that starts while the first attempt is still sending (its start-to-close timed out).
    await asyncio.gather(
        asyncio.to_thread(activities.send_reminder, reminder),
        asyncio.to_thread(activities.send_reminder, reminder),
    )

    await smtp_server.wait_for(1)
    await asyncio.sleep(0.5)  # a second message, if one were sent, would have arrived by now
    assert len(smtp_server.messages) == 1
    (row,) = outbox_rows(engine)
    assert (row.status, row.attempts) == ("sent", 1)
