"""The deadline ledger: one row per case and per deadline in its latest state, and one per escalation.

The read side for questions across many cases (what is breached, what falls due this week, compliance per
area). Every write is an upsert keyed by the fact it records, so retries and replays leave one row per fact.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from store import transfers
from store.models import LedgerCase, LedgerDeadline, LedgerEscalation
from store.upsert import upsert_rows
from workflows.messages import CaseSummary, DeadlineInLedger, Notice


def write_case(session: Session, case: CaseSummary, now: datetime) -> None:
    values = {
        "case_ref": case.case_ref,
        "area": case.area,
        "jurisdiction": case.jurisdiction,
        "category": case.category,
        "level": case.level,
        "stage": case.stage.value,
        "lead_agency": case.lead_agency,
        "opened_at": case.opened_at,
        "exited_at": case.exited_at,
        "open_breaches": case.open_breaches,
        "next_deadline_at": case.next_deadline_at,
        "next_deadline_kind": case.next_deadline_kind,
        "updated_at": now,
    }
    # The latest write wins: the workflow writes a case's ledger in order, one write at a time.
    upsert_rows(session, LedgerCase, ["case_ref"], [values])


def write_transfers(session: Session, case: CaseSummary, now: datetime) -> None:
    """The case's transfers between areas as it last reported them: the API's area check and the digest read them."""
    transfers.write_transfers(session, case.case_ref, case.transfers, now)


def write_deadlines(session: Session, case: CaseSummary, deadlines: list[DeadlineInLedger]) -> None:
    rows = [
        {
            "case_ref": case.case_ref,
            "deadline_id": d.deadline_id,
            "area": case.area,
            "jurisdiction": case.jurisdiction,
            "kind": d.kind.value,
            "title": d.title,
            "source": d.source,
            "responsible": d.responsible,
            "opened_at": d.opened_at,
            "due_at": d.due_at,
            "due_date": d.due_date,
            "state": d.state.value,
            "met_at": d.met_at,
            "breached_at": d.breached_at,
            "met_late": d.met_late,
            "cancelled_at": d.cancelled_at,
            "cancel_reason": d.cancel_reason,
            "escalations": d.escalations,
            "pre_go_live": d.pre_go_live,
        }
        for d in deadlines
    ]
    upsert_rows(session, LedgerDeadline, ["case_ref", "deadline_id"], rows)


def write_escalation(session: Session, notice: Notice, now: datetime) -> bool:
    """Record an escalation once, when it is first made; a retry keeps the first record and its lateness.

    True when this call recorded it (the first attempt), False when a retry found it already there.
    """
    values = {
        "key": notice.key,
        "case_ref": notice.case_ref,
        "deadline_id": notice.deadline_id,
        "area": notice.area,
        "kind": notice.kind.value,
        "recipient": notice.to,
        "due_at": notice.due_at,
        "escalated_at": now,
        "lateness_seconds": (now - notice.due_at).total_seconds() if notice.due_at is not None else None,
    }
    return upsert_rows(session, LedgerEscalation, ["key"], [values], update=False) == 1
