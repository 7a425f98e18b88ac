"""A deadline and when it falls due: the model, and the date arithmetic that sets it, with no case.

A deadline carries its rule (text and seed), the days counted, the responsible agency and its state. It is
never deleted: met (on time or late), breached or cancelled with a reason, it stays in the case file. What
happens to a deadline on a case (opened, met, breached, cancelled) is in workflows/rules/deadlines.py.
"""

from __future__ import annotations

import calendar as _months
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from enum import StrEnum

from pydantic import BaseModel, Field

from workflows.rules.calendar import Counting, end_of_local_day, local_date, local_time_on
from workflows.rules.policy import AreaPolicy, DeadlineKind, StatutoryRule, Timescale

# Reminders and re-escalations go out at the start of the working day, not at midnight.
WORKING_DAY_STARTS = time(9, 0)


class DeadlineState(StrEnum):
    OPEN = "open"
    BREACHED = "breached"  # past due and still not met
    MET = "met"  # met; `breached_at` set means it was met late
    CANCELLED = "cancelled"
    # Not owed for now, with the reason (a recall to custody: workflows/rules/recall.py); owed again when resumed.
    PAUSED = "paused"


# A late notification's or referral's note (003 stage 2): the extenuating circumstances follow it, in the agency's
# own words, which belong to the case file (personal data, audited reads) and never to the status.
EXTENUATING_CIRCUMSTANCES = "late, with extenuating circumstances"


class Deadline(BaseModel):
    deadline_id: str
    kind: DeadlineKind
    title: str
    rule_text: str
    source: str
    responsible: str  # an agency id from the directory, or a role ("co-ordinator")
    counted_from: date
    counted_from_event: str
    opened_at: datetime
    due_at: datetime
    due_date: date
    explanation: str
    reminder_at: datetime | None = None
    reminded_at: datetime | None = None
    state: DeadlineState = DeadlineState.OPEN
    met_at: datetime | None = None
    breached_at: datetime | None = None
    breach_note: str | None = None
    cancelled_at: datetime | None = None
    cancel_reason: str | None = None
    paused_at: datetime | None = None
    pause_reason: str | None = None
    escalations: int = 0
    # The meeting that set it (minutes, SWIS alert, RMP actions, review): its chair hears of a lasting breach.
    set_at_meeting: str | None = None
    last_escalated_at: datetime | None = None
    # The due time a breach was escalated for, kept when a move lifts the breach: breached again at that same
    # time (a release date moved ahead and back), it is not escalated a second time.
    escalated_for: datetime | None = None
    # Who met it (agency and role), and for whom when the co-ordinator recorded it on an agency's behalf.
    met_by: str | None = None
    met_for: str | None = None
    # Fell due before its case was imported (go-live): recorded, but reported apart from what the system could
    # have reminded; a breach of it was listed in the import's one summary, not escalated on its own.
    pre_go_live: bool = False
    # Owed by the people of another area than the case's: a transfer's acceptance, the receiving area's (its
    # reminder and escalation go to that area's co-ordinator and chair).
    owed_in_area: str | None = Field(default=None, exclude_if=lambda v: v is None)

    @property
    def is_open(self) -> bool:
        return self.state in (DeadlineState.OPEN, DeadlineState.BREACHED)

    @property
    def met_late(self) -> bool:
        return self.state is DeadlineState.MET and self.breached_at is not None

    def for_status(self) -> Deadline:
        """The deadline as the status shows it to everyone, ops included: a note that carries an agency's own
        words says only that they were recorded (they stay in the case file)."""
        if self.breach_note is None or not self.breach_note.startswith(f"{EXTENUATING_CIRCUMSTANCES}:"):
            return self
        return self.model_copy(update={"breach_note": f"{EXTENUATING_CIRCUMSTANCES} recorded"})

    def describe(self) -> str:
        """One line for the Temporal UI and the case file."""
        due = f"{self.due_date:%a %d %b %Y}"
        if self.state is DeadlineState.OPEN:
            return f"{self.title}: due by end of {due} ({self.responsible})"
        if self.state is DeadlineState.BREACHED:
            return f"BREACHED {self.title}: was due by end of {due} ({self.responsible})"
        if self.state is DeadlineState.MET:
            late = " late" if self.met_late else ""
            assert self.met_at is not None
            return f"{self.title}: met{late} on {local_date(self.met_at):%d %b %Y}"
        if self.state is DeadlineState.PAUSED:
            return f"{self.title}: paused ({self.pause_reason})"
        return f"{self.title}: cancelled ({self.cancel_reason})"


@dataclass(frozen=True)
class DueDate:
    due_at: datetime
    due_date: date
    explanation: str
    counting: Counting | None = None


def add_calendar_months(day: date, months: int) -> date:
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    return date(year, month, min(day.day, _months.monthrange(year, month)[1]))


