"""Stage 3: the information exchange before a meeting (003 stages 3-4; 001).

Each agency's record search falls due early enough for its results to be compiled and sent, in advance of the
meeting, to every agency attending it; the compiled pack is itself a deadline and goes out as a notice. Both count
back from the day the co-ordinator scheduled the meeting for (workflows/rules/meeting_schedule.py), else from the
initial meeting's due date; when either moves (a meeting rescheduled, a release date changed, a risk increase
bringing the meeting forward) both move with it. A scheduled review has its pack too (003: "all agencies attending
a Level 2 or Level 3 meeting").
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time

from workflows.rules import events as ev
from workflows.rules.calendar import end_of_local_day, local_date, local_time_on
from workflows.rules.case_state import CaseState
from workflows.rules.deadlines import (
    Deadline,
    is_open,
    meet_deadline,
    open_deadline,
    open_of,
    rearm_deadline,
    reminder_time,
)
from workflows.rules.due_dates import DueDate, compute_due, new_deadline
from workflows.rules.errors import RuleViolation
from workflows.rules.policy import AreaPolicy, DeadlineKind, Timescale
from workflows.rules.records import CO_ORDINATOR, NoticeKind
from workflows.rules.rule_changes import BREACH_ESCALATED_ONCE, PRE_MEETING_INFORMATION_EXCHANGE

PRE_MEETING_INFORMATION = "pre-meeting-information"
# A policy value: the pack of a scheduled meeting is reminded a working day before it falls due (the meeting's own
# reminder counts from its statutory due date, which may lie long after the day it was scheduled for).
SCHEDULED_PACK_REMINDER = Timescale("working_days", 1)


@dataclass(frozen=True)
class MeetingDay:
    """The day the exchange counts back from: the day scheduled, else the meeting's due date."""

    day: date
    due_at: datetime  # the end of that day (a deadline's due instant)
    scheduled: bool

    @property
    def counted_from(self) -> datetime:
        return local_time_on(self.day, time(12))


def meeting_day(case: CaseState, meeting: Deadline) -> MeetingDay:
    if case.scheduled_meeting is not None:
        day = case.scheduled_meeting.scheduled_for
        return MeetingDay(day, end_of_local_day(day), True)
    return MeetingDay(meeting.due_date, meeting.due_at, False)


# ------------------------------------------------------------------ the pre-meeting information exchange (003, 001)


def _no_later_than_meeting(case: CaseState, due: DueDate, meeting: MeetingDay, now: datetime) -> DueDate:
    """Never before today (a meeting falling due very soon leaves only today), never after the meeting; but
    when the meeting's due date has already passed (a release date moved into the past), today: an agency asked
    for its records today is not in breach before it was asked (breach-escalated-once)."""
    today = local_date(now)
    day = f"{meeting.day:%a %d %b %Y}"
    if meeting.scheduled:
        falls, by = f"is scheduled for {day}", f"by the day the meeting is scheduled for ({day})"
    else:
        falls = f"{'was due' if meeting.due_at <= now else 'falls due'} on {day}"
        by = f"by the meeting's due date ({day})"
    floor = DueDate(end_of_local_day(today), today, f"today: the meeting {falls}")
    cap = DueDate(meeting.due_at, meeting.day, by)
    if case.follows(BREACH_ESCALATED_ONCE):
        due = min(due, cap, key=lambda d: d.due_at)
        return max(due, floor, key=lambda d: d.due_at)
    if due.due_date < today:
        due = floor
    if due.due_at > meeting.due_at:
        due = cap
    return due


def arm_pre_meeting_exchange(
    case: CaseState, policy: AreaPolicy, now: datetime, why: str = "the meeting's due date moved"
) -> None:
    """Record searches fall due in time for their results to be compiled and sent to every attending agency
    before the meeting: 5 working days from the request, or a policy number of working days before the meeting
    if that is sooner. The compiled pack falls due a policy number of days before the meeting. Called when the
    meeting falls due or is scheduled, and again whenever its due date or its day moves."""
    meeting = case.deadlines.get("initial-meeting")
    if not case.follows(PRE_MEETING_INFORMATION_EXCHANGE):
        return
    if meeting is None or not meeting.is_open:
        _arm_scheduled_pack(case, policy, now, why)
        return
    day = meeting_day(case, meeting)
    searches_cap = _no_later_than_meeting(
        case,
        compute_due(policy, policy.rule(DeadlineKind.RECORD_SEARCH_BEFORE_MEETING), day.counted_from),
        day,
        now,
    )
    _rearm_record_searches(case, policy, searches_cap, now)
    pack = _no_later_than_meeting(
        case,
        compute_due(policy, policy.rule(DeadlineKind.PRE_MEETING_INFORMATION), day.counted_from),
        day,
        now,
    )
    once = case.follows(BREACH_ESCALATED_ONCE)
    if is_open(case, PRE_MEETING_INFORMATION):
        rearm_deadline(case, policy, PRE_MEETING_INFORMATION, pack, now, why)
    elif once and PRE_MEETING_INFORMATION in case.deadlines:
        # Already sent: the information went out; a moved meeting date does not make it due (or missed) again.
        return
    else:
        opened = open_deadline(
            case,
            policy,
            DeadlineKind.PRE_MEETING_INFORMATION,
            PRE_MEETING_INFORMATION,
            CO_ORDINATOR,
            day.counted_from,
            now,
            due_no_later_than=pack,
        )
        if once and opened.due_at < pack.due_at:
            # Counted back from a meeting falling due very soon (or already overdue): not before today.
            rearm_deadline(case, policy, PRE_MEETING_INFORMATION, pack, now, "not before it was asked for")
    if day.scheduled:
        _remind_scheduled_pack(case, policy, PRE_MEETING_INFORMATION, now)


