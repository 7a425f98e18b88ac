"""Stages 1 and 2: notification and referral (DOMAIN.md; 003 stages 1-2, 001 on referral).

A case opens with a notification or a referral. The co-ordinator screens a notification (level 1, or a referral
is due); a referral is acknowledged, may wait for further information, and is accepted at a level or rejected
with reasons. Acceptance asks each named agency to search its records and sets the initial meeting's deadline.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import date, datetime, time, timedelta
from typing import TYPE_CHECKING

from workflows.rules import events as ev
from workflows.rules.calendar import end_of_local_day, local_date, local_time_on
from workflows.rules.deadlines import (
    DueDate,
    cancel_if_open,
    cancel_open_of,
    compute_due,
    is_open,
    meet_deadline,
    new_deadline,
    open_deadline,
    open_of,
    rearm_deadline,
)
from workflows.rules.errors import RuleViolation
from workflows.rules.exit import exit_mappa, open_sonr_deadlines, open_supervision_end_deadlines
from workflows.rules.information_exchange import arm_pre_meeting_exchange
from workflows.rules.management import (
    check_level_3_criteria,
    enter_level_1,
    leave_level_1,
    refuse_level_1_for_category_3,
)
from workflows.rules.meetings import INITIAL_MEETING_KINDS
from workflows.rules.policy import AreaPolicy, DeadlineKind, UnknownArea, area_policy
from workflows.rules.records import CO_ORDINATOR, NoticeKind, Referral, Stage
from workflows.rules.rule_changes import (
    ELIGIBILITY,
    INITIAL_MEETING_BEFORE_RELEASE,
    PRE_MEETING_INFORMATION_EXCHANGE,
    REFERRAL_FROM_NOTIFICATION,
    RULE_CHANGES,
)
from workflows.rules.safeguarding import asp_screening_falls_due, receive_asp_route

# The deadline each event that precedes a case starts, met by the notification or referral (003 stages 1-2).
PRE_NOTIFICATION_DEADLINES = ("notification", "custody-referral", "restricted-patient-referral")

if TYPE_CHECKING:
    from workflows.rules.case import CaseFile


def check_opening(opening: ev.CaseOpening, rule_changes: Collection[str] = RULE_CHANGES) -> AreaPolicy:
    """The rules a new case must satisfy before a workflow is started for it (also used by the API), under the
    rule corrections it follows (a case opened before one replays its opening without it)."""
    try:
        policy = area_policy(opening.area)
    except UnknownArea:
        raise RuleViolation(f"unknown MAPPA area '{opening.area}'", "area", "area") from None
    if policy.area.jurisdiction is not opening.jurisdiction:
        raise RuleViolation(
            f"{policy.area.name} is in {policy.policy.name}, not {opening.jurisdiction.value}",
            "jurisdiction",
            "jurisdiction",
        )
    if opening.category not in policy.policy.categories:
        raise RuleViolation(
            f"category {opening.category} is not a MAPPA category in {policy.policy.name}",
            "category",
            "category",
        )
    if ELIGIBILITY in rule_changes and opening.subject_is_offender:
        check_category_criteria(opening)
        if opening.referral is not None:
            check_referrer(policy, opening.category, opening.referral, "referral.")
    _check_pre_notification(opening)
    if opening.notification is None and opening.referral is None and not _pre_notification(opening):
        raise RuleViolation(
            "a case opens with a notification or a referral, or before them with a court disposal, an "
            "upcoming release or a hospital discharge",
            "case opening",
            "notification",
        )
    if opening.notification is not None and opening.referral is not None:
        raise RuleViolation(
            "send the notification and the referral as separate events", "case opening", "referral"
        )
    if opening.route is ev.EntryRoute.CUSTODY and release_day(opening) is None:
        raise RuleViolation("a custody case needs its release date", "custody release date", "release_date")
    if (
        opening.subject_is_offender
        and opening.route is ev.EntryRoute.COMMUNITY
        and opening.notification
        and opening.notification.disposal_date is None
    ):
        raise RuleViolation(
            "a community notification needs the date of the sentence disposal (due 3 working days after it, 003)",
            "notification timescale",
            "notification.disposal_date",
        )
    if (
        opening.referral
        and opening.referral.level_sought == 3
        and not opening.referral.level_2_cannot_deliver
    ):
        raise RuleViolation(
            "a level 3 referral must say which parts of the risk management plan level 2 cannot deliver (001, 003)",
            "level 3 referral statement",
            "referral.level_2_cannot_deliver",
        )
    return policy


def release_day(opening: ev.CaseOpening) -> date | None:
    if opening.upcoming_release is not None:
        return opening.upcoming_release.release_date
    return opening.release_date


def discharge_day(opening: ev.CaseOpening) -> date | None:
    if opening.discharge is not None:
        return opening.discharge.discharge_date
    return opening.discharge_date


def _pre_notification(opening: ev.CaseOpening) -> list[ev.Event]:
    return [f for f in (opening.disposal, opening.upcoming_release, opening.discharge) if f is not None]


def _check_pre_notification(opening: ev.CaseOpening) -> None:
    facts = _pre_notification(opening)
    if not facts:
        return
    if len(facts) > 1 or opening.notification is not None or opening.referral is not None:
        raise RuleViolation(
            "a case opened by a court disposal, an upcoming release or a hospital discharge opens with that "
            "one event; the notification or referral follows as its own event",
            "pre-notification opening",
            "notification",
        )
    routes = {
        "disposal": (opening.disposal, ev.EntryRoute.COMMUNITY),
        "upcoming_release": (opening.upcoming_release, ev.EntryRoute.CUSTODY),
        "discharge": (opening.discharge, ev.EntryRoute.RESTRICTED_PATIENT),
    }
    for field, (fact, route) in routes.items():
        if fact is not None and opening.route is not route:
            raise RuleViolation(
                f"a case opened by its {field.replace('_', ' ')} takes the {route.value} route",
                "entry route",
                "route",
            )
    if opening.upcoming_release is not None:
        r = opening.upcoming_release
        if opening.release_date is not None and opening.release_date != r.release_date:
            raise RuleViolation(
                "the release date is given twice, differently", "custody release date", "release_date"
            )
        if r.icm_held_on >= r.release_date:
            raise RuleViolation(
                "the pre-release ICM case conference is held before the release (003)",
                "pre-release ICM",
                "upcoming_release.icm_held_on",
            )
    if opening.discharge is not None and opening.discharge_date not in (
        None,
        opening.discharge.discharge_date,
    ):
        raise RuleViolation(
            "the discharge date is given twice, differently", "discharge date", "discharge_date"
        )


def _open_pre_notification(
    case: CaseFile, policy: AreaPolicy, opening: ev.CaseOpening, now: datetime
) -> None:
    """003 stages 1-2: the deadline for the notification (or the prison's / hospital's notification or referral)
    runs from the disposal, or back from the release or discharge, before the case reaches the co-ordinator."""
    case.stage = Stage.AWAITING_NOTIFICATION
    if opening.disposal is not None:
        disposal = local_time_on(opening.disposal.disposal_date, time(12))
        open_deadline(
            case, policy, DeadlineKind.NOTIFICATION, "notification", case.lead_agency, disposal, now
        )
    elif opening.upcoming_release is not None:
        release = local_time_on(opening.upcoming_release.release_date, time(12))
        open_deadline(
            case, policy, DeadlineKind.CUSTODY_REFERRAL, "custody-referral", case.lead_agency, release, now
        )
    elif opening.discharge is not None:
        discharge = local_time_on(opening.discharge.discharge_date, time(12))
        open_deadline(
            case,
            policy,
            DeadlineKind.RESTRICTED_PATIENT_REFERRAL,
            "restricted-patient-referral",
            case.lead_agency,
            discharge,
            now,
        )
    if opening.sonr_end_date is not None:
        open_sonr_deadlines(case, policy, opening.sonr_end_date, now)


def _meet_pre_notification(case: CaseFile, now: datetime, extenuating_circumstances: str | None) -> None:
    """The notification or referral meets the deadline its preceding event started; a late one keeps its
    extenuating circumstances (003 stage 2) on the deadline, for the record and the ledger."""
    for deadline_id in PRE_NOTIFICATION_DEADLINES:
        if not is_open(case, deadline_id):
            continue
        meet_deadline(case, deadline_id, now)
        d = case.deadlines[deadline_id]
        if d.met_late and extenuating_circumstances:
            d.breach_note = f"late, with extenuating circumstances: {extenuating_circumstances}"


def submit_notification(
    case: CaseFile, policy: AreaPolicy, e: ev.NotificationSubmitted, now: datetime
) -> None:
    _meet_pre_notification(case, now, e.extenuating_circumstances)
    case.notified_at = now
    case.stage = Stage.NOTIFICATION
    open_deadline(case, policy, DeadlineKind.SCREENING, "screening", CO_ORDINATOR, now, now)
    # 000: a notification sent after the case was opened by its disposal is screened for ASP like any other.
    asp_screening_falls_due(case, policy, "asp-screening:notification", now)


def change_release_date(case: CaseFile, policy: AreaPolicy, e: ev.ReleaseDateChanged, now: datetime) -> None:
    if case.route is not ev.EntryRoute.CUSTODY:
        raise RuleViolation("only a custody case has a release date", "custody release date", "release_date")
    if e.release_date == case.release_date:
        raise RuleViolation("the release date is already that day", "custody release date", "release_date")
    case.release_date = e.release_date
    why = f"release date moved to {e.release_date:%a %d %b %Y} ({e.reason})"
    if is_open(case, "custody-referral"):
        rule = policy.rule(DeadlineKind.CUSTODY_REFERRAL)
        due = compute_due(policy, rule, local_time_on(e.release_date, time(12)))
        rearm_deadline(case, policy, "custody-referral", due, now, why)
    _rearm_initial_meeting(case, policy, now, why)


def change_discharge_date(
    case: CaseFile, policy: AreaPolicy, e: ev.DischargeDateChanged, now: datetime
) -> None:
    if case.route is not ev.EntryRoute.RESTRICTED_PATIENT:
        raise RuleViolation(
            "only a restricted patient has a discharge date", "discharge date", "discharge_date"
        )
    if e.discharge_date == case.discharge_date:
        raise RuleViolation("the discharge date is already that day", "discharge date", "discharge_date")
    case.discharge_date = e.discharge_date
    why = f"discharge date moved to {e.discharge_date:%a %d %b %Y}"
    if is_open(case, "restricted-patient-referral"):
        rule = policy.rule(DeadlineKind.RESTRICTED_PATIENT_REFERRAL)
        due = compute_due(policy, rule, local_time_on(e.discharge_date, time(12)))
        rearm_deadline(case, policy, "restricted-patient-referral", due, now, why)
    _rearm_initial_meeting(case, policy, now, why)


def _rearm_initial_meeting(case: CaseFile, policy: AreaPolicy, now: datetime, why: str) -> None:
    meeting = case.deadlines.get("initial-meeting")
    if meeting is None or not meeting.is_open or case.referral is None or case.level not in (2, 3):
        return
    kind, start, cap = initial_meeting_rule(case, policy, case.level, now)
    due = new_deadline(policy, kind, "initial-meeting", CO_ORDINATOR, start, now, due_no_later_than=cap)
    rearm_deadline(
        case, policy, "initial-meeting", DueDate(due.due_at, due.due_date, due.explanation), now, why
    )
    arm_pre_meeting_exchange(case, policy, now)


def initial_meeting_rule(
    case: CaseFile, policy: AreaPolicy, level: int, now: datetime
) -> tuple[DeadlineKind, datetime, DueDate | None]:
    """The rule the initial meeting falls due under, the instant it counts from and any cap.

    003 stage 4: offenders in the community meet within 20 (level 2) or 5 (level 3) working days of the
    referral's receipt; custody and CPA cases before release / discharge, however far off that is."""
    assert case.referral is not None
    day = _release_or_discharge(case)
    if case.follows(INITIAL_MEETING_BEFORE_RELEASE):
        if day is not None and day > local_date(now):
            return DeadlineKind.INITIAL_MEETING_BEFORE_RELEASE, local_time_on(day, time(12)), None
        return INITIAL_MEETING_KINDS[level], case.referral.clock_from, None
    return INITIAL_MEETING_KINDS[level], case.referral.clock_from, _before_release_or_discharge(case)


