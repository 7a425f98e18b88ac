"""Drill: the mail relay is down for a while; reminders wait in the outbox and go once it is back."""

from __future__ import annotations

import asyncio
from collections import Counter

import pytest

from bench import cases
from bench.devserver import DevServer
from tests.drills import short_deadlines
from tests.drills.conftest import Ledger, eventually, short_deadline_worker
from tests.helpers import SmtpSink
from workflows.case import MappaCaseWorkflow
from workflows.messages import CaseWorkflowInput
from workflows.rules import events as ev
from workflows.rules.calendar import Jurisdiction

pytestmark = pytest.mark.timeout(180)

CASES = 10
REMINDER_AFTER_SECONDS = 8


def referral(ref: str) -> ev.CaseOpening:
    """A Scottish case referred by an ASP case conference: receipt confirmed at once, ASP screening due."""
    return ev.CaseOpening(
        case_ref=ref,
        area=short_deadlines.REMINDER_AREA,
        jurisdiction=Jurisdiction.SCOTLAND,
        category=3,
        previous_offence=True,
        risk_of_serious_harm=True,
        lead_agency="police-scotland-lanarkshire",
        route=ev.EntryRoute.ASP_CASE_CONFERENCE,
        asp_chair_agency="south-lanarkshire-council",  # named by the co-ordinator (000)
        subject=cases.SUBJECT,
        referral=ev.ReferralSubmitted(referring_agency="lanarkshire-justice-social-work", level_sought=2),
    )


async def test_reminders_wait_in_the_outbox_while_the_relay_is_down_and_each_goes_once_it_is_back(
    dev_server: DevServer, sqlite_ledger: Ledger, smtp_server: SmtpSink
) -> None:
    """The relay goes down once the referrals' receipts have gone, before the ASP screening reminders fall
    due (seconds after the referral in the drill area, instead of 20 hours)."""
    client = await dev_server.client()
    worker = short_deadline_worker(dev_server, sqlite_ledger, smtp_server.port, REMINDER_AFTER_SECONDS)
    await worker.start()
    queue = worker.environment["MAPPA_TASK_QUEUE"]
    refs = [cases.new_case_ref(short_deadlines.REMINDER_CODE) for _ in range(CASES)]
    try:
        for ref in refs:
            await client.start_workflow(
                MappaCaseWorkflow.run, CaseWorkflowInput(opening=referral(ref)), id=ref, task_queue=queue
            )

        await eventually(lambda: len(smtp_server.messages) == CASES, 30, "every referral's receipt sent")
        smtp_server.stop()

        def failed_reminders() -> list[str]:
            return [
                n.key for n in sqlite_ledger.notices("reminder") if n.status == "pending" and n.attempts >= 2
            ]

        # The ASP screening reminders fall due while the relay is down: written down, tried, not sent.
        await eventually(
            lambda: len(failed_reminders()) == CASES, 60, "every reminder tried twice and waiting"
        )
        waiting = sqlite_ledger.notices("reminder")
        assert all(n.last_error and n.sent_at is None for n in waiting)
        assert len(smtp_server.messages) == CASES, "no reminder got through"

        smtp_server.start()
        await eventually(
            lambda: all(n.status == "sent" for n in sqlite_ledger.notices()), 60, "the outbox emptied"
        )
        await asyncio.sleep(2)  # a second delivery of anything would arrive now
        statuses = [await client.get_workflow_handle(ref).query(MappaCaseWorkflow.status) for ref in refs]
    finally:
        await worker.stop()
        worker.remove_log()

    notices = sqlite_ledger.notices()
    assert len(notices) == 2 * CASES
    assert Counter(str(m["X-MAPPA-Notice-Key"]) for m in smtp_server.messages) == {n.key: 1 for n in notices}
    reminders = [m for m in smtp_server.messages if "reminder" in str(m["Subject"]).lower()]
    assert sorted(str(m["X-MAPPA-Case-Ref"]) for m in reminders) == sorted(refs)
    for status in statuses:
        (asp,) = [d for d in status.deadlines if d.deadline_id == "asp-screening"]
        assert asp.state == "open" and asp.reminded_at is not None
