"""Stages 3 and 4: information sharing and meetings (DOMAIN.md; 003 stages 3-4, 001 on minutes).

Each agency named at acceptance returns its record search. A meeting is recorded once held: it meets the meeting
deadlines, sets the level and the next review (within the level's maximum), the risk management plan's actions,
the minutes' circulation and, where the policy has them, the SWIS alert. Minutes go to attending agencies only.
"""

from __future__ import annotations

from datetime import date, datetime, time

from workflows.rules import events as ev
from workflows.rules.asp_side import asp_chair_copied, cross_forum_attendance
from workflows.rules.calendar import end_of_local_day, local_date, local_time_on
from workflows.rules.case_state import CaseState
from workflows.rules.confidentiality import check_confidentiality_statements_signed
from workflows.rules.deadlines import (
    breach_deadline,
    cancel_deadline,
    is_open,
    meet_deadline,
    open_deadline,
    open_of,
    withdraw_breach,
)
from workflows.rules.due_dates import DeadlineState, DueDate
from workflows.rules.errors import RuleViolation
from workflows.rules.level_1 import enter_level_1, refuse_level_1_for_category_3
from workflows.rules.management import REVIEW_KINDS, check_level_3_criteria, record_level_decision
from workflows.rules.meeting_checks import (
    check_attendance,
    check_meeting_in_case_order,
    check_rmp_action_ids,
    review_date,
)
from workflows.rules.meeting_schedule import MEETING_KINDS, held_as_scheduled
from workflows.rules.policy import AreaPolicy, DeadlineKind
from workflows.rules.records import CO_ORDINATOR, Meeting, NoticeKind, Stage, next_number
from workflows.rules.rule_changes import (
    ASP_CROSS_FORUM_RULES,
    BREACH_ESCALATED_ONCE,
    DATES_IN_CASE_ORDER,
    HELD_MEETING_RECORDED_WITH_SHORTFALLS,
    LEVEL_3_CRITERIA_AT_EVERY_DECISION,
    MEETING_ON_TIME_BY_DAY_HELD,
    ONE_MINUTE_ONE_MEETING,
    PER_PERSON_ATTENDANCE,
    REVIEW_OVERRIDE_IN_OWN_UNIT,
    SUBJECT_INFORMED_DEADLINE,
)


def return_record_search(
    case: CaseState, policy: AreaPolicy, e: ev.RecordSearchReturned, now: datetime
) -> None:
    deadline_id = f"record-search:{e.agency}"
    # A search handed over by a transfer is the receiving agency's, under the id it was asked by.
    handed = [d.deadline_id for d in open_of(case, DeadlineKind.RECORD_SEARCH) if d.responsible == e.agency]
    deadline_id = deadline_id if deadline_id in case.deadlines or not handed else handed[0]
    d = case.deadlines.get(deadline_id)
    if d is None:
        raise RuleViolation(f"no record search was requested from {e.agency}", "record search", "agency")
    if not d.is_open:
        raise RuleViolation(f"{e.agency} has already returned its record search", "record search", "agency")
    meet_deadline(case, deadline_id, now)


def record_meeting(case: CaseState, policy: AreaPolicy, e: ev.MeetingHeld, now: datetime) -> None:
    today = local_date(now)
    absent, shortfalls, review_due = _check_meeting(case, policy, e, today)
    held_at = min(now, local_time_on(e.held_on, time(12)))
    number = max(next_number(m.meeting_id for m in case.meetings), case.archived_meetings.last_number() + 1)
    meeting_id = f"meeting-{number}"
    initial = not case.meetings
    _meet_what_the_meeting_meets(case, e, meeting_id, held_at, now, today)
    case.meetings.append(_the_meeting(e, meeting_id, initial, absent, shortfalls or []))
    case.meetings[-1].scheduled_for, case.meetings[-1].panel_ref = held_as_scheduled(case)
    if shortfalls:
        # Recorded as it happened, and flagged: the co-ordinator hears what fell short (our words only).
        case.notify(
            NoticeKind.MEETING_SHORTFALL,
            CO_ORDINATOR,
            f"{meeting_id} fell short of the guidance",
            shortfalls,
        )
    _record_level(case, e, meeting_id, now)
    _open_what_the_meeting_sets(case, policy, e, meeting_id, initial, held_at, now)
    _open_the_plan(case, policy, e, meeting_id, review_due, held_at, now)