def _release_or_discharge(case: CaseFile) -> date | None:
    if case.route is ev.EntryRoute.CUSTODY:
        return case.release_date
    if case.route is ev.EntryRoute.RESTRICTED_PATIENT:
        return case.discharge_date
    return None


def check_category_criteria(opening: ev.CaseOpening) -> None:
    """004 "MAPPA Categories of offenders": category 2, certain violent offenders sentenced to 12 months or more
    in custody or to detention in hospital, now in the community under supervision; category 3, other dangerous
    offenders who have committed an offence and pose a risk of serious harm to the public."""
    if opening.category == 2:
        if not (opening.hospital_order or (opening.custody_months or 0) >= 12):
            raise RuleViolation(
                "category 2 is for violent offenders sentenced to 12 months or more in custody or to detention "
                "in hospital (004): give custody_months (12 or more) or hospital_order",
                "category 2 criteria",
                "custody_months",
            )
        if not opening.subject_to_supervision:
            raise RuleViolation(
                "category 2 offenders are subject to supervision or licence in the community (004): "
                "confirm subject_to_supervision",
                "category 2 criteria",
                "subject_to_supervision",
            )
    if opening.category == 3:
        if not opening.previous_offence:
            raise RuleViolation(
                "category 3 is for offenders who have committed an offence in the past (004): confirm "
                "previous_offence",
                "category 3 criteria",
                "previous_offence",
            )
        if not opening.risk_of_serious_harm:
            raise RuleViolation(
                "category 3 offenders are considered to pose a risk of serious harm to the public (004): "
                "confirm risk_of_serious_harm",
                "category 3 criteria",
                "risk_of_serious_harm",
            )


