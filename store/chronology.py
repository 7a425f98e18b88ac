"""A case's chronology as stored, and as a significant case review reads it: built from our own database only
(no Temporal history is asked, so it outlives the history's retention).

The workflow's ledger write keeps each entry once (case, seq); its event's fields are sealed under the payload
keys, bound to the case and number, as a minute's content is (store/minutes.py). The export puts together, oldest
first: every event with who sent it and when, the decision's fields and reasons; every deadline with its due time
and how it ended (met on time, met late, breached, closed unmet) and each escalation; minutes and disclosures by
reference only (their text stays behind their own audited routes); transfers and any other event as the entries
they are. Nothing here decides who may read it: the route does (api/routes/chronology.py).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.orm import Session

from core.codec import KeyRing
from store.csv_export import csv_text
from store.models import (
    ChronologyRecord,
    LedgerCase,
    LedgerDeadline,
    LedgerEscalation,
    Minute,
    MinuteDisclosure,
)
from store.upsert import upsert_rows
from store.views import rule_title
from workflows.rules.chronology import ChronologyEntry, deadline_outcome


def _bound_to(case_ref: str, seq: int) -> bytes:
    # Binds each sealed entry to its case and number: an entry cannot be moved to another case unnoticed.
    return f"chronology:{case_ref}:{seq}".encode()


def write_entries(
    session: Session, keys: KeyRing, case_ref: str, area: str, entries: list[ChronologyEntry]
) -> None:
    """Keep each entry once: a retried or replayed write finds it there and leaves it (the first is kept)."""
    if not entries:
        return
    rows = []
    for e in entries:
        fields = json.dumps(e.fields, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
        key_id, sealed = keys.encrypt(fields, _bound_to(case_ref, e.seq))
        rows.append(
            {
                "case_ref": case_ref,
                "seq": e.seq,
                "area": area,
                "at": e.at,
                "event": e.event,
                "source": e.source,
                "sender_role": e.sender_role,
                "sender_agency": e.sender_agency,
                "stage_before": e.stage_before,
                "stage_after": e.stage_after,
                "level_before": e.level_before,
                "level_after": e.level_after,
                "category": e.category,
                "deadline_changes": [list(c) for c in e.deadline_changes],
                "key_id": key_id,
                "sealed": sealed,
            }
        )
    upsert_rows(session, ChronologyRecord, ["case_ref", "seq"], rows, update=False)


def opened_entry(keys: KeyRing, row: ChronologyRecord) -> ChronologyEntry:
    """The entry as it was written; a sealed part that does not open under its case and number raises."""
    fields = json.loads(keys.decrypt(row.key_id, row.sealed, _bound_to(row.case_ref, row.seq)))
    return ChronologyEntry(
        seq=row.seq,
        at=row.at,
        event=row.event,
        source=row.source,  # type: ignore[arg-type]
        sender_role=row.sender_role,
        sender_agency=row.sender_agency,
        stage_before=row.stage_before,
        stage_after=row.stage_after,
        level_before=row.level_before,
        level_after=row.level_after,
        category=row.category,
        deadline_changes=[(c[0], c[1]) for c in row.deadline_changes],
        fields=fields,
    )


# ------------------------------------------------------------------------------------------ the export

Section = Literal["event", "deadline", "escalation", "minute", "disclosure"]


class ChronologyLine(BaseModel):
    """One line of the export: when, what, who, its reference, its state and the rest in words."""

    section: Section
    at: datetime
    what: str
    who: str
    reference: str
    state: str
    detail: str


class Chronology(BaseModel):
    case_ref: str
    area: str | None
    category: int | None
    level: int | None
    stage: str | None
    opened_at: datetime | None
    exited_at: datetime | None
    lines: list[ChronologyLine]

    def section(self, name: Section) -> list[ChronologyLine]:
        return [line for line in self.lines if line.section == name]


def chronology(session: Session, keys: KeyRing, case_ref: str) -> Chronology:
    """Everything our database holds on the case's course, oldest first."""
    case = session.get(LedgerCase, case_ref)
    records = session.scalars(
        select(ChronologyRecord).where(ChronologyRecord.case_ref == case_ref).order_by(ChronologyRecord.seq)
    ).all()
    deadlines = session.scalars(
        select(LedgerDeadline).where(LedgerDeadline.case_ref == case_ref).order_by(LedgerDeadline.opened_at)
    ).all()
    escalations = session.scalars(
        select(LedgerEscalation)
        .where(LedgerEscalation.case_ref == case_ref)
        .order_by(LedgerEscalation.escalated_at)
    ).all()
    minutes = session.scalars(select(Minute).where(Minute.case_ref == case_ref)).all()
    disclosures = session.scalars(select(MinuteDisclosure).where(MinuteDisclosure.case_ref == case_ref)).all()
    area = case.area if case else (records[0].area if records else None)
    lines = [
        *(_event_line(opened_entry(keys, r)) for r in records),
        *(_deadline_line(area or "", d) for d in deadlines),
        *(_escalation_line(e) for e in escalations),
        *(_minute_line(m) for m in minutes),
        *(_disclosure_line(d) for d in disclosures),
    ]
    lines.sort(key=lambda line: line.at)
    return Chronology(
        case_ref=case_ref,
        area=area,
        category=case.category if case else None,
        level=case.level if case else None,
        stage=case.stage if case else None,
        opened_at=case.opened_at if case else None,
        exited_at=case.exited_at if case else None,
        lines=lines,
    )


