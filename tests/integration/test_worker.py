"""The worker as `worker.main` builds it: a case opened on Temporal sends its notices and writes the ledger.

On the dev server, not the time-skipping one: the test ends by terminating the case, and the time-skipping
server never releases the clock lock held by an activity in flight when its workflow closes
(temporalio/sdk-java#1138), so every later `env.sleep` in the session would time out."""

from uuid import uuid4

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session
from temporalio.testing import WorkflowEnvironment

from core.settings import Settings
from store.directory import load_directory
from store.models import LedgerCase, LedgerDeadline, Notification
from tests.helpers import SmtpSink, unique_task_queue
from tests.integration.case_files import lanarkshire_referral
from worker.assembly import build_activities, build_worker
from workflows.case import MappaCaseWorkflow
from workflows.messages import CaseWorkflowInput
from workflows.rules import events as ev
from workflows.rules.calendar import Jurisdiction


async def test_a_referral_opened_on_the_worker_is_acknowledged_and_recorded_in_the_ledger(
    dev_server_env: WorkflowEnvironment, engine: Engine, smtp_server: SmtpSink
) -> None:
    load_directory(engine, "store/seed/directory.json")
    settings = Settings(smtp_host=smtp_server.host, smtp_port=smtp_server.port, smtp_timeout_seconds=5)
    case_ref = f"MAPPA-LAN-{uuid4().hex[:8].upper()}"
    opening = ev.CaseOpening(
        case_ref=case_ref,
        area="lanarkshire",
        jurisdiction=Jurisdiction.SCOTLAND,
        category=1,
        lead_agency="police-scotland-lanarkshire",
        subject=lanarkshire_referral().subject,
        referral=ev.ReferralSubmitted(referring_agency="lanarkshire-justice-social-work", level_sought=2),
    )
    task_queue = unique_task_queue()
    client = dev_server_env.client

    async with build_worker(client, settings, build_activities(settings, engine), task_queue=task_queue):
        handle = await client.start_workflow(
            MappaCaseWorkflow.run, CaseWorkflowInput(opening=opening), id=case_ref, task_queue=task_queue
        )
        try:
            (receipt,) = await smtp_server.wait_for(1, timeout=30)
            assert case_ref in receipt["Subject"]
            assert receipt["X-RcptTo"] == "justice.mappa@lanarkshire-jsw.example.gov.uk"
        finally:
            await handle.terminate("test over")

    with Session(engine) as session:
        case = session.get(LedgerCase, case_ref)
        deadlines = set(session.scalars(select(LedgerDeadline.deadline_id)).all())
        (sent,) = session.scalars(select(Notification)).all()
    assert case is not None and (case.area, case.stage) == ("lanarkshire", "referral")
    assert {"referral-decision", "asp-screening"} <= deadlines
    assert (sent.kind, sent.status) == ("referral-receipt", "sent")
