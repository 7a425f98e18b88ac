"""The initial meeting's deadline (003 stage 4): when it falls due, and how a new release or discharge date
moves it.

Offenders in the community meet within 20 (level 2) or 5 (level 3) working days of the referral's receipt;
custody and CPA cases before release / discharge. It opens at the referral's acceptance; a risk triage may
bring it forward (workflows/rules/management.py), and a date it was brought forward to is kept.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from workflows.rules import events as ev
from workflows.rules.calendar import end_of_local_day, local_date, local_time_on
from workflows.rules.case_state import CaseState
from workflows.rules.deadlines import open_deadline, rearm_deadline
from workflows.rules.due_dates import DueDate, new_deadline
from workflows.rules.information_exchange import arm_pre_meeting_exchange
from workflows.rules.policy import AreaPolicy, DeadlineKind
from workflows.rules.records import CO_ORDINATOR, NoticeKind
from workflows.rules.rule_changes import INITIAL_MEETING_BEFORE_RELEASE, MEETING_BROUGHT_FORWARD_STAYS

INITIAL_MEETING_KINDS = {2: DeadlineKind.INITIAL_MEETING_LEVEL_2, 3: DeadlineKind.INITIAL_MEETING_LEVEL_3}


def rearm_initial_meeting(case: CaseState, policy: AreaPolicy, now: datetime, why: str) -> None:
    meeting = case.deadlines.get("initial-meeting")
    if meeting is None or not meeting.is_open or case.referral is None or case.level not in (2, 3):
        return
    kind, start, cap = initial_meeting_rule(case, policy, case.level, now)
    stays = case.follows(MEETING_BROUGHT_FORWARD_STAYS)
    forward = case.initial_meeting_brought_forward_to
    if stays and forward is not None and (cap is None or end_of_local_day(forward) < cap.due_at):
        cap = DueDate(
            end_of_local_day(forward), forward, f"brought forward by a risk triage to {forward:%a %d %b %Y}"
        )
    due = new_deadline(policy, kind, "initial-meeting", CO_ORDINATOR, start, now, due_no_later_than=cap)
    was_due = meeting.due_at
    rearm_deadline(
        case, policy, "initial-meeting", DueDate(due.due_at, due.due_date, due.explanation), now, why
    )
    arm_pre_meeting_exchange(case, policy, now)
    if stays and meeting.due_at != was_due:
        # The co-ordinator arranges the meeting: a date moved by another agency's event reaches them.
        case.notify(
            NoticeKind.DEADLINE_MOVED,
            CO_ORDINATOR,
            f"moved: {meeting.title}",
            [why, meeting.explanation],
            "initial-meeting",
            meeting.due_at,
        )


def initial_meeting_rule(
    case: CaseState, policy: AreaPolicy, level: int, now: datetime
) -> tuple[DeadlineKind, datetime, DueDate | None]:
    """The rule the initial meeting falls due under, the instant it counts from and any cap.

    003 stage 4: offenders in the community meet within 20 (level 2) or 5 (level 3) working days of the
    referral's receipt; custody and CPA cases before release / discharge, however far off that is."""
    assert case.referral is not None
    day = release_or_discharge(case)
    if case.follows(INITIAL_MEETING_BEFORE_RELEASE):
        if day is not None and day > local_date(now):
            return DeadlineKind.INITIAL_MEETING_BEFORE_RELEASE, local_time_on(day, time(12)), None
        return INITIAL_MEETING_KINDS[level], case.referral.clock_from, None
    return INITIAL_MEETING_KINDS[level], case.referral.clock_from, before_release_or_discharge(case)


def release_or_discharge(case: CaseState) -> date | None:
    if case.route is ev.EntryRoute.CUSTODY:
        return case.release_date
    if case.route is ev.EntryRoute.RESTRICTED_PATIENT:
        return case.discharge_date
    return None


def before_release_or_discharge(case: CaseState) -> DueDate | None:
    # 003 stage 4: for custody and CPA cases the initial meeting takes place before release / discharge.
    day = case.release_date if case.route is ev.EntryRoute.CUSTODY else case.discharge_date
    if day is None:
        return None
    last_day = day - timedelta(days=1)
    return DueDate(end_of_local_day(last_day), last_day, f"before release / discharge on {day:%a %d %b %Y}")


def open_initial_meeting(case: CaseState, policy: AreaPolicy, level: int, now: datetime) -> None:
    kind, start, cap = initial_meeting_rule(case, policy, level, now)
    suffix = f" (level {level})" if kind is DeadlineKind.INITIAL_MEETING_BEFORE_RELEASE else ""
    open_deadline(
        case,
        policy,
        kind,
        "initial-meeting",
        CO_ORDINATOR,
        start,
        now,
        due_no_later_than=cap,
        title_suffix=suffix,
    )
