"""Meetings as events of their own (001, 003 stage 4): the co-ordinator schedules the case's next meeting before it
is held, for a day, inviting the agencies central to its plan, perhaps on a panel day that discusses several cases.

001: "The co-ordinator will arrange initial Level 2 meetings within 20 days of the receipt of referral"; 003: the
co-ordinator "will identify which agencies are central to the delivery of the risk management plan and arrange
for their attendance", and "can make the most of agency involvement by careful scheduling of meetings". The
schedule is what the meeting's preparation follows: each invited agency hears of it (and of every move), and the
record searches and the pre-meeting information fall due before the day set, not the statutory due date
(workflows/rules/information_exchange.py). The statutory deadline itself does not move: a meeting scheduled
after it is recorded as such, and the deadline still breaches on its own day if the meeting is not held by then.
"""

from __future__ import annotations

from datetime import date, datetime

from workflows.rules import events as ev
from workflows.rules.asp_side import asp_chair_copied
from workflows.rules.calendar import local_date
from workflows.rules.case_state import CaseState
from workflows.rules.deadlines import Deadline, open_of
from workflows.rules.errors import AlreadyRecorded, RuleViolation
from workflows.rules.information_exchange import arm_pre_meeting_exchange
from workflows.rules.initial_meeting import INITIAL_MEETING_KINDS
from workflows.rules.management import REVIEW_KINDS
from workflows.rules.policy import AreaPolicy, DeadlineKind
from workflows.rules.records import CHAIR, CO_ORDINATOR, NoticeKind, ScheduledMeeting, next_number
from workflows.rules.rule_changes import ASP_CROSS_FORUM_RULES

# The deadlines a meeting meets when it is held: the initial meeting, a review, an extra review.
MEETING_KINDS = frozenset(
    {
        *INITIAL_MEETING_KINDS.values(),
        DeadlineKind.INITIAL_MEETING_BEFORE_RELEASE,
        *REVIEW_KINDS.values(),
        DeadlineKind.EXTRA_REVIEW,
    }
)


def meeting_due(case: CaseState) -> Deadline | None:
    """The meeting the case owes next: the earliest open meeting deadline (a meeting held meets them all)."""
    due = sorted(open_of(case, *MEETING_KINDS), key=lambda d: d.due_at)
    return due[0] if due else None


def next_meeting_id(case: CaseState) -> str:
    """The id the case's next meeting is recorded under (older meetings may have been archived)."""
    number = max(next_number(m.meeting_id for m in case.meetings), case.archived_meetings.last_number() + 1)
    return f"meeting-{number}"


def schedule_meeting(case: CaseState, policy: AreaPolicy, e: ev.MeetingScheduled, now: datetime) -> None:
    today = local_date(now)
    if e.scheduled_for < today:
        raise RuleViolation(
            f"a meeting is scheduled for a day still to come: {e.scheduled_for:%a %d %b %Y} is past "
            f"(today is {today:%a %d %b %Y})",
            "meeting date",
            "scheduled_for",
        )
    due = meeting_due(case)
    if due is None:
        raise RuleViolation("no meeting is due on this case to schedule", "meeting schedule")
    invited = list(dict.fromkeys(e.invited))
    council = asp_chair_copied(case)
    if council is not None and case.follows(ASP_CROSS_FORUM_RULES) and council not in invited:
        # 000 "Attendance at MAPPA / ASP Meetings": the council officer or a delegate attends the MAPPA meeting.
        raise RuleViolation(
            f"the case is open to both MAPPA and ASP: the council officer of {council} is invited to the MAPPA "
            "meeting (000)",
            "invitations",
            "invited",
        )
    before = case.scheduled_meeting
    if before is not None and (before.scheduled_for, before.invited, before.panel_ref) == (
        e.scheduled_for,
        invited,
        e.panel_ref,
    ):
        raise AlreadyRecorded(
            f"{before.meeting_id} is already scheduled for {e.scheduled_for:%a %d %b %Y} with these invitations",
            "meeting schedule",
            "scheduled_for",
        )
    schedule = ScheduledMeeting(
        meeting_id=next_meeting_id(case),
        scheduled_for=e.scheduled_for,
        invited=invited,
        panel_ref=e.panel_ref,
        scheduled_at=now,
        due_date=due.due_date,
        after_due_date=e.scheduled_for > due.due_date,
        moved_from=[*before.moved_from, before.scheduled_for] if before is not None else [],
    )
    case.scheduled_meeting = schedule
    _invite(case, due, schedule, before)
    if schedule.after_due_date and (
        before is None or not before.after_due_date or before.due_date != due.due_date
    ):
        _flag_after_due_date(case, due, schedule)
    moved = "moved to" if before is not None else "scheduled for"
    arm_pre_meeting_exchange(case, policy, now, f"the meeting was {moved} {e.scheduled_for:%a %d %b %Y}")


