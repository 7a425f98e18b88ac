"""Stage 5: exit from MAPPA (003 stage 5). In the guidance's words; pure: a clock is passed in."""

from datetime import date, timedelta

import pytest

from tests.case_builders import (
    SCOTTISH_AGENCIES,
    SUBJECT,
    asp_criteria_met,
    category_criteria,
    community_notification,
    meeting,
)
from tests.unit.rules.cases import at, english_referred_case, referred_case
from workflows.rules import events as ev
from workflows.rules.calendar import Jurisdiction
from workflows.rules.case import CaseFile, NoticeKind, RuleViolation, Stage
from workflows.rules.deadlines import DeadlineState
from workflows.rules.rule_changes import EXIT_BASIS, LICENCE_END_ON_EVERY_OPENING


def test_sonr_end_needs_notice_eight_weeks_before_and_exit_closes_the_case():
    sonr_end = date(2027, 6, 30)
    case = CaseFile.open(
        community_notification(disposal_date=date(2026, 11, 2), sonr_end_date=sonr_end), at(date(2026, 11, 4))
    )
    assert case.deadlines["sonr-exit-notice"].due_date == sonr_end - timedelta(weeks=8)
    assert case.deadlines["exit-review"].due_date == date(2027, 6, 29)
    case.apply(
        ev.ScreeningDecision(outcome="level-1", reason="RSO, ordinary management"), at(date(2026, 11, 5))
    )
    case.apply(ev.SonrEndNoticeGiven(given_by="police-scotland-lanarkshire"), at(date(2027, 4, 20)))
    case.apply(ev.ExitDecision(outcome="exit", reason="SONR ended; no SHPO sought"), at(date(2027, 6, 28)))
    assert case.stage is Stage.EXITED
    assert case.exit_record is not None and case.open_deadlines() == []


def test_an_shpo_keeps_the_case_open_with_a_new_sonr_end():
    case = CaseFile.open(
        community_notification(disposal_date=date(2026, 11, 2), sonr_end_date=date(2027, 6, 30)),
        at(date(2026, 11, 4)),
    )
    with pytest.raises(RuleViolation, match="new SONR end date"):
        case.check(ev.ExitDecision(outcome="shpo-granted", reason="SHPO"), at(date(2027, 5, 1)))
    case.apply(
        ev.ExitDecision(outcome="shpo-granted", reason="SHPO granted", new_sonr_end_date=date(2032, 6, 30)),
        at(date(2027, 5, 1)),
    )
    assert case.stage is not Stage.EXITED
    assert case.deadlines["exit-review"].due_date == date(2032, 6, 29)


# ------------------------------------------------------------------ exit basis


def _category_2(supervision_end: date) -> CaseFile:
    opening = community_notification(disposal_date=date(2026, 11, 2), category=2).model_copy(
        update={"supervision_end_date": supervision_end}
    )
    return CaseFile.open(opening, at(date(2026, 11, 4)))


def test_the_end_of_supervision_prompts_exit_planning_for_category_2_as_the_sonr_end_does_for_category_1():
    end = date(2027, 6, 30)  # a Wednesday
    case = _category_2(end)
    notice, review = case.deadlines["supervision-end-notice"], case.deadlines["supervision-exit-review"]
    assert notice.due_date == end - timedelta(weeks=8) and notice.responsible == "police-scotland-lanarkshire"
    assert review.due_date == date(2027, 6, 29) and review.responsible == "co-ordinator"
    case.apply(ev.SupervisionEndNoticeGiven(given_by="police-scotland-lanarkshire"), at(date(2027, 4, 20)))
    assert notice.state.value == "met"


def test_continuing_past_the_sonr_end_needs_a_recorded_basis():
    sonr_end = date(2027, 6, 30)
    case = CaseFile.open(
        community_notification(disposal_date=date(2026, 11, 2), sonr_end_date=sonr_end), at(date(2026, 11, 4))
    )
    with pytest.raises(RuleViolation, match="needs a recorded basis") as refused:
        case.check(ev.ExitDecision(outcome="continue", reason="still a risk"), at(date(2027, 6, 1)))
    assert refused.value.field == "continue_basis"
    case.apply(
        ev.ExitDecision(
            outcome="continue",
            reason="still a risk to the public",
            continue_basis="other-risk-of-serious-harm",
        ),
        at(date(2027, 6, 1)),
    )
    assert case.continue_basis == "other-risk-of-serious-harm" and case.category == 3
    assert case.deadlines["exit-review"].state.value == "met"


