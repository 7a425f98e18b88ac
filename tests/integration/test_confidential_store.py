"""The confidential tables on SQLite and PostgreSQL: the audit trail is append-only in the database itself and
exports per case (`mappa audit export`); minutes are stored encrypted and disclosures expire."""

from __future__ import annotations

import csv
import io
import json
import secrets
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from api.auth import User
from cli.main import main
from core.codec import KeyRing
from core.database import session_factory
from store.directory import load_directory
from store.minutes import (
    MinuteContent,
    decide_once,
    granted_disclosure,
    load_minute,
    new_disclosure_ref,
    open_content,
    open_summary,
    store_minute,
)
from store.models import AuditEvent, DisclosedPart, MinuteDisclosure, TokenRole
from tests.case_builders import community_notification
from workflows.rules.case import CaseFile

DIRECTORY = Path(__file__).resolve().parents[2] / "store" / "seed" / "directory.json"
CASE = "MAPPA-LAN-2026-AUDIT1"
CHAIR = User(
    token_id=1,
    user_name="Chair",
    agency_id="police-scotland-lanarkshire",
    role=TokenRole.CHAIR,
    area="lanarkshire",
)


def audit_event(action: str, outcome: str = "allowed", case_ref: str = CASE) -> AuditEvent:
    return AuditEvent(
        user_name="Morag Example",
        agency_id="lanarkshire-justice-social-work",
        role="co-ordinator",
        action=action,
        case_ref=case_ref,
        outcome=outcome,
        reason="nhs-lanarkshire attended meeting-1" if outcome == "allowed" else "did not attend",
    )


def test_the_database_refuses_to_change_or_remove_an_audit_row(engine: Engine) -> None:
    with session_factory(engine).begin() as session:
        session.add(audit_event("read the case file"))
    for statement in ("UPDATE audit_events SET outcome = 'refused'", "DELETE FROM audit_events"):
        with pytest.raises(DBAPIError, match="append-only"), engine.begin() as connection:
            connection.execute(text(statement))
    with Session(engine) as session:
        assert session.scalars(select(AuditEvent.outcome)).all() == ["allowed"]