def _invite(
    case: CaseState, due: Deadline, schedule: ScheduledMeeting, before: ScheduledMeeting | None
) -> None:
    """A notice to each invited agency, and to each agency no longer invited: the case's reference, the meeting's
    id, day and panel, never anything an agency typed."""
    day = f"{schedule.scheduled_for:%a %d %b %Y}"
    what = f"{schedule.meeting_id}, the {due.title}"
    panel = (
        [
            f"Panel: {schedule.panel_ref}, a panel day discussing several cases; this invitation is for this case."
        ]
        if schedule.panel_ref
        else []
    )
    moved = before is not None and before.scheduled_for != schedule.scheduled_for
    for agency in schedule.invited:
        if before is not None and agency in before.invited:
            if not moved and before.panel_ref == schedule.panel_ref:
                continue  # nothing changed for this agency
            title = f"{schedule.meeting_id} moved to {day}"
            change = [f"Moved from {before.scheduled_for:%a %d %b %Y}."] if moved else []
        else:
            title, change = f"invitation to {schedule.meeting_id} on {day}", []
        case.notify(
            NoticeKind.MEETING_INVITATION,
            agency,
            title,
            [
                f"Meeting: {what}, on {day}.",
                *change,
                *panel,
                "If the invitee cannot attend, a suitable replacement should be sent (001).",
            ],
        )
    for agency in before.invited if before is not None else []:
        if agency not in schedule.invited:
            case.notify(
                NoticeKind.MEETING_INVITATION,
                agency,
                f"invitation to {schedule.meeting_id} withdrawn",
                [f"Meeting: {what}: your agency is no longer invited to it."],
            )


def _flag_after_due_date(case: CaseState, due: Deadline, schedule: ScheduledMeeting) -> None:
    """A meeting set after its statutory due date is recorded (its real day is what the invitations and the
    pre-meeting information follow), and the chair hears of it now, as of a breach of the co-ordinator's own
    deadline: the deadline itself still falls due, and is escalated, on its own day."""
    case.notify(
        NoticeKind.MEETING_SCHEDULED_LATE,
        CHAIR,
        f"{schedule.meeting_id} scheduled after its due date",
        [
            f"Scheduled for {schedule.scheduled_for:%a %d %b %Y}; the {due.title} is due by "
            f"{due.due_date:%a %d %b %Y} ({due.source}).",
            "The deadline is not moved: it is breached on its due day unless the meeting is held by then.",
        ],
        due.deadline_id,
        due.due_at,
        passes_over=[CO_ORDINATOR],
    )


def held_as_scheduled(case: CaseState) -> tuple[date | None, str | None]:
    """A meeting is being recorded: the schedule it was held under (its day and panel), which it consumes."""
    schedule, case.scheduled_meeting = case.scheduled_meeting, None
    if schedule is None:
        return None, None
    return schedule.scheduled_for, schedule.panel_ref
