"""Stage 4: active management, changes in risk and changes of level (DOMAIN.md; 003 stage 4, 001).

An agency reports a change in risk; the co-ordinator triages it (no action, an extra review, a level change or,
for a level 1 case, a request for referral). A level change re-arms the review at the new level's maximum,
never later than the review already set.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime, time

from workflows.rules import events as ev
from workflows.rules.calendar import local_time_on
from workflows.rules.case_state import CaseState
from workflows.rules.deadlines import (
    cancel_deadline,
    meet_deadline,
    open_deadline,
    open_of,
    rearm_deadline,
    touch,
)
from workflows.rules.due_dates import Deadline, DeadlineState, DueDate, compute_due, reminder_time
from workflows.rules.errors import RuleViolation, WrongStage
from workflows.rules.information_exchange import arm_pre_meeting_exchange
from workflows.rules.level_1 import enter_level_1, refuse_level_1_for_category_3
from workflows.rules.policy import AreaPolicy, DeadlineKind
from workflows.rules.records import CO_ORDINATOR, LevelDecision, RiskChange, Stage, next_number
from workflows.rules.rule_changes import (
    BREACH_ESCALATED_ONCE,
    CUSTODY_REFERRAL_BY_TWELVE_WEEKS_BEFORE_RELEASE,
    LEVEL_3_CRITERIA_AT_EVERY_DECISION,
    LEVEL_3_CRITERIA_ENGLAND_AND_WALES,
    LEVEL_3_MEETING_WITHIN_FIVE_WORKING_DAYS,
    MEETING_BROUGHT_FORWARD_STAYS,
    REFERRAL_FROM_NOTIFICATION,
    RISK_INCREASE_BEFORE_INITIAL_MEETING,
    TRIAGE_AT_NOTIFICATION_SCREENS_IT,
)

# The review each managed level falls due under; its maximum per jurisdiction is in the policy tables.
REVIEW_KINDS = {2: DeadlineKind.REVIEW_LEVEL_2, 3: DeadlineKind.REVIEW_LEVEL_3}


def record_level_decision(
    case: CaseState,
    level: int,
    by: str,
    now: datetime,
    *,
    reason: str | None = None,
    statement: str | None = None,
    criteria: Sequence[str] = (),
) -> None:
    """Keep, in the case file, a decision that set the level and what it stated (001, 003, 004)."""
    case.level_decisions.append(
        LevelDecision(
            decided_at=now,
            level=level,
            by=by,
            reason=reason,
            level_2_cannot_deliver=statement,
            level_3_criteria=list(dict.fromkeys(criteria)),
        )
    )


def report_risk_change(case: CaseState, policy: AreaPolicy, e: ev.RiskChangeReported, now: datetime) -> None:
    change_id = f"risk-change-{next_number(c.change_id for c in case.risk_changes)}"
    case.risk_changes.append(
        RiskChange(
            change_id=change_id,
            reported_by=e.reporting_agency,
            direction=e.direction,
            reported_at=now,
            summary=e.summary,
        )
    )
    open_deadline(
        case, policy, DeadlineKind.RISK_CHANGE_TRIAGE, f"triage:{change_id}", CO_ORDINATOR, now, now
    )


def triage_risk_change(case: CaseState, policy: AreaPolicy, e: ev.RiskChangeTriaged, now: datetime) -> None:
    change = next((c for c in case.risk_changes if c.change_id == e.change_id), None)
    if change is None:
        raise RuleViolation(f"no change in risk {e.change_id} was reported", "risk change", "change_id")
    if change.outcome is not None:
        raise RuleViolation(f"{e.change_id} has already been triaged", "risk change", "change_id")
    if (
        e.outcome in ("extra-review", "level-change")
        and case.stage is Stage.INFORMATION_SHARING
        and case.follows(RISK_INCREASE_BEFORE_INITIAL_MEETING)
    ):
        _before_initial_meeting(case, policy, change, e, now)
        meet_deadline(case, f"triage:{e.change_id}", now)
        _record_triage(change, e, now)
        return
    if e.outcome in ("extra-review", "level-change") and case.stage is not Stage.ACTIVE_MANAGEMENT:
        raise WrongStage(
            f"'{e.outcome}' needs a case under level 2 or 3 management; at stage '{case.stage.value}' "
            "ask for a referral instead",
            "risk change triage",
        )
    if e.outcome == "referral-requested" and case.stage not in (Stage.LEVEL_1, Stage.NOTIFICATION):
        raise WrongStage(
            "a referral can be requested only for a case at level 1 or awaiting screening",
            "risk change triage",
        )
    if e.outcome == "level-change":
        if e.new_level is None:
            raise RuleViolation("a level change needs the new level", "level change", "new_level")
        change_level(
            case,
            policy,
            ev.LevelChanged(
                new_level=e.new_level,
                reason=e.reason,
                level_2_cannot_deliver=e.level_2_cannot_deliver,
                level_3_criteria=e.level_3_criteria,
            ),
            now,
            by=e.change_id,
        )
    meet_deadline(case, f"triage:{e.change_id}", now)
    _record_triage(change, e, now)
    if e.outcome == "extra-review":
        open_deadline(
            case, policy, DeadlineKind.EXTRA_REVIEW, f"extra-review:{e.change_id}", CO_ORDINATOR, now, now
        )
    elif e.outcome == "referral-requested":
        if case.stage is Stage.NOTIFICATION and case.follows(TRIAGE_AT_NOTIFICATION_SCREENS_IT):
            # The notification is still unscreened: asking for a referral is the screening's decision.
            meet_deadline(case, "screening", now)
            refer_after_notification(case, policy, now)
            return
        case.stage = Stage.REFERRAL_DUE
        open_deadline(case, policy, DeadlineKind.REFERRAL, "referral", case.lead_agency, now, now)


def refer_after_notification(case: CaseState, policy: AreaPolicy, now: datetime) -> None:
    """003 stage 2: "a referral must be submitted ... within five working days of submission of the notification
    form", however long the screening took (a case from before the correction: from the screening)."""
    case.stage = Stage.REFERRAL_DUE
    notified = (case.notified_at or case.opened_at) if case.follows(REFERRAL_FROM_NOTIFICATION) else now
    open_deadline(
        case,
        policy,
        DeadlineKind.REFERRAL,
        "referral",
        case.lead_agency,
        notified,
        now,
        due_no_earlier_than=_twelve_weeks_before_release(case, policy),
    )


