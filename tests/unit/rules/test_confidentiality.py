"""Confidentiality and subject access (001, 002, 003): the core's rules. In the guidance's words; pure: a clock is passed in."""

from datetime import date

import pytest

from tests.case_builders import (
    meeting,
)
from tests.unit.rules.cases import at, referred_case
from workflows.rules import events as ev
from workflows.rules.case import RuleViolation
from workflows.rules.deadlines import DeadlineState
from workflows.rules.policy import DeadlineKind


def test_every_attendee_signs_the_confidentiality_statement_at_each_meeting():
    case = referred_case()
    with pytest.raises(RuleViolation, match="confidentiality statement") as refused:
        case.check(
            meeting(date(2026, 12, 1), date(2027, 2, 1), unsigned="nhs-lanarkshire"), at(date(2026, 12, 1))
        )
    assert "nhs-lanarkshire" in refused.value.message


def test_conclusions_revealing_a_third_party_source_may_not_go_to_child_protection():
    case = referred_case()
    held = date(2026, 12, 1)
    case.apply(meeting(held, date(2027, 2, 9)), at(held))
    with pytest.raises(RuleViolation, match="third-party source"):
        case.check(
            ev.ConclusionsSharedWithChildProtection(
                meeting_id="meeting-1", conference="Hamilton CP conference", reveals_third_party_source=True
            ),
            at(held),
        )


def test_a_subject_not_told_of_their_mappa_status_needs_a_recorded_reason():
    case = referred_case()
    with pytest.raises(RuleViolation, match="why the subject is not told"):
        case.check(ev.SubjectInformed(informed=False), at(date(2026, 11, 10)))


def test_a_subject_access_request_consults_each_attending_agency_and_is_decided_within_a_month():
    case = referred_case()
    held = date(2026, 12, 1)
    case.apply(meeting(held, date(2027, 2, 9)), at(held))
    case.apply(ev.SubjectAccessRequested(meeting_ids=["meeting-1"]), at(date(2027, 1, 11)))
    assert case.deadlines["sar-1"].due_date == date(2027, 2, 11)
    consultations = [d for d in case.open_deadlines() if d.kind is DeadlineKind.SAR_CONSULTATION]
    assert {d.responsible for d in consultations} == {
        "police-scotland-lanarkshire",
        "lanarkshire-justice-social-work",
        "nhs-lanarkshire",
    }
    with pytest.raises(RuleViolation, match="did not attend"):
        case.check(
            ev.SarAgencyView(sar_id="sar-1", agency="lanarkshire-housing", view="disclose"),
            at(date(2027, 1, 12)),
        )
    case.apply(
        ev.SarAgencyView(sar_id="sar-1", agency="nhs-lanarkshire", view="withhold", exemption="serious harm"),
        at(date(2027, 1, 12)),
    )
    with pytest.raises(RuleViolation, match="exemption"):
        case.check(ev.SarDecided(sar_id="sar-1", outcome="withhold", reason="x"), at(date(2027, 1, 20)))
    case.apply(
        ev.SarDecided(
            sar_id="sar-1", outcome="withhold", exemption="crime and taxation", reason="risk to victim"
        ),
        at(date(2027, 1, 20)),
    )
    assert case.deadlines["sar-1"].state is DeadlineState.MET
    assert case.deadlines["sar-1:police-scotland-lanarkshire"].state is DeadlineState.CANCELLED
    assert case.subject_access_requests[0].views["nhs-lanarkshire"] == "withhold: serious harm"
