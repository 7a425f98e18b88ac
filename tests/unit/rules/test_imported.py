"""A case imported already in progress is the dated events a live case would have received, applied through the
live handlers: it stands at its stage and owes what a live case owes from the same dates. What fell due before
the import is recorded as breached before go-live, announced once in the import's summary, and re-escalated from
go-live; live events then carry on from there."""

from datetime import UTC, date, datetime, time, timedelta

import pytest

from api.calculator import calculate_deadline
from tests.case_builders import community_notification, meeting
from workflows.rules import events as ev
from workflows.rules.calendar import local_time_on
from workflows.rules.case import CaseFile
from workflows.rules.deadlines import DeadlineState, next_re_escalation
from workflows.rules.errors import CaseRuleError
from workflows.rules.imported import (
    DONE_BEFORE_IMPORT,
    SUMMARY_LINES_LISTED,
    PastAtImport,
    expected_mail,
    import_summary,
)
from workflows.rules.imported_row import ImportedPosition, ImportedRmpAction
from workflows.rules.policy import DeadlineKind, area_policy
from workflows.rules.records import CO_ORDINATOR, NoticeKind, Stage

NOW = datetime(2026, 12, 2, 10, tzinfo=UTC)  # Wednesday 2 December 2026
LANARKSHIRE = area_policy("lanarkshire")


def opening(**changes: object) -> ev.CaseOpening:
    base = community_notification(disposal_date=date(2026, 11, 2))
    return base.model_copy(update={"notification": None, **changes})


def custody_opening(release: date) -> ev.CaseOpening:
    return opening(route=ev.EntryRoute.CUSTODY, release_date=release, lead_agency="sps")


