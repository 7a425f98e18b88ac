"""Confidentiality and subject access (001, 002, 003): the core's rules. In the guidance's words; pure: a clock is passed in."""

from datetime import UTC, date, datetime, timedelta

import pytest

from api import problems
from api.auth import (
    DECIDE_DISCLOSURE,
    DECODE_HISTORY,
    READ_AUDIT_TRAIL,
    READ_EXECUTIVE_SUMMARY,
    READ_MINUTE,
    RECORD_MINUTE,
    User,
)
from api.minutes import (
    MinuteContent,
    attendance_basis,
    check_meeting_names_no_minute,
    check_minute_rules,
    redact_for,
)
from store.models import Minute, TokenRole
from tests.case_builders import accept, community_notification, meeting, referral
from tests.unit.rules.cases import at, referred_case
from workflows.case import CLOSED_DEADLINES_KEPT, MEETINGS_KEPT
from workflows.rules import events as ev
from workflows.rules.case import CaseFile, Meeting, RuleViolation
from workflows.rules.deadlines import DeadlineState
from workflows.rules.policy import DeadlineKind
from workflows.rules.rule_changes import SUBJECT_INFORMED_DEADLINE


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
    assert case.subject_access_requests[0].reason == "risk to victim"  # the decision's reason is kept (001)


def test_a_subject_access_request_may_name_a_meeting_older_than_those_a_new_run_carries_whole():
    case = referred_case()
    first_attended = ["police-scotland-lanarkshire", "lanarkshire-justice-social-work", "lanarkshire-housing"]
    held = date(2026, 12, 1)
    case.apply(meeting(held, held + timedelta(weeks=2), attendees=first_attended), at(held))
    for _ in range(MEETINGS_KEPT + 1):
        held += timedelta(weeks=2)
        case.apply(meeting(held, held + timedelta(weeks=2)), at(held))
    # Continue-as-new: the case is trimmed as the workflow trims it, then carried as its payload is.
    case.archive_closed(CLOSED_DEADLINES_KEPT, MEETINGS_KEPT)
    case = CaseFile.model_validate_json(case.model_dump_json())
    assert "meeting-1" not in {m.meeting_id for m in case.meetings}
    case.apply(ev.SubjectAccessRequested(meeting_ids=["meeting-1"]), at(held, 16))
    assert case.subject_access_requests[-1].consulted == sorted(first_attended)
    with pytest.raises(RuleViolation, match="no meeting meeting-99"):
        case.check(ev.SubjectAccessRequested(meeting_ids=["meeting-99"]), at(held, 16))
    # The next meeting's number follows the last one held, archived or not.
    held += timedelta(weeks=2)
    case.apply(meeting(held, held + timedelta(weeks=2)), at(held))
    assert case.meetings[-1].meeting_id == f"meeting-{MEETINGS_KEPT + 3}"


# ------------------------------------------------------------------ minutes on a need-to-know basis

HELD = date(2026, 3, 2)
ATTENDED = ["police-scotland-lanarkshire", "lanarkshire-justice-social-work", "nhs-lanarkshire"]


def user(agency: str, role: str = "agency-worker") -> User:
    return User(token_id=1, user_name="test", agency_id=agency, role=TokenRole(role), area="lanarkshire")


def minute_row(**changes: object) -> Minute:
    values: dict[str, object] = {
        "minute_ref": "MIN-AAAAAAAAAAAA",
        "case_ref": "MAPPA-LAN-2026-TEST01",
        "held_on": HELD,
        "chair_agency": ATTENDED[0],
        "attendees": sorted(ATTENDED),
        "digest": "d" * 64,
    }
    values.update(changes)
    return Minute(**values)


def case_with_meeting(*, asp_chair: str | None = None) -> CaseFile:
    case = CaseFile.open(community_notification(disposal_date=HELD), datetime(2026, 3, 2, 9, tzinfo=UTC))
    held = Meeting(
        meeting_id="meeting-1",
        held_on=HELD,
        initial=True,
        chair_agency=ATTENDED[0],
        level_decided=2,
        attendees=ATTENDED,
        not_to_be_shared=[ev.NotToBeShared(item="victim's new address", reason="risk to the victim")],
        minute_ref="MIN-AAAAAAAAAAAA",
        minute_digest="d" * 64,
    )
    return case.model_copy(
        update={
            "meetings": [held],
            "asp_open": asp_chair is not None,
            "asp_chair_agency": asp_chair,
            "asp_chair_named": asp_chair is not None,  # the co-ordinator named it
        }
    )


