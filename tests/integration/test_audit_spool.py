"""An event's audit row kept on the API's disk until the database has it: nothing is lost when the API dies after
answering, nothing is written twice when a drain is retried, and a row waits while its request is unanswered."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, select
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from api.audit_spool import AuditSpool, SpooledRow, SpoolInUse, drain_all, drain_once
from store.models import AuditEvent

pytestmark = pytest.mark.timeout(60)


def risk_change_by(user: str, case_ref: str = "MAPPA-WAS-2026-000001") -> SpooledRow:
    return SpooledRow(
        user_name=user,
        agency_id="wiltshire-police",
        role="agency-worker",
        action="report a change in risk",
        case_ref=case_ref,
        outcome="allowed",
        at=SpooledRow.now(),
    )


def trail(engine: Engine) -> list[tuple[str, str, str | None]]:
    with Session(engine) as session:
        rows = session.scalars(select(AuditEvent).order_by(AuditEvent.id)).all()
    return [(r.user_name, r.outcome, r.case_ref) for r in rows]


def unreachable_database(tmp_path: Path) -> Engine:
    """A database that cannot be opened: every drain into it fails, as when PostgreSQL is down."""
    return create_engine(f"sqlite:///{tmp_path / 'no-such-directory' / 'mappa.db'}")


def test_a_row_spooled_by_an_api_killed_after_answering_reaches_the_trail_when_the_next_one_starts(
    engine: Engine, tmp_path: Path
) -> None:
    path = tmp_path / "spool" / "audit.db"
    # The API process appends the row, answers, and is killed (SIGKILL) before any drain.
    killed = subprocess.run(
        [
            sys.executable,
            "-c",
            textwrap.dedent(
                f"""
                import os, signal
                from api.audit_spool import AuditSpool, SpooledRow
                from pathlib import Path
                spool = AuditSpool(Path({str(path)!r}))
                spool_id = spool.append(SpooledRow("officer who was answered", "wiltshire-police",
                    "agency-worker", "report a change in risk", "MAPPA-WAS-2026-000001", "allowed",
                    SpooledRow.now()))
                spool.settle(spool_id)
                os.kill(os.getpid(), signal.SIGKILL)
                """
            ),
        ],
        cwd=Path(__file__).resolve().parents[2],
        check=False,
    )
    assert killed.returncode == -9
    assert trail(engine) == []

    restarted = AuditSpool(path)  # the next API process, on the same disk
    try:
        assert drain_all(restarted, engine) == 1
    finally:
        restarted.close()
    assert trail(engine) == [("officer who was answered", "allowed", "MAPPA-WAS-2026-000001")]


def test_rows_wait_on_disk_while_the_database_refuses_them_and_arrive_once_it_takes_them(
    engine: Engine, tmp_path: Path
) -> None:
    spool = AuditSpool(tmp_path / "audit.db")
    try:
        for user in ("first officer", "second officer"):
            spool.settle(spool.append(risk_change_by(user)))
        with pytest.raises(OperationalError):
            drain_once(spool, unreachable_database(tmp_path))
        assert spool.count() == 2
        assert drain_all(spool, engine) == 2
        assert spool.count() == 0
    finally:
        spool.close()
    assert [user for user, _, _ in trail(engine)] == ["first officer", "second officer"]


def test_a_drain_retried_after_its_commit_writes_no_row_twice(
    engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    spool = AuditSpool(tmp_path / "audit.db")
    try:
        spool.settle(spool.append(risk_change_by("officer")))

        def crash(_ids: list[str]) -> None:
            raise OSError("the API stopped between the database's commit and the spool's delete")

        with monkeypatch.context() as patch:
            patch.setattr(spool, "remove", crash)
            with pytest.raises(OSError):
                drain_once(spool, engine)
        assert spool.count() == 1
        drain_all(spool, engine)
        assert spool.count() == 0
    finally:
        spool.close()
    assert trail(engine) == [("officer", "allowed", "MAPPA-WAS-2026-000001")]


def test_a_row_waits_until_its_request_is_answered_and_a_withdrawn_one_never_arrives(
    engine: Engine, tmp_path: Path
) -> None:
    spool = AuditSpool(tmp_path / "audit.db")
    try:
        answered_later = spool.append(risk_change_by("officer still waiting"))
        withdrawn = spool.append(risk_change_by("officer of no case", "MAPPA-WAS-2026-ZZZZZZ"))
        assert drain_all(spool, engine) == 0
        spool.withdraw(withdrawn)
        spool.settle(answered_later)
        assert drain_all(spool, engine) == 1
    finally:
        spool.close()
    assert trail(engine) == [("officer still waiting", "allowed", "MAPPA-WAS-2026-000001")]


def test_two_api_processes_cannot_share_one_spool(tmp_path: Path) -> None:
    first = AuditSpool(tmp_path / "audit.db")
    try:
        holder = subprocess.run(
            [
                sys.executable,
                "-c",
                f"from api.audit_spool import AuditSpool; AuditSpool(__import__('pathlib').Path({str(tmp_path / 'audit.db')!r}))",
            ],
            cwd=Path(__file__).resolve().parents[2],
            capture_output=True,
            text=True,
            check=False,
        )
        assert holder.returncode != 0 and SpoolInUse.__name__ in holder.stderr
    finally:
        first.close()