def test_a_deadline_counted_back_in_weeks_that_lands_on_a_weekend_moves_to_the_working_day_before():
    sonr_end = date(2027, 5, 15)  # 8 weeks before is Saturday 20 March 2027
    opening = community_notification(disposal_date=date(2026, 11, 2), sonr_end_date=sonr_end)
    case = CaseFile.open(opening, at(date(2026, 11, 4)))
    notice = case.deadlines["sonr-exit-notice"]
    assert notice.due_date == date(2027, 3, 19)
    assert "not a working day" in notice.explanation
    before = CaseFile.open(opening, at(date(2026, 11, 4)), rule_changes=[])  # opened before the correction
    assert before.deadlines["sonr-exit-notice"].due_date == date(2027, 3, 20)


# ------------------------------------------------------------------ safeguarding outlives the exit decision


def test_an_ap1_referral_due_when_the_case_exits_is_still_owed_within_24_hours_so_as_to_minimise_risk():
    """000: the AP1 is shared "within 24 hours so as to minimise risk": deciding to end MAPPA management does not
    end the risk to the adult. The case stays open, at exiting, until the lead agency makes it."""
    case = referred_case(level=2)
    case.apply(asp_criteria_met(), at(date(2026, 11, 9), 16))
    case.apply(ev.ExitDecision(outcome="exit", reason="moved abroad"), at(date(2026, 11, 9), 17))
    ap1 = case.deadlines["ap1-referral"]
    assert case.stage is Stage.EXITING and ap1.is_open
    assert case.exit_record is not None and "ap1-referral" in case.exit_record.obligations_outstanding
    case.take_outbox()
    case.tick(ap1.due_at - timedelta(hours=1))  # the lead agency is reminded before it falls due
    assert [n.deadline_id for n in case.take_outbox() if n.kind is NoticeKind.REMINDER] == ["ap1-referral"]
    case.apply(ev.Ap1ReferralMade(locality="North Lanarkshire"), ap1.due_at - timedelta(minutes=30))
    assert ap1.state is DeadlineState.MET and case.stage is Stage.EXITED


def test_the_swis_alert_after_the_last_meeting_is_still_updated_after_exit():
    """000: the lead professional updates the SWIS alert "immediately after the meeting", exit or not."""
    case = referred_case(level=2)
    case.apply(meeting(date(2026, 11, 20), date(2027, 1, 29)), at(date(2026, 11, 20), 15))
    case.apply(ev.ExitDecision(outcome="exit", reason="died"), at(date(2026, 11, 20), 16))
    assert case.deadlines["swis-alert:meeting-1"].is_open and case.stage is Stage.EXITING
    case.apply(ev.SwisAlertUpdated(meeting_id="meeting-1"), at(date(2026, 11, 20), 17))
    case.apply(
        ev.MinutesCirculated(meeting_id="meeting-1", recipients=SCOTTISH_AGENCIES[:3]), at(date(2026, 11, 23))
    )
    assert case.stage is Stage.EXITED


def test_the_same_day_asp_share_is_still_owed_after_exit():
    """000: an ASP inquiry that finds a MAPPA concern shares name, date of birth, address, needs and risks "the same
    day"; exit does not end the sharing."""
    case = referred_case(level=2)
    case.apply(ev.AspInquiryConcern(raised_by="north-lanarkshire-council"), at(date(2026, 11, 10)))
    case.apply(ev.ExitDecision(outcome="exit", reason="moved abroad"), at(date(2026, 11, 10), 12))
    assert case.stage is Stage.EXITING
    case.apply(
        ev.AspInformationShared(
            shared_with="lanarkshire-justice-social-work",
            recipient="justice-social-work",
            shared=["name", "date-of-birth", "address", "needs", "risks"],
        ),
        at(date(2026, 11, 10), 15),
    )
    assert case.stage is Stage.EXITED


def test_an_adult_safeguarding_referral_in_england_is_still_owed_after_exit():
    """002: specific vulnerable adults at risk "should be referred into the Vulnerable Adults procedures"."""
    case = english_referred_case()
    case.apply(ev.AdultAtRiskIdentified(identified_by="wiltshire-police"), at(date(2026, 11, 10)))
    case.apply(ev.ExitDecision(outcome="exit", reason="moved abroad"), at(date(2026, 11, 10), 12))
    assert case.stage is Stage.EXITING
    case.apply(
        ev.AdultSafeguardingReferralMade(referred_by="wiltshire-police", local_authority="wiltshire-council"),
        at(date(2026, 11, 11)),
    )
    assert case.stage is Stage.EXITED


def test_a_case_from_before_the_correction_still_cancels_the_ap1_at_exit():
    case = referred_case(level=2)
    case.rule_changes.remove("safeguarding-outlives-exit")
    case.apply(asp_criteria_met(), at(date(2026, 11, 9), 16))
    case.apply(ev.ExitDecision(outcome="exit", reason="moved abroad"), at(date(2026, 11, 9), 17))
    assert case.deadlines["ap1-referral"].state is DeadlineState.CANCELLED and case.stage is Stage.EXITED


