"""The case's chronology: every event the case applied, who sent it, when, and what it said, kept for the day a
significant case review asks for it, years after the case's Temporal history has gone.

003 stage 4: the chair ensures that "decisions are recorded and subsequently carried out"; 001 and 003 ask for
the reasons of a decision (a rejected referral's, a level 3 statement). The case file keeps the latest of each; the
chronology keeps every one, in order. The case queues an entry as it applies each event (`CaseFile.apply`), the
workflow hands the queue to its ledger write, and the store keeps each entry once (case, seq), its words sealed.

What an entry carries in plaintext is what the ledger already shows (the event's name, the sender's agency and
role, the moment, the stage and level before and after, which deadlines moved); the event's own fields (reasons,
statements, names) travel sealed. Two things never enter it: the subject's details (the case file's) and the text of
the items a meeting marked not to be shared (counted only: the minute holds them, 001), so no reader of a
chronology reads another agency's confidential items. Minutes and disclosures appear by reference.

The rules are silent on a chronology as such: the README's table of choices says what was chosen.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, time
from typing import Any, Literal

from pydantic import BaseModel, Field

from workflows.rules import events as ev
from workflows.rules.actors import Actor
from workflows.rules.calendar import local_time_on
from workflows.rules.records import ExitRecord, LevelDecision, Meeting, Referral

# Where an entry came from: an agency's event as the case applied it, an event an import stood for, or (for a
# case started before the chronology was kept) rebuilt from what its case file still held.
EntrySource = Literal["event", "import", "case-file"]
# Fields an entry never carries: the sender (its own columns), the subject (the case file's).
NOT_IN_THE_CHRONOLOGY = frozenset({"sent_by", "subject"})
# A meeting's items not to be shared stay in its minute: the chronology counts them.
CONFIDENTIAL_ITEMS = "not_to_be_shared"
OPENED = "CaseOpened"
REBUILT = "ChronologyRebuilt"


class ChronologyEntry(BaseModel):
    """One applied event, as the chronology keeps it. `fields` are sealed at rest; the rest is plaintext."""

    seq: int
    at: datetime
    event: str
    source: EntrySource = "event"
    sender_role: str | None = None
    sender_agency: str | None = None
    stage_before: str | None = None
    stage_after: str | None = None
    level_before: int | None = None
    level_after: int | None = None
    category: int | None = None
    # (deadline id, change) for each deadline the event opened, met, cancelled, breached or re-armed.
    deadline_changes: list[tuple[str, str]] = Field(default_factory=list)
    fields: dict[str, Any] = Field(default_factory=dict)


def event_fields(event: ev.Event) -> dict[str, Any]:
    """The event's own fields as the chronology keeps them (JSON values): the sender and the subject left out, a
    meeting's items not to be shared counted, never copied."""
    fields = event.model_dump(mode="json", exclude=set(NOT_IN_THE_CHRONOLOGY))
    return without_confidential_items(fields)


def without_confidential_items(fields: dict[str, Any]) -> dict[str, Any]:
    kept = {k: v for k, v in fields.items() if k != CONFIDENTIAL_ITEMS}
    items = fields.get(CONFIDENTIAL_ITEMS)
    if items:
        kept["items_not_to_be_shared"] = f"{len(items)} (in the minute; 001)"
    return kept


def opening_sender(opening: ev.CaseOpening) -> str | None:
    """The agency whose notice opened the case: the notifier, the referrer, or whoever recorded the disposal,
    the upcoming release or the discharge."""
    if opening.notification is not None:
        return opening.notification.notifying_agency
    if opening.referral is not None:
        return opening.referral.referring_agency
    for part in (opening.disposal, opening.upcoming_release, opening.discharge):
        if part is not None:
            return part.recorded_by
    return None


def sender_of(actor: Actor | None) -> tuple[str | None, str | None]:
    return (actor.role.value, actor.agency) if actor is not None else (None, None)


# ------------------------------------------------------------------ a case started before the chronology


Found = tuple[datetime, str, dict[str, Any], int | None, str | None]  # at, event, fields, level, stage after


