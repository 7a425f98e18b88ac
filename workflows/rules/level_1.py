"""Level 1: ordinary agency management (004), where the lead agency manages the case with its own plan.

At level 1 the lead agency has a robust risk management plan and reviews and records the case regularly; a
review that finds level 1 no longer defensible sends the case to a referral. Where the area's policy says so
(Scotland), a category 3 case is never managed at level 1.
"""

from __future__ import annotations

from datetime import datetime

from workflows.rules import events as ev
from workflows.rules.case_state import CaseState
from workflows.rules.deadlines import cancel_if_open, is_open, meet_deadline, open_deadline
from workflows.rules.errors import RuleViolation, WrongStage
from workflows.rules.policy import AreaPolicy, DeadlineKind
from workflows.rules.records import Stage
from workflows.rules.rule_changes import LEVEL_1_REVIEW


def refuse_level_1_for_category_3(case: CaseState, policy: AreaPolicy, field: str) -> None:
    if case.category == 3 and not policy.policy.category_3_may_be_level_1:
        raise RuleViolation(
            f"in {policy.policy.name} a category 3 case cannot be managed at level 1",
            "category 3 level",
            field,
        )


LEVEL_1_DEADLINES = ("level-1-rmp", "level-1-review")


def enter_level_1(case: CaseState, policy: AreaPolicy, now: datetime) -> None:
    """004: at level 1 the lead agency has a robust risk management plan and reviews and records the case
    regularly. Both fall due from the day the case is managed at level 1."""
    if not case.follows(LEVEL_1_REVIEW) or is_open(case, "level-1-review"):
        return  # a referral not accepted leaves a level 1 case's plan and review as they were
    case.level_1_plan_recorded_at = None
    open_deadline(case, policy, DeadlineKind.LEVEL_1_RMP, "level-1-rmp", case.lead_agency, now, now)
    open_deadline(case, policy, DeadlineKind.LEVEL_1_REVIEW, "level-1-review", case.lead_agency, now, now)


def leave_level_1(case: CaseState, reason: str, now: datetime) -> None:
    """Level 1's own deadlines end when the case is managed at another level."""
    for deadline_id in LEVEL_1_DEADLINES:
        cancel_if_open(case, deadline_id, reason, now)


def _refuse_unless_level_1(case: CaseState) -> None:
    if case.level != 1 or not is_open(case, "level-1-review"):
        raise WrongStage("the case is not under level 1 management by its lead agency", "level 1")


def record_level_1_plan(case: CaseState, policy: AreaPolicy, e: ev.Level1PlanRecorded, now: datetime) -> None:
    _refuse_unless_level_1(case)
    if e.recorded_by != case.lead_agency:
        raise RuleViolation(
            f"the lead agency ({case.lead_agency}) records the level 1 risk management plan (004)",
            "level 1 plan",
            "recorded_by",
        )
    if is_open(case, "level-1-rmp"):
        meet_deadline(case, "level-1-rmp", now)
    case.level_1_plan_recorded_at = now


def record_level_1_review(
    case: CaseState, policy: AreaPolicy, e: ev.Level1ReviewRecorded, now: datetime
) -> None:
    _refuse_unless_level_1(case)
    if e.reviewed_by != case.lead_agency:
        raise RuleViolation(
            f"the lead agency ({case.lead_agency}) reviews and records a level 1 case (004)",
            "level 1 review",
            "reviewed_by",
        )
    if case.level_1_plan_recorded_at is None:
        raise RuleViolation(
            "record the level 1 risk management plan before its review (004)", "level 1 plan", "reviewed_by"
        )
    meet_deadline(case, "level-1-review", now)
    open_deadline(case, policy, DeadlineKind.LEVEL_1_REVIEW, "level-1-review", case.lead_agency, now, now)
    if not e.level_1_still_defensible and case.stage is Stage.LEVEL_1:
        # 004: the lowest level that gives a defensible plan. Level 1 no longer does: the lead agency refers.
        case.stage = Stage.REFERRAL_DUE
        open_deadline(case, policy, DeadlineKind.REFERRAL, "referral", case.lead_agency, now, now)
