"""What happens to a deadline on a case: opened, met, breached, re-armed, cancelled.

The mechanics every stage uses are here, once. Each records the change on the event's receipt and marks the
deadline for the ledger. The deadline itself and its date arithmetic are in workflows/rules/due_dates.py.
"""

from __future__ import annotations

from datetime import date, datetime

from workflows.rules.case_state import CaseState
from workflows.rules.due_dates import (
    EXTENUATING_CIRCUMSTANCES,
    WORKING_DAY_STARTS,
    Calculation,
    Deadline,
    DeadlineState,
    DueDate,
    add_calendar_months,
    calculate,
    compute_due,
    new_deadline,
    next_re_escalation,
    reminder_time,
)
from workflows.rules.ownership import record_meeting_of
from workflows.rules.policy import AreaPolicy, DeadlineKind
from workflows.rules.records import CHAIR, CO_ORDINATOR, DeadlineChange, DeadlineChangeKind, NoticeKind
from workflows.rules.rule_changes import (
    BREACH_ESCALATED_ONCE,
    DATES_IN_CASE_ORDER,
    ESCALATION_ROUTING,
    WEEKS_BACK_TO_WORKING_DAY,
)
from workflows.rules.timescales import source_in_words

# The deadline model and its arithmetic, for the packages that read deadlines through this module.
__all__ = [
    "EXTENUATING_CIRCUMSTANCES",
    "WORKING_DAY_STARTS",
    "Calculation",
    "Deadline",
    "DeadlineState",
    "DueDate",
    "add_calendar_months",
    "breach_deadline",
    "calculate",
    "cancel_deadline",
    "cancel_if_open",
    "cancel_open_of",
    "compute_due",
    "is_open",
    "meet_deadline",
    "meet_if_open",
    "new_deadline",
    "next_re_escalation",
    "open_deadline",
    "open_of",
    "pause_deadline",
    "re_escalation_route",
    "rearm_deadline",
    "reminder_time",
    "resume_deadline",
    "touch",
    "withdraw_breach",
]


def open_deadline(
    case: CaseState,
    policy: AreaPolicy,
    kind: DeadlineKind,
    deadline_id: str,
    responsible: str,
    counted_from: datetime,
    now: datetime,
    *,
    set_date: date | None = None,
    due_no_later_than: DueDate | None = None,
    due_no_earlier_than: DueDate | None = None,
    title_suffix: str = "",
    set_at_meeting: str | None = None,
) -> Deadline:
    if is_open(case, deadline_id):
        # Re-opening (e.g. a second referral request) replaces the open one.
        cancel_deadline(case, deadline_id, "replaced by a new deadline of the same kind", now)
    d = new_deadline(
        policy,
        kind,
        deadline_id,
        responsible,
        counted_from,
        now,
        set_date=set_date,
        due_no_later_than=due_no_later_than,
        due_no_earlier_than=due_no_earlier_than,
        title_suffix=title_suffix,
        weeks_back_to_working_day=case.follows(WEEKS_BACK_TO_WORKING_DAY),
        set_at_meeting=set_at_meeting,
    )
    # A deadline opened after it fell due (a late notification) is met or breached on the next tick.
    case.deadlines[deadline_id] = d
    _record(case, d, "opened")
    return d


def meet_deadline(case: CaseState, deadline_id: str, at: datetime) -> None:
    d = case.deadlines[deadline_id]
    record_meeting_of(d, *case.sender)
    if case.follows(DATES_IN_CASE_ORDER):
        at = max(at, d.opened_at)  # a backdated event (a meeting) cannot meet a deadline before it existed
    d.state = DeadlineState.MET
    d.met_at = at
    if at >= d.due_at and d.breached_at is None:
        d.breached_at = d.due_at
        d.breach_note = "met after it fell due"
    _record(case, d, "met-late" if at >= d.due_at else "met")


def meet_if_open(case: CaseState, deadline_id: str, at: datetime) -> None:
    if is_open(case, deadline_id):
        meet_deadline(case, deadline_id, at)


def breach_deadline(case: CaseState, deadline_id: str, now: datetime, note: str | None) -> None:
    """Mark it breached and escalate, with the rule and who was responsible: to the co-ordinator, or, when the
    co-ordinator was responsible, to the chair (or the deputy co-ordinator), never back to the co-ordinator."""
    d = case.deadlines[deadline_id]
    d.state = DeadlineState.BREACHED
    d.breached_at = min(now, d.due_at)
    d.breach_note = note
    d.last_escalated_at = now
    _record(case, d, "breached")
    if d.escalated_for is not None and d.escalated_for == d.due_at and case.follows(BREACH_ESCALATED_ONCE):
        return  # missed again at the very due time it was escalated for: the escalation already went out
    d.escalations += 1
    lines = [
        d.explanation,
        f"Responsible: {d.responsible}",
        f"Rule: {d.rule_text}",
        f"Why this time: {source_in_words(d.source)}.",
    ]
    if note:
        lines.insert(0, note)
    to, passes_over = CO_ORDINATOR, []
    if d.responsible == CO_ORDINATOR and case.follows(ESCALATION_ROUTING):
        to, passes_over = CHAIR, [CO_ORDINATOR]
        lines.append(
            "The co-ordinator was responsible, so this goes to the chair (or the deputy co-ordinator)."
        )
    case.notify(
        NoticeKind.BREACH_ESCALATION,
        to,
        f"BREACHED: {d.title}",
        lines,
        d.deadline_id,
        d.due_at,
        passes_over=passes_over,
    )


