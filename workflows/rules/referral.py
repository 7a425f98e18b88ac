"""Stages 1 and 2: notification and referral (DOMAIN.md; 003 stages 1-2, 001 on referral).

A case opens with a notification or a referral. The co-ordinator screens a notification (level 1, or a referral
is due); a referral is acknowledged, may wait for further information, and is accepted at a level or rejected
with reasons. Acceptance asks each named agency to search its records and sets the initial meeting's deadline.
"""

from __future__ import annotations

from datetime import date, datetime, time

from workflows.rules import events as ev
from workflows.rules.asp_side import advise_both_chairs, receive_asp_route
from workflows.rules.calendar import end_of_local_day, local_date, local_time_on
from workflows.rules.case_state import CaseState
from workflows.rules.deadlines import (
    cancel_if_open,
    cancel_open_of,
    is_open,
    meet_deadline,
    open_deadline,
    open_of,
    rearm_deadline,
)
from workflows.rules.due_dates import DeadlineState, DueDate
from workflows.rules.eligibility import check_referrer
from workflows.rules.errors import RuleViolation
from workflows.rules.exit import exit_mappa, open_sonr_deadlines, open_supervision_end_deadlines
from workflows.rules.information_exchange import arm_pre_meeting_exchange
from workflows.rules.initial_meeting import open_initial_meeting
from workflows.rules.level_1 import enter_level_1, leave_level_1, refuse_level_1_for_category_3
from workflows.rules.management import check_level_3_criteria, record_level_decision, refer_after_notification
from workflows.rules.policy import AreaPolicy, DeadlineKind
from workflows.rules.pre_notification import (
    disposal_notified,
    meet_pre_notification,
    open_pre_notification,
    pre_notification_facts,
)
from workflows.rules.records import CO_ORDINATOR, NoticeKind, Referral, Stage
from workflows.rules.rule_changes import (
    ELIGIBILITY,
    PRE_MEETING_INFORMATION_EXCHANGE,
    REFERRAL_DECISION_WAITS_FOR_INFORMATION,
)
from workflows.rules.safeguarding import asp_screening_falls_due


def receive_opening(case: CaseState, policy: AreaPolicy, opening: ev.CaseOpening, now: datetime) -> None:
    """The deadlines a new case starts with: custody referral, notification, screening, SONR end, referral."""
    if not opening.subject_is_offender:
        # 002, its referral form: a person who is not an offender cannot be in MAPPA; route to an information sharing meeting.
        case.stage = Stage.ROUTED_TO_INFORMATION_SHARING_MEETING
        case.notify(
            NoticeKind.ROUTED_TO_INFORMATION_SHARING_MEETING,
            (opening.notification.notifying_agency if opening.notification else opening.lead_agency),
            "not a MAPPA case: refer to a High Risk Information Sharing Meeting",
            ["The subject is not an offender, so cannot be managed under MAPPA (002)."],
        )
        return
    receive_asp_route(case, policy, opening)
    if pre_notification_facts(opening):
        open_pre_notification(case, policy, opening, now)
        return
    case.notified_at = now
    if opening.release_date is not None and opening.route is ev.EntryRoute.CUSTODY:
        release_start = local_time_on(opening.release_date, time(12))
        open_deadline(
            case,
            policy,
            DeadlineKind.CUSTODY_REFERRAL,
            "custody-referral",
            opening.lead_agency,
            release_start,
            now,
        )
    if opening.notification is not None:
        n = opening.notification
        if n.disposal_date is not None:
            disposal = disposal_notified(
                n.disposal_date, n.disposal_notified_on, "notification.disposal_notified_on"
            )
            open_deadline(
                case, policy, DeadlineKind.NOTIFICATION, "notification", n.notifying_agency, disposal, now
            )
            meet_deadline(case, "notification", now)
        elif n.disposal_notified_on is not None:
            raise RuleViolation(
                "give the disposal's date with the day it was notified",
                "disposal notified",
                "notification.disposal_date",
            )
        open_deadline(case, policy, DeadlineKind.SCREENING, "screening", CO_ORDINATOR, now, now)
        asp_screening_falls_due(case, policy, "asp-screening:notification", now)
    if opening.sonr_end_date is not None:
        open_sonr_deadlines(case, policy, opening.sonr_end_date, now)
    if opening.supervision_end_date is not None:
        open_supervision_end_deadlines(case, policy, opening.supervision_end_date, now)
    if opening.referral is not None:
        submit_referral(case, policy, opening.referral, now)
    elif case.deadlines.get("custody-referral") and opening.notification is not None:
        # The prison's notification counts: "a notification or referral" 12 weeks before release (003 stage 2).
        meet_deadline(case, "custody-referral", now)