def _twelve_weeks_before_release(case: CaseState, policy: AreaPolicy) -> DueDate | None:
    """003 stage 2: the prison sends "a notification or referral ... not less than twelve weeks before release"
    (the hospital likewise before discharge): a custody case notified earlier has until then to refer."""
    if not case.follows(CUSTODY_REFERRAL_BY_TWELVE_WEEKS_BEFORE_RELEASE):
        return None
    if case.route is ev.EntryRoute.CUSTODY and case.release_date is not None:
        kind, day = DeadlineKind.CUSTODY_REFERRAL, case.release_date
    elif case.route is ev.EntryRoute.RESTRICTED_PATIENT and case.discharge_date is not None:
        kind, day = DeadlineKind.RESTRICTED_PATIENT_REFERRAL, case.discharge_date
    else:
        return None
    return compute_due(policy, policy.rule(kind), local_time_on(day, time(12)))


def _record_triage(change: RiskChange, e: ev.RiskChangeTriaged, now: datetime) -> None:
    change.outcome, change.triage_reason, change.triaged_at = e.outcome, e.reason, now
    change.new_level = e.new_level if e.outcome == "level-change" else None


def change_level(
    case: CaseState, policy: AreaPolicy, e: ev.LevelChanged, now: datetime, by: str = "level change"
) -> None:
    _check_level_change(case, policy, e)
    current_review = next(iter(open_of(case, *REVIEW_KINDS.values())), None)
    if (
        current_review is not None
        and current_review.state is DeadlineState.BREACHED
        and case.follows(BREACH_ESCALATED_ONCE)
    ):
        # A review already missed stays breached (escalated once); the new level's review counts from today.
        current_review = None
    if current_review is not None:
        cancel_deadline(case, current_review.deadline_id, f"level changed to {e.new_level}", now)
    case.level = e.new_level
    record_level_decision(
        case,
        e.new_level,
        by,
        now,
        reason=e.reason,
        statement=e.level_2_cannot_deliver,
        criteria=e.level_3_criteria,
    )
    if e.new_level == 1:
        case.stage = Stage.LEVEL_1
        enter_level_1(case, policy, now)
        return
    _rearm_review(case, policy, e, current_review, now)


def _check_level_change(case: CaseState, policy: AreaPolicy, e: ev.LevelChanged) -> None:
    if e.new_level == case.level:
        raise RuleViolation(f"the case is already at level {e.new_level}", "level change", "new_level")
    if e.new_level == 1:
        refuse_level_1_for_category_3(case, policy, "new_level")
    if e.new_level == 3 and not e.level_2_cannot_deliver:
        raise RuleViolation(
            "moving to level 3 needs a statement of what level 2 cannot deliver (001, 003)",
            "level 3 referral statement",
            "level_2_cannot_deliver",
        )
    if e.new_level == 3:
        check_level_3_criteria(case, policy, e.level_3_criteria)


def _rearm_review(
    case: CaseState, policy: AreaPolicy, e: ev.LevelChanged, current_review: Deadline | None, now: datetime
) -> None:
    # The review is re-armed at the new level's maximum from today, never later than it already was.
    cap = (
        DueDate(current_review.due_at, current_review.due_date, "the review already set")
        if current_review
        else None
    )
    raised = e.new_level == 3 and case.follows(LEVEL_3_MEETING_WITHIN_FIVE_WORKING_DAYS)
    if raised:
        # 001: "an initial MAPPP to be held within five working days" of the grounds for level 3.
        mappp = compute_due(policy, policy.rule(DeadlineKind.INITIAL_MEETING_LEVEL_3), now)
        if cap is None or mappp.due_at < cap.due_at:
            cap = replace(
                mappp,
                explanation=f"the level 3 meeting within five working days of the raise: {mappp.explanation}",
            )
    review = open_deadline(
        case,
        policy,
        REVIEW_KINDS[e.new_level],
        f"review:level-change-{case.next_seq()}",
        CO_ORDINATOR,
        now,
        now,
        due_no_later_than=cap,
        title_suffix=" after the raise to level 3" if raised else "",
    )
    if raised:
        # Reminded as the MAPPP is, a few working days ahead: a six-week review's reminder would fall before today.
        due = DueDate(review.due_at, review.due_date, review.explanation)
        reminder = policy.rule(DeadlineKind.INITIAL_MEETING_LEVEL_3).reminder
        review.reminder_at = reminder_time(policy, reminder, due, now)


