"""Stage 3: the information exchange before the initial meeting (003 stages 3-4; 001).

Each agency's record search falls due early enough for its results to be compiled and sent, in advance of the
meeting, to every agency attending it; the compiled pack is itself a deadline and goes out as a notice. When
the meeting's due date moves (a release date changes, a risk increase brings it forward) both move with it.
"""

from __future__ import annotations

from datetime import datetime, time

from workflows.rules import events as ev
from workflows.rules.calendar import end_of_local_day, local_date, local_time_on
from workflows.rules.case_state import CaseState
from workflows.rules.deadlines import is_open, meet_deadline, open_deadline, open_of, rearm_deadline
from workflows.rules.due_dates import Deadline, DueDate, compute_due, new_deadline
from workflows.rules.errors import RuleViolation
from workflows.rules.policy import AreaPolicy, DeadlineKind
from workflows.rules.records import CO_ORDINATOR, NoticeKind
from workflows.rules.rule_changes import BREACH_ESCALATED_ONCE, PRE_MEETING_INFORMATION_EXCHANGE

PRE_MEETING_INFORMATION = "pre-meeting-information"


# ------------------------------------------------------------------ the pre-meeting information exchange (003, 001)


def _no_later_than_meeting(case: CaseState, due: DueDate, meeting: Deadline, now: datetime) -> DueDate:
    """Never before today (a meeting falling due very soon leaves only today), never after the meeting; but
    when the meeting's due date has already passed (a release date moved into the past), today: an agency asked
    for its records today is not in breach before it was asked (breach-escalated-once)."""
    today = local_date(now)
    falls = "was due" if meeting.due_at <= now else "falls due"
    floor = DueDate(
        end_of_local_day(today), today, f"today: the meeting {falls} on {meeting.due_date:%a %d %b %Y}"
    )
    cap = DueDate(
        meeting.due_at, meeting.due_date, f"by the meeting's due date ({meeting.due_date:%a %d %b %Y})"
    )
    if case.follows(BREACH_ESCALATED_ONCE):
        due = min(due, cap, key=lambda d: d.due_at)
        return max(due, floor, key=lambda d: d.due_at)
    if due.due_date < today:
        due = floor
    if due.due_at > meeting.due_at:
        due = cap
    return due


def arm_pre_meeting_exchange(case: CaseState, policy: AreaPolicy, now: datetime) -> None:
    """Record searches fall due in time for their results to be compiled and sent to every attending agency
    before the initial meeting: 5 working days from the request, or a policy number of working days before the
    meeting's due date if that is sooner. The compiled pack falls due a policy number of days before the
    meeting. Called when the meeting falls due and again whenever its due date moves."""
    meeting = case.deadlines.get("initial-meeting")
    if not case.follows(PRE_MEETING_INFORMATION_EXCHANGE) or meeting is None or not meeting.is_open:
        return
    # Counted back from the meeting's due day (its due instant is the midnight after it).
    meeting_day = local_time_on(meeting.due_date, time(12))
    searches_cap = _no_later_than_meeting(
        case,
        compute_due(policy, policy.rule(DeadlineKind.RECORD_SEARCH_BEFORE_MEETING), meeting_day),
        meeting,
        now,
    )
    _rearm_record_searches(case, policy, searches_cap, now)
    pack = _no_later_than_meeting(
        case,
        compute_due(policy, policy.rule(DeadlineKind.PRE_MEETING_INFORMATION), meeting_day),
        meeting,
        now,
    )
    once = case.follows(BREACH_ESCALATED_ONCE)
    if is_open(case, PRE_MEETING_INFORMATION):
        rearm_deadline(case, policy, PRE_MEETING_INFORMATION, pack, now, "the meeting's due date moved")
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
            meeting_day,
            now,
            due_no_later_than=pack,
        )
        if once and opened.due_at < pack.due_at:
            # Counted back from a meeting falling due very soon (or already overdue): not before today.
            rearm_deadline(case, policy, PRE_MEETING_INFORMATION, pack, now, "not before it was asked for")


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
    if not is_open(case, PRE_MEETING_INFORMATION):
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
    meeting = case.deadlines["initial-meeting"]
    outstanding = sorted(d.responsible for d in open_of(case, DeadlineKind.RECORD_SEARCH))
    meet_deadline(case, PRE_MEETING_INFORMATION, now)
    for agency in recipients:
        case.notify(
            NoticeKind.PRE_MEETING_INFORMATION,
            agency,
            "pre-meeting information for the initial meeting",
            [
                f"The compiled results of the record searches are ready from the co-ordinator for the initial "
                f"meeting, due by {meeting.due_date:%A %d %B %Y} (003).",
                "Official sensitive: for the agencies attending the meeting only. Only conclusions and actions, "
                "with no third-party source, may go to a child protection conference (002).",
                *(["Record searches not yet returned: " + ", ".join(outstanding)] if outstanding else []),
            ],
            deadline_id=PRE_MEETING_INFORMATION,
        )
