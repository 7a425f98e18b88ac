"""Cases imported before imports became dated events (rule correction `import-as-dated-events`): kept only so
that a case imported under the old code replays its opening as it was. Never changed; new imports are the dated
events of workflows/rules/imported.py, applied through the live handlers.
"""

from __future__ import annotations

from datetime import date, datetime, time

from workflows.rules import events as ev
from workflows.rules.calendar import end_of_local_day, local_time_on
from workflows.rules.case_state import CaseState
from workflows.rules.deadlines import open_deadline
from workflows.rules.due_dates import DueDate
from workflows.rules.eligibility import check_opening
from workflows.rules.errors import RuleViolation
from workflows.rules.exit import open_sonr_deadlines, open_supervision_end_deadlines
from workflows.rules.imported import IMPORTED_MEETING_ID
from workflows.rules.imported_row import ImportedPosition, ImportedStage
from workflows.rules.initial_meeting import INITIAL_MEETING_KINDS, before_release_or_discharge
from workflows.rules.level_1 import refuse_level_1_for_category_3
from workflows.rules.management import REVIEW_KINDS
from workflows.rules.meeting_checks import check_rmp_action_ids, review_date
from workflows.rules.policy import AreaPolicy, DeadlineKind
from workflows.rules.records import CO_ORDINATOR, Meeting, Referral, Stage
from workflows.rules.rule_changes import ELIGIBILITY, RULE_CHANGES

NOON = time(12)


def _required(value: object, field: str, stage: ImportedStage, what: str) -> None:
    if value is None:
        raise RuleViolation(
            f"a case imported at stage '{stage.value}' needs {what}", "imported case dates", field
        )


def _not_before(later: date | None, later_field: str, earlier: date | None, what: str) -> None:
    if later is not None and earlier is not None and later < earlier:
        raise RuleViolation(f"{later_field} is before {what}", "imported case dates", later_field)


def check_import(opening: ev.CaseOpening, position: ImportedPosition, today: date) -> AreaPolicy:
    """Every rule an imported case must satisfy before a workflow is started for it; change nothing."""
    # The area, jurisdiction, category and route rules are those of any opening: checked as though the case
    # opened by a level 2 referral, whose own rules (level, statement) are checked below against the row. Its
    # eligibility and referrer were decided when the area took it into MAPPA, before the system: not re-judged.
    policy = check_opening(
        opening.model_copy(
            update={
                "notification": None,
                "referral": ev.ReferralSubmitted(referring_agency=opening.lead_agency, level_sought=2),
            }
        ),
        [change for change in RULE_CHANGES if change != ELIGIBILITY],
    )
    _check_stage(position)
    _check_dates(position, today)
    if position.stage is ImportedStage.ACTIVE_MANAGEMENT:
        _check_last_meeting(policy, opening, position)
    return policy


def _check_stage(p: ImportedPosition) -> None:
    """The dates the row's stage is reached by, its level, and a level 3 case's statement."""
    stage = p.stage
    if stage is ImportedStage.NOTIFICATION:
        _required(p.notified_on, "notified_on", stage, "the day the notification was received")
    elif stage is ImportedStage.REFERRAL_DUE:
        _required(p.screened_on, "screened_on", stage, "the day the notification was screened")
    elif stage is ImportedStage.REFERRAL:
        _required(p.referral_received_on, "referral_received_on", stage, "the day the referral was received")
        _required(p.level_sought, "level_sought", stage, "the level the referral seeks")
    elif stage is ImportedStage.INFORMATION_SHARING:
        _required(p.referral_received_on, "referral_received_on", stage, "the day the referral was received")
        _required(p.accepted_on, "accepted_on", stage, "the day the referral was accepted")
        _required(p.level, "level", stage, "the level the referral was accepted at")
    elif stage is ImportedStage.ACTIVE_MANAGEMENT:
        _required(p.last_meeting_on, "last_meeting_on", stage, "the day of the last meeting")
        _required(p.level, "level", stage, "the level decided at the last meeting")
        _required(p.next_review_date, "next_review_date", stage, "the review date set at the last meeting")
    if stage in (ImportedStage.INFORMATION_SHARING, ImportedStage.ACTIVE_MANAGEMENT) and p.level == 1:
        raise RuleViolation(
            f"a case at stage '{stage.value}' is managed at level 2 or 3; import a level 1 case at stage "
            "'level-1'",
            "imported case level",
            "level",
        )
    if stage is ImportedStage.LEVEL_1 and p.level not in (None, 1):
        raise RuleViolation("a case at stage 'level-1' is at level 1", "imported case level", "level")
    level_3 = p.level == 3 or (stage is ImportedStage.REFERRAL and p.level_sought == 3)
    if level_3 and not p.level_2_cannot_deliver:
        raise RuleViolation(
            "a level 3 case must say which parts of the risk management plan level 2 cannot deliver (001, 003)",
            "level 3 referral statement",
            "level_2_cannot_deliver",
        )