def _check_meeting(
    case: CaseState, policy: AreaPolicy, e: ev.MeetingHeld, today: date
) -> tuple[list[str], list[str] | None, date | None]:
    """Refuse a meeting the case cannot take; else the invited agencies nobody came from, what fell short of
    the guidance (None for a case that refuses it instead) and the review date set."""
    if e.held_on > today:
        raise RuleViolation(
            "a meeting cannot be recorded before the day it is held", "meeting date", "held_on"
        )
    if case.meetings and e.held_on < case.meetings[-1].held_on:
        raise RuleViolation(
            "a meeting cannot be dated before the previous meeting", "meeting date", "held_on"
        )
    if case.follows(DATES_IN_CASE_ORDER):
        check_meeting_in_case_order(case, e, today)
    if case.follows(ONE_MINUTE_ONE_MEETING) and e.minute_ref is not None:
        named = next((m for m in case.meetings if m.minute_ref == e.minute_ref), None)
        if named is not None:
            raise RuleViolation(
                f"minute {e.minute_ref} is already the record of {named.meeting_id}: store this meeting's own minute",
                "one minute, one meeting",
                "minute_ref",
            )
    check_confidentiality_statements_signed(e.attendees)
    absent: list[str] = []
    shortfalls: list[str] | None = [] if case.follows(HELD_MEETING_RECORDED_WITH_SHORTFALLS) else None
    if case.follows(PER_PERSON_ATTENDANCE) and not case.importing:
        # An imported meeting's attendance is in the area's own records (workflows/rules/imported.py).
        absent = check_attendance(policy, case.level or e.level_decided, e, shortfalls)
    council_absent = cross_forum_attendance(case, [a.agency for a in e.attendees])
    if council_absent and shortfalls is not None:
        shortfalls.append(council_absent)
    if e.level_decided == 1:
        refuse_level_1_for_category_3(case, policy, "level_decided")
    if e.level_decided == 3 and case.level != 3 and not e.level_2_cannot_deliver:
        raise RuleViolation(
            "moving to level 3 needs a statement of what level 2 cannot deliver (001, 003)",
            "level 3 referral statement",
            "level_2_cannot_deliver",
        )
    if e.level_decided == 3 and (case.level != 3 or case.follows(LEVEL_3_CRITERIA_AT_EVERY_DECISION)):
        # 004: level 3 is "used where it is determined that" its criteria hold; each meeting determines it.
        check_level_3_criteria(case, policy, e.level_3_criteria)
    review_due = review_date(policy, e, in_own_unit=case.follows(REVIEW_OVERRIDE_IN_OWN_UNIT))
    for action in e.rmp_actions:
        if action.due_date < e.held_on:
            raise RuleViolation(
                f"risk management plan action {action.action_id} is due before the meeting",
                "RMP action due date",
                "rmp_actions",
            )
    check_rmp_action_ids(e.rmp_actions)
    return absent, shortfalls, review_due


