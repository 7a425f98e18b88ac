"""Metrics for Prometheus: the worker counts breaches (once, however often an escalation is retried),
reminders and escalations sent, delivery failures and escalation lateness, served on its metrics port; the
API gauges open deadlines and open breaches from the ledger at `/metrics`."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import Engine
from temporalio.exceptions import ApplicationError
from temporalio.testing import WorkflowEnvironment

from api.app import create_app
from core.database import make_engine
from core.settings import Settings
from store.directory import load_directory
from store.migrate import upgrade
from tests.helpers import SmtpSink, free_port
from tests.integration.case_files import (
    RECORD_SEARCH_BREACHED,
    RECORD_SEARCH_REMINDED,
    accept_with_record_searches,
    lanarkshire_referral,
    ledger_update,
)
from tests.integration.dev_cases import DIRECTORY, dev_cases, eventually, new_case_ref
from tests.integration.test_ledger import activities_on
from worker.assembly import serve_activity_metrics
from workflows.messages import Notice, NoticeKind
from workflows.rules.case import CaseFile

Labels = dict[str, str]


def sample(text: str, name: str, labels: Labels | None = None) -> float:
    """A sample's value in a Prometheus exposition, 0 when the series does not exist (yet)."""
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            if s.name == name and s.labels == (labels or {}):
                return float(s.value)
    return 0.0


def scrape(url: str) -> str:
    response = httpx.get(url, timeout=5)
    response.raise_for_status()
    return response.text


@pytest.fixture
def worker_metrics() -> Iterator[str]:
    """The worker's metrics endpoint, served as `worker.main` serves it, on a free port."""
    port = free_port()
    server = serve_activity_metrics(Settings(), port=port)
    try:
        yield f"http://127.0.0.1:{port}/metrics"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def ledger_engine(tmp_path: Path) -> Iterator[Engine]:
    engine = make_engine(f"sqlite:///{tmp_path / 'ledger.db'}")
    upgrade(engine)
    load_directory(engine, DIRECTORY)
    try:
        yield engine
    finally:
        engine.dispose()


def notice_about(case: CaseFile, kind: NoticeKind, deadline_id: str) -> Notice:
    return next(n for n in case.take_outbox() if n.kind is kind and n.deadline_id == deadline_id)


SEARCH = "record-search:nhs-lanarkshire"


def test_a_breach_escalated_and_retried_counts_once_with_its_lateness(
    ledger_engine: Engine, smtp_server: SmtpSink, worker_metrics: str
) -> None:
    case = lanarkshire_referral(new_case_ref("lanarkshire"))
    accept_with_record_searches(case, "nhs-lanarkshire")
    case.tick(RECORD_SEARCH_BREACHED)
    escalation = notice_about(case, NoticeKind.BREACH_ESCALATION, SEARCH)
    assert escalation.due_at is not None
    escalated_at = escalation.due_at + timedelta(hours=10)
    activities = activities_on(ledger_engine, smtp_server, clock=lambda: escalated_at)
    # The workflow writes the ledger before it sends the deadline's notices.
    activities.record_in_ledger(ledger_update(case))
    before = scrape(worker_metrics)

    activities.escalate_breach(escalation)
    activities.escalate_breach(escalation)  # retried after a lost answer: not a second breach

    after = scrape(worker_metrics)

    def rise(name: str, labels: Labels) -> float:
        return sample(after, name, labels) - sample(before, name, labels)

    assert rise("mappa_deadline_breaches_total", {"kind": "record-search", "area": "lanarkshire"}) == 1
    assert rise("mappa_escalations_sent_total", {"kind": "record-search"}) == 1
    lateness = {"escalation": "breach-escalation"}
    assert rise("mappa_escalation_lateness_seconds_count", lateness) == 1
    assert rise("mappa_escalation_lateness_seconds_sum", lateness) == 10 * 3600
    assert rise("mappa_escalation_lateness_seconds_bucket", {**lateness, "le": "14400.0"}) == 0  # 4 hours
    assert rise("mappa_escalation_lateness_seconds_bucket", {**lateness, "le": "86400.0"}) == 1  # a day
    assert "MAPPA-" not in after, "case references are never labels"


def test_a_reminder_is_counted_when_sent_and_a_refused_attempt_as_a_delivery_failure(
    ledger_engine: Engine, smtp_server: SmtpSink, worker_metrics: str
) -> None:
    case = lanarkshire_referral(new_case_ref("lanarkshire"))
    accept_with_record_searches(case, "nhs-lanarkshire")
    case.take_outbox()
    case.tick(RECORD_SEARCH_REMINDED)
    reminder = notice_about(case, NoticeKind.REMINDER, SEARCH)
    activities = activities_on(ledger_engine, smtp_server)
    activities.record_in_ledger(ledger_update(case))
    before = scrape(worker_metrics)

    smtp_server.stop()
    with pytest.raises(ApplicationError, match="mail relay did not accept"):
        activities.send_reminder(reminder)
    smtp_server.start()
    activities.send_reminder(reminder)
    activities.send_reminder(reminder)  # a retry finds it sent

    after = scrape(worker_metrics)
    failures = "mappa_notification_delivery_failures_total"
    assert sample(after, failures) - sample(before, failures) == 1
    reminders = ("mappa_reminders_sent_total", {"kind": "record-search"})
    assert sample(after, *reminders) - sample(before, *reminders) == 1


async def test_a_breach_on_a_running_case_raises_the_breach_counter_and_the_open_breach_gauge(
    dev_server_env: WorkflowEnvironment, tmp_path: Path, smtp_server: SmtpSink, worker_metrics: str
) -> None:
    swis_in_lanarkshire = {"kind": "swis-alert", "area": "lanarkshire"}
    minutes_in_lanarkshire = {"kind": "minutes", "area": "lanarkshire"}
    before = await asyncio.to_thread(scrape, worker_metrics)

    async with dev_cases(dev_server_env, tmp_path, smtp_server) as cases:
        # A meeting held two weeks ago is recorded today: its minutes (5 working days after it was held) are
        # breached at once; its SWIS alert counts from the recording (000: "immediately after"), so it is open.
        await cases.level_3_case_with_breaches("lanarkshire")

        async def breach_counted() -> None:
            after = await asyncio.to_thread(scrape, worker_metrics)
            rise = sample(after, "mappa_deadline_breaches_total", minutes_in_lanarkshire) - sample(
                before, "mappa_deadline_breaches_total", minutes_in_lanarkshire
            )
            assert rise >= 1

        await eventually(breach_counted, "the worker counts the minutes' breach")

        app = create_app(Settings(database_url=str(cases.engine.url)), engine=cases.engine)
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://mappa.test"
        ) as http:
            response = await http.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    gauges = response.text
    assert sample(gauges, "mappa_breached_deadlines_open", swis_in_lanarkshire) == 0
    assert sample(gauges, "mappa_breached_deadlines_open", minutes_in_lanarkshire) == 1
    assert sample(gauges, "mappa_open_deadlines", {"kind": "swis-alert"}) == 1
    # Every kind has its gauge, at zero when nothing of that kind is open.
    assert 'mappa_open_deadlines{kind="exit-review"} 0.0' in gauges
