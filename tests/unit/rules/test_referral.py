"""Stages 1 and 2: notification and referral (003 stages 1-2; 001 on referral). In the guidance's words; pure: a clock is passed in."""

from datetime import date, timedelta

import pytest

from tests.case_builders import (
    accept,
    community_notification,
    custody_referral,
    referral,
)
from tests.unit.rules.cases import at, english_referred_case, referred_case
from workflows.rules import events as ev
from workflows.rules.case import CaseFile, NoticeKind, RuleViolation, Stage
from workflows.rules.deadlines import DeadlineState
from workflows.rules.policy import DeadlineKind


def test_a_notification_within_three_working_days_of_disposal_is_met_on_time():
    case = CaseFile.open(community_notification(disposal_date=date(2026, 11, 2)), at(date(2026, 11, 5)))
    d = case.deadlines["notification"]
    assert d.state is DeadlineState.MET and not d.met_late
    assert d.due_date == date(2026, 11, 5)


def test_the_three_working_days_count_from_when_the_authority_was_notified_of_the_disposal():
    """003 stage 2: "within three workings days of being notified of a community sentence disposal": a disposal
    the police heard of two days after the court made it is counted from that day, not the court's."""
    opening = community_notification(disposal_date=date(2026, 11, 2))
    assert opening.notification is not None
    told = opening.notification.model_copy(update={"disposal_notified_on": date(2026, 11, 4)})
    case = CaseFile.open(opening.model_copy(update={"notification": told}), at(date(2026, 11, 9)))
    d = case.deadlines["notification"]
    assert d.counted_from == date(2026, 11, 4) and d.due_date == date(2026, 11, 9)
    assert d.state is DeadlineState.MET and not d.met_late
    assert "Wed 04 Nov 2026" in d.explanation


def test_a_disposal_cannot_be_notified_before_the_court_made_it():
    opening = community_notification(disposal_date=date(2026, 11, 2))
    assert opening.notification is not None
    told = opening.notification.model_copy(update={"disposal_notified_on": date(2026, 10, 30)})
    with pytest.raises(RuleViolation, match="before the disposal") as refused:
        CaseFile.open(opening.model_copy(update={"notification": told}), at(date(2026, 11, 4)))
    assert refused.value.field == "notification.disposal_notified_on"


def test_a_late_notification_is_recorded_as_met_late_and_breached():
    case = CaseFile.open(community_notification(disposal_date=date(2026, 11, 2)), at(date(2026, 11, 9)))
    d = case.deadlines["notification"]
    assert d.met_late and d.breached_at == d.due_at


def test_screening_to_level_1_records_the_case_with_no_meetings():
    case = CaseFile.open(community_notification(disposal_date=date(2026, 11, 2)), at(date(2026, 11, 4)))
    receipt = case.apply(
        ev.ScreeningDecision(outcome="level-1", reason="ordinary management"), at(date(2026, 11, 5))
    )
    assert receipt.stage is Stage.LEVEL_1 and case.level == 1
    # No meeting falls due: only the lead agency's own level 1 plan and review (004), and the ASP screening,
    # which every notification gets whatever its level (000).
    assert {d.deadline_id for d in case.open_deadlines()} == {
        "asp-screening:notification",
        "level-1-rmp",
        "level-1-review",
    }


def test_a_category_3_case_in_scotland_cannot_be_screened_to_level_1():
    case = CaseFile.open(
        community_notification(disposal_date=date(2026, 11, 2), category=3), at(date(2026, 11, 4))
    )
    with pytest.raises(RuleViolation, match="category 3 case cannot be managed at level 1"):
        case.apply(ev.ScreeningDecision(outcome="level-1", reason="x"), at(date(2026, 11, 5)))


def test_referral_is_due_five_working_days_after_the_notification():
    case = CaseFile.open(community_notification(disposal_date=date(2026, 11, 2)), at(date(2026, 11, 4)))
    case.apply(ev.ScreeningDecision(outcome="referral-needed", reason="high risk"), at(date(2026, 11, 4), 14))
    # Wed 4 Nov + 5 WD = Wed 11 Nov.
    assert case.deadlines["referral"].due_date == date(2026, 11, 11)