def _arm_scheduled_pack(case: CaseState, policy: AreaPolicy, now: datetime, why: str) -> None:
    """A scheduled review (or extra review): its own pack, due before the day set; already sent, it stays so."""
    schedule = case.scheduled_meeting
    if schedule is None:
        return
    deadline_id = f"{PRE_MEETING_INFORMATION}:{schedule.meeting_id}"
    day = MeetingDay(schedule.scheduled_for, end_of_local_day(schedule.scheduled_for), True)
    rule = policy.rule(DeadlineKind.PRE_MEETING_INFORMATION)
    pack = _no_later_than_meeting(case, compute_due(policy, rule, day.counted_from), day, now)
    if is_open(case, deadline_id):
        rearm_deadline(case, policy, deadline_id, pack, now, why)
    elif deadline_id in case.deadlines:
        return
    else:
        open_deadline(
            case,
            policy,
            DeadlineKind.PRE_MEETING_INFORMATION,
            deadline_id,
            CO_ORDINATOR,
            day.counted_from,
            now,
            due_no_later_than=pack,
            due_no_earlier_than=pack,
            title_suffix=f" before {schedule.meeting_id}",
        )
    _remind_scheduled_pack(case, policy, deadline_id, now)


def _remind_scheduled_pack(case: CaseState, policy: AreaPolicy, deadline_id: str, now: datetime) -> None:
    d = case.deadlines[deadline_id]
    if not d.is_open:
        return
    d.reminder_at = reminder_time(
        policy, SCHEDULED_PACK_REMINDER, DueDate(d.due_at, d.due_date, d.explanation), now
    )
    if d.reminded_at is not None and d.reminder_at is not None and d.reminded_at < d.reminder_at:
        d.reminded_at = None


def _rearm_record_searches(case: CaseState, policy: AreaPolicy, cap: DueDate, now: datetime) -> None:
    """Each open record search, counted from its request, falls due no later than `cap`."""
    for d in open_of(case, DeadlineKind.RECORD_SEARCH):
        # Counted from the request (its deadline's opening), capped by the meeting's due date.
        due = new_deadline(
            policy,
            DeadlineKind.RECORD_SEARCH,
            d.deadline_id,
            d.responsible,
            d.opened_at,
            now,
            due_no_later_than=cap,
        )
        rearm_deadline(
            case,
            policy,
            d.deadline_id,
            DueDate(due.due_at, due.due_date, due.explanation),
            now,
            "in time for the pre-meeting information exchange",
        )


def send_pre_meeting_information(
    case: CaseState, policy: AreaPolicy, e: ev.PreMeetingInformationSent, now: datetime
) -> None:
    pack = next(iter(open_of(case, DeadlineKind.PRE_MEETING_INFORMATION)), None)
    if pack is None:
        raise RuleViolation("no pre-meeting information is due on this case", "pre-meeting information")
    recipients = list(dict.fromkeys(e.attending_agencies))
    if case.asp_open and case.asp_chair_agency and case.asp_chair_agency not in recipients:
        # 000: a case open to MAPPA and ASP has the ASP side (the council officer) at the MAPPA meeting.
        raise RuleViolation(
            f"the case is open to both MAPPA and ASP: the ASP chair's agency ({case.asp_chair_agency}) attends "
            "and gets the pre-meeting information too (000)",
            "pre-meeting information to both chairs",
            "attending_agencies",
        )
    outstanding = sorted(d.responsible for d in open_of(case, DeadlineKind.RECORD_SEARCH))
    meet_deadline(case, pack.deadline_id, now)
    schedule = case.scheduled_meeting
    if schedule is not None:
        which, when = schedule.meeting_id, f"scheduled for {schedule.scheduled_for:%A %d %B %Y}"
    else:
        which, when = (
            "the initial meeting",
            f"due by {case.deadlines['initial-meeting'].due_date:%A %d %B %Y}",
        )
    for agency in recipients:
        case.notify(
            NoticeKind.PRE_MEETING_INFORMATION,
            agency,
            f"pre-meeting information for {which}",
            [
                f"The compiled results of the record searches are ready from the co-ordinator for {which}, "
                f"{when} (003).",
                "Official sensitive: for the agencies attending the meeting only. Only conclusions and actions, "
                "with no third-party source, may go to a child protection conference (002).",
                *(["Record searches not yet returned: " + ", ".join(outstanding)] if outstanding else []),
            ],
            deadline_id=pack.deadline_id,
        )