def check_referrer(policy: AreaPolicy, category: int, e: ev.ReferralSubmitted, prefix: str = "") -> None:
    """Who may refer each category (001 "Key stages", 003 stage 1; 002 section 4 in England and Wales)."""
    # The API fills the kind in from the directory; an event without it (an agency the directory does not
    # know) cannot be checked here.
    kind = e.referring_agency_kind
    if kind is None:
        return
    restricted = policy.policy.referrers is not None
    if not policy.may_refer(category, kind):
        allowed = sorted((policy.policy.referrers or {}).get(category, ()))
        raise RuleViolation(
            f"in {policy.policy.name} a category {category} referral comes from {', '.join(allowed)}, not "
            f"{kind} ({policy.policy.referrers_source}); another agency asks one of them to refer",
            "who may refer",
            f"{prefix}referring_agency_kind",
        )
    if (
        restricted
        and category == 3
        and kind not in ("police", "justice-social-work")
        and not e.police_or_social_work_contacted
    ):
        raise RuleViolation(
            "any agency may refer a category 3 case, but contact the police and/or social work first (003 "
            "stage 1), and confirm police_or_social_work_contacted",
            "who may refer",
            f"{prefix}police_or_social_work_contacted",
        )


def receive_opening(case: CaseFile, policy: AreaPolicy, opening: ev.CaseOpening, now: datetime) -> None:
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
    if _pre_notification(opening):
        _open_pre_notification(case, policy, opening, now)
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
            disposal = local_time_on(n.disposal_date, time(12))
            open_deadline(
                case, policy, DeadlineKind.NOTIFICATION, "notification", n.notifying_agency, disposal, now
            )
            meet_deadline(case, "notification", now)
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