def words(name: str) -> str:
    """`ReferralDecision` as "Referral decision"."""
    spaced = "".join(f" {c.lower()}" if c.isupper() else c for c in name).strip()
    return spaced[:1].upper() + spaced[1:]


def _who(role: str | None, agency: str | None) -> str:
    if agency and role:
        return f"{agency} ({role})"
    return agency or role or ""


def _value(value: Any) -> str:
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, separators=(", ", ": "))


def _event_line(e: ChronologyEntry) -> ChronologyLine:
    moved = []
    if e.stage_before != e.stage_after and e.stage_after:
        moved.append(f"stage {e.stage_before or '-'} -> {e.stage_after}")
    if e.level_before != e.level_after:
        moved.append(f"level {e.level_before or '-'} -> {e.level_after or '-'}")
    changes = [f"{deadline} {change}" for deadline, change in e.deadline_changes]
    fields = [f"{k}: {_value(v)}" for k, v in e.fields.items() if v not in (None, [], {}, "")]
    parts = [*moved, *(["deadlines: " + ", ".join(changes)] if changes else []), *fields]
    return ChronologyLine(
        section="event",
        at=e.at,
        what=words(e.event),
        who=_who(e.sender_role, e.sender_agency),
        reference=f"entry {e.seq}" + (f" ({e.source})" if e.source != "event" else ""),
        state=e.stage_after or "",
        detail="; ".join(parts),
    )


def _deadline_line(area: str, d: LedgerDeadline) -> ChronologyLine:
    outcome = deadline_outcome(d.state, d.met_late, d.breached_at, d.cancelled_at)
    detail = [f"due {d.due_at.isoformat()}"]
    for label, when in (("met", d.met_at), ("breached", d.breached_at), ("cancelled", d.cancelled_at)):
        if when is not None:
            detail.append(f"{label} {when.isoformat()}")
    if d.cancel_reason:
        detail.append(f"cancelled because: {d.cancel_reason}")
    if d.escalations:
        detail.append(f"escalations: {d.escalations}")
    if d.pre_go_live:
        detail.append("fell due before the case's import (go-live)")
    return ChronologyLine(
        section="deadline",
        at=d.opened_at,
        what=rule_title(area, d.kind),
        who=d.responsible,
        reference=d.deadline_id,
        state=outcome,
        detail="; ".join(detail),
    )


def _escalation_line(e: LedgerEscalation) -> ChronologyLine:
    late = (
        f"; {e.lateness_seconds / 3600:.1f} hours after the due time"
        if e.lateness_seconds is not None
        else ""
    )
    return ChronologyLine(
        section="escalation",
        at=e.escalated_at,
        what=e.kind.replace("-", " ").capitalize(),
        who=e.recipient,
        reference=e.deadline_id or "",
        state="escalated",
        detail=f"due {e.due_at.isoformat() if e.due_at else '-'}{late}",
    )


def _minute_line(m: Minute) -> ChronologyLine:
    return ChronologyLine(
        section="minute",
        at=m.created_at,
        what="Minute filed",
        who=m.chair_agency,
        reference=m.minute_ref,
        state="filed",
        detail=f"meeting {m.meeting_id or '-'} held on {m.held_on.isoformat()}; attended by {', '.join(m.attendees)}",
    )


def _disclosure_line(d: MinuteDisclosure) -> ChronologyLine:
    decided = f"; decided {d.decided_at.isoformat()} by {d.decided_by_agency or '-'}" if d.decided_at else ""
    return ChronologyLine(
        section="disclosure",
        at=d.requested_at,
        what=f"Disclosure of minute {d.minute_ref} ({d.what})",
        who=d.requested_by_agency or "",
        reference=d.disclosure_ref,
        state=d.status,
        detail=f"to {d.recipient_agency}{decided}",
    )


CSV_COLUMNS = ("case_ref", "section", "at", "what", "who", "reference", "state", "detail")


def to_csv(found: Chronology) -> str:
    """One row per line, through the one CSV writer (store/csv_export.py): every typed word neutralised."""
    rows: Iterable[list[Any]] = (
        [
            found.case_ref,
            line.section,
            line.at.isoformat(),
            line.what,
            line.who,
            line.reference,
            line.state,
            line.detail,
        ]
        for line in found.lines
    )
    return csv_text(CSV_COLUMNS, rows)
