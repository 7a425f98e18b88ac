"""The deadline ledger on SQLite and PostgreSQL: built by the migrations, one row per fact however often the
workflow's writes are retried or replayed."""

import asyncio
import json
from collections.abc import Callable
from datetime import datetime, timedelta

from alembic.script import ScriptDirectory
from sqlalchemy import Engine, func, inspect, select
from sqlalchemy.orm import Session

from activities.case_activities import CaseActivities
from activities.mailer import SmtpMailer
from core.database import make_engine, session_factory
from store.directory import load_directory
from store.migrate import alembic_config, upgrade
from store.models import LedgerCase, LedgerDeadline, LedgerEscalation, Notification, utcnow
from tests.helpers import SmtpSink, free_port
from tests.integration.case_files import (
    RECORD_SEARCH_BREACHED,
    accept_with_record_searches,
    lanarkshire_referral,
    ledger_update,
    record_search_breach,
)
from workflows.messages import LedgerUpdate
from workflows.rules.deadlines import DeadlineState
from workflows.rules.policy import DeadlineKind

SEED_DIRECTORY = "store/seed/directory.json"
TABLES = {
    "agencies",
    "role_holders",
    "notifications",
    "ledger_cases",
    "ledger_deadlines",
    "ledger_escalations",
    "api_tokens",
    "case_openings",
    "audit_events",
}


def activities_on(
    engine: Engine, smtp: SmtpSink | None = None, clock: Callable[[], datetime] = utcnow
) -> CaseActivities:
    # Ledger writes send no mail: without a server, the relay is a closed port.
    mailer = SmtpMailer("127.0.0.1", smtp.port if smtp else free_port(), "mappa-noreply@example.gov.uk", 5)
    return CaseActivities(session_factory(engine), mailer, clock=clock)


def deadlines_by_id(engine: Engine, case_ref: str) -> dict[str, LedgerDeadline]:
    with Session(engine) as session:
        rows = session.scalars(select(LedgerDeadline).where(LedgerDeadline.case_ref == case_ref)).all()
        return {row.deadline_id: row for row in rows}


def test_migrations_build_every_table_from_an_empty_database(database_url: str) -> None:
    upgrade(database_url)
    upgrade(database_url)  # already at head: nothing to do, nothing fails

    engine = make_engine(database_url)
    try:
        assert set(inspect(engine).get_table_names()) >= TABLES
        with engine.connect() as connection:
            (version,) = connection.exec_driver_sql("SELECT version_num FROM alembic_version").one()
        # The newest migration, whichever it is: each issue adds its own.
        assert version == ScriptDirectory.from_config(alembic_config()).get_current_head()
    finally:
        engine.dispose()


def test_recording_the_same_ledger_update_twice_leaves_one_row_per_deadline(engine: Engine) -> None:
    case = lanarkshire_referral()
    update = ledger_update(case)
    activities = activities_on(engine)

    first = activities.record_in_ledger(update)
    again = activities.record_in_ledger(update)  # a retried activity, or a replayed workflow

    assert first.deadlines_written == again.deadlines_written == len(update.deadlines) > 0
    with Session(engine) as session:
        assert session.scalar(select(func.count()).select_from(LedgerCase)) == 1
        assert session.scalar(select(func.count()).select_from(LedgerDeadline)) == len(update.deadlines)


def test_the_ledger_shows_each_deadline_in_its_latest_state(engine: Engine) -> None:
    case = lanarkshire_referral()
    activities = activities_on(engine)
    activities.record_in_ledger(ledger_update(case))

    # The referral is accepted (its decision deadline is met) and the record searches are then not returned.
    accept_with_record_searches(case, "nhs-lanarkshire", "sps")
    activities.record_in_ledger(ledger_update(case))
    case.tick(RECORD_SEARCH_BREACHED)
    breached = ledger_update(case)
    activities.record_in_ledger(breached)
    activities.record_in_ledger(breached)

    rows = deadlines_by_id(engine, case.case_ref)
    assert set(rows) == set(case.deadlines)
    decision = rows["referral-decision"]
    assert (decision.state, decision.met_late) == (DeadlineState.MET.value, False)
    assert decision.met_at is not None and decision.met_at.utcoffset() == timedelta(0)
    search = rows["record-search:sps"]
    assert (search.state, search.escalations, search.responsible) == (DeadlineState.BREACHED.value, 1, "sps")
    assert search.area == "lanarkshire" and search.jurisdiction == "scotland"
    assert search.due_at == case.deadlines["record-search:sps"].due_at
    assert rows["initial-meeting"].kind == DeadlineKind.INITIAL_MEETING_LEVEL_2.value

    with Session(engine) as session:
        summary = session.get(LedgerCase, case.case_ref)
        assert summary is not None
        assert (summary.stage, summary.level, summary.open_breaches) == ("information-sharing", 2, 3)
        # The search results go to the attendees a working day before the meeting falls due: that comes first.
        assert summary.next_deadline_kind == DeadlineKind.PRE_MEETING_INFORMATION.value