def _check_dates(p: ImportedPosition, today: date) -> None:
    """No date in the future or out of the case's order; searches and plan actions only where a stage has them."""
    stage = p.stage
    for day, field in (
        (p.notified_on, "notified_on"),
        (p.screened_on, "screened_on"),
        (p.referral_received_on, "referral_received_on"),
        (p.asp_screened_on, "asp_screened_on"),
        (p.accepted_on, "accepted_on"),
        (p.last_meeting_on, "last_meeting_on"),
    ):
        if day is not None and day > today:
            raise RuleViolation(f"{field} {day.isoformat()} is in the future", "imported case dates", field)
    _not_before(p.screened_on, "screened_on", p.notified_on, "the notification")
    _not_before(p.referral_received_on, "referral_received_on", p.notified_on, "the notification")
    _not_before(p.accepted_on, "accepted_on", p.referral_received_on, "the referral was received")
    _not_before(p.last_meeting_on, "last_meeting_on", p.referral_received_on, "the referral was received")
    if p.searches_outstanding and stage not in (
        ImportedStage.INFORMATION_SHARING,
        ImportedStage.ACTIVE_MANAGEMENT,
    ):
        raise RuleViolation(
            "record searches are requested when a referral is accepted; a case at stage "
            f"'{stage.value}' has none outstanding",
            "record search request",
            "searches_outstanding",
        )
    if p.searches_outstanding:
        _required(p.accepted_on, "accepted_on", stage, "the day the record searches were requested")
    if p.rmp_actions and stage is not ImportedStage.ACTIVE_MANAGEMENT:
        raise RuleViolation(
            "RMP actions are set at a meeting: import them with a case at stage 'active-management'",
            "RMP action",
            "rmp_actions",
        )


def _check_last_meeting(policy: AreaPolicy, opening: ev.CaseOpening, p: ImportedPosition) -> None:
    assert p.last_meeting_on is not None and p.level is not None
    # The very check a meeting's review date gets: after the meeting, within the level's maximum.
    review_date(policy, _last_meeting(opening, p))
    for action in p.rmp_actions:
        if action.due_date < p.last_meeting_on:
            raise RuleViolation(
                f"risk management plan action {action.action_id} is due before the meeting",
                "RMP action due date",
                "rmp_actions",
            )
    check_rmp_action_ids(
        [
            ev.RmpActionSet(
                action_id=a.action_id, description="-", owner_agency=a.owner_agency, due_date=a.due_date
            )
            for a in p.rmp_actions
        ]
    )


def _last_meeting(opening: ev.CaseOpening, p: ImportedPosition) -> ev.MeetingHeld:
    assert p.last_meeting_on is not None and p.level is not None
    chair = p.chair_agency or opening.lead_agency
    return ev.MeetingHeld(
        held_on=p.last_meeting_on,
        chair_agency=chair,
        attendees=[ev.Attendee(agency=chair, signed_confidentiality_statement=True)],
        level_decided=p.level,
        next_review_date=p.next_review_date,
    )


def _noon(day: date) -> datetime:
    return local_time_on(day, NOON)