def test_a_level_3_referral_without_the_level_2_statement_is_refused_and_nothing_recorded():
    case = CaseFile.open(community_notification(disposal_date=date(2026, 11, 2)), at(date(2026, 11, 4)))
    before = case.model_dump()
    bad = ev.ReferralSubmitted(referring_agency="police-scotland-lanarkshire", level_sought=3)
    with pytest.raises(RuleViolation) as refused:
        case.check(bad, at(date(2026, 11, 5)))
    assert "level 2 cannot deliver" in refused.value.message
    assert refused.value.field == "level_2_cannot_deliver"
    assert case.model_dump() == before


def test_receipt_of_a_referral_is_confirmed_to_the_referring_agency():
    case = CaseFile.open(community_notification(disposal_date=date(2026, 11, 2)), at(date(2026, 11, 4)))
    case.take_outbox()
    case.apply(referral(2, agency="lanarkshire-justice-social-work"), at(date(2026, 11, 6)))
    receipts = [n for n in case.take_outbox() if n.kind is NoticeKind.REFERRAL_RECEIPT]
    assert [n.to for n in receipts] == ["lanarkshire-justice-social-work"]


def test_acceptance_requests_a_record_search_from_each_agency_due_in_five_working_days():
    case = referred_case()
    searches = [d for d in case.deadlines.values() if d.kind is DeadlineKind.RECORD_SEARCH]
    assert len(searches) == 4
    assert {d.due_date for d in searches} == {date(2026, 11, 16)}
    requests = [n for n in case.outbox if n.kind is NoticeKind.RECORD_SEARCH_REQUEST]
    assert len(requests) == 4


def test_initial_level_2_meeting_falls_due_twenty_working_days_after_receipt_of_referral():
    case = referred_case(2)
    # Mon 9 Nov 2026 + 20 WD, skipping St Andrew's Day (Mon 30 Nov) = Tue 8 Dec.
    assert case.deadlines["initial-meeting"].due_date == date(2026, 12, 8)


def test_initial_level_2_meeting_in_england_does_not_skip_st_andrews_day():
    case = english_referred_case()
    assert case.deadlines["initial-meeting"].due_date == date(2026, 12, 7)
    assert "asp-screening" not in case.deadlines


def test_initial_level_3_meeting_falls_due_five_working_days_after_receipt():
    case = referred_case(3)
    assert case.deadlines["initial-meeting"].kind is DeadlineKind.INITIAL_MEETING_LEVEL_3
    assert case.deadlines["initial-meeting"].due_date == date(2026, 11, 16)


def test_a_referral_not_accepted_is_answered_with_the_reasons():
    case = CaseFile.open(community_notification(disposal_date=date(2026, 11, 2)), at(date(2026, 11, 4)))
    case.apply(referral(2), at(date(2026, 11, 6)))
    with pytest.raises(RuleViolation, match="reasons"):
        case.check(ev.ReferralDecision(outcome="rejected"), at(date(2026, 11, 6)))
    case.take_outbox()
    case.apply(
        ev.ReferralDecision(outcome="rejected", reasons="level 1 management is sufficient"),
        at(date(2026, 11, 6)),
    )
    assert case.stage is Stage.LEVEL_1
    decision = case.take_outbox()[0]
    # The reasons are the co-ordinator's own words: kept in the case file, never put in the notice.
    assert decision.kind is NoticeKind.REFERRAL_DECISION
    assert not any("sufficient" in line for line in decision.lines)
    assert case.referral is not None
    assert case.referral.rejection_reasons == "level 1 management is sufficient"


