"""The chronology in the core: every event the case applies is queued as an entry with who sent it, when, what it
decided and why (003 stage 4: "decisions are recorded and subsequently carried out"), and nothing of another
agency's confidential items or the subject's details goes with it."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from tests.case_builders import SUBJECT, meeting
from tests.unit.rules.cases import at, referred_case
from workflows.rules import events as ev
from workflows.rules.actors import Actor, Role
from workflows.rules.chronology import deadline_outcome
from workflows.rules.errors import CaseRuleError

CO = Actor(role=Role.CO_ORDINATOR, agency="justice-social-work-north-lanarkshire")


def test_every_event_the_case_applies_is_kept_in_order_with_the_stage_and_level_it_moved() -> None:
    case = referred_case(level=2)

    entries = case.take_chronology()

    assert [e.event for e in entries] == [
        "CaseOpened",
        "ScreeningDecision",
        "ReferralSubmitted",
        "ReferralDecision",
    ]
    assert [e.seq for e in entries] == [1, 2, 3, 4]
    referral, decision = entries[2], entries[3]
    assert (referral.stage_before, referral.stage_after) == ("referral-due", "referral")
    assert (decision.stage_before, decision.stage_after) == ("referral", "information-sharing")
    assert (decision.level_before, decision.level_after) == (None, 2)
    assert decision.at == at(date(2026, 11, 9), 15)
    # The deadlines the decision moved: the referral decision met, the initial meeting opened.
    assert ("referral-decision", "met") in decision.deadline_changes
    assert any(
        change == "opened" and d.startswith("initial-meeting") for d, change in decision.deadline_changes
    )
    assert case.take_chronology() == []  # handed over once


def test_a_level_change_keeps_its_reason_its_statement_and_who_decided_001_003() -> None:
    case = referred_case(level=2)
    case.apply(meeting(date(2026, 11, 30), date(2027, 2, 15)), at(date(2026, 11, 30)))
    case.take_chronology()
    later = datetime(2026, 11, 20, 10, tzinfo=UTC)
    case.apply(
        ev.LevelChanged(
            new_level=3, reason="new intelligence", level_2_cannot_deliver="surveillance", sent_by=CO
        ),
        later,
    )

    (entry,) = case.take_chronology()

    assert entry.event == "LevelChanged"
    assert (entry.sender_role, entry.sender_agency) == ("co-ordinator", CO.agency)
    assert (entry.level_before, entry.level_after) == (2, 3)
    assert entry.fields["reason"] == "new intelligence"
    assert entry.fields["level_2_cannot_deliver"] == "surveillance"
    assert "sent_by" not in entry.fields


def test_the_chronology_never_carries_the_subject_or_the_items_a_meeting_keeps_back_001() -> None:
    case = referred_case(level=2)
    opening = case.take_chronology()[0]
    case.apply(meeting(date(2026, 11, 30), date(2027, 2, 15)), at(date(2026, 11, 30)))

    (held,) = case.take_chronology()

    assert "subject" not in opening.fields
    assert SUBJECT.name not in str(opening.fields)
    assert "not_to_be_shared" not in held.fields
    assert "victim's new address" not in str(held.fields)
    assert held.fields["items_not_to_be_shared"].startswith("1 ")


def test_a_refused_event_leaves_no_entry() -> None:
    case = referred_case(level=2)
    case.take_chronology()
    with pytest.raises(CaseRuleError):
        case.apply(ev.ScreeningDecision(outcome="level-1", reason="too late"), at(date(2026, 11, 21)))

    assert case.take_chronology() == []


def test_a_case_opened_before_the_chronology_rebuilds_its_past_from_the_case_file() -> None:
    case = referred_case(level=2)
    case.stop_chronology()  # as a case file carried from a run that kept none
    case.apply(meeting(date(2026, 11, 30), date(2027, 2, 15), level=2), at(date(2026, 11, 30)))
    assert case.take_chronology() == []  # nothing while none is kept

    case.start_chronology(at(date(2026, 12, 1)))
    rebuilt = case.take_chronology()

    assert [e.event for e in rebuilt] == [
        "CaseOpened",
        "ReferralSubmitted",
        "LevelDecision",
        "MeetingHeld",  # at the level already decided: no second decision (the case file adds none)
        "ChronologyRebuilt",
    ]
    assert {e.source for e in rebuilt} == {"case-file"}
    assert [e.seq for e in rebuilt] == list(range(1, 6))
    assert case.chronology_seq == 5
    case.apply(ev.SwisAlertUpdated(meeting_id="meeting-1"), at(date(2026, 12, 2)))
    assert [e.seq for e in case.take_chronology()] == [6]


def test_a_deadline_is_told_as_met_on_time_met_late_breached_or_closed_unmet() -> None:
    due = datetime(2026, 11, 20, tzinfo=UTC)
    assert deadline_outcome("met", False, None, None) == "met on time"
    assert deadline_outcome("met", True, due, None) == "met late"
    assert deadline_outcome("breached", False, due, None) == "breached"
    assert deadline_outcome("cancelled", False, due, due) == "closed unmet"
    assert deadline_outcome("cancelled", False, None, due) == "cancelled"
    assert deadline_outcome("open", False, None, None) == "open"