# ------------------------------------------------------------------ supervision / licence and SONR end dates


def _released_on_licence(
    release: date, licence_end: date, *, rule_changes: list[str] | None = None
) -> CaseFile:
    """A category 3 case (in Scotland a violent offender under supervision) opened by the prison after the
    pre-release ICM, on licence until `licence_end`."""
    opening = ev.CaseOpening(
        case_ref="MAPPA-LAN-2026-LIC001",
        area="lanarkshire",
        jurisdiction=Jurisdiction.SCOTLAND,
        category=3,
        lead_agency="sps",
        route=ev.EntryRoute.CUSTODY,
        subject=SUBJECT,
        upcoming_release=ev.UpcomingRelease(
            recorded_by="sps", release_date=release, icm_held_on=date(2026, 11, 2)
        ),
        supervision_end_date=licence_end,
        **category_criteria(3),
    )
    return CaseFile.open(opening, at(date(2026, 11, 4)), rule_changes)


def test_a_category_3_case_opened_by_its_upcoming_release_plans_for_the_end_of_its_licence():
    """003 stage 5, as for the SONR: the lead agency gives notice "with sufficient time to allow for a review"."""
    case = _released_on_licence(date(2027, 6, 4), date(2028, 6, 30))
    notice, review = case.deadlines["supervision-end-notice"], case.deadlines["supervision-exit-review"]
    assert notice.due_date == date(2028, 5, 5) and notice.responsible == "sps"  # 8 weeks before, a Friday
    assert review.due_date == date(2028, 6, 29) and review.responsible == "co-ordinator"


def test_a_case_opened_so_before_the_correction_takes_up_its_licence_end_at_continue_as_new():
    case = _released_on_licence(date(2027, 6, 4), date(2028, 6, 30), rule_changes=[EXIT_BASIS])
    assert "supervision-end-notice" not in case.deadlines
    case.take_up([LICENCE_END_ON_EVERY_OPENING], at(date(2027, 1, 4)))
    assert case.deadlines["supervision-end-notice"].due_date == date(2028, 5, 5)


def test_a_licence_extended_moves_the_notice_and_the_review_to_the_new_end():
    case = _released_on_licence(date(2027, 6, 4), date(2028, 6, 30))
    receipt = case.apply(
        ev.EndDateRecorded(
            recorded_by="sps",
            ends="supervision-or-licence",
            end_date=date(2029, 3, 30),
            reason="licence extended",
        ),
        at(date(2027, 1, 4)),
    )
    assert case.supervision_end_date == date(2029, 3, 30)
    assert case.deadlines["supervision-end-notice"].due_date == date(2029, 2, 2)  # 8 weeks before
    assert case.deadlines["supervision-exit-review"].due_date == date(2029, 3, 29)
    assert {c.deadline_id for c in receipt.changes if c.change == "opened"} == {
        "supervision-end-notice",
        "supervision-exit-review",
    }


def test_a_sonr_end_set_later_is_planned_for_and_never_due_before_the_day_it_was_recorded():
    """A SONR end recorded four weeks ahead: the 8-week notice cannot have been given before anyone knew the date."""
    case = CaseFile.open(community_notification(disposal_date=date(2026, 11, 2)), at(date(2026, 11, 4)))
    assert "sonr-exit-notice" not in case.deadlines
    recorded = date(2026, 11, 10)
    case.apply(
        ev.EndDateRecorded(
            recorded_by="police-scotland-lanarkshire",
            ends="sonr",
            end_date=recorded + timedelta(weeks=4),
            reason="registration period confirmed",
        ),
        at(recorded),
    )
    notice = case.deadlines["sonr-exit-notice"]
    assert notice.due_date == recorded and notice.state is DeadlineState.OPEN
    assert case.deadlines["exit-review"].due_date == date(2026, 12, 7)  # the working day before the end


def test_an_end_date_is_refused_when_already_reached_or_for_a_category_that_has_no_licence_in_mappa():
    case = CaseFile.open(community_notification(disposal_date=date(2026, 11, 2)), at(date(2026, 11, 4)))
    with pytest.raises(RuleViolation, match="already reached") as reached:
        case.check(
            ev.EndDateRecorded(
                recorded_by="police-scotland-lanarkshire", ends="sonr", end_date=date(2026, 11, 4), reason="x"
            ),
            at(date(2026, 11, 4)),
        )
    assert reached.value.field == "end_date"
    with pytest.raises(RuleViolation, match="category 2 or 3") as category:
        case.check(
            ev.EndDateRecorded(
                recorded_by="police-scotland-lanarkshire",
                ends="supervision-or-licence",
                end_date=date(2027, 11, 4),
                reason="x",
            ),
            at(date(2026, 11, 4)),
        )
    assert category.value.field == "ends"