def receive_import(
    case: CaseState, policy: AreaPolicy, opening: ev.CaseOpening, p: ImportedPosition, now: datetime
) -> None:
    """Put the case at its stage and open what it still owes, each deadline counted from the row's dates."""
    case.stage = Stage(p.stage.value)
    case.level = 1 if p.stage is ImportedStage.LEVEL_1 else p.level
    if p.referral_received_on is not None:
        received = _noon(p.referral_received_on)
        case.referral = Referral(
            referring_agency=p.referring_agency or opening.lead_agency,
            level_sought=p.level_sought or p.level or 2,
            level_2_cannot_deliver=p.level_2_cannot_deliver,
            received_at=received,
            clock_from=received,
        )
    _open_what_the_stage_owes(case, policy, opening, p, now)
    if p.searches_outstanding:
        assert p.accepted_on is not None
        for agency in dict.fromkeys(p.searches_outstanding):
            open_deadline(
                case,
                policy,
                DeadlineKind.RECORD_SEARCH,
                f"record-search:{agency}",
                agency,
                _noon(p.accepted_on),
                now,
            )
    if opening.sonr_end_date is not None:
        open_sonr_deadlines(case, policy, opening.sonr_end_date, now)
    if opening.supervision_end_date is not None:
        open_supervision_end_deadlines(case, policy, opening.supervision_end_date, now)


def _open_what_the_stage_owes(
    case: CaseState, policy: AreaPolicy, opening: ev.CaseOpening, p: ImportedPosition, now: datetime
) -> None:
    if p.stage is ImportedStage.LEVEL_1:
        refuse_level_1_for_category_3(case, policy, "level")
    elif p.stage is ImportedStage.NOTIFICATION:
        assert p.notified_on is not None
        open_deadline(
            case, policy, DeadlineKind.SCREENING, "screening", CO_ORDINATOR, _noon(p.notified_on), now
        )
    elif p.stage is ImportedStage.REFERRAL_DUE:
        assert p.screened_on is not None
        open_deadline(
            case, policy, DeadlineKind.REFERRAL, "referral", case.lead_agency, _noon(p.screened_on), now
        )
    elif p.stage is ImportedStage.REFERRAL:
        assert case.referral is not None
        received = case.referral.received_at
        open_deadline(
            case, policy, DeadlineKind.REFERRAL_DECISION, "referral-decision", CO_ORDINATOR, received, now
        )
        if policy.policy.asp_link and p.asp_screened_on is None:
            open_deadline(
                case, policy, DeadlineKind.ASP_SCREENING, "asp-screening", CO_ORDINATOR, received, now
            )
    elif p.stage is ImportedStage.INFORMATION_SHARING:
        assert case.referral is not None and p.level is not None
        open_deadline(
            case,
            policy,
            INITIAL_MEETING_KINDS[p.level],
            "initial-meeting",
            CO_ORDINATOR,
            case.referral.clock_from,
            now,
            due_no_later_than=before_release_or_discharge(case),
        )
    elif p.stage is ImportedStage.ACTIVE_MANAGEMENT:
        _receive_last_meeting(case, policy, opening, p, now)


def _receive_last_meeting(
    case: CaseState, policy: AreaPolicy, opening: ev.CaseOpening, p: ImportedPosition, now: datetime
) -> None:
    assert p.last_meeting_on is not None and p.level is not None
    meeting = _last_meeting(opening, p)
    review_due = review_date(policy, meeting)
    assert review_due is not None
    held_at = min(now, _noon(p.last_meeting_on))
    # Who attended stays in the area's own records (and so do the minutes): the imported meeting names none,
    # so the system grants nobody a reading of minutes it does not hold.
    case.meetings.append(
        Meeting(
            meeting_id=IMPORTED_MEETING_ID,
            held_on=p.last_meeting_on,
            initial=False,
            chair_agency=meeting.chair_agency,
            level_decided=p.level,
            attendees=[],
            not_to_be_shared=[],
            rmp_action_ids=[a.action_id for a in p.rmp_actions],
        )
    )
    for action in p.rmp_actions:
        open_deadline(
            case,
            policy,
            DeadlineKind.RMP_ACTION,
            f"rmp:{IMPORTED_MEETING_ID}:{action.action_id}",
            action.owner_agency,
            held_at,
            now,
            set_date=action.due_date,
            title_suffix=f" {action.action_id} (owner {action.owner_agency})",
        )
    open_deadline(
        case,
        policy,
        REVIEW_KINDS[p.level],
        f"review:{IMPORTED_MEETING_ID}",
        CO_ORDINATOR,
        held_at,
        now,
        due_no_later_than=DueDate(
            end_of_local_day(review_due),
            review_due,
            f"review date set at the last meeting ({p.last_meeting_on:%d %b %Y}), imported",
        ),
    )
