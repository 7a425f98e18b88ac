"""Safeguarding alongside MAPPA (DOMAIN.md): Adult Support and Protection in Scotland (000), adults at risk in
England and Wales, and child protection (002).

Scotland: a referral is screened against the ASP 3-point criteria; when they are met an AP1 referral is due
within 24 hours and before any MAPPA meeting, and an ASP inquiry that finds a MAPPA concern shares it the same
day. Children at risk: a child protection referral falls due.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from workflows.rules import events as ev
from workflows.rules.deadlines import (
    DeadlineState,
    is_open,
    meet_deadline,
    meet_if_open,
    open_deadline,
    open_of,
)
from workflows.rules.errors import RuleViolation
from workflows.rules.ownership import sender_may_meet
from workflows.rules.policy import AreaPolicy, DeadlineKind
from workflows.rules.rule_changes import BREACH_ESCALATED_ONCE

if TYPE_CHECKING:
    from workflows.rules.case import CaseFile


def _require_asp(policy: AreaPolicy) -> None:
    if not policy.policy.asp_link:
        raise RuleViolation(
            f"Adult Support and Protection (Scotland) does not apply in {policy.policy.name}", "ASP link"
        )


def record_asp_screening(case: CaseFile, policy: AreaPolicy, e: ev.AspScreening, now: datetime) -> None:
    _require_asp(policy)
    meet_if_open(case, "asp-screening", now)
    case.asp_criteria_met = e.criteria_met
    ap1 = case.deadlines.get("ap1-referral")
    # A second screening does not re-arm an AP1 referral already due, made or breached (and escalated again).
    ap1_stands = ap1 is not None and ap1.state is not DeadlineState.CANCELLED
    if e.criteria_met and not (ap1_stands and case.follows(BREACH_ESCALATED_ONCE)):
        assert case.referral is not None
        # 000 "Information Sharing Between ASP and MAPPA": AP1 within 24 hours of the referral, and before any MAPPA meeting.
        open_deadline(
            case,
            policy,
            DeadlineKind.AP1_REFERRAL,
            "ap1-referral",
            case.lead_agency,
            case.referral.received_at,
            now,
        )


def record_ap1_referral(case: CaseFile, policy: AreaPolicy, e: ev.Ap1ReferralMade, now: datetime) -> None:
    _require_asp(policy)
    if not is_open(case, "ap1-referral"):
        raise RuleViolation(
            "no AP1 referral is due: the ASP 3-point criteria were not found met", "AP1 referral"
        )
    meet_deadline(case, "ap1-referral", now)
    case.asp_open = True
    case.asp_chair_agency = e.asp_chair_agency


def record_asp_inquiry_concern(
    case: CaseFile, policy: AreaPolicy, e: ev.AspInquiryConcern, now: datetime
) -> None:
    _require_asp(policy)
    deadline_id = f"asp-information-sharing-{case.next_seq()}"
    open_deadline(case, policy, DeadlineKind.ASP_INFORMATION_SHARING, deadline_id, e.raised_by, now, now)
    case.asp_open = True
    case.asp_chair_agency = case.asp_chair_agency or e.raised_by


def record_asp_information_shared(
    case: CaseFile, policy: AreaPolicy, e: ev.AspInformationShared, now: datetime
) -> None:
    _require_asp(policy)
    pending = sender_may_meet(case.sender[0], open_of(case, DeadlineKind.ASP_INFORMATION_SHARING))
    if not pending:
        raise RuleViolation("no ASP information sharing is due", "ASP information sharing")
    meet_deadline(case, pending[0].deadline_id, now)


def record_children_at_risk(case: CaseFile, policy: AreaPolicy, e: ev.ChildrenAtRisk, now: datetime) -> None:
    deadline_id = f"child-protection-referral-{case.next_seq()}"
    open_deadline(
        case, policy, DeadlineKind.CHILD_PROTECTION_REFERRAL, deadline_id, e.identified_by, now, now
    )


def record_child_protection_referral(
    case: CaseFile, policy: AreaPolicy, e: ev.ChildProtectionReferralMade, now: datetime
) -> None:
    pending = sender_may_meet(case.sender[0], open_of(case, DeadlineKind.CHILD_PROTECTION_REFERRAL))
    if not pending:
        raise RuleViolation("no child protection referral is due", "child protection referral")
    meet_deadline(case, pending[0].deadline_id, now)