def screen_notification(case: CaseState, policy: AreaPolicy, e: ev.ScreeningDecision, now: datetime) -> None:
    meet_deadline(case, "screening", now)
    case.screening_reason = e.reason
    if e.outcome == "level-1":
        refuse_level_1_for_category_3(case, policy, "outcome")
        case.stage, case.level = Stage.LEVEL_1, 1
        enter_level_1(case, policy, now)
    else:
        refer_after_notification(case, policy, now)


def submit_referral(case: CaseState, policy: AreaPolicy, e: ev.ReferralSubmitted, now: datetime) -> None:
    if e.level_sought == 3 and not e.level_2_cannot_deliver:
        raise RuleViolation(
            "a level 3 referral must say which parts of the risk management plan level 2 cannot deliver "
            "(001, 003)",
            "level 3 referral statement",
            "level_2_cannot_deliver",
        )
    if case.follows(ELIGIBILITY):
        check_referrer(policy, case.category, e)
    cancel_if_open(case, "screening", "a referral arrived before screening", now)
    if is_open(case, "referral"):
        meet_deadline(case, "referral", now)
    meet_pre_notification(case, now, e.extenuating_circumstances)
    case.referral = Referral(
        referring_agency=e.referring_agency,
        level_sought=e.level_sought,
        level_2_cannot_deliver=e.level_2_cannot_deliver,
        received_at=now,
        clock_from=now,
        awaiting_information=False,
    )
    case.stage = Stage.REFERRAL
    # 001 "Key stages": the co-ordinator confirms receipt of the referral to the referring agency.
    case.notify(
        NoticeKind.REFERRAL_RECEIPT,
        e.referring_agency,
        f"referral received (level {e.level_sought} sought)",
        [f"Received {local_date(now):%A %d %B %Y}. The co-ordinator will decide on it."],
    )
    open_deadline(case, policy, DeadlineKind.REFERRAL_DECISION, "referral-decision", CO_ORDINATOR, now, now)
    asp_screening_falls_due(case, policy, "asp-screening", now)
    if not e.information_complete:
        request_further_information(
            case, policy, ev.FurtherInformationRequested(missing="the referral is incomplete"), now
        )


def request_further_information(
    case: CaseState, policy: AreaPolicy, e: ev.FurtherInformationRequested, now: datetime
) -> None:
    assert case.referral is not None
    deadline_id = f"further-information-{case.next_seq()}"
    open_deadline(
        case,
        policy,
        DeadlineKind.FURTHER_INFORMATION,
        deadline_id,
        case.referral.referring_agency,
        now,
        now,
    )
    case.referral.awaiting_information = True
    if case.follows(REFERRAL_DECISION_WAITS_FOR_INFORMATION):
        asked = case.deadlines[deadline_id].due_date
        _decision_waits(case, policy, asked, f"the further information is due {asked:%a %d %b %Y}", now)
    # What is missing is the co-ordinator's own words (they may name the subject): kept in the case file, which
    # is read through the audited API, never put in a notice.
    case.referral.information_requested.append(e.missing)
    case.notify(
        NoticeKind.FURTHER_INFORMATION_REQUEST,
        case.referral.referring_agency,
        "further information needed for the referral",
        ["The initial meeting cannot be arranged until it arrives (001, 003)."],
        deadline_id=deadline_id,
    )


def supply_further_information(
    case: CaseState, policy: AreaPolicy, e: ev.FurtherInformationSupplied, now: datetime
) -> None:
    assert case.referral is not None
    open_requests = open_of(case, DeadlineKind.FURTHER_INFORMATION)
    if not open_requests:
        raise RuleViolation("no further information has been asked for", "further information")
    for d in open_requests:
        meet_deadline(case, d.deadline_id, now)
    case.referral.awaiting_information = False
    if case.follows(REFERRAL_DECISION_WAITS_FOR_INFORMATION):
        today = local_date(now)
        _decision_waits(
            case, policy, today, f"the further information arrived {today:%a %d %b %Y}", now, sooner=True
        )
    if policy.policy.meeting_clock_after_further_information == "restart":
        case.referral.clock_from = now


def _decision_waits(
    case: CaseState, policy: AreaPolicy, day: date, why: str, now: datetime, *, sooner: bool = False
) -> None:
    """001, 003: contact with the referring agency "may delay" the co-ordination that follows. The decision falls
    due the co-ordinator's working days for it after `day` (the information due, or arrived); asked again it never
    comes sooner, arrived it is counted afresh. A decision already missed stays missed."""
    decision = case.deadlines.get("referral-decision")
    if decision is None or decision.state is not DeadlineState.OPEN:
        return
    rule = policy.rule(DeadlineKind.REFERRAL_DECISION)
    counting = policy.calendar.add_working_days(day, rule.timescale.amount)
    due = DueDate(
        end_of_local_day(counting.due_date),
        counting.due_date,
        f"{rule.timescale.amount_in_words()} after {why}",
        counting,
    )
    if sooner or due.due_at > decision.due_at:
        rearm_deadline(
            case, policy, "referral-decision", due, now, "waits for the referrer's further information"
        )


