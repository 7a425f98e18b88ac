"""A minute is filed for a meeting the case file records (001, 003): the core's rules. Pure: a clock is passed in.

The chair of the meeting's chair agency files it, once; the minute's date, chair and agencies present are the
meeting's; and who reads it follows the case file's record of who was present, whatever the minute lists."""

from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.case_builders import SCOTTISH_AGENCIES, meeting
from tests.unit.rules.cases import at, referred_case
from workflows.rules import events as ev
from workflows.rules.actors import Actor, Role
from workflows.rules.case import CaseFile
from workflows.rules.confidentiality import (
    MinuteAlreadyFiled,
    attendance_basis,
    check_meeting_names_no_minute,
    check_minute_of_meeting,
)
from workflows.rules.errors import NotResponsible, RuleViolation, WrongStage
from workflows.rules.records import Stage

HELD = date(2026, 12, 1)
ATTENDED = SCOTTISH_AGENCIES[:3]
CHAIR = Actor(role=Role.CHAIR, agency=ATTENDED[0])
DIGEST = "d" * 64


def met_case() -> CaseFile:
    case = referred_case()
    case.apply(meeting(HELD, HELD + timedelta(weeks=8), attendees=ATTENDED), at(HELD))
    return case


def filed(
    meeting_id: str = "meeting-1", minute_ref: str = "MIN-AAAAAAAAAAAA", sender: Actor = CHAIR
) -> ev.MinuteFiled:
    return ev.MinuteFiled(meeting_id=meeting_id, minute_ref=minute_ref, minute_digest=DIGEST, sent_by=sender)


def test_the_chair_files_the_minute_of_a_recorded_meeting_and_the_meeting_then_names_it() -> None:
    case = met_case()
    receipt = case.apply(filed(), at(HELD, 15))
    assert receipt.event == "MinuteFiled"
    (held,) = case.meetings
    assert (held.minute_ref, held.minute_digest) == ("MIN-AAAAAAAAAAAA", DIGEST)
    # Read by the agencies the meeting records as present.
    assert (
        attendance_basis(ATTENDED[2], "MIN-AAAAAAAAAAAA", HELD, [], case)
        == f"{ATTENDED[2]} attended meeting-1"
    )


def test_a_minute_for_a_meeting_the_case_file_does_not_record_is_refused_naming_the_meeting_id() -> None:
    case = referred_case()  # no meeting yet
    with pytest.raises(RuleViolation) as refused:
        case.check(filed(), at(HELD))
    assert refused.value.field == "meeting_id" and "no meeting meeting-1" in refused.value.message
    met = met_case()
    with pytest.raises(RuleViolation) as refused:
        met.check(filed("meeting-2"), at(HELD, 15))
    assert refused.value.field == "meeting_id"
    assert met.meetings[0].minute_ref is None


def test_a_meeting_has_one_minute_and_a_minute_records_one_meeting() -> None:
    case = met_case()
    case.apply(filed(), at(HELD, 15))
    with pytest.raises(MinuteAlreadyFiled) as second:
        case.check(filed(minute_ref="MIN-BBBBBBBBBBBB"), at(HELD, 16))
    assert (second.value.kind, second.value.field) == ("already-recorded", "meeting_id")
    later = HELD + timedelta(weeks=4)
    case.apply(meeting(later, later + timedelta(weeks=8), attendees=ATTENDED), at(later))
    with pytest.raises(MinuteAlreadyFiled) as reused:
        case.check(filed("meeting-2"), at(later, 15))  # meeting-1's minute named as meeting-2's
    assert reused.value.field == "minute_ref"
    assert case.meetings[0].minute_ref == "MIN-AAAAAAAAAAAA" and case.meetings[1].minute_ref is None