def test_a_ledger_write_carries_each_deadline_as_the_ledger_keeps_it_not_its_rule_text_or_explanation() -> (
    None
):
    case = lanarkshire_referral()
    update = ledger_update(case)
    written = json.loads(update.model_dump_json())
    deadline = written["deadlines"][0]
    assert "rule_text" not in deadline and "explanation" not in deadline
    full = case.deadlines[deadline["deadline_id"]]
    assert (deadline["title"], deadline["source"], deadline["due_at"]) == (
        full.title,
        full.source,
        full.due_at.isoformat().replace("+00:00", "Z"),
    )
    # The history is the smaller for it: every ledger write of a case is kept in it and decoded on each replay.
    with_rule_text = len(json.dumps([d.model_dump(mode="json") for d in case.deadlines.values()]))
    assert len(json.dumps(written["deadlines"])) < with_rule_text / 2


def test_a_ledger_write_recorded_with_whole_deadlines_is_still_written(engine: Engine) -> None:
    """An activity scheduled before the write was slimmed (a worker upgraded while it waited) carries each
    deadline whole: the activity reads it down to what the ledger keeps."""
    case = lanarkshire_referral()
    summary = ledger_update(case).case
    recorded_before = json.dumps(
        {
            "case": summary.model_dump(mode="json"),
            "deadlines": [d.model_dump(mode="json") for d in case.deadlines.values()],
        }
    )
    activities_on(engine).record_in_ledger(LedgerUpdate.model_validate_json(recorded_before))
    rows = deadlines_by_id(engine, case.case_ref)
    assert {ref: row.due_at for ref, row in rows.items()} == {
        ref: d.due_at for ref, d in case.deadlines.items()
    }


def test_breached_deadlines_of_an_area_are_found_by_responsible_agency_in_due_order(engine: Engine) -> None:
    activities = activities_on(engine)
    for number in (1, 2):
        case = lanarkshire_referral(f"MAPPA-LAN-2026-000{number}")
        accept_with_record_searches(case, "nhs-lanarkshire", "sps")
        case.tick(RECORD_SEARCH_BREACHED)
        activities.record_in_ledger(ledger_update(case))

    with Session(engine) as session:
        overdue = session.scalars(
            select(LedgerDeadline)
            .where(
                LedgerDeadline.area == "lanarkshire",
                LedgerDeadline.state == DeadlineState.BREACHED.value,
                LedgerDeadline.responsible == "sps",
            )
            .order_by(LedgerDeadline.due_at, LedgerDeadline.case_ref)
        ).all()
    assert [(row.case_ref, row.deadline_id) for row in overdue] == [
        ("MAPPA-LAN-2026-0001", "record-search:sps"),
        ("MAPPA-LAN-2026-0002", "record-search:sps"),
    ]


async def test_a_breach_escalated_twice_is_one_escalation_with_its_lateness(
    engine: Engine, smtp_server: SmtpSink
) -> None:
    load_directory(engine, SEED_DIRECTORY)
    escalation = record_search_breach()
    assert escalation.due_at is not None
    escalated_at = escalation.due_at + timedelta(hours=10)
    activities = activities_on(engine, smtp_server, clock=lambda: escalated_at)

    await asyncio.to_thread(activities.escalate_breach, escalation)
    await asyncio.to_thread(activities.escalate_breach, escalation)  # retried after a lost answer

    with Session(engine) as session:
        (row,) = session.scalars(select(LedgerEscalation)).all()
        assert session.scalar(select(func.count()).select_from(Notification)) == 1
    assert (row.key, row.kind, row.recipient) == (escalation.key, "breach-escalation", "co-ordinator")
    assert (row.case_ref, row.deadline_id, row.area) == (
        escalation.case_ref,
        "record-search:nhs-lanarkshire",
        "lanarkshire",
    )
    assert row.escalated_at == escalated_at
    assert row.lateness_seconds == 10 * 3600
    (message,) = await smtp_server.wait_for(1)
    assert len(smtp_server.messages) == 1
    assert message["X-RcptTo"] == "lanarkshire.coordinator@mappa-scotland.example.gov.uk"