def test_ops_never_reads_minutes_only_co_ordinators_decode_and_only_chairs_record_or_decide() -> None:
    assert TokenRole.OPS not in READ_MINUTE.roles | READ_EXECUTIVE_SUMMARY.roles | READ_AUDIT_TRAIL.roles
    assert DECODE_HISTORY.roles == {TokenRole.CO_ORDINATOR}
    assert RECORD_MINUTE.roles == DECIDE_DISCLOSURE.roles == {TokenRole.CHAIR}
    assert RECORD_MINUTE.acts_as == ("chair_agency",)


def test_an_attending_agency_reads_as_of_right_and_others_do_not() -> None:
    case = case_with_meeting()
    assert (
        attendance_basis(user("nhs-lanarkshire"), minute_row(), case) == "nhs-lanarkshire attended meeting-1"
    )
    assert attendance_basis(user("lanarkshire-housing"), minute_row(), case) is None
    assert attendance_basis(user("south-lanarkshire-council"), minute_row(), case) is None


def test_a_minute_no_recorded_meeting_names_gives_nobody_a_read_whoever_it_lists() -> None:
    """A chair stores a minute dated 2099-01-01 (or today, with no meeting recorded) listing housing as present:
    the case file records no meeting it is the minute of, so housing (or anyone it lists) reads nothing."""
    case = case_with_meeting()
    for held_on in (date(2099, 1, 1), HELD):
        orphan = minute_row(
            minute_ref="MIN-BBBBBBBBBBBB",
            held_on=held_on,
            attendees=["lanarkshire-housing", "nhs-lanarkshire"],
        )
        assert attendance_basis(user("lanarkshire-housing"), orphan, case) is None
        assert attendance_basis(user("nhs-lanarkshire"), orphan, case) is None
    # A minute a meeting names is read by those the case file records as present, not those the minute lists.
    claims = minute_row(attendees=["lanarkshire-housing", *ATTENDED])
    assert attendance_basis(user("lanarkshire-housing"), claims, case) is None


def test_once_the_case_history_is_gone_the_minute_s_own_attendees_decide() -> None:
    assert attendance_basis(user("nhs-lanarkshire"), minute_row(), None) is not None
    assert attendance_basis(user("south-lanarkshire-council"), minute_row(), None) is None


def test_the_asp_chair_reads_only_while_the_case_is_open_to_both() -> None:
    basis = attendance_basis(
        user("south-lanarkshire-council"),
        minute_row(),
        case_with_meeting(asp_chair="south-lanarkshire-council"),
    )
    assert basis is not None and "ASP" in basis


def test_the_case_file_keeps_back_what_a_meeting_did_not_share_from_those_who_were_not_there() -> None:
    case = case_with_meeting()
    assert redact_for(user("lanarkshire-housing"), case).meetings[0].not_to_be_shared == []
    assert (
        redact_for(user("nhs-lanarkshire"), case).meetings[0].not_to_be_shared
        == case.meetings[0].not_to_be_shared
    )
    assert case.meetings[0].not_to_be_shared  # the workflow's own file is untouched


def content(**changes: object) -> MinuteContent:
    body: dict[str, object] = {
        "held_on": HELD.isoformat(),
        "chair_agency": ATTENDED[0],
        "attendees": [
            {"agency": a, "representative": "A Rep", "signed_confidentiality_statement": True}
            for a in ATTENDED
        ],
        "risk_assessment": "High",
        "critical_risk_factors": ["Fixation"],
        "contingency_plan": "Recall",
        "conclusions": "Level 2",
    }
    body.update(changes)
    return MinuteContent.model_validate(body)