def test_only_the_chair_of_the_agency_that_chaired_the_meeting_files_its_minute() -> None:
    case = met_case()
    another_chair = Actor(role=Role.CHAIR, agency=ATTENDED[1])
    with pytest.raises(NotResponsible) as refused:
        case.check(filed(sender=another_chair), at(HELD, 15))
    assert ATTENDED[0] in refused.value.message
    for role in (Role.CO_ORDINATOR, Role.AGENCY_WORKER, Role.OPS):
        with pytest.raises(NotResponsible):
            case.check(filed(sender=Actor(role=role, agency=ATTENDED[0])), at(HELD, 15))
    assert case.meetings[0].minute_ref is None


def test_a_minute_may_be_filed_after_the_exit_decision_while_the_minutes_are_outstanding() -> None:
    case = met_case()
    case.apply(ev.ExitDecision(outcome="exit", reason="risk reduced"), at(HELD, 15))
    assert case.stage is Stage.EXITING  # the minutes of meeting-1 outlive the exit decision
    assert case.exit_record is not None and "minutes:meeting-1" in case.exit_record.obligations_outstanding
    case.apply(filed(), at(HELD, 16))
    next_day = at(HELD + timedelta(days=1))
    case.apply(ev.MinutesCirculated(meeting_id="meeting-1", recipients=ATTENDED), next_day)
    case.apply(ev.SwisAlertUpdated(meeting_id="meeting-1"), next_day)  # it too outlives the exit decision
    assert case.stage is Stage.EXITED
    with pytest.raises(WrongStage):
        case.check(filed(minute_ref="MIN-BBBBBBBBBBBB"), at(HELD + timedelta(days=2)))


def test_a_minute_records_the_meeting_as_the_case_file_holds_it_naming_the_field_that_differs() -> None:
    (held,) = met_case().meetings
    check_minute_of_meeting(held, HELD, ATTENDED[0], list(reversed(ATTENDED)))  # order does not matter
    for when, chair, present, field in (
        (date(2099, 1, 1), ATTENDED[0], ATTENDED, "held_on"),
        (HELD - timedelta(days=1), ATTENDED[0], ATTENDED, "held_on"),
        (HELD, ATTENDED[1], ATTENDED, "chair_agency"),
        (HELD, ATTENDED[0], [*ATTENDED, "lanarkshire-housing"], "attendees"),
        (HELD, ATTENDED[0], ATTENDED[:2], "attendees"),
    ):
        with pytest.raises(RuleViolation) as refused:
            check_minute_of_meeting(held, when, chair, present)
        assert (refused.value.rule, refused.value.field) == ("minute of a recorded meeting", field)


@given(
    extra=st.lists(st.sampled_from(["lanarkshire-housing", "south-lanarkshire-council", "sps"]), min_size=1)
)
def test_a_minute_listing_an_agency_the_meeting_did_not_record_never_matches_it(extra: list[str]) -> None:
    (held,) = met_case().meetings
    with pytest.raises(RuleViolation) as refused:
        check_minute_of_meeting(held, HELD, ATTENDED[0], [*ATTENDED, *extra])
    assert all(agency in refused.value.message for agency in extra)


def test_a_meeting_is_recorded_without_a_minute_which_is_filed_for_it_afterwards() -> None:
    check_meeting_names_no_minute(meeting(HELD, HELD + timedelta(weeks=8)))
    naming = meeting(HELD, HELD + timedelta(weeks=8)).model_copy(update={"minute_ref": "MIN-AAAAAAAAAAAA"})
    with pytest.raises(RuleViolation) as refused:
        check_meeting_names_no_minute(naming)
    assert refused.value.field == "minute_ref"
    with pytest.raises(RuleViolation) as refused:
        check_meeting_names_no_minute(naming.model_copy(update={"minute_ref": None, "minute_digest": DIGEST}))
    assert refused.value.field == "minute_digest"


def test_a_minute_filed_survives_continue_as_new_as_the_case_file_carries_it() -> None:
    case = met_case()
    case.apply(filed(), at(HELD, 15))
    carried = CaseFile.model_validate_json(case.model_dump_json())
    assert carried.meetings[0].minute_ref == "MIN-AAAAAAAAAAAA"
    with pytest.raises(MinuteAlreadyFiled):
        carried.check(filed(minute_ref="MIN-BBBBBBBBBBBB"), at(HELD, 16))
