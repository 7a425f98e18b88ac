"""The case state machine, in the guidance's words. Pure: a clock is passed in."""

from datetime import UTC, date, datetime, timedelta

import pytest

from tests.case_builders import (
    ENGLISH_AGENCIES,
    accept,
    asp_criteria_met,
    community_notification,
    custody_referral,
    meeting,
    referral,
)
from workflows.rules import events as ev
from workflows.rules.case import CaseFile, NoticeKind, RuleViolation, Stage, WrongStage
from workflows.rules.deadlines import DeadlineState
from workflows.rules.policy import DeadlineKind


def at(day: date, hour: int = 10) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=UTC)


def referred_case(level: int = 2, area: str = "lanarkshire") -> CaseFile:
    """A Scottish community case, notified Wed 4 Nov 2026, referred Mon 9 Nov, accepted the same day."""
    case = CaseFile.open(
        community_notification(disposal_date=date(2026, 11, 2), area=area), at(date(2026, 11, 4))
    )
    case.apply(
        ev.ScreeningDecision(outcome="referral-needed", reason="joint assessment: high risk"),
        at(date(2026, 11, 5)),
    )
    case.apply(referral(level), at(date(2026, 11, 9)))
    case.apply(accept(level), at(date(2026, 11, 9), 15))
    return case


def english_referred_case() -> CaseFile:
    """The same dates in Wiltshire and Swindon (England & Wales)."""
    case = CaseFile.open(
        community_notification(
            "MAPPA-WAS-2026-TEST01",
            area="wiltshire-and-swindon",
            disposal_date=date(2026, 11, 2),
            lead_agency="wiltshire-police",
        ),
        at(date(2026, 11, 4)),
    )
    case.apply(referral(2, agency="wiltshire-police"), at(date(2026, 11, 9)))
    case.apply(accept(2, ENGLISH_AGENCIES), at(date(2026, 11, 9), 15))
    return case


def test_a_notification_within_three_working_days_of_disposal_is_met_on_time():
    case = CaseFile.open(community_notification(disposal_date=date(2026, 11, 2)), at(date(2026, 11, 5)))
    d = case.deadlines["notification"]
    assert d.state is DeadlineState.MET and not d.met_late
    assert d.due_date == date(2026, 11, 5)


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
    assert case.open_deadlines() == []


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


def test_rejection_needs_reasons_and_sends_them_back():
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
    assert (
        decision.kind is NoticeKind.REFERRAL_DECISION
        and "level 1 management is sufficient" in decision.lines[0]
    )


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


def test_custody_referral_is_due_twelve_weeks_before_release_and_the_meeting_before_release():
    release = date(2027, 1, 8)
    case = CaseFile.open(custody_referral(release_date=release), at(date(2026, 12, 21)))
    custody = case.deadlines["custody-referral"]
    assert custody.due_date == release - timedelta(weeks=12)
    assert custody.met_late  # the referral came later than 12 weeks before release
    case.apply(accept(2), at(date(2026, 12, 22)))
    # 20 WD would be late January; the meeting must be before release.
    assert case.deadlines["initial-meeting"].due_date == date(2027, 1, 7)


def test_a_meeting_with_an_unsigned_confidentiality_statement_is_refused():
    case = referred_case()
    with pytest.raises(RuleViolation, match="confidentiality statement") as refused:
        case.check(
            meeting(date(2026, 12, 1), date(2027, 2, 1), unsigned="nhs-lanarkshire"), at(date(2026, 12, 1))
        )
    assert "nhs-lanarkshire" in refused.value.message


def test_a_level_2_review_date_beyond_twelve_weeks_in_scotland_is_refused():
    case = referred_case()
    held = date(2026, 12, 1)
    with pytest.raises(RuleViolation, match="12 weeks") as refused:
        case.check(meeting(held, held + timedelta(weeks=12, days=1)), at(held))
    assert refused.value.rule == "review date maximum"