def screen_notification(case: CaseFile, policy: AreaPolicy, e: ev.ScreeningDecision, now: datetime) -> None:
    meet_deadline(case, "screening", now)
    if e.outcome == "level-1":
        refuse_level_1_for_category_3(case, policy, "outcome")
        case.stage, case.level = Stage.LEVEL_1, 1
        enter_level_1(case, policy, now)
    else:
        case.stage = Stage.REFERRAL_DUE
        # 003 stage 2: "within five working days of submission of the notification form", not of its screening.
        notified = (case.notified_at or case.opened_at) if case.follows(REFERRAL_FROM_NOTIFICATION) else now
        open_deadline(case, policy, DeadlineKind.REFERRAL, "referral", case.lead_agency, notified, now)


def submit_referral(case: CaseFile, policy: AreaPolicy, e: ev.ReferralSubmitted, now: datetime) -> None:
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
    _meet_pre_notification(case, now, e.extenuating_circumstances)
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
    case: CaseFile, policy: AreaPolicy, e: ev.FurtherInformationRequested, now: datetime
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
    case: CaseFile, policy: AreaPolicy, e: ev.FurtherInformationSupplied, now: datetime
) -> None:
    assert case.referral is not None
    open_requests = open_of(case, DeadlineKind.FURTHER_INFORMATION)
    if not open_requests:
        raise RuleViolation("no further information has been asked for", "further information")
    for d in open_requests:
        meet_deadline(case, d.deadline_id, now)
    case.referral.awaiting_information = False
    if policy.policy.meeting_clock_after_further_information == "restart":
        case.referral.clock_from = now


def decide_referral(case: CaseFile, policy: AreaPolicy, e: ev.ReferralDecision, now: datetime) -> None:
    assert case.referral is not None
    referral = case.referral
    if e.outcome == "rejected":
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
        if case.category == 3 and not policy.policy.category_3_may_be_level_1:
            exit_mappa(
                case,
                f"referral not accepted; a category 3 case cannot be managed at level 1: {e.reasons}",
                now,
            )
        else:
            case.stage, case.level = Stage.LEVEL_1, 1
            enter_level_1(case, policy, now)
        return
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
    meet_deadline(case, "referral-decision", now)
    leave_level_1(case, f"referral accepted at level {e.level}", now)
    case.level = e.level
    case.stage = Stage.INFORMATION_SHARING
    case.notify(
        NoticeKind.REFERRAL_DECISION, referral.referring_agency, f"referral accepted at level {e.level}", []
    )
    exchange = case.follows(PRE_MEETING_INFORMATION_EXCHANGE)
    if exchange:
        _open_initial_meeting(case, policy, e.level, now)
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
        _open_initial_meeting(case, policy, e.level, now)


def _open_initial_meeting(case: CaseFile, policy: AreaPolicy, level: int, now: datetime) -> None:
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


def _before_release_or_discharge(case: CaseFile) -> DueDate | None:
    # 003 stage 4: for custody and CPA cases the initial meeting takes place before release / discharge.
    day = case.release_date if case.route is ev.EntryRoute.CUSTODY else case.discharge_date
    if day is None:
        return None
    last_day = day - timedelta(days=1)
    return DueDate(end_of_local_day(last_day), last_day, f"before release / discharge on {day:%a %d %b %Y}")
