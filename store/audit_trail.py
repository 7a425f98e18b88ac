"""A case's audit trail, oldest first, as rows, JSON or CSV: for the API (`GET /cases/{ref}/audit`) and the CLI
(`mappa audit export`)."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from store.csv_export import csv_text
from store.models import AuditEvent, AuditOutcome, CaseOpening, LedgerCase

COLUMNS = ("id", "at", "user_name", "agency_id", "role", "action", "case_ref", "target", "outcome", "reason")


def case_is_known(session: Session, case_ref: str) -> bool:
    """Whether the reference names a case this system has held: reserved by an opening (the API's or an
    import's), in the ledger, or with an allowed access in the trail. Refused attempts on a reference that
    names no case do not make it one."""
    for query in (
        select(CaseOpening.id).where(CaseOpening.case_ref == case_ref),
        select(LedgerCase.case_ref).where(LedgerCase.case_ref == case_ref),
        select(AuditEvent.id).where(
            AuditEvent.case_ref == case_ref, AuditEvent.outcome == AuditOutcome.ALLOWED.value
        ),
    ):
        if session.scalars(query.limit(1)).first() is not None:
            return True
    return False


def audit_trail(session: Session, case_ref: str) -> list[AuditEvent]:
    return list(
        session.scalars(
            select(AuditEvent).where(AuditEvent.case_ref == case_ref).order_by(AuditEvent.at, AuditEvent.id)
        ).all()
    )


def as_dict(event: AuditEvent) -> dict[str, Any]:
    values = {column: getattr(event, column) for column in COLUMNS}
    at: datetime = values["at"]
    values["at"] = at.isoformat()
    return values


def to_json(events: list[AuditEvent]) -> str:
    return json.dumps([as_dict(e) for e in events], indent=2, ensure_ascii=False) + "\n"


def to_csv(events: list[AuditEvent]) -> str:
    return csv_text(COLUMNS, ([as_dict(e)[c] for c in COLUMNS] for e in events))