def test_what_further_information_is_missing_stays_in_the_case_file_not_the_notice():
    case = CaseFile.open(community_notification(disposal_date=date(2026, 11, 2)), at(date(2026, 11, 4)))
    case.apply(referral(2), at(date(2026, 11, 6)))
    case.take_outbox()
    case.apply(ev.FurtherInformationRequested(missing="A Example's new address"), at(date(2026, 11, 6)))
    request = case.take_outbox()[0]
    assert request.kind is NoticeKind.FURTHER_INFORMATION_REQUEST
    assert not any("Example" in line for line in request.lines)
    assert case.referral is not None and case.referral.information_requested == ["A Example's new address"]


def test_further_information_restarts_the_meeting_clock():
    case = CaseFile.open(community_notification(disposal_date=date(2026, 11, 2)), at(date(2026, 11, 4)))
    case.apply(referral(3), at(date(2026, 11, 9)))
    case.apply(ev.FurtherInformationRequested(missing="current risk assessment"), at(date(2026, 11, 9), 11))
    with pytest.raises(RuleViolation, match="waiting for further information"):
        case.check(accept(3), at(date(2026, 11, 10)))
    case.apply(
        ev.FurtherInformationSupplied(supplied_by="police-scotland-lanarkshire"), at(date(2026, 11, 12))
    )
    case.apply(accept(3), at(date(2026, 11, 12), 15))
    # 5 WD from Thu 12 Nov, not from the original Mon 9 Nov.
    assert case.deadlines["initial-meeting"].due_date == date(2026, 11, 19)


def _referral_waiting_for_information(rule_changes_removed: tuple[str, ...] = ()) -> CaseFile:
    """Referred Mon 9 Nov 2026 at 10:00 (decision due Thu 12 Nov); the co-ordinator asks for more at 11:00 (due
    from the referrer Thu 12 Nov)."""
    case = CaseFile.open(community_notification(disposal_date=date(2026, 11, 2)), at(date(2026, 11, 4)))
    for name in rule_changes_removed:
        case.rule_changes.remove(name)
    case.apply(referral(2), at(date(2026, 11, 9)))
    assert case.deadlines["referral-decision"].due_date == date(2026, 11, 12)
    case.apply(ev.FurtherInformationRequested(missing="current risk assessment"), at(date(2026, 11, 9), 11))
    return case


def test_the_referral_decision_waits_while_the_referrer_is_still_within_time_to_give_more_information():
    """001, 003: "the co-ordinator will make contact with the referring agency, which may delay" what follows; the
    co-ordinator cannot be in breach of a decision waiting on information the referrer may still give."""
    case = _referral_waiting_for_information()
    decision = case.deadlines["referral-decision"]
    assert decision.due_date == date(2026, 11, 17)  # 3 working days after the information falls due (Thu 12)
    case.tick(at(date(2026, 11, 13)))  # the decision's first due day has passed; the referrer's has too
    assert decision.state is DeadlineState.OPEN
    [asked] = [d for d in case.deadlines.values() if d.kind is DeadlineKind.FURTHER_INFORMATION]
    assert asked.state is DeadlineState.BREACHED  # the referrer's lateness, not the co-ordinator's
    case.apply(
        ev.FurtherInformationSupplied(supplied_by="police-scotland-lanarkshire"), at(date(2026, 11, 16))
    )
    assert decision.due_date == date(2026, 11, 19)  # 3 working days from the day it arrived
    case.tick(at(date(2026, 11, 19), 10))
    assert decision.state is DeadlineState.OPEN
    case.apply(accept(2), at(date(2026, 11, 19), 15))
    assert decision.state is DeadlineState.MET and not decision.met_late


def test_a_case_from_before_the_correction_breaches_the_decision_while_waiting():
    case = _referral_waiting_for_information(("referral-decision-waits-for-information",))
    case.tick(at(date(2026, 11, 13)))
    assert case.deadlines["referral-decision"].state is DeadlineState.BREACHED