def compute_due(
    policy: AreaPolicy,
    rule: StatutoryRule,
    start: datetime,
    set_date: date | None = None,
    *,
    weeks_back_to_working_day: bool = True,
) -> DueDate:
    """When a deadline under `rule`, counted from the instant `start`, falls due.

    A deadline counted back in weeks that lands on a weekend or holiday moves to the working day before, so the
    notice is due on a day the agency works, never after the day counted (`weeks_back_to_working_day`; False
    only for cases opened before that rule)."""
    ts = rule.timescale
    start_day = local_date(start)
    cal = policy.calendar
    if ts.unit == "hours":
        due_at = start + timedelta(hours=-ts.amount if ts.before else ts.amount)
        return DueDate(due_at, local_date(due_at), f"{ts.amount} hours from {rule.counted_from}")
    counting: Counting | None = None
    moved = ""
    if ts.unit == "working_days" and not ts.before:
        counting = cal.add_working_days(start_day, ts.amount)
        due_date = counting.due_date
    elif ts.unit == "working_days":
        due_date = cal.subtract_working_days(start_day, ts.amount)
        # The holidays passed over counting back, as a count forward names them.
        between = (due_date + timedelta(days=i) for i in range(1, (start_day - due_date).days))
        closed = [(day, cal.closure_reason(day) or "") for day in between]
        passed = [f"{day:%d %b} {why}" for day, why in closed if "bank" in why or "local" in why]
        if passed:
            moved = f"; not counted: {', '.join(passed)}"
    elif ts.unit == "weeks":
        due_date = start_day + timedelta(weeks=-ts.amount if ts.before else ts.amount)
        if ts.before and weeks_back_to_working_day and not cal.is_working_day(due_date):
            moved = f"; {due_date:%a %d %b} is not a working day ({cal.closure_reason(due_date)}): due the working day before"
            due_date = cal.working_day_on_or_before(due_date)
    elif ts.unit == "calendar_months":
        due_date = add_calendar_months(start_day, -ts.amount if ts.before else ts.amount)
    elif ts.unit == "same_day":
        due_date = start_day
    else:  # set_at_event
        if set_date is None:
            raise ValueError(f"{rule.title} needs a date set at the event")
        due_date = set_date
    explanation = f"{ts.describe()} {rule.counted_from} ({start_day:%a %d %b %Y})"
    if ts.unit in ("same_day", "set_at_event"):
        explanation = f"{ts.describe()} ({rule.counted_from} {start_day:%a %d %b %Y})"
    explanation += moved
    if counting and counting.skipped:
        skipped = ", ".join(
            f"{s.day:%d %b} {s.reason}" for s in counting.skipped if "bank" in s.reason or "local" in s.reason
        )
        if skipped:
            explanation += f"; not counted: {skipped}"
    return DueDate(end_of_local_day(due_date), due_date, explanation, counting)


@dataclass(frozen=True)
class Calculation:
    """The deadline calculator's answer: exactly what a case would compute, with the days it counted."""

    rule: StatutoryRule
    start: datetime
    due: DueDate
    reminder_at: datetime | None


def calculate(
    policy: AreaPolicy, kind: DeadlineKind, start: datetime, set_date: date | None = None
) -> Calculation:
    rule = policy.rule(kind)
    due = compute_due(policy, rule, start, set_date)
    return Calculation(rule, start, due, reminder_time(policy, rule.reminder, due, start))


def reminder_time(
    policy: AreaPolicy, reminder: Timescale | None, due: DueDate, opened_at: datetime
) -> datetime | None:
    """When the responsible agency is reminded, or None where no reminder is due before the deadline."""
    if reminder is None:
        return None
    if reminder.unit == "hours":
        at = due.due_at - timedelta(hours=reminder.amount)
    elif reminder.unit == "working_days":
        at = local_time_on(
            policy.calendar.subtract_working_days(due.due_date, reminder.amount), WORKING_DAY_STARTS
        )
    elif reminder.unit == "weeks":
        at = local_time_on(due.due_date - timedelta(weeks=reminder.amount), WORKING_DAY_STARTS)
    else:
        return None
    return at if at > opened_at else None


def next_re_escalation(policy: AreaPolicy, last_escalated_at: datetime) -> datetime:
    day = policy.calendar.add_working_days(
        local_date(last_escalated_at), policy.policy.re_escalation_working_days
    )
    return local_time_on(day.due_date, WORKING_DAY_STARTS)


def new_deadline(
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
    weeks_back_to_working_day: bool = True,
    set_at_meeting: str | None = None,
) -> Deadline:
    rule = policy.rule(kind)
    due = compute_due(
        policy,
        rule,
        counted_from,
        set_date,
        weeks_back_to_working_day=weeks_back_to_working_day,
    )
    if due_no_later_than is not None and due_no_later_than.due_at < due.due_at:
        due = due_no_later_than
    if due_no_earlier_than is not None and due_no_earlier_than.due_at > due.due_at:
        due = due_no_earlier_than
    return Deadline(
        deadline_id=deadline_id,
        kind=kind,
        title=rule.title + title_suffix,
        rule_text=rule.text,
        source=rule.source,
        responsible=responsible,
        counted_from=local_date(counted_from),
        counted_from_event=rule.counted_from,
        opened_at=now,
        due_at=due.due_at,
        due_date=due.due_date,
        explanation=due.explanation,
        reminder_at=reminder_time(policy, rule.reminder, due, now),
        set_at_meeting=set_at_meeting,
    )