def _meet_what_the_meeting_meets(
    case: CaseState, e: ev.MeetingHeld, meeting_id: str, held_at: datetime, now: datetime, today: date
) -> None:
    """The meeting deadlines it meets, and what should have come before it: the AP1, the pre-meeting pack."""
    for ap1 in open_of(case, DeadlineKind.AP1_REFERRAL) if case.asp_criteria_met else []:
        # 000 "Information Sharing Between ASP and MAPPA": the AP1 referral comes before any MAPPA meeting. The
        # meeting happened, so it is recorded and the missing AP1 is breached now, visibly, rather than refused
        # and lost (one AP1 for each adult at risk whose criteria are met). A breach already escalated is not
        # escalated again.
        if ap1.state is DeadlineState.BREACHED and case.follows(BREACH_ESCALATED_ONCE):
            continue
        breach_deadline(
            case, ap1.deadline_id, now, f"{meeting_id} was held before the AP1 referral was made (000)"
        )
    for pack in open_of(case, DeadlineKind.PRE_MEETING_INFORMATION):
        # The meeting happened without the information in advance: recorded, escalated, then moot. Already
        # missed (its due day passed), it was escalated then and is not escalated again.
        if pack.state is not DeadlineState.BREACHED or not case.follows(BREACH_ESCALATED_ONCE):
            breach_deadline(
                case,
                pack.deadline_id,
                now,
                f"{meeting_id} was held before the pre-meeting information was sent",
            )
        cancel_deadline(case, pack.deadline_id, f"{meeting_id} has been held", now)
    for d in list(case.deadlines.values()):
        if d.is_open and d.kind in MEETING_KINDS:
            if (
                d.state is DeadlineState.BREACHED
                and held_at < d.due_at
                and case.follows(MEETING_ON_TIME_BY_DAY_HELD)
            ):
                # 003 stage 4: the meeting is judged by the day it was held, not the day it was recorded.
                withdraw_breach(
                    case,
                    d.deadline_id,
                    f"{meeting_id} was held on {e.held_on:%a %d %b %Y}, by its due day, and recorded "
                    f"on {today:%a %d %b %Y}",
                )
            meet_deadline(case, d.deadline_id, held_at)


def _the_meeting(
    e: ev.MeetingHeld, meeting_id: str, initial: bool, absent: list[str], shortfalls: list[str]
) -> Meeting:
    return Meeting(
        meeting_id=meeting_id,
        held_on=e.held_on,
        initial=initial,
        chair_agency=e.chair_agency,
        level_decided=e.level_decided,
        # The agencies of the people present, substitutes included: they may read the minute (001, 003).
        attendees=list(dict.fromkeys(a.agency for a in e.attendees)),
        people=list(e.attendees),
        invited=list(dict.fromkeys(e.invited)),
        absent=absent,
        chair_name=e.chair_name,
        chair_grade=e.chair_grade.value if e.chair_grade else None,
        not_to_be_shared=e.not_to_be_shared,
        minute_ref=e.minute_ref,
        minute_digest=e.minute_digest,
        rmp_action_ids=[a.action_id for a in e.rmp_actions],
        chair_record=list(e.chair_record),
        shortfalls=shortfalls,
    )


def _record_level(case: CaseState, e: ev.MeetingHeld, meeting_id: str, now: datetime) -> None:
    last = case.level_decisions[-1] if case.level_decisions else None
    stated = (e.level_2_cannot_deliver, sorted(e.level_3_criteria))
    if e.level_decided != case.level or (
        any(stated)
        and (last is None or (last.level_2_cannot_deliver, sorted(last.level_3_criteria)) != stated)
    ):
        # Kept when the level changes or the meeting states something new; a review restating the last
        # decision's words adds nothing (a life-long level 3 case restates them at every review).
        record_level_decision(
            case,
            e.level_decided,
            meeting_id,
            now,
            statement=e.level_2_cannot_deliver,
            criteria=e.level_3_criteria,
        )
    case.level = e.level_decided


def _open_what_the_meeting_sets(
    case: CaseState,
    policy: AreaPolicy,
    e: ev.MeetingHeld,
    meeting_id: str,
    initial: bool,
    held_at: datetime,
    now: datetime,
) -> None:
    """Its minutes, its SWIS alert, and after the initial meeting, telling the subject."""
    open_deadline(
        case,
        policy,
        DeadlineKind.MINUTES,
        f"minutes:{meeting_id}",
        CO_ORDINATOR,
        held_at,
        now,
        set_at_meeting=meeting_id,
    )
    if policy.policy.swis_alerts:
        # 000: "immediately after the meeting"; counted from its recording, when the lead professional can be
        # directed to it (a meeting recorded a day late does not open its alert already missed).
        open_deadline(
            case,
            policy,
            DeadlineKind.SWIS_ALERT,
            f"swis-alert:{meeting_id}",
            case.lead_agency,
            now if case.follows(MEETING_ON_TIME_BY_DAY_HELD) else held_at,
            now,
            set_at_meeting=meeting_id,
        )
    if initial and case.subject_informed is None and case.follows(SUBJECT_INFORMED_DEADLINE):
        # 002: the subject is normally told of their MAPPA status; the lead agency tells them or records why not.
        open_deadline(
            case, policy, DeadlineKind.SUBJECT_INFORMED, "subject-informed", case.lead_agency, held_at, now
        )


