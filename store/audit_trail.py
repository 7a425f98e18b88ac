"""A case's audit trail, oldest first, as rows, JSON or CSV: for the API (`GET /cases/{ref}/audit`) and the CLI
(`mappa audit export`)."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from store.csv_export import csv_text
from store.models import AuditEvent

COLUMNS = ("id", "at", "user_name", "agency_id", "role", "action", "case_ref", "target", "outcome", "reason")


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