def test_a_custody_case_notified_early_owes_its_referral_by_twelve_weeks_before_release():
    """003 stage 2: the SPS sends "a notification or referral ... not less than twelve weeks before release": a
    notification months ahead does not cut the prison's time to refer to five working days."""
    fact = ev.UpcomingRelease(recorded_by="sps", release_date=date(2027, 6, 4), icm_held_on=date(2027, 1, 29))
    opening = ev.CaseOpening.model_validate(
        {
            **custody_referral(release_date=date(2027, 6, 4)).model_dump(
                exclude={"referral", "release_date"}
            ),
            "upcoming_release": fact,
        }
    )
    case = CaseFile.open(opening, at(date(2027, 2, 1)))
    case.apply(ev.NotificationSubmitted(notifying_agency="sps"), at(date(2027, 2, 2)))
    case.apply(
        ev.ScreeningDecision(outcome="referral-needed", reason="level 2 on release"), at(date(2027, 2, 3))
    )
    due = case.deadlines["referral"]
    assert due.due_date == date(2027, 3, 12) and "12 weeks before" in due.explanation  # not Tue 9 Feb
    late = CaseFile.open(opening, at(date(2027, 2, 1)))
    late.apply(
        ev.ReleaseDateChanged(recorded_by="sps", release_date=date(2027, 4, 30), reason="parole"),
        at(date(2027, 2, 2)),
    )
    late.apply(ev.NotificationSubmitted(notifying_agency="sps"), at(date(2027, 2, 8)))
    late.apply(ev.ScreeningDecision(outcome="referral-needed", reason="level 2"), at(date(2027, 2, 9)))
    assert late.deadlines["referral"].due_date == date(
        2027, 2, 15
    )  # never sooner than 5 WD from the notification


def test_custody_referral_is_due_twelve_weeks_before_release_and_the_meeting_before_release():
    release = date(2027, 1, 8)
    case = CaseFile.open(custody_referral(release_date=release), at(date(2026, 12, 21)))
    custody = case.deadlines["custody-referral"]
    assert custody.due_date == release - timedelta(weeks=12)
    assert custody.met_late  # the referral came later than 12 weeks before release
    case.apply(accept(2), at(date(2026, 12, 22)))
    # 20 WD would be late January; the meeting must be before release.
    assert case.deadlines["initial-meeting"].due_date == date(2027, 1, 7)


def test_a_person_who_is_not_an_offender_is_routed_to_an_information_sharing_meeting():
    case = CaseFile.open(
        community_notification(disposal_date=date(2026, 11, 2), subject_is_offender=False),
        at(date(2026, 11, 4)),
    )
    assert case.stage is Stage.ROUTED_TO_INFORMATION_SHARING_MEETING
    assert case.outbox[0].kind is NoticeKind.ROUTED_TO_INFORMATION_SHARING_MEETING


# ------------------------------------------------------------------ eligibility and who may refer (001, 003, 004)


def _opening(category: int, area: str = "lanarkshire", **changes: object) -> ev.CaseOpening:
    lead = "police-scotland-lanarkshire" if area == "lanarkshire" else "wiltshire-police"
    base = community_notification(
        disposal_date=date(2026, 11, 2), category=category, area=area, lead_agency=lead
    )
    return base.model_copy(update=changes)


def test_category_2_in_england_is_a_violent_offender_sentenced_to_twelve_months_or_more_under_supervision():
    english = "wiltshire-and-swindon"
    with pytest.raises(RuleViolation, match="12 months or more in custody") as refused:
        CaseFile.open(_opening(2, english, custody_months=6), at(date(2026, 11, 4)))
    assert (refused.value.rule, refused.value.field) == ("category 2 criteria", "custody_months")
    with pytest.raises(RuleViolation, match="supervision or licence") as refused:
        CaseFile.open(_opening(2, english, subject_to_supervision=False), at(date(2026, 11, 4)))
    assert refused.value.field == "subject_to_supervision"
    hospital = CaseFile.open(
        _opening(2, english, custody_months=None, hospital_order=True), at(date(2026, 11, 4))
    )
    assert hospital.category == 2