def _open_the_plan(
    case: CaseState,
    policy: AreaPolicy,
    e: ev.MeetingHeld,
    meeting_id: str,
    review_due: date | None,
    held_at: datetime,
    now: datetime,
) -> None:
    """The risk management plan's actions, and the review it sets (or level 1's, at level 1)."""
    for action in e.rmp_actions:
        open_deadline(
            case,
            policy,
            DeadlineKind.RMP_ACTION,
            f"rmp:{meeting_id}:{action.action_id}",
            action.owner_agency,
            held_at,
            now,
            set_date=action.due_date,
            # The action's own words stay out of the title (it reaches subjects, the UI and the ledger).
            title_suffix=f" {action.action_id} (owner {action.owner_agency})",
            set_at_meeting=meeting_id,
        )
    if review_due is None:
        case.stage = Stage.LEVEL_1
        enter_level_1(case, policy, now)
        return
    case.stage = Stage.ACTIVE_MANAGEMENT
    open_deadline(
        case,
        policy,
        REVIEW_KINDS[e.level_decided],
        f"review:{meeting_id}",
        CO_ORDINATOR,
        held_at,
        now,
        due_no_later_than=DueDate(
            end_of_local_day(review_due),
            review_due,
            f"review date set at {meeting_id} ({e.held_on:%d %b %Y})",
        ),
        set_at_meeting=meeting_id,
    )


def circulate_minutes(case: CaseState, policy: AreaPolicy, e: ev.MinutesCirculated, now: datetime) -> None:
    meeting = case.meeting(e.meeting_id)
    allowed = set(meeting.attendees)
    asp_chair = asp_chair_copied(case)
    if asp_chair:
        allowed.add(asp_chair)
    outsiders = sorted(set(e.recipients) - allowed)
    if outsiders:
        raise RuleViolation(
            "minutes go only to the agencies that attended (001, 003); sharing with "
            + ", ".join(outsiders)
            + " needs the chair's permission as a recorded disclosure",
            "minutes to attendees only",
            "recipients",
        )
    if asp_chair and asp_chair not in e.recipients:
        raise RuleViolation(
            f"the case is open to both MAPPA and ASP: the ASP chair ({asp_chair}) gets the minutes too (000)",
            "minutes to both chairs",
            "recipients",
        )
    if asp_chair and case.follows(ASP_CROSS_FORUM_RULES) and meeting.chair_agency not in e.recipients:
        raise RuleViolation(
            f"the case is open to both MAPPA and ASP: copies of the minutes go to both chairs (000), the MAPPA "
            f"chair's agency ({meeting.chair_agency}) too",
            "minutes to both chairs",
            "recipients",
        )
    deadline_id = f"minutes:{e.meeting_id}"
    if not is_open(case, deadline_id):
        raise RuleViolation(f"the minutes of {e.meeting_id} have already been circulated", "minutes")
    meet_deadline(case, deadline_id, now)
    meeting.minutes_circulated_to = sorted(set(e.recipients))


def record_swis_alert_update(
    case: CaseState, policy: AreaPolicy, e: ev.SwisAlertUpdated, now: datetime
) -> None:
    case.meeting(e.meeting_id)
    deadline_id = f"swis-alert:{e.meeting_id}"
    if not is_open(case, deadline_id):
        raise RuleViolation(f"no SWIS alert update is due for {e.meeting_id}", "SWIS alert")
    meet_deadline(case, deadline_id, now)


def complete_rmp_action(case: CaseState, policy: AreaPolicy, e: ev.RmpActionCompleted, now: datetime) -> None:
    deadline_id = f"rmp:{e.meeting_id}:{e.action_id}"
    if deadline_id not in case.deadlines:
        raise RuleViolation(f"{e.meeting_id} set no action {e.action_id}", "RMP action", "action_id")
    if not is_open(case, deadline_id):
        raise RuleViolation(f"action {e.action_id} is already closed", "RMP action", "action_id")
    meet_deadline(case, deadline_id, now)