def test_mappa_audit_export_writes_one_case_trail_and_records_the_export(
    engine: Engine,
    database_url: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    monkeypatch.setenv("MAPPA_DATABASE_URL", database_url)
    with session_factory(engine).begin() as session:
        session.add_all(
            [
                audit_event("read a minute", "refused"),
                audit_event("read a minute"),
                audit_event("read a minute", case_ref="MAPPA-LAN-2026-OTHER1"),
            ]
        )

    assert (
        main(["audit", "export", "--case", CASE, "--format", "json", "--output", str(tmp_path / "a.json")])
        == 0
    )
    exported = json.loads((tmp_path / "a.json").read_text())
    assert [(e["action"], e["outcome"]) for e in exported] == [
        ("read a minute", "refused"),
        ("read a minute", "allowed"),
        ("export a case's audit trail", "allowed"),
    ]
    assert (
        exported[0]["reason"] == "did not attend"
        and exported[0]["agency_id"] == "lanarkshire-justice-social-work"
    )

    capsys.readouterr()
    assert main(["audit", "export", "--case", CASE]) == 0  # CSV on standard output by default
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert len(rows) == 4 and {r["case_ref"] for r in rows} == {CASE}
    assert rows[-1]["user_name"].endswith("(mappa CLI)")


def test_mappa_audit_export_of_no_case_fails_in_one_line_and_records_nothing(
    engine: Engine,
    database_url: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("MAPPA_DATABASE_URL", database_url)
    with session_factory(engine).begin() as session:  # a refused attempt on a reference makes it no case
        session.add(audit_event("read the case file", "refused", case_ref="MAPPA-LAN-2026-NOCASE"))

    for unknown in ("MAPPA-LAN-2026-NOCASE", "MAPPA-LAN-2026-NEVER1"):
        assert main(["audit", "export", "--case", unknown]) == 1
        out, err = capsys.readouterr()
        assert out == "" and err.count("\n") == 1 and f"no case {unknown} is known" in err
    with Session(engine) as session:
        assert session.scalars(select(AuditEvent.action)).all() == ["read the case file"]


def minute(today: date) -> MinuteContent:
    return MinuteContent.model_validate(
        {
            "held_on": today.isoformat(),
            "chair_agency": "police-scotland-lanarkshire",
            "attendees": [
                {"agency": a, "representative": "A Representative", "signed_confidentiality_statement": True}
                for a in ("police-scotland-lanarkshire", "nhs-lanarkshire")
            ],
            "risk_assessment": "High risk to a known adult; frequents the Riverside Café on Mondays.",
            "critical_risk_factors": ["Fixation"],
            "contingency_plan": "Recall on any approach.",
            "not_to_be_shared": [{"item": "the informant's name", "reason": "third-party source"}],
            "conclusions": "Level 2, exclusion zone.",
        }
    )


def test_a_minute_is_stored_encrypted_and_a_disclosure_lapses_when_it_expires(engine: Engine) -> None:
    load_directory(engine, DIRECTORY)
    keys = KeyRing({"k1": secrets.token_bytes(32)}, "k1")
    today = date.today()
    case = CaseFile.open(community_notification(CASE, disposal_date=today), datetime.now(UTC))
    with session_factory(engine)() as session:
        stored, first = store_minute(
            session, keys, CASE, "lanarkshire", minute(today), CHAIR.user_name, "meeting-1"
        )
        ref = stored.minute_ref
        assert first and stored.meeting_id == "meeting-1"
        # A meeting has one row: a second minute for it stores nothing and gets the first back.
        again, stored_again = store_minute(
            session, keys, CASE, "lanarkshire", minute(today), CHAIR.user_name, "meeting-1"
        )
        assert (again.minute_ref, stored_again) == (ref, False)

    with Session(engine) as session:
        raw = session.execute(text("SELECT content, executive_summary FROM minutes")).one()
        row = load_minute(session, ref)
        assert row is not None
        assert b"Riverside" not in bytes(raw[0]) and b"Level 2" not in bytes(raw[1])
        assert "Riverside" in open_content(keys, row, case).risk_assessment
        assert open_summary(keys, row).conclusions == "Level 2, exclusion zone."

    now = datetime.now(UTC)
    with session_factory(engine).begin() as session:
        request = MinuteDisclosure(
            disclosure_ref=new_disclosure_ref(),
            minute_ref=ref,
            case_ref=CASE,
            recipient_agency="north-lanarkshire-council",
            what=DisclosedPart.EXECUTIVE_SUMMARY.value,
            rationale="child protection conference",
            requested_by="Nurse",
            requested_by_agency="nhs-lanarkshire",
        )
        session.add(request)
        session.flush()
        assert decide_once(
            session,
            request,
            granted=True,
            decided_by=CHAIR.user_name,
            decided_by_agency=CHAIR.agency_id,
            reason="no source revealed",
            at=now,
            expires_at=now + timedelta(days=7),
            items_shared=None,
        )
        # Decided once: a second decision, even the same one, changes nothing.
        assert not decide_once(
            session,
            request,
            granted=False,
            decided_by="Another chair",
            decided_by_agency=CHAIR.agency_id,
            reason="changed my mind",
            at=now,
            expires_at=None,
            items_shared=None,
        )
        assert request.status == "granted" and request.decided_by == CHAIR.user_name

    summary_only = (DisclosedPart.EXECUTIVE_SUMMARY,)
    with Session(engine) as session:
        assert granted_disclosure(session, ref, "north-lanarkshire-council", summary_only, now) is not None
        assert granted_disclosure(session, ref, "lanarkshire-housing", summary_only, now) is None
        assert (
            granted_disclosure(session, ref, "north-lanarkshire-council", (DisclosedPart.MINUTE,), now)
            is None
        )
        later = now + timedelta(days=7, seconds=1)
        assert granted_disclosure(session, ref, "north-lanarkshire-council", summary_only, later) is None
