"""With a spool (`MAPPA_AUDIT_SPOOL`) an agency event's allowed row is committed after the answer, by the drain;
refusals and reads of personal data are still committed before it (README, "The audit trail")."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import Engine, delete, event, text
from temporalio.testing import WorkflowEnvironment

from api.app import create_app
from api.audit_spool import AuditSpool, drain_all
from core.database import session_factory
from core.settings import Settings
from store.models import AuditEvent
from tests.e2e.api_rig import ApiRig, issue_tokens
from tests.e2e.test_api_cases import assert_problem, open_case
from tests.e2e.test_unknown_cases import NO_SUCH_CASE, trail
from tests.helpers import SmtpSink
from worker.assembly import build_activities, build_worker

pytestmark = pytest.mark.timeout(120)

SCREENING = {"outcome": "referral-needed", "reason": "risk to a known adult"}
RISK_CHANGE = {
    "reporting_agency": "police-scotland-lanarkshire",
    "direction": "increased",
    "summary": "new intelligence",
}


@pytest.fixture
def spool(tmp_path: Path) -> Iterator[AuditSpool]:
    spool = AuditSpool(tmp_path / "spool" / "audit.db")
    try:
        yield spool
    finally:
        spool.close()


@pytest.fixture
async def rig(
    dev_server_env: WorkflowEnvironment,
    engine: Engine,
    smtp_server: SmtpSink,
    module_task_queue: str,
    spool: AuditSpool,
) -> AsyncIterator[ApiRig]:
    settings = Settings(
        database_url=str(engine.url),
        task_queue=module_task_queue,
        temporal_namespace=dev_server_env.client.namespace,
        smtp_host=smtp_server.host,
        smtp_port=smtp_server.port,
        smtp_timeout_seconds=5,
    )
    # The test drains the spool itself (ASGITransport runs no lifespan, so no background drain): what is in the
    # trail before `drain_all` is exactly what was committed before the answer.
    app = create_app(settings, client=dev_server_env.client, engine=engine, audit_spool=spool)
    worker = build_worker(dev_server_env.client, settings, build_activities(settings, engine))
    async with (
        worker,
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://mappa.test") as http,
    ):
        yield ApiRig(http, engine, settings, smtp_server, dev_server_env, issue_tokens(engine), app)


def of(rig: ApiRig, case_ref: str, user: str) -> list[tuple[str, str]]:
    return [(action, outcome) for name, action, outcome in trail(rig, case_ref) if name == f"test {user}"]


async def test_an_events_allowed_row_arrives_after_the_answer_from_the_spool(
    rig: ApiRig, spool: AuditSpool
) -> None:
    case_ref = await open_case(rig)
    await rig.event("lan-co", case_ref, "screening", SCREENING)
    await rig.event("lan-police", case_ref, "risk-changes", RISK_CHANGE)
    assert of(rig, case_ref, "lan-police") == [("open a case", "allowed")]  # the opening: before its answer
    assert spool.count() == 2

    assert drain_all(spool, rig.engine) == 2
    assert of(rig, case_ref, "lan-co") == [("screen a notification", "allowed")]
    assert of(rig, case_ref, "lan-police")[-1] == ("report a change in risk", "allowed")
    assert spool.count() == 0


async def test_refusals_are_committed_before_the_answer_and_no_case_is_never_allowed(
    rig: ApiRig, spool: AuditSpool
) -> None:
    case_ref = await open_case(rig)
    assert_problem(await rig.post("gla-co", f"/cases/{case_ref}/screening", SCREENING), 403)
    assert_problem(await rig.post("lan-co", f"/cases/{NO_SUCH_CASE}/screening", SCREENING), 404)

    assert of(rig, case_ref, "gla-co") == [("screen a notification", "refused")]
    assert of(rig, NO_SUCH_CASE, "lan-co") == [("screen a notification", "refused")]
    assert spool.count() == 0
    assert drain_all(spool, rig.engine) == 0
    assert of(rig, NO_SUCH_CASE, "lan-co") == [("screen a notification", "refused")]


async def test_a_read_of_the_case_file_is_still_recorded_before_its_answer(
    rig: ApiRig, spool: AuditSpool
) -> None:
    case_ref = await open_case(rig)
    read = await rig.get("lan-co", f"/cases/{case_ref}/case-file")
    assert read.status_code == 200
    assert of(rig, case_ref, "lan-co") == [("read the case file", "allowed")]
    assert spool.count() == 0

    with session_factory(rig.engine).begin() as session:
        session.execute(text("DROP TRIGGER audit_events_no_delete"))  # only to make the table unwritable
        session.execute(delete(AuditEvent))
        session.execute(text("DROP TABLE audit_events"))
    unrecorded = await rig.get("lan-co", f"/cases/{case_ref}/case-file")
    assert unrecorded.status_code == 503 and unrecorded.json()["type"].endswith("audit-unavailable")
    assert spool.count() == 0


async def test_an_event_reads_where_its_case_is_managed_once(rig: ApiRig) -> None:
    """Authorising the event and checking the agencies it names against the case's area both need the area the
    case is managed in now (after any transfer): one query answers both."""
    case_ref = await open_case(rig)
    statements: list[str] = []

    def seen(_conn: object, _cursor: object, statement: str, *_: object) -> None:
        statements.append(statement)

    event.listen(rig.engine, "before_cursor_execute", seen)
    try:
        await rig.event("lan-police", case_ref, "risk-changes", RISK_CHANGE)
    finally:
        event.remove(rig.engine, "before_cursor_execute", seen)
    assert sum("FROM case_transfers" in s for s in statements) == 1
    # And the agencies named were still checked against the directory.
    assert any("FROM agencies" in s for s in statements)
