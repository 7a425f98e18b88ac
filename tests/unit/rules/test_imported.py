"""A case imported already in progress: it stands at its stage and owes what a live case would from the same
dates; past deadlines are breached and escalated once; live events then carry on from there."""

from datetime import UTC, date, datetime, timedelta

import pytest

from api.calculator import calculate_deadline
from tests.case_builders import community_notification, meeting
from workflows.rules import events as ev
from workflows.rules.case import CaseFile
from workflows.rules.deadlines import DeadlineState
from workflows.rules.errors import CaseRuleError
from workflows.rules.imported import ImportedPosition, ImportedRmpAction
from workflows.rules.records import NoticeKind, Stage

NOW = datetime(2026, 12, 2, 10, tzinfo=UTC)  # Wednesday 2 December 2026


def opening(**changes: object) -> ev.CaseOpening:
    base = community_notification(disposal_date=date(2026, 11, 2))
    return base.model_copy(update={"notification": None, **changes})


def between_meetings(**changes: object) -> ImportedPosition:
    values: dict[str, object] = {
        "import_ref": "LAN-2024-0042",
        "stage": "active-management",
        "level": 2,
        "last_meeting_on": date(2026, 11, 25),
        "next_review_date": date(2027, 2, 10),
        "rmp_actions": [
            ImportedRmpAction(action_id="A1", owner_agency="nhs-lanarkshire", due_date=date(2026, 12, 18)),
            ImportedRmpAction(
                action_id="A2", owner_agency="lanarkshire-housing", due_date=date(2026, 11, 30)
            ),
        ],
        "searches_outstanding": ["south-lanarkshire-council"],
        "accepted_on": date(2026, 11, 20),
    }
    return ImportedPosition.model_validate({**values, **changes})


def test_a_case_between_meetings_owes_its_review_on_the_date_set_and_its_open_rmp_actions() -> None:
    case = CaseFile.open(opening(), NOW, imported=between_meetings())
    assert (case.stage, case.level) == (Stage.ACTIVE_MANAGEMENT, 2)
    owed = {d.deadline_id: d.due_date for d in case.open_deadlines()}
    assert owed == {
        "review:meeting-1": date(2027, 2, 10),
        "rmp:meeting-1:A1": date(2026, 12, 18),
        "rmp:meeting-1:A2": date(2026, 11, 30),
        "record-search:south-lanarkshire-council": calculate_deadline(
            "lanarkshire", "record-search", date(2026, 11, 20)
        ).due_date,
    }


def test_a_review_date_later_than_the_level_maximum_is_refused_with_the_latest_allowed() -> None:
    # Level 2 in Scotland: at most 12 weeks after the meeting of 25 Nov 2026, so by 17 Feb 2027.
    with pytest.raises(CaseRuleError) as refused:
        CaseFile.open(opening(), NOW, imported=between_meetings(next_review_date=date(2027, 2, 18)))
    assert (refused.value.rule, refused.value.field) == ("review date maximum", "next_review_date")
    assert "Wed 17 Feb 2027" in refused.value.message


def test_deadlines_already_past_are_breached_and_escalated_once() -> None:
    case = CaseFile.open(opening(), NOW, imported=between_meetings())
    case.tick(NOW)
    case.tick(NOW + timedelta(minutes=5))
    escalations = [n for n in case.take_outbox() if n.kind is NoticeKind.BREACH_ESCALATION]
    # Action A2 (due 30 Nov) and the record search (requested 20 Nov, due 27 Nov) are past; each escalated once.
    assert sorted(n.deadline_id for n in escalations) == [
        "record-search:south-lanarkshire-council",
        "rmp:meeting-1:A2",
    ]
    assert case.deadlines["rmp:meeting-1:A2"].state is DeadlineState.BREACHED
    assert case.deadlines["rmp:meeting-1:A1"].state is DeadlineState.OPEN


def test_an_imported_referral_owes_its_decision_counted_from_receipt_as_the_calculator_says() -> None:
    position = ImportedPosition(
        import_ref="LAN-1",
        stage="referral",
        referral_received_on=date(2026, 11, 30),
        referring_agency="police-scotland-lanarkshire",
        level_sought=2,
        asp_screened_on=date(2026, 11, 30),
    )
    case = CaseFile.open(opening(), NOW, imported=position)
    assert case.stage is Stage.REFERRAL
    assert {d.deadline_id for d in case.open_deadlines()} == {"referral-decision"}
    expected = calculate_deadline("lanarkshire", "referral-decision", date(2026, 11, 30))
    assert case.deadlines["referral-decision"].due_at == expected.due_at.utc


def test_an_imported_case_takes_live_events_from_where_it_stands() -> None:
    case = CaseFile.open(opening(), NOW, imported=between_meetings())
    case.apply(ev.RecordSearchReturned(agency="south-lanarkshire-council"), NOW)
    receipt = case.apply(
        meeting(
            date(2026, 12, 2),
            date(2027, 2, 24),
            attendees=["lanarkshire-justice-social-work", "nhs-lanarkshire"],
        ),
        NOW,
    )
    assert case.deadlines["review:meeting-1"].state is DeadlineState.MET
    assert [m.meeting_id for m in case.meetings] == ["meeting-1", "meeting-2"]
    assert receipt.stage is Stage.ACTIVE_MANAGEMENT


@pytest.mark.parametrize(
    ("changes", "field", "rule"),
    [
        ({"stage": "notification"}, "notified_on", "imported case dates"),
        (
            {"stage": "level-1", "level": 1, "rmp_actions": [], "searches_outstanding": []},
            "level",
            "category 3 level",
        ),
        ({"level": 3}, "level_2_cannot_deliver", "level 3 referral statement"),
        ({"last_meeting_on": date(2026, 12, 3)}, "last_meeting_on", "imported case dates"),
    ],
)
def test_rows_that_break_a_rule_are_refused_naming_the_field_and_rule(
    changes: dict[str, object], field: str, rule: str
) -> None:
    with pytest.raises(CaseRuleError) as refused:
        CaseFile.open(opening(category=3), NOW, imported=between_meetings(**changes))
    assert (refused.value.field, refused.value.rule) == (field, rule)