def withdraw_breach(case: CaseState, deadline_id: str, why: str) -> None:
    """A deadline marked breached by the clock, found met in time after all (a meeting held by its due day and
    recorded later): it is open again, to be met now, with the reason the escalation sent is withdrawn."""
    d = case.deadlines[deadline_id]
    d.state, d.breached_at, d.breach_note, d.last_escalated_at = DeadlineState.OPEN, None, None, None
    d.explanation = f"{d.explanation}; the breach escalated while it was unrecorded is withdrawn: {why}"
    touch(case, deadline_id)


def re_escalation_route(case: CaseState, d: Deadline) -> tuple[str, list[str]]:
    """Who hears that a deadline is still breached: the chair of the meeting that set it, where one did (the
    notice goes to that chair's agency, for the chair's attention), else the area's chair."""
    if case.follows(ESCALATION_ROUTING) and d.set_at_meeting is not None:
        meeting = next((m for m in case.meetings if m.meeting_id == d.set_at_meeting), None)
        if meeting is not None:
            chair = f" ({meeting.chair_name})" if meeting.chair_name else ""
            return meeting.chair_agency, [
                f"For the attention of the chair of {meeting.meeting_id}{chair}, which set this deadline."
            ]
    return CHAIR, []


def rearm_deadline(
    case: CaseState, policy: AreaPolicy, deadline_id: str, due: DueDate, now: datetime, why: str
) -> None:
    """Move an open deadline to a new due time (a release date changed, the meeting brought forward). A breach
    the move undoes is lifted; the reminder is sent again if its new moment is still ahead."""
    d = case.deadlines[deadline_id]
    if d.due_at == due.due_at:
        return
    if d.state is DeadlineState.BREACHED and now >= due.due_at and case.follows(BREACH_ESCALATED_ONCE):
        # Already missed and escalated: moved to another moment also past, it stays breached as it was missed
        # (escalated once, at the due time it was escalated for), not missed again at the new moment.
        return
    old_due_at = d.due_at
    d.due_at, d.due_date, d.explanation = due.due_at, due.due_date, f"{due.explanation}; {why}"
    d.reminder_at = reminder_time(policy, policy.rule(d.kind).reminder, due, now)
    if d.reminded_at is not None and d.reminder_at is not None and d.reminded_at < d.reminder_at:
        d.reminded_at = None
    if d.state is DeadlineState.BREACHED and now < d.due_at:
        if case.follows(BREACH_ESCALATED_ONCE):
            d.escalated_for = old_due_at  # it was breached, and escalated, for the time it is moved from
        d.state, d.breached_at, d.breach_note = DeadlineState.OPEN, None, None
        d.last_escalated_at = None
    _record(case, d, "re-armed")


def pause_deadline(case: CaseState, deadline_id: str, reason: str, now: datetime) -> None:
    """Not owed for now (a recall to custody), with the reason: never dropped, owed again once resumed."""
    d = case.deadlines[deadline_id]
    d.state, d.paused_at, d.pause_reason = DeadlineState.PAUSED, now, reason
    _record(case, d, "paused")


def resume_deadline(
    case: CaseState, policy: AreaPolicy, deadline_id: str, due: DueDate, now: datetime, why: str
) -> None:
    """A paused deadline owed again, by its new due time; reminded afresh."""
    d = case.deadlines[deadline_id]
    d.state, d.due_at, d.due_date = DeadlineState.OPEN, due.due_at, due.due_date
    d.explanation = f"{due.explanation}; {why}"
    d.reminder_at = reminder_time(policy, policy.rule(d.kind).reminder, due, now)
    d.reminded_at = None
    _record(case, d, "resumed")


def cancel_deadline(case: CaseState, deadline_id: str, reason: str, now: datetime) -> None:
    d = case.deadlines[deadline_id]
    d.state = DeadlineState.CANCELLED
    d.cancelled_at = now
    d.cancel_reason = reason
    _record(case, d, "cancelled")


def cancel_if_open(case: CaseState, deadline_id: str, reason: str, now: datetime) -> None:
    if is_open(case, deadline_id):
        cancel_deadline(case, deadline_id, reason, now)


def cancel_open_of(case: CaseState, kind: DeadlineKind, reason: str, now: datetime) -> None:
    for d in open_of(case, kind):
        cancel_deadline(case, d.deadline_id, reason, now)


def is_open(case: CaseState, deadline_id: str) -> bool:
    d = case.deadlines.get(deadline_id)
    return d is not None and d.is_open


def open_of(case: CaseState, *kinds: DeadlineKind) -> list[Deadline]:
    return [d for d in case.deadlines.values() if d.is_open and d.kind in kinds]


def touch(case: CaseState, deadline_id: str) -> None:
    """Mark the deadline for the next ledger write."""
    if deadline_id not in case.ledger_pending:
        case.ledger_pending.append(deadline_id)


def _record(case: CaseState, d: Deadline, change: DeadlineChangeKind) -> None:
    case.changes.append(
        DeadlineChange(deadline_id=d.deadline_id, title=d.title, change=change, due_at=d.due_at)
    )
    touch(case, d.deadline_id)
