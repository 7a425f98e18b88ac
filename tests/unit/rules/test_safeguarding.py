"""Safeguarding alongside MAPPA: ASP in Scotland (000), child protection (002). In the guidance's words; pure: a clock is passed in."""

from datetime import date

import pytest

from tests.case_builders import (
    asp_criteria_met,
    community_notification,
    meeting,
)
from tests.unit.rules.cases import at, referred_case
from workflows.rules import events as ev
from workflows.rules.case import CaseFile, NoticeKind, RuleViolation
from workflows.rules.deadlines import DeadlineState
from workflows.rules.policy import DeadlineKind


def test_asp_criteria_met_need_an_ap1_referral_within_24_hours_and_before_any_meeting():
    case = referred_case()
    case.apply(
        asp_criteria_met(),
        at(date(2026, 11, 9), 16),
    )
    ap1 = case.deadlines["ap1-referral"]
    assert ap1.due_at == at(date(2026, 11, 10))  # 24 hours from receipt at 10:00 on the 9th
    held = date(2026, 11, 20)
    case.take_outbox()
    case.apply(meeting(held, date(2027, 2, 9)), at(held))
    assert case.deadlines["ap1-referral"].state is DeadlineState.BREACHED
    assert "before the AP1 referral" in (case.deadlines["ap1-referral"].breach_note or "")
    assert any(
        n.kind is NoticeKind.BREACH_ESCALATION and n.deadline_id == "ap1-referral" for n in case.outbox
    )


def test_when_the_case_is_open_to_asp_both_chairs_get_the_minutes():
    case = referred_case()
    case.apply(
        asp_criteria_met(),
        at(date(2026, 11, 9), 12),
    )
    case.apply(
        ev.Ap1ReferralMade(locality="Hamilton", asp_chair_agency="south-lanarkshire-council"),
        at(date(2026, 11, 9), 13),
    )
    held = date(2026, 11, 20)
    case.apply(meeting(held, date(2027, 2, 9)), at(held))
    with pytest.raises(RuleViolation, match="ASP chair"):
        case.check(
            ev.MinutesCirculated(meeting_id="meeting-1", recipients=["police-scotland-lanarkshire"]), at(held)
        )
    case.apply(
        ev.MinutesCirculated(
            meeting_id="meeting-1", recipients=["police-scotland-lanarkshire", "south-lanarkshire-council"]
        ),
        at(held),
    )
    assert case.deadlines["minutes:meeting-1"].state is DeadlineState.MET


def test_adult_support_and_protection_does_not_apply_in_england():
    case = CaseFile.open(
        community_notification(
            "MAPPA-WAS-2026-TEST03",
            area="wiltshire-and-swindon",
            disposal_date=date(2026, 11, 2),
            lead_agency="wiltshire-police",
        ),
        at(date(2026, 11, 4)),
    )
    with pytest.raises(RuleViolation, match="does not apply in England and Wales"):
        case.check(ev.AspInquiryConcern(raised_by="wiltshire-council"), at(date(2026, 11, 5)))


def test_children_at_risk_open_a_child_protection_referral():
    case = referred_case()
    case.apply(
        ev.ChildrenAtRisk(number_of_children=2, identified_by="lanarkshire-justice-social-work"),
        at(date(2026, 11, 10)),
    )
    cp = next(d for d in case.open_deadlines() if d.kind is DeadlineKind.CHILD_PROTECTION_REFERRAL)
    assert cp.due_date == date(2026, 11, 11)
    case.apply(
        ev.ChildProtectionReferralMade(referred_by="lanarkshire-justice-social-work"),
        at(date(2026, 11, 10), 15),
    )
    assert cp.state is DeadlineState.MET