def test_a_level_2_review_may_be_sixteen_weeks_away_in_england():
    case = english_referred_case()
    held = date(2026, 12, 1)
    case.apply(meeting(held, held + timedelta(weeks=16), attendees=ENGLISH_AGENCIES[:3]), at(held))
    assert case.deadlines["review:meeting-1"].due_date == held + timedelta(weeks=16)
    assert "swis-alert:meeting-1" not in case.deadlines  # SWIS is Scottish


def test_the_meeting_opens_minutes_swis_alert_rmp_actions_and_the_review():
    case = referred_case()
    held = date(2026, 12, 1)
    action = ev.RmpActionSet(
        action_id="A1",
        description="Home visit",
        owner_agency="lanarkshire-housing",
        due_date=date(2026, 12, 15),
    )
    receipt = case.apply(meeting(held, date(2027, 2, 9), actions=[action]), at(held, 16))
    assert case.stage is Stage.ACTIVE_MANAGEMENT
    assert case.deadlines["initial-meeting"].state is DeadlineState.MET
    assert case.deadlines["minutes:meeting-1"].due_date == date(2026, 12, 8)
    assert case.deadlines["swis-alert:meeting-1"].due_date == held
    assert case.deadlines["rmp:meeting-1:A1"].responsible == "lanarkshire-housing"
    assert case.deadlines["review:meeting-1"].due_date == date(2027, 2, 9)
    assert {c.change for c in receipt.changes} >= {"met", "opened"}


def test_minutes_go_only_to_attending_agencies():
    case = referred_case()
    held = date(2026, 12, 1)
    case.apply(meeting(held, date(2027, 2, 9)), at(held))
    with pytest.raises(RuleViolation, match="only to the agencies that attended"):
        case.check(ev.MinutesCirculated(meeting_id="meeting-1", recipients=["lanarkshire-housing"]), at(held))


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


def test_asp_does_not_apply_in_england():
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


def test_a_risk_change_escalating_to_level_3_rearms_the_review_at_six_weeks():
    case = referred_case()
    held = date(2026, 12, 1)
    case.apply(meeting(held, date(2027, 2, 23)), at(held))
    case.apply(
        ev.RiskChangeReported(
            reporting_agency="police-scotland-lanarkshire", direction="increased", summary="breach of licence"
        ),
        at(date(2026, 12, 10)),
    )
    assert case.deadlines["triage:risk-change-1"].due_date == date(2026, 12, 11)
    case.apply(
        ev.RiskChangeTriaged(
            change_id="risk-change-1",
            outcome="level-change",
            new_level=3,
            reason="risk now very high",
            level_2_cannot_deliver="police resources at short notice",
        ),
        at(date(2026, 12, 10), 15),
    )
    assert case.level == 3
    assert case.deadlines["review:meeting-1"].state is DeadlineState.CANCELLED
    review = next(d for d in case.open_deadlines() if d.kind is DeadlineKind.REVIEW_LEVEL_3)
    assert review.due_date == date(2026, 12, 10) + timedelta(weeks=6)


def test_a_deadline_is_reminded_then_breached_then_re_escalated_to_the_chair():
    case = referred_case()
    search = case.deadlines["record-search:nhs-lanarkshire"]
    case.take_outbox()
    assert search.reminder_at is not None
    case.tick(search.reminder_at)
    mine = [n for n in case.take_outbox() if n.deadline_id == search.deadline_id]
    assert [(n.kind, n.to) for n in mine] == [(NoticeKind.REMINDER, "nhs-lanarkshire")]
    case.tick(search.due_at)
    escalations = [n for n in case.take_outbox() if n.deadline_id == search.deadline_id]
    assert escalations[0].kind is NoticeKind.BREACH_ESCALATION and escalations[0].to == "co-ordinator"
    assert search.state is DeadlineState.BREACHED
    wake = case.next_wakeup()
    assert wake is not None and wake[0] > search.due_at
    case.tick(search.due_at + timedelta(days=4))
    re = [n for n in case.take_outbox() if n.deadline_id == search.deadline_id]
    assert re and re[0].kind is NoticeKind.RE_ESCALATION and re[0].to == "chair"