@pytest.mark.parametrize(
    ("changes", "rule"),
    [
        (
            {
                "attendees": [
                    {"agency": ATTENDED[0], "representative": "A", "signed_confidentiality_statement": False}
                ]
            },
            "confidentiality statement",
        ),
        ({"chair_agency": "lanarkshire-housing"}, "minute attendees"),
        (
            {
                "attendees": [
                    {"agency": ATTENDED[0], "representative": r, "signed_confidentiality_statement": True}
                    for r in "AA"  # the same person twice (two people from one agency each sign)
                ]
            },
            "minute attendees",
        ),
    ],
)
def test_a_minute_breaking_its_rules_is_refused_by_rule(changes: dict[str, object], rule: str) -> None:
    with pytest.raises(problems.ProblemError) as refused:
        check_minute_rules(content(**changes))
    assert refused.value.problem.rule == rule


def test_the_digest_is_over_the_canonical_content_so_a_reformatted_copy_has_the_same_one() -> None:
    assert content().canonical() == content(risk_assessment="  High ").canonical()


async def test_a_meeting_naming_a_minute_is_refused_the_minute_is_filed_for_it_once_recorded() -> None:
    held = meeting(HELD, date(2026, 4, 27), attendees=ATTENDED)
    await check_meeting_names_no_minute(None, None, "MAPPA-LAN-2026-TEST01", held)  # type: ignore[arg-type]
    naming = held.model_copy(update={"minute_ref": "MIN-AAAAAAAAAAAA", "minute_digest": "d" * 64})
    with pytest.raises(problems.ProblemError) as refused:
        await check_meeting_names_no_minute(None, None, "MAPPA-LAN-2026-TEST01", naming)  # type: ignore[arg-type]
    problem = refused.value.problem
    assert (problem.status, problem.field, problem.rule) == (
        422,
        "minute_ref",
        "minute of a recorded meeting",
    )
    assert "POST /cases/MAPPA-LAN-2026-TEST01/minutes" in problem.detail


def test_the_chair_s_agency_attends_the_meeting_it_chairs_a_rule_of_the_core_naming_the_field() -> None:
    from workflows.rules.confidentiality import check_minute
    from workflows.rules.errors import RuleViolation

    attendee = ev.Attendee(agency="nhs-lanarkshire", signed_confidentiality_statement=True)
    with pytest.raises(RuleViolation) as refused:
        check_minute([attendee], "police-scotland-lanarkshire", [])
    assert (refused.value.rule, refused.value.field) == ("minute attendees", "chair_agency")


# ------------------------------------------------------------------ the subject told of their MAPPA status (002)


def test_after_the_first_meeting_the_lead_agency_tells_the_subject_of_their_mappa_status_or_records_why_not():
    case = referred_case()
    held = date(2026, 12, 1)
    case.apply(meeting(held, date(2027, 2, 9)), at(held, 16))
    due = case.deadlines["subject-informed"]
    assert due.responsible == "police-scotland-lanarkshire"
    assert due.due_date == date(2026, 12, 15)  # 10 working days after Tue 1 Dec
    with pytest.raises(RuleViolation, match="record why the subject is not told"):
        case.check(ev.SubjectInformed(informed=False), at(date(2026, 12, 3)))
    with pytest.raises(RuleViolation, match="the lead agency") as refused:
        case.check(ev.SubjectInformed(informed=True, informed_by="nhs-lanarkshire"), at(date(2026, 12, 3)))
    assert refused.value.field == "informed_by"
    case.apply(
        ev.SubjectInformed(
            informed=False,
            informed_by="police-scotland-lanarkshire",
            reason="telling him would endanger others",
        ),
        at(date(2026, 12, 3)),
    )
    assert due.state is DeadlineState.MET and case.subject_not_informed_reason


def test_a_running_case_past_its_first_meeting_takes_up_the_subject_informed_deadline():
    case = CaseFile.open(
        community_notification(disposal_date=date(2026, 11, 2)), at(date(2026, 11, 4)), rule_changes=[]
    )
    case.apply(ev.ScreeningDecision(outcome="referral-needed", reason="high risk"), at(date(2026, 11, 5)))
    case.apply(referral(2), at(date(2026, 11, 9)))
    case.apply(accept(2), at(date(2026, 11, 9), 15))
    held = date(2026, 12, 1)
    case.apply(meeting(held, date(2027, 2, 9)), at(held, 16))
    assert "subject-informed" not in case.deadlines
    case.take_up([SUBJECT_INFORMED_DEADLINE], at(date(2027, 1, 4)))
    assert case.deadlines["subject-informed"].responsible == case.lead_agency