def between_meetings(**changes: object) -> ImportedPosition:
    values: dict[str, object] = {
        "import_ref": "LAN-2024-0042",
        "stage": "active-management",
        "level": 2,
        "asp_screened_on": date(2026, 11, 20),
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


def owed(case: CaseFile) -> dict[str, date]:
    return {d.deadline_id: d.due_date for d in case.open_deadlines()}


def test_a_case_between_meetings_owes_its_review_on_the_date_set_and_its_open_rmp_actions() -> None:
    case = CaseFile.open(opening(), NOW, imported=between_meetings())
    assert (case.stage, case.level) == (Stage.ACTIVE_MANAGEMENT, 2)
    assert owed(case) == {
        "review:meeting-1": date(2027, 2, 10),
        "rmp:meeting-1:A1": date(2026, 12, 18),
        "rmp:meeting-1:A2": date(2026, 11, 30),
        "record-search:south-lanarkshire-council": calculate_deadline(
            "lanarkshire", "record-search", date(2026, 11, 20)
        ).due_date,
    }
    # The meeting's minutes are in the area's own records: it names no attendee, and what followed it was done there.
    assert case.meetings[0].attendees == []
    assert case.deadlines["minutes:meeting-1"].cancel_reason == DONE_BEFORE_IMPORT


def test_a_review_date_later_than_the_level_maximum_is_refused_with_the_latest_allowed() -> None:
    # Level 2 in Scotland: at most 12 weeks after the meeting of 25 Nov 2026, so by 17 Feb 2027.
    with pytest.raises(CaseRuleError) as refused:
        CaseFile.open(opening(), NOW, imported=between_meetings(next_review_date=date(2027, 2, 18)))
    assert (refused.value.rule, refused.value.field) == ("review date maximum", "next_review_date")
    assert "Wed 17 Feb 2027" in refused.value.message


def test_deadlines_already_past_are_recorded_breached_before_go_live_and_not_escalated_one_by_one() -> None:
    case = CaseFile.open(opening(), NOW, imported=between_meetings())
    case.tick(NOW)
    case.tick(NOW + timedelta(minutes=5))
    assert case.take_outbox() == []
    # Action A2 (due 30 Nov) and the record search (requested 20 Nov, due 27 Nov) are past: breached, honestly.
    past = {d.deadline_id for d in case.open_breaches()}
    assert past == {"record-search:south-lanarkshire-council", "rmp:meeting-1:A2"}
    assert all(case.deadlines[i].pre_go_live for i in past)
    assert case.deadlines["rmp:meeting-1:A2"].breached_at == case.deadlines["rmp:meeting-1:A2"].due_at
    assert not case.deadlines["rmp:meeting-1:A1"].pre_go_live
    assert case.deadlines["rmp:meeting-1:A1"].state is DeadlineState.OPEN


def test_re_escalation_of_an_imported_breach_counts_from_go_live_not_from_the_old_due_time() -> None:
    case = CaseFile.open(opening(), NOW, imported=between_meetings())
    again = next_re_escalation(LANARKSHIRE, NOW)
    case.tick(again - timedelta(minutes=1))
    assert case.take_outbox() == []
    case.tick(again)
    assert sorted(n.deadline_id or "" for n in case.take_outbox() if n.kind is NoticeKind.RE_ESCALATION) == [
        "record-search:south-lanarkshire-council",
        "rmp:meeting-1:A2",
    ]


def test_a_deadline_falling_due_after_go_live_is_escalated_as_any_breach() -> None:
    case = CaseFile.open(opening(), NOW, imported=between_meetings())
    case.tick(datetime(2026, 12, 19, 10, tzinfo=UTC))  # action A1 was due by the end of Fri 18 Dec
    escalated = [n for n in case.take_outbox() if n.kind is NoticeKind.BREACH_ESCALATION]
    assert [n.deadline_id for n in escalated] == ["rmp:meeting-1:A1"]
    assert not case.deadlines["rmp:meeting-1:A1"].pre_go_live


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


# ------------------------------------------------------------------ what the old import got wrong


def test_an_imported_referral_is_due_within_five_working_days_of_submission_of_the_notification_form() -> (
    None
):
    # 003 stage 2: "within five working days of submission of the notification form", not of its screening.
    position = ImportedPosition(
        import_ref="LAN-2",
        stage="referral-due",
        notified_on=date(2026, 11, 23),
        screened_on=date(2026, 11, 27),
        asp_screened_on=date(2026, 11, 27),
    )
    case = CaseFile.open(opening(), NOW, imported=position)
    assert case.stage is Stage.REFERRAL_DUE
    expected = LANARKSHIRE.calendar.add_working_days(date(2026, 11, 23), 5).due_date
    from_screening = LANARKSHIRE.calendar.add_working_days(date(2026, 11, 27), 5).due_date
    assert case.deadlines["referral"].due_date == expected != from_screening


def test_an_imported_custody_case_meets_prior_to_release_with_searches_and_pack_in_time_for_the_meeting() -> (
    None
):
    # 003 stage 4: custody cases meet "prior to their release", not at 20 working days; the record searches and
    # the pre-meeting information fall due in time for that meeting.
    release = date(2027, 4, 30)
    position = ImportedPosition(
        import_ref="LAN-3",
        stage="information-sharing",
        level=2,
        referral_received_on=date(2026, 11, 24),
        accepted_on=date(2026, 11, 26),
        searches_outstanding=["nhs-lanarkshire"],
        asp_screened_on=date(2026, 11, 25),
    )
    case = CaseFile.open(custody_opening(release), NOW, imported=position)
    meeting_deadline = case.deadlines["initial-meeting"]
    assert meeting_deadline.kind is DeadlineKind.INITIAL_MEETING_BEFORE_RELEASE
    assert meeting_deadline.due_date == release - timedelta(days=1)
    assert meeting_deadline.state is DeadlineState.OPEN
    search = case.deadlines["record-search:nhs-lanarkshire"]
    assert search.due_at <= meeting_deadline.due_at
    pack = case.deadlines["pre-meeting-information"]
    assert pack.is_open and pack.due_at <= meeting_deadline.due_at


def test_an_imported_custody_case_whose_pack_was_sent_owes_only_the_meeting() -> None:
    position = ImportedPosition(
        import_ref="LAN-4",
        stage="information-sharing",
        level=2,
        referral_received_on=date(2026, 11, 24),
        accepted_on=date(2026, 11, 26),
        pre_meeting_information_sent_on=date(2026, 12, 1),
        asp_screened_on=date(2026, 11, 25),
    )
    case = CaseFile.open(custody_opening(date(2027, 4, 30)), NOW, imported=position)
    assert set(owed(case)) == {"initial-meeting"}


def test_an_imported_level_1_case_owes_its_lead_agency_plan_and_regular_review() -> None:
    # 004: at level 1 the lead agency has a risk management plan and reviews the case regularly.
    position = ImportedPosition(import_ref="LAN-5", stage="level-1", screened_on=date(2026, 11, 30))
    case = CaseFile.open(opening(), NOW, imported=position)
    assert (case.stage, case.level) == (Stage.LEVEL_1, 1)
    assert {d.kind for d in case.open_deadlines()} >= {DeadlineKind.LEVEL_1_RMP, DeadlineKind.LEVEL_1_REVIEW}
    planned = ImportedPosition(
        import_ref="LAN-5",
        stage="level-1",
        screened_on=date(2026, 6, 1),
        level_1_plan_recorded_on=date(2026, 6, 3),
        level_1_reviewed_on=date(2026, 11, 2),
    )
    case = CaseFile.open(opening(), NOW, imported=planned)
    review = case.deadlines["level-1-review"]
    assert review.is_open and review.counted_from == date(2026, 11, 2)
    assert "level-1-rmp" not in owed(case)


@pytest.mark.parametrize("stage", ["notification", "information-sharing"])
def test_a_scottish_case_imported_unscreened_owes_its_asp_screening(stage: str) -> None:
    # 000: "All referrals to MAPPA, irrespective of their category or risk level, must be considered against
    # the ASP 3 point criteria", and every notification too.
    position = ImportedPosition.model_validate(
        {
            "import_ref": "LAN-6",
            "stage": stage,
            "notified_on": date(2026, 12, 1),
            "referral_received_on": date(2026, 12, 1),
            "accepted_on": date(2026, 12, 2),
            "level": 2,
        }
    )
    case = CaseFile.open(opening(), NOW, imported=position)
    assert DeadlineKind.ASP_SCREENING in {d.kind for d in case.open_deadlines()}


# ------------------------------------------------------------------ the import's one summary (go-live)


def test_the_import_summary_lists_case_references_and_deadline_titles_only_once_per_co_ordinator() -> None:
    past = [
        PastAtImport(
            "MAPPA-LAN-AAAA",
            "rmp-action",
            "RMP action A2 (owner lanarkshire-housing)",
            date(2026, 11, 30),
            "chair",
        ),
        PastAtImport("MAPPA-LAN-BBBB", "record-search", "Record search", date(2026, 11, 27), CO_ORDINATOR),
    ]
    notice = import_summary("lanarkshire", past, NOW)
    assert notice is not None and notice.to == CO_ORDINATOR and notice.kind is NoticeKind.IMPORT_SUMMARY
    assert notice.lines == [
        "MAPPA-LAN-AAAA: RMP action A2 (owner lanarkshire-housing), was due Mon 30 Nov 2026",
        "MAPPA-LAN-BBBB: Record search, was due Fri 27 Nov 2026",
    ]
    assert import_summary("lanarkshire", list(reversed(past)), NOW) == notice  # same import, same key
    assert import_summary("lanarkshire", [], NOW) is None
    mail = expected_mail(LANARKSHIRE, past, NOW)
    again = next_re_escalation(LANARKSHIRE, NOW).date()
    assert [(m.to, m.notices, m.on) for m in mail] == [
        (CO_ORDINATOR, 1, date(2026, 12, 2)),
        ("chair", 1, again),
        (CO_ORDINATOR, 1, again),
    ]


def test_an_import_of_a_thousand_cases_with_hundreds_past_raises_not_one_notice_from_any_case() -> None:
    """The e-mail storm: 1,000 cases, about 650 deadlines already past. No case raises a notice at its opening
    or first tick; the co-ordinator gets one summary listing them all."""
    cases, past = [], []
    for n in range(1000):
        held = date(2026, 11, 18) - timedelta(days=n % 40)
        # Due from 19 Nov to 8 Dec: 13 days in 20 are past on 2 Dec, so about 650 of the 1,000.
        action_due = date(2026, 11, 19) + timedelta(days=n % 20)
        position = between_meetings(
            import_ref=f"LAN-{n}",
            last_meeting_on=held,
            accepted_on=held - timedelta(days=3),
            next_review_date=held + timedelta(weeks=10),
            rmp_actions=[
                ImportedRmpAction(action_id="A1", owner_agency="nhs-lanarkshire", due_date=action_due)
            ],
            searches_outstanding=[],
            asp_screened_on=held - timedelta(days=3),
        )
        case = CaseFile.open(opening(case_ref=f"MAPPA-LAN-2026-{n:06d}"), NOW, imported=position)
        case.tick(NOW)
        cases.append(case)
        past += [
            PastAtImport(case.case_ref, d.kind.value, d.title, d.due_date, "chair")
            for d in case.open_breaches()
        ]
    assert sum(len(c.outbox) for c in cases) == 0
    assert len(past) == 650
    notice = import_summary("lanarkshire", past, NOW)
    assert notice is not None and len(notice.lines) == len(past)


def test_a_summary_of_more_past_deadlines_than_one_notice_can_carry_lists_the_first_and_counts_the_rest() -> (
    None
):
    # 13,417 past deadlines in a 10,000-row import made a 1.16 MB notice; Temporal refuses a 2 MiB payload.
    past = [
        PastAtImport(
            f"MAPPA-LAN-2026-{n:06d}", "record-search", "Record search", date(2026, 11, 27), CO_ORDINATOR
        )
        for n in range(SUMMARY_LINES_LISTED + 345)
    ]
    notice = import_summary("lanarkshire", past, NOW)
    assert notice is not None and notice.title.startswith(f"{SUMMARY_LINES_LISTED + 345} deadline(s)")
    assert len(notice.lines) == SUMMARY_LINES_LISTED + 1
    assert notice.lines[-2].startswith(f"MAPPA-LAN-2026-{SUMMARY_LINES_LISTED - 1:06d}:")
    assert notice.lines[-1].startswith("... and 345 more: the ops page lists them all")
    assert len(notice.model_dump_json()) < 512 * 1024  # under the SDK's warning size, let alone the limit


def test_an_imported_day_is_counted_from_noon_as_a_live_case_counts_a_day() -> None:
    position = ImportedPosition(import_ref="LAN-7", stage="notification", notified_on=date(2026, 12, 1))
    case = CaseFile.open(opening(), NOW, imported=position)
    assert case.opened_at == local_time_on(date(2026, 12, 1), time(12))
    assert case.imported_at == NOW