def test_a_deadline_met_late_closes_and_stays_recorded_as_breached():
    case = referred_case()
    search = case.deadlines["record-search:police-scotland-lanarkshire"]
    case.tick(search.due_at + timedelta(hours=1))
    case.apply(
        ev.RecordSearchReturned(agency="police-scotland-lanarkshire"), search.due_at + timedelta(days=1)
    )
    assert search.state is DeadlineState.MET and search.met_late and search.breached_at == search.due_at


def test_a_record_search_returned_by_an_agency_not_asked_is_refused():
    case = referred_case()
    with pytest.raises(RuleViolation, match="no record search was requested"):
        case.check(ev.RecordSearchReturned(agency="dwp"), at(date(2026, 11, 10)))


def test_events_out_of_stage_are_refused_with_the_stage_named():
    case = CaseFile.open(community_notification(disposal_date=date(2026, 11, 2)), at(date(2026, 11, 4)))
    with pytest.raises(WrongStage, match="stage 'notification'"):
        case.check(meeting(date(2026, 11, 4), date(2027, 1, 1)), at(date(2026, 11, 4)))


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


def test_a_person_who_is_not_an_offender_is_routed_to_an_information_sharing_meeting():
    case = CaseFile.open(
        community_notification(disposal_date=date(2026, 11, 2), subject_is_offender=False),
        at(date(2026, 11, 4)),
    )
    assert case.stage is Stage.ROUTED_TO_INFORMATION_SHARING_MEETING
    assert case.outbox[0].kind is NoticeKind.ROUTED_TO_INFORMATION_SHARING_MEETING


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


def test_subject_not_told_needs_a_reason():
    case = referred_case()
    with pytest.raises(RuleViolation, match="why the subject is not told"):
        case.check(ev.SubjectInformed(informed=False), at(date(2026, 11, 10)))


def test_a_closed_deadline_kept_out_of_state_after_archiving_stays_out_of_open_lists():
    case = referred_case()
    for agency in [
        "police-scotland-lanarkshire",
        "lanarkshire-justice-social-work",
        "nhs-lanarkshire",
        "lanarkshire-housing",
    ]:
        case.apply(ev.RecordSearchReturned(agency=agency), at(date(2026, 11, 11)))
    case.take_ledger_pending()
    dropped = case.archive_closed(keep=2)
    assert len(dropped) >= 4
    assert all(d not in case.deadlines for d in dropped)
    assert "initial-meeting" in case.deadlines


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


def test_archiving_keeps_the_newest_records_and_new_ids_never_repeat_an_archived_one():
    case = referred_case()
    held = date(2026, 12, 1)
    for week in range(4):
        day = held + timedelta(weeks=week)
        case.apply(meeting(day, day + timedelta(weeks=6)), at(day))
        case.apply(
            ev.RiskChangeReported(
                reporting_agency="nhs-lanarkshire", direction="decreased", summary="stable"
            ),
            at(day),
        )
        case.apply(
            ev.RiskChangeTriaged(change_id=f"risk-change-{week + 1}", outcome="no-action", reason="stable"),
            at(day),
        )
    case.take_ledger_pending()
    case.archive_closed(keep=2)
    assert [m.meeting_id for m in case.meetings] == ["meeting-3", "meeting-4"]
    assert [c.change_id for c in case.risk_changes] == ["risk-change-3", "risk-change-4"]
    day = held + timedelta(weeks=4)
    receipt = case.apply(meeting(day, day + timedelta(weeks=6)), at(day))
    assert case.meetings[-1].meeting_id == "meeting-5"
    assert any(c.deadline_id == "minutes:meeting-5" for c in receipt.changes)