def test_category_2_in_scotland_is_the_mentally_disordered_restricted_patient_not_004_s_violent_offender():
    # A Lanarkshire restricted patient needs no custody term, supervision or licence (000, 001).
    patient = CaseFile.open(_opening(2, restricted_patient=True), at(date(2026, 11, 4)))
    assert patient.category == 2
    with pytest.raises(RuleViolation, match="restricted patient") as refused:
        CaseFile.open(
            _opening(2, restricted_patient=False, custody_months=18, subject_to_supervision=True),
            at(date(2026, 11, 4)),
        )
    assert (refused.value.rule, refused.value.field) == ("category 2 criteria", "restricted_patient")


def test_category_3_has_committed_an_offence_and_poses_a_risk_of_serious_harm_to_the_public():
    with pytest.raises(RuleViolation, match="risk of serious harm to the public") as refused:
        CaseFile.open(_opening(3, risk_of_serious_harm=False), at(date(2026, 11, 4)))
    assert (refused.value.rule, refused.value.field) == ("category 3 criteria", "risk_of_serious_harm")
    with pytest.raises(RuleViolation, match="offence in the past"):
        CaseFile.open(_opening(3, previous_offence=None), at(date(2026, 11, 4)))


def _screened(category: int, area: str = "lanarkshire") -> CaseFile:
    case = CaseFile.open(
        community_notification(
            "MAPPA-LAN-2026-WHO001" if area == "lanarkshire" else "MAPPA-WAS-2026-WHO001",
            area=area,
            disposal_date=date(2026, 11, 2),
            category=category,
            lead_agency="police-scotland-lanarkshire" if area == "lanarkshire" else "wiltshire-police",
        ),
        at(date(2026, 11, 4)),
    )
    case.apply(ev.ScreeningDecision(outcome="referral-needed", reason="high risk"), at(date(2026, 11, 5)))
    return case


def _from(agency: str, kind: str, contacted: bool = False) -> ev.ReferralSubmitted:
    return referral(2, agency=agency).model_copy(
        update={"referring_agency_kind": kind, "police_or_social_work_contacted": contacted}
    )


def test_a_registered_sex_offender_is_referred_by_sps_social_work_police_or_health_in_scotland():
    case = _screened(1)
    with pytest.raises(
        RuleViolation, match="comes from health, justice-social-work, police, prison"
    ) as refused:
        case.check(_from("lanarkshire-housing", "housing"), at(date(2026, 11, 6)))
    assert (refused.value.rule, refused.value.field) == ("who may refer", "referring_agency_kind")
    case.apply(_from("sps", "prison"), at(date(2026, 11, 6)))
    assert case.stage is Stage.REFERRAL


def test_any_agency_may_refer_category_3_after_contacting_the_police_or_social_work():
    case = _screened(3)
    with pytest.raises(RuleViolation, match="contact the police and/or social work first") as refused:
        case.check(_from("lanarkshire-housing", "housing"), at(date(2026, 11, 6)))
    assert refused.value.field == "police_or_social_work_contacted"
    case.apply(_from("lanarkshire-housing", "housing", contacted=True), at(date(2026, 11, 6)))
    assert case.referral is not None and case.referral.referring_agency == "lanarkshire-housing"


def test_in_england_any_agency_can_refer_an_offender_into_mappa():
    case = _screened(1, "wiltshire-and-swindon")
    case.apply(_from("wiltshire-council", "housing"), at(date(2026, 11, 6)))
    assert case.stage is Stage.REFERRAL


def test_a_case_opening_with_a_referral_from_an_agency_that_may_not_refer_is_refused():
    opening = custody_referral(release_date=date(2027, 6, 1))
    assert opening.referral is not None
    opening.referral.referring_agency_kind = "dwp"
    with pytest.raises(RuleViolation, match="not dwp") as refused:
        CaseFile.open(opening, at(date(2026, 11, 4)))
    assert refused.value.field == "referral.referring_agency_kind"