# ------------------------------------------------------------------ level 1: ordinary agency management (004)


def _before_initial_meeting(
    case: CaseState, policy: AreaPolicy, change: RiskChange, e: ev.RiskChangeTriaged, now: datetime
) -> None:
    """A risk increase reported before the initial meeting (001, 003: "escalated to a higher level"): the level
    rises to 3, the meeting coming forward to the level 3 timescale counted from the triage; or the meeting
    alone comes forward, to the extra review's timescale. Never later than it already fell due."""
    if change.direction != "increased":
        raise RuleViolation(
            "before the initial meeting only a risk increase changes the meeting; the meeting weighs a decrease",
            "risk change before the initial meeting",
            "outcome",
        )
    meeting = case.deadlines["initial-meeting"]
    if e.outcome == "level-change":
        _raise_to_level_3_before_initial_meeting(case, policy, change, e, meeting, now)
        kind, why = DeadlineKind.INITIAL_MEETING_LEVEL_3, f"level raised to 3 after {change.change_id}"
    else:
        kind, why = DeadlineKind.EXTRA_REVIEW, f"brought forward after {change.change_id}"
    if meeting.kind is DeadlineKind.INITIAL_MEETING_BEFORE_RELEASE and e.outcome == "level-change":
        # Custody / CPA: the meeting stays before release (003); the co-ordinator may still bring it forward.
        if case.follows(LEVEL_3_MEETING_WITHIN_FIVE_WORKING_DAYS):
            meeting.title = meeting.title.replace("(level 2)", "(level 3)")
            touch(case, meeting.deadline_id)
        return
    sooner = compute_due(policy, policy.rule(kind), now)
    if sooner.due_at < meeting.due_at:
        rearm_deadline(case, policy, "initial-meeting", sooner, now, why)
        arm_pre_meeting_exchange(case, policy, now)
        if case.follows(MEETING_BROUGHT_FORWARD_STAYS):
            case.initial_meeting_brought_forward_to = sooner.due_date


def _raise_to_level_3_before_initial_meeting(
    case: CaseState,
    policy: AreaPolicy,
    change: RiskChange,
    e: ev.RiskChangeTriaged,
    meeting: Deadline,
    now: datetime,
) -> None:
    """Level 2 raised to 3 before its initial meeting: the meeting becomes the level 3 meeting, under its rule."""
    if e.new_level != 3 or case.level != 2:
        raise RuleViolation(
            "before the initial meeting a risk increase can raise a level 2 case to level 3 only",
            "level change",
            "new_level",
        )
    if not e.level_2_cannot_deliver:
        raise RuleViolation(
            "moving to level 3 needs a statement of what level 2 cannot deliver (001, 003)",
            "level 3 referral statement",
            "level_2_cannot_deliver",
        )
    if case.follows(LEVEL_3_CRITERIA_AT_EVERY_DECISION):
        check_level_3_criteria(case, policy, e.level_3_criteria)
    case.level = 3
    record_level_decision(
        case,
        3,
        change.change_id,
        now,
        reason=e.reason,
        statement=e.level_2_cannot_deliver,
        criteria=e.level_3_criteria,
    )
    kind = DeadlineKind.INITIAL_MEETING_LEVEL_3
    if meeting.kind is DeadlineKind.INITIAL_MEETING_LEVEL_2:
        # The meeting is now the level 3 meeting, under its rule.
        rule = policy.rule(kind)
        meeting.kind, meeting.title, meeting.rule_text, meeting.source = (
            kind,
            rule.title,
            rule.text,
            rule.source,
        )


def check_level_3_criteria(case: CaseState, policy: AreaPolicy, criteria: Sequence[str]) -> None:
    """004 "Level 3" (England and Wales): active conferencing AND senior representation to commit significant
    resources at short notice AND/OR significant media issues or public interest."""
    if not policy.policy.level_3_criteria or not case.follows(LEVEL_3_CRITERIA_ENGLAND_AND_WALES):
        return
    if "active-conferencing" not in criteria or not {
        "senior-representation",
        "media-or-public-interest",
    } & set(criteria):
        raise RuleViolation(
            "level 3 needs active conferencing, and senior representation to commit significant resources at "
            "short notice and/or significant media issues or public interest (004)",
            "level 3 criteria",
            "level_3_criteria",
        )