def rebuilt_entries(
    *,
    opened_at: datetime,
    category: int,
    route: str,
    referral: Referral | None,
    level_decisions: Iterable[LevelDecision],
    meetings: Iterable[Meeting],
    exit_record: ExitRecord | None,
    stage: str,
    level_now: int | None,
    now: datetime,
    first_seq: int,
) -> list[ChronologyEntry]:
    """What a case started before the chronology was kept can still say about its past, from its case file: the
    opening, the referral, every level decision (carried whole, with its statement and reason), the meetings
    it still carries and the exit; then one entry saying so. What the case file no longer holds (old meetings'
    detail, settled changes in risk beyond the newest) is in earlier runs' histories only, and is not here."""
    found = sorted(
        _found_in_case_file(opened_at, category, route, referral, level_decisions, meetings, exit_record),
        key=lambda f: f[0],
    )
    entries: list[ChronologyEntry] = []
    level: int | None = None
    for n, (at, name, fields, level_after, stage_after) in enumerate(found):
        entries.append(
            ChronologyEntry(
                seq=first_seq + n,
                at=at,
                event=name,
                source="case-file",
                level_before=level,
                level_after=level_after if level_after is not None else level,
                stage_after=stage_after,
                category=category,
                fields=fields,
            )
        )
        level = entries[-1].level_after
    note = (
        "entries before this one were rebuilt from the case file; the case was opened before the chronology"
    )
    entries.append(
        ChronologyEntry(
            seq=first_seq + len(entries),
            at=now,
            event=REBUILT,
            source="case-file",
            stage_before=stage,
            stage_after=stage,
            level_before=level_now,
            level_after=level_now,
            category=category,
            fields={"note": note},
        )
    )
    return entries


def _found_in_case_file(
    opened_at: datetime,
    category: int,
    route: str,
    referral: Referral | None,
    level_decisions: Iterable[LevelDecision],
    meetings: Iterable[Meeting],
    exit_record: ExitRecord | None,
) -> list[Found]:
    found: list[Found] = [(opened_at, OPENED, {"route": route, "category": category}, None, None)]
    if referral is not None:
        fields = {"referring_agency": referral.referring_agency, "level_sought": referral.level_sought}
        found.append((referral.received_at, "ReferralSubmitted", fields, None, "referral"))
    for d in level_decisions:
        found.append((d.decided_at, "LevelDecision", d.model_dump(mode="json"), d.level, None))
    for m in meetings:
        fields = {
            "meeting_id": m.meeting_id,
            "held_on": m.held_on.isoformat(),
            "chair_agency": m.chair_agency,
            "attendees": m.attendees,
            "level_decided": m.level_decided,
            "minute_ref": m.minute_ref,
        }
        found.append((_noon(m.held_on), "MeetingHeld", fields, m.level_decided, None))
    if exit_record is not None:
        fields = {
            "reason": exit_record.reason,
            "final_stage_before_exit": exit_record.final_stage_before_exit.value,
        }
        found.append((exit_record.exited_at, "ExitDecision", fields, None, "exiting"))
    return found


def _noon(day: date) -> datetime:
    # A meeting known by its day counts from noon, as an imported meeting does.
    return local_time_on(day, time(12))


# ------------------------------------------------------------------ a deadline, in a chronology's words

DeadlineOutcome = Literal["met on time", "met late", "breached", "open", "cancelled", "closed unmet"]


def deadline_outcome(
    state: str, met_late: bool, breached_at: datetime | None, cancelled_at: datetime | None
) -> DeadlineOutcome:
    """How a deadline ended (or stands): met on time, met late (it stays recorded as breached), still breached,
    open, cancelled before it fell due, or closed unmet (breached, then cancelled, e.g. by the exit)."""
    if state == "met":
        return "met late" if met_late or breached_at is not None else "met on time"
    if state == "breached":
        return "breached"
    if state == "cancelled":
        return "closed unmet" if breached_at is not None else "cancelled"
    return "open"