def decide_referral(case: CaseState, policy: AreaPolicy, e: ev.ReferralDecision, now: datetime) -> None:
    assert case.referral is not None
    if e.outcome == "rejected":
        _reject_referral(case, policy, e, now)
        return
    level, statement = _check_acceptance(case, policy, e)
    referral = case.referral
    meet_deadline(case, "referral-decision", now)
    leave_level_1(case, f"referral accepted at level {level}", now)
    case.level = level
    record_level_decision(
        case, level, "referral decision", now, statement=statement, criteria=e.level_3_criteria
    )
    case.stage = Stage.INFORMATION_SHARING
    case.notify(
        NoticeKind.REFERRAL_DECISION, referral.referring_agency, f"referral accepted at level {level}", []
    )
    advise_both_chairs(case, f"referral accepted at level {level}")
    exchange = case.follows(PRE_MEETING_INFORMATION_EXCHANGE)
    if exchange:
        open_initial_meeting(case, policy, level, now)
    for agency in dict.fromkeys(e.record_search_agencies):
        deadline_id = f"record-search:{agency}"
        open_deadline(case, policy, DeadlineKind.RECORD_SEARCH, deadline_id, agency, now, now)
        case.notify(
            NoticeKind.RECORD_SEARCH_REQUEST,
            agency,
            "record search requested",
            [
                "Search your agency's records for all relevant information about the offender, victims "
                "and potential victims, and return the results to the co-ordinator (003)."
            ],
            deadline_id=deadline_id,
        )
    if exchange:
        arm_pre_meeting_exchange(case, policy, now)
    else:
        open_initial_meeting(case, policy, level, now)


def _reject_referral(case: CaseState, policy: AreaPolicy, e: ev.ReferralDecision, now: datetime) -> None:
    """003: a referral not accepted is answered with the reasons; the case stays with the agencies at level 1,
    or leaves MAPPA where a category 3 case cannot be managed at level 1."""
    assert case.referral is not None
    referral = case.referral
    if not (e.reasons and e.reasons.strip()):
        raise RuleViolation(
            "a referral that is not accepted must be answered with the reasons (003)",
            "rejection reasons",
            "reasons",
        )
    meet_deadline(case, "referral-decision", now)
    cancel_open_of(case, DeadlineKind.FURTHER_INFORMATION, "referral not accepted", now)
    # The reasons stay in the case file (the audited read); the notice says where to find them.
    referral.rejection_reasons = e.reasons
    case.notify(
        NoticeKind.REFERRAL_DECISION,
        referral.referring_agency,
        "referral not accepted",
        ["The reasons are recorded in the case file (003)."],
    )
    advise_both_chairs(case, "referral not accepted")
    if case.category == 3 and not policy.policy.category_3_may_be_level_1:
        exit_mappa(
            case,
            f"referral not accepted; a category 3 case cannot be managed at level 1: {e.reasons}",
            now,
        )
    else:
        case.stage, case.level = Stage.LEVEL_1, 1
        enter_level_1(case, policy, now)


def _check_acceptance(case: CaseState, policy: AreaPolicy, e: ev.ReferralDecision) -> tuple[int, str | None]:
    """What an acceptance must say (003; 001 and 004 at level 3): the level, and the level 3 statement it rests on."""
    assert case.referral is not None
    referral = case.referral
    if e.level is None:
        raise RuleViolation(
            "an accepted referral needs the level it is accepted at", "acceptance level", "level"
        )
    statement = e.level_2_cannot_deliver or referral.level_2_cannot_deliver
    if e.level == 3 and not statement:
        raise RuleViolation(
            "level 3 needs a statement of what the risk management plan cannot deliver at level 2 (001, 003)",
            "level 3 referral statement",
            "level_2_cannot_deliver",
        )
    if e.level == 3:
        check_level_3_criteria(case, policy, e.level_3_criteria)
    if not e.record_search_agencies:
        raise RuleViolation(
            "name each agency whose single point of contact must search its records (003)",
            "record search request",
            "record_search_agencies",
        )
    if referral.awaiting_information:
        raise RuleViolation(
            "the referral is waiting for further information; record it before accepting",
            "further information",
        )
    return e.level, statement
