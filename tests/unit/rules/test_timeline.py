"""Issue 9 part 2, points 1-6: when the referral, the pre-notification deadlines, the custody / CPA meeting, the
pre-meeting information exchange, obligations after exit and a risk increase before the meeting fall due. In the
guidance's words (003, 001); pure: a clock is passed in."""

from datetime import date

import pytest

from tests.case_builders import (
    SCOTTISH_AGENCIES,
    SUBJECT,
    accept,
    community_notification,
    custody_referral,
    meeting,
    referral,
)
from tests.unit.rules.cases import at, referred_case
from workflows.rules import events as ev
from workflows.rules.calendar import Jurisdiction, local_date
from workflows.rules.case import CaseFile, NoticeKind, RuleViolation, Stage, WrongStage
from workflows.rules.deadlines import DeadlineState
from workflows.rules.policy import DeadlineKind
from workflows.rules.rule_changes import RULE_CHANGES


def opened_by(
    fact: ev.Event, route: ev.EntryRoute, lead: str, case_ref: str = "MAPPA-LAN-2026-TIME01"
) -> ev.CaseOpening:
    field = {
        ev.CourtDisposal: "disposal",
        ev.UpcomingRelease: "upcoming_release",
        ev.HospitalDischarge: "discharge",
    }
    return ev.CaseOpening.model_validate(
        {
            "case_ref": case_ref,
            "area": "lanarkshire",
            "jurisdiction": Jurisdiction.SCOTLAND,
            "category": 1,
            "lead_agency": lead,
            "route": route,
            "subject": SUBJECT,
            field[type(fact)]: fact,
        }
    )


def disposal_case(disposal: date, now_day: date) -> CaseFile:
    fact = ev.CourtDisposal(recorded_by="police-scotland-lanarkshire", disposal_date=disposal)
    return CaseFile.open(opened_by(fact, ev.EntryRoute.COMMUNITY, "police-scotland-lanarkshire"), at(now_day))


def release_case(release: date, now_day: date) -> CaseFile:
    fact = ev.UpcomingRelease(recorded_by="sps", release_date=release, icm_held_on=now_day)
    return CaseFile.open(opened_by(fact, ev.EntryRoute.CUSTODY, "sps"), at(now_day))


# ------------------------------------------------------------------ 1. referral deadline


def test_the_referral_is_due_five_working_days_from_submission_of_the_notification_not_from_its_screening():
    # Notified Wed 4 Nov 2026, screened on its third day (Fri 6 Nov): due Wed 11 Nov, not Fri 13 Nov.
    case = CaseFile.open(community_notification(disposal_date=date(2026, 11, 2)), at(date(2026, 11, 4)))
    case.apply(ev.ScreeningDecision(outcome="referral-needed", reason="high risk"), at(date(2026, 11, 6)))
    assert case.deadlines["referral"].due_date == date(2026, 11, 11)


def test_a_case_from_before_the_correction_keeps_counting_the_referral_from_screening():
    case = CaseFile.open(
        community_notification(disposal_date=date(2026, 11, 2)), at(date(2026, 11, 4)), rule_changes=[]
    )
    case.apply(ev.ScreeningDecision(outcome="referral-needed", reason="high risk"), at(date(2026, 11, 6)))
    assert case.deadlines["referral"].due_date == date(2026, 11, 13)


# ------------------------------------------------------------------ 2. deadlines that start before the case


def test_a_court_disposal_opens_the_case_awaiting_a_notification_due_three_working_days_after_it():
    case = disposal_case(date(2026, 11, 2), date(2026, 11, 2))
    d = case.deadlines["notification"]
    assert case.stage is Stage.AWAITING_NOTIFICATION
    assert d.state is DeadlineState.OPEN and d.due_date == date(2026, 11, 5)
    assert d.reminder_at is not None


def test_a_court_disposal_notified_later_counts_from_that_day_and_reminds_the_lead_authority_the_day_before():
    """003 stage 2: "within three workings days of being notified of a community sentence disposal"."""
    fact = ev.CourtDisposal(
        recorded_by="police-scotland-lanarkshire",
        disposal_date=date(2026, 10, 30),  # a Friday; the police heard of it on Wed 4 Nov
        disposal_notified_on=date(2026, 11, 4),
    )
    case = CaseFile.open(
        opened_by(fact, ev.EntryRoute.COMMUNITY, "police-scotland-lanarkshire"), at(date(2026, 11, 4))
    )
    d = case.deadlines["notification"]
    assert d.due_date == date(2026, 11, 9) and "being notified" in d.explanation
    assert d.reminder_at is not None and local_date(d.reminder_at) == date(2026, 11, 6)
    case.tick(d.reminder_at)
    assert [n.deadline_id for n in case.take_outbox() if n.kind is NoticeKind.REMINDER] == ["notification"]
    case.apply(
        ev.NotificationSubmitted(notifying_agency="police-scotland-lanarkshire"), at(date(2026, 11, 9))
    )
    assert d.state is DeadlineState.MET and not d.met_late


def test_a_notification_not_submitted_within_three_working_days_of_disposal_is_breached_and_escalated():
    case = disposal_case(date(2026, 11, 2), date(2026, 11, 2))
    case.tick(at(date(2026, 11, 4), 9))
    assert any(n.kind is NoticeKind.REMINDER for n in case.outbox)
    case.tick(at(date(2026, 11, 6)))
    assert case.deadlines["notification"].state is DeadlineState.BREACHED
    assert any(n.kind is NoticeKind.BREACH_ESCALATION for n in case.outbox)
    case.apply(
        ev.NotificationSubmitted(notifying_agency="police-scotland-lanarkshire"), at(date(2026, 11, 9))
    )
    assert case.deadlines["notification"].met_late and case.stage is Stage.NOTIFICATION
    assert case.deadlines["screening"].is_open


def test_an_upcoming_release_after_the_icm_makes_the_sps_referral_due_twelve_weeks_before_release():
    case = release_case(date(2027, 6, 4), date(2027, 2, 1))
    assert case.stage is Stage.AWAITING_NOTIFICATION
    assert case.deadlines["custody-referral"].due_date == date(2027, 3, 12)
    case.apply(referral(2, agency="sps"), at(date(2027, 3, 1)))
    assert case.deadlines["custody-referral"].state is DeadlineState.MET
    assert case.stage is Stage.REFERRAL


def test_a_late_custody_referral_carries_its_extenuating_circumstances():
    case = release_case(date(2027, 4, 2), date(2027, 2, 1))
    late = referral(2, agency="sps").model_copy(update={"extenuating_circumstances": "sentence recalculated"})
    case.apply(late, at(date(2027, 2, 10)))
    d = case.deadlines["custody-referral"]
    assert d.met_late and d.breach_note and "sentence recalculated" in d.breach_note


def test_a_restricted_patients_discharge_makes_the_hospitals_referral_due_before_discharge():
    fact = ev.HospitalDischarge(recorded_by="nhs-lanarkshire", discharge_date=date(2027, 6, 4))
    case = CaseFile.open(
        opened_by(fact, ev.EntryRoute.RESTRICTED_PATIENT, "nhs-lanarkshire"), at(date(2027, 2, 1))
    )
    assert case.deadlines["restricted-patient-referral"].due_date == date(2027, 3, 12)
    assert case.discharge_date == date(2027, 6, 4)


def test_when_the_release_date_moves_the_custody_referral_moves_with_it():
    case = release_case(date(2027, 6, 4), date(2027, 2, 1))
    case.apply(
        ev.ReleaseDateChanged(recorded_by="sps", release_date=date(2027, 7, 2), reason="parole"),
        at(date(2027, 2, 8)),
    )
    d = case.deadlines["custody-referral"]
    assert d.due_date == date(2027, 4, 9) and d.is_open


def test_a_pre_notification_opening_must_match_its_route():
    fact = ev.UpcomingRelease(recorded_by="sps", release_date=date(2027, 6, 4), icm_held_on=date(2027, 2, 1))
    with pytest.raises(RuleViolation, match="custody route"):
        CaseFile.open(opened_by(fact, ev.EntryRoute.COMMUNITY, "sps"), at(date(2027, 2, 1)))


# ------------------------------------------------------------------ 3. custody and CPA: before release


def test_a_custody_cases_initial_meeting_takes_place_before_release_not_within_twenty_working_days():
    case = release_case(date(2027, 6, 4), date(2027, 2, 1))
    case.apply(referral(2, agency="sps"), at(date(2027, 2, 15)))
    case.apply(accept(2), at(date(2027, 2, 16)))
    d = case.deadlines["initial-meeting"]
    assert d.kind is DeadlineKind.INITIAL_MEETING_BEFORE_RELEASE
    assert d.due_date == date(2027, 6, 3)  # the working day before release


def test_the_initial_meeting_moves_with_a_later_release_date():
    case = release_case(date(2027, 6, 4), date(2027, 2, 1))
    case.apply(referral(2, agency="sps"), at(date(2027, 2, 15)))
    case.apply(accept(2), at(date(2027, 2, 16)))
    case.apply(
        ev.ReleaseDateChanged(recorded_by="sps", release_date=date(2027, 9, 3), reason="appeal"),
        at(date(2027, 2, 17)),
    )
    assert case.deadlines["initial-meeting"].due_date == date(2027, 9, 2)


def _custody_meeting_brought_forward() -> CaseFile:
    """Release Fri 4 Jun 2027; accepted Tue 16 Feb; a risk increase triaged Wed 17 Feb brings the meeting forward
    to the extra review's 10 working days: Wed 3 Mar."""
    case = release_case(date(2027, 6, 4), date(2027, 2, 1))
    case.apply(referral(2, agency="sps"), at(date(2027, 2, 15)))
    case.apply(accept(2), at(date(2027, 2, 16)))
    case.apply(
        ev.RiskChangeReported(reporting_agency="sps", direction="increased", summary="threats"),
        at(date(2027, 2, 17)),
    )
    case.apply(
        ev.RiskChangeTriaged(change_id="risk-change-1", outcome="extra-review", reason="meet sooner"),
        at(date(2027, 2, 17), 14),
    )
    assert case.deadlines["initial-meeting"].due_date == date(2027, 3, 3)
    case.take_outbox()
    return case


def test_a_new_release_date_keeps_the_meeting_a_risk_triage_brought_forward_and_tells_the_co_ordinator():
    """001, 003: after a change in risk "it may be necessary for a review to take place sooner than expected"; a
    later release does not undo that. An earlier release still brings the meeting before it (003)."""
    case = _custody_meeting_brought_forward()
    case.apply(
        ev.ReleaseDateChanged(recorded_by="sps", release_date=date(2027, 9, 3), reason="appeal"),
        at(date(2027, 2, 18)),
    )
    assert case.deadlines["initial-meeting"].due_date == date(2027, 3, 3)
    assert not [n for n in case.take_outbox() if n.kind is NoticeKind.DEADLINE_MOVED]  # nothing moved
    case.apply(
        ev.ReleaseDateChanged(recorded_by="sps", release_date=date(2027, 3, 2), reason="parole"),
        at(date(2027, 2, 19)),
    )
    meeting_due = case.deadlines["initial-meeting"]
    assert meeting_due.due_date == date(2027, 3, 1)  # the working day before the new release
    [moved] = [n for n in case.take_outbox() if n.kind is NoticeKind.DEADLINE_MOVED]
    assert moved.to == "co-ordinator" and moved.due_at == meeting_due.due_at
    assert "release date moved to Tue 02 Mar 2027 (parole)" in moved.lines


def test_a_case_from_before_the_correction_lets_a_new_release_date_undo_the_triages_date_silently():
    case = release_case(date(2027, 6, 4), date(2027, 2, 1))
    case.rule_changes.remove("meeting-brought-forward-stays")
    case.apply(referral(2, agency="sps"), at(date(2027, 2, 15)))
    case.apply(accept(2), at(date(2027, 2, 16)))
    case.apply(
        ev.RiskChangeReported(reporting_agency="sps", direction="increased", summary="threats"),
        at(date(2027, 2, 17)),
    )
    case.apply(
        ev.RiskChangeTriaged(change_id="risk-change-1", outcome="extra-review", reason="meet sooner"),
        at(date(2027, 2, 17), 14),
    )
    case.apply(
        ev.ReleaseDateChanged(recorded_by="sps", release_date=date(2027, 9, 3), reason="appeal"),
        at(date(2027, 2, 18)),
    )
    assert case.deadlines["initial-meeting"].due_date == date(2027, 9, 2)


# ------------------------------------------------------------------ 4. pre-meeting information exchange


def test_record_searches_fall_due_early_enough_for_the_results_to_be_sent_before_a_level_3_meeting():
    case = referred_case(level=3)  # referred and accepted Mon 9 Nov: meeting due Mon 16 Nov
    assert case.deadlines["initial-meeting"].due_date == date(2026, 11, 16)
    assert case.deadlines[f"record-search:{SCOTTISH_AGENCIES[0]}"].due_date == date(2026, 11, 11)
    assert case.deadlines["pre-meeting-information"].due_date == date(2026, 11, 13)


def test_the_compiled_results_go_to_every_attending_agency_as_a_notice():
    case = referred_case(level=2)
    case.outbox.clear()
    case.apply(ev.PreMeetingInformationSent(attending_agencies=SCOTTISH_AGENCIES[:3]), at(date(2026, 11, 20)))
    sent = [n.to for n in case.outbox if n.kind is NoticeKind.PRE_MEETING_INFORMATION]
    assert sent == SCOTTISH_AGENCIES[:3]
    assert case.deadlines["pre-meeting-information"].state is DeadlineState.MET


def test_a_case_open_to_asp_sends_the_pre_meeting_information_to_the_asp_chair_too():
    case = referred_case(level=2)
    case.asp_open, case.asp_chair_agency = True, "south-lanarkshire-council"
    with pytest.raises(RuleViolation, match="ASP chair"):
        case.apply(
            ev.PreMeetingInformationSent(attending_agencies=SCOTTISH_AGENCIES[:3]), at(date(2026, 11, 20))
        )


def test_a_meeting_held_before_the_information_was_sent_escalates_it():
    case = referred_case(level=2)
    case.apply(meeting(date(2026, 11, 20), date(2027, 1, 29)), at(date(2026, 11, 20), 15))
    d = case.deadlines["pre-meeting-information"]
    assert d.breached_at is not None and d.state is DeadlineState.CANCELLED


def test_a_meeting_held_after_the_pre_meeting_information_was_already_missed_does_not_escalate_it_again():
    # Level 3, referred Mon 9 Nov: the information is due by Fri 13 Nov and missed (escalated Sat 14 Nov); the
    # meeting held on Mon 16 Nov without it leaves it breached, escalated once, then moot.
    case = referred_case(level=3)
    case.tick(at(date(2026, 11, 14), 9))
    case.apply(meeting(date(2026, 11, 16), date(2026, 12, 21), level=3), at(date(2026, 11, 16), 15))
    pack = case.deadlines["pre-meeting-information"]
    assert pack.breached_at is not None and pack.state is DeadlineState.CANCELLED
    escalated = [
        n
        for n in case.outbox
        if n.kind is NoticeKind.BREACH_ESCALATION and n.deadline_id == "pre-meeting-information"
    ]
    assert len(escalated) == 1


def test_pre_meeting_information_asked_for_on_the_meetings_due_day_is_due_that_day_not_already_missed():
    # Level 3, referred Mon 9 Nov, accepted only on Mon 16 Nov, the meeting's own due day: counted back one
    # working day the information would have been due on Fri 13 Nov; it is due by the end of today instead.
    case = CaseFile.open(community_notification(disposal_date=date(2026, 11, 2)), at(date(2026, 11, 4)))
    case.apply(ev.ScreeningDecision(outcome="referral-needed", reason="high risk"), at(date(2026, 11, 5)))
    case.apply(referral(3), at(date(2026, 11, 9)))
    case.apply(accept(3), at(date(2026, 11, 16)))
    pack = case.deadlines["pre-meeting-information"]
    assert pack.due_date == date(2026, 11, 16) and pack.due_at > pack.opened_at
    case.tick(at(date(2026, 11, 16), 11))
    assert pack.state is DeadlineState.OPEN


def test_pre_meeting_information_already_sent_is_not_due_again_when_the_release_date_moves():
    # Custody, level 2: the release date was in fact long past, so the meeting falls due 20 working days from
    # the referral (Thu 3 Dec) and the information the working day before (Wed 2 Dec). It is missed, escalated,
    # then sent on Thu 3 Dec; a further correction of the release date that day does not ask for it again.
    case = CaseFile.open(custody_referral(release_date=date(2027, 3, 1)), at(date(2026, 11, 4)))
    case.apply(accept(2, [SCOTTISH_AGENCIES[0]]), at(date(2026, 11, 5)))
    case.apply(
        ev.ReleaseDateChanged(recorded_by="sps", release_date=date(2000, 1, 1), reason="appeal"),
        at(date(2026, 11, 5), 11),
    )
    assert case.deadlines["pre-meeting-information"].due_date == date(2026, 12, 2)
    case.tick(at(date(2026, 12, 3), 9))
    case.apply(ev.PreMeetingInformationSent(attending_agencies=SCOTTISH_AGENCIES[:3]), at(date(2026, 12, 3)))
    case.apply(
        ev.ReleaseDateChanged(recorded_by="sps", release_date=date(2026, 11, 4), reason="appeal"),
        at(date(2026, 12, 3), 11),
    )
    case.tick(at(date(2026, 12, 4), 9))
    pack = case.deadlines["pre-meeting-information"]
    assert pack.met_late
    escalated = [
        n
        for n in case.outbox
        if n.kind is NoticeKind.BREACH_ESCALATION and n.deadline_id == "pre-meeting-information"
    ]
    assert len(escalated) == 1


def custody_case_accepted_on(day: date, hour: int = 10) -> CaseFile:
    """A custody case (release Mon 1 Mar 2027) referred by SPS at level 3 on Wed 4 Nov 2026, accepted with one
    record search on `day`. Without the release date, its meeting would be due 5 working days from the referral
    (Wed 11 Nov)."""
    case = CaseFile.open(custody_referral(release_date=date(2027, 3, 1), level=3), at(date(2026, 11, 4)))
    decision = accept(3, [SCOTTISH_AGENCIES[0]]).model_copy(
        update={"level_2_cannot_deliver": "Level 2 cannot commit surveillance at short notice."}
    )
    case.apply(decision, at(day, hour))
    return case


def test_a_release_date_moved_into_the_past_leaves_a_record_search_asked_for_today_due_today_not_before():
    # Record search requested Thu 12 Nov; the release date turns out to have been Wed 4 Nov, so the initial
    # meeting (due before release) is already overdue. The agency asked today has until the end of today.
    case = custody_case_accepted_on(date(2026, 11, 12))
    case.apply(
        ev.ReleaseDateChanged(recorded_by="sps", release_date=date(2026, 11, 4), reason="appeal"),
        at(date(2026, 11, 12), 11),
    )
    search = case.deadlines[f"record-search:{SCOTTISH_AGENCIES[0]}"]
    assert search.due_date == date(2026, 11, 12) and search.due_at >= search.opened_at
    assert case.deadlines["initial-meeting"].due_date < date(2026, 11, 12)
    case.tick(at(date(2026, 11, 12), 11))
    assert search.state is DeadlineState.OPEN  # not in breach before it was asked for


def test_a_record_search_already_missed_stays_breached_as_missed_when_the_release_date_moves_into_the_past():
    # Requested Fri 6 Nov, due Fri 13 Nov, missed and escalated; on Mon 16 Nov the release date is found to
    # have been Wed 4 Nov. The search stays breached as of 13 Nov and is not escalated a second time.
    case = custody_case_accepted_on(date(2026, 11, 6))
    search_id = f"record-search:{SCOTTISH_AGENCIES[0]}"
    case.tick(at(date(2026, 11, 14), 9))
    assert case.deadlines[search_id].state is DeadlineState.BREACHED
    case.apply(
        ev.ReleaseDateChanged(recorded_by="sps", release_date=date(2026, 11, 4), reason="appeal"),
        at(date(2026, 11, 16)),
    )
    case.tick(at(date(2026, 11, 16)))
    search = case.deadlines[search_id]
    assert search.state is DeadlineState.BREACHED and search.due_date == date(2026, 11, 13)
    escalated = [
        n for n in case.outbox if n.kind is NoticeKind.BREACH_ESCALATION and n.deadline_id == search_id
    ]
    assert len(escalated) == 1 and escalated[0].due_at == search.due_at


def test_an_initial_meeting_already_missed_stays_breached_as_missed_when_the_release_date_moves_again():
    # Level 2, release brought forward to Fri 20 Nov: the meeting, due the working day before (Thu 19 Nov), is
    # missed and escalated. On Thu 10 Dec the release date is found to have been Wed 4 Nov: the meeting would now
    # count 20 working days from the referral (Thu 3 Dec, also past). It stays missed as of 19 Nov, escalated once.
    case = CaseFile.open(custody_referral(release_date=date(2027, 3, 1)), at(date(2026, 11, 4)))
    case.apply(accept(2, [SCOTTISH_AGENCIES[0]]), at(date(2026, 11, 5)))
    case.apply(
        ev.ReleaseDateChanged(recorded_by="sps", release_date=date(2026, 11, 20), reason="parole"),
        at(date(2026, 11, 6)),
    )
    assert case.deadlines["initial-meeting"].due_date == date(2026, 11, 19)
    case.tick(at(date(2026, 11, 20), 9))
    case.apply(
        ev.ReleaseDateChanged(recorded_by="sps", release_date=date(2026, 11, 4), reason="appeal"),
        at(date(2026, 12, 10)),
    )
    case.tick(at(date(2026, 12, 10)))
    meeting_ = case.deadlines["initial-meeting"]
    assert meeting_.state is DeadlineState.BREACHED and meeting_.due_date == date(2026, 11, 19)
    escalated = [
        n
        for n in case.outbox
        if n.kind is NoticeKind.BREACH_ESCALATION and n.deadline_id == "initial-meeting"
    ]
    assert [n.due_at for n in escalated] == [meeting_.due_at]


def test_a_case_from_before_breach_escalated_once_re_dates_a_missed_meeting_as_it_did():
    case = CaseFile.open(
        custody_referral(release_date=date(2027, 3, 1)),
        at(date(2026, 11, 4)),
        rule_changes=[name for name in RULE_CHANGES if name != "breach-escalated-once"],
    )
    case.apply(accept(2, [SCOTTISH_AGENCIES[0]]), at(date(2026, 11, 5)))
    case.apply(
        ev.ReleaseDateChanged(recorded_by="sps", release_date=date(2026, 11, 20), reason="parole"),
        at(date(2026, 11, 6)),
    )
    case.tick(at(date(2026, 11, 20), 9))
    case.apply(
        ev.ReleaseDateChanged(recorded_by="sps", release_date=date(2026, 11, 4), reason="appeal"),
        at(date(2026, 12, 10)),
    )
    assert case.deadlines["initial-meeting"].due_date == date(2026, 12, 3)


# ------------------------------------------------------------------ 5. obligations that outlive exit


def test_minutes_still_to_circulate_stay_open_after_exit_and_the_case_closes_when_they_are_met():
    case = referred_case(level=2)
    case.apply(meeting(date(2026, 11, 20), date(2027, 1, 29)), at(date(2026, 11, 20), 15))
    case.apply(ev.ExitDecision(outcome="exit", reason="died"), at(date(2026, 11, 23)))
    assert case.stage is Stage.EXITING
    assert case.deadlines["minutes:meeting-1"].is_open
    assert case.deadlines["review:meeting-1"].state is DeadlineState.CANCELLED
    with pytest.raises(WrongStage):
        case.apply(
            ev.RiskChangeReported(reporting_agency="sps", direction="increased", summary="x"),
            at(date(2026, 11, 24)),
        )
    case.apply(
        ev.MinutesCirculated(meeting_id="meeting-1", recipients=SCOTTISH_AGENCIES[:3]), at(date(2026, 11, 24))
    )
    assert case.stage is Stage.EXITING  # the SWIS alert after the meeting outlives the exit too (000)
    case.apply(ev.SwisAlertUpdated(meeting_id="meeting-1"), at(date(2026, 11, 24)))
    assert case.stage is Stage.EXITED


def test_a_subject_access_request_about_an_exited_case_is_still_possible():
    case = referred_case(level=2)
    case.apply(meeting(date(2026, 11, 20), date(2027, 1, 29)), at(date(2026, 11, 20), 15))
    case.apply(
        ev.MinutesCirculated(meeting_id="meeting-1", recipients=SCOTTISH_AGENCIES[:3]), at(date(2026, 11, 23))
    )
    case.apply(ev.SwisAlertUpdated(meeting_id="meeting-1"), at(date(2026, 11, 23)))
    case.apply(ev.ExitDecision(outcome="exit", reason="moved abroad"), at(date(2026, 11, 24)))
    assert case.stage is Stage.EXITED
    case.apply(ev.SubjectAccessRequested(meeting_ids=["meeting-1"]), at(date(2026, 12, 1)))
    assert case.stage is Stage.EXITING and case.deadlines["sar-1"].is_open
    case.apply(
        ev.SarDecided(sar_id="sar-1", outcome="disclose", reason="no exemption"), at(date(2026, 12, 2))
    )
    assert case.stage is Stage.EXITED


# ------------------------------------------------------------------ 6. risk increase before the initial meeting


def test_a_risk_increase_before_the_initial_meeting_can_raise_the_level_and_bring_the_meeting_forward():
    case = referred_case(level=2)  # level 2 meeting due Mon 7 Dec
    case.apply(
        ev.RiskChangeReported(reporting_agency="sps", direction="increased", summary="threats"),
        at(date(2026, 11, 16)),
    )
    case.apply(
        ev.RiskChangeTriaged(
            change_id="risk-change-1",
            outcome="level-change",
            new_level=3,
            level_2_cannot_deliver="police surveillance at short notice",
            reason="threats to a named victim",
        ),
        at(date(2026, 11, 16), 14),
    )
    d = case.deadlines["initial-meeting"]
    assert case.level == 3 and d.kind is DeadlineKind.INITIAL_MEETING_LEVEL_3
    assert d.due_date == date(2026, 11, 23)


def test_raising_to_level_3_before_the_meeting_needs_the_level_3_statement():
    case = referred_case(level=2)
    case.apply(
        ev.RiskChangeReported(reporting_agency="sps", direction="increased", summary="x"),
        at(date(2026, 11, 16)),
    )
    with pytest.raises(RuleViolation, match="what level 2 cannot deliver"):
        case.apply(
            ev.RiskChangeTriaged(change_id="risk-change-1", outcome="level-change", new_level=3, reason="x"),
            at(date(2026, 11, 16), 14),
        )


def test_a_risk_increase_before_the_initial_meeting_can_bring_the_meeting_forward():
    case = referred_case(level=2)
    case.apply(
        ev.RiskChangeReported(reporting_agency="sps", direction="increased", summary="x"),
        at(date(2026, 11, 16)),
    )
    case.apply(
        ev.RiskChangeTriaged(change_id="risk-change-1", outcome="extra-review", reason="sooner"),
        at(date(2026, 11, 16), 14),
    )
    assert case.deadlines["initial-meeting"].due_date == date(2026, 12, 1)  # 30 Nov: St Andrew's Day
    assert case.level == 2


def test_a_custody_case_raised_to_level_3_before_its_meeting_is_titled_as_the_level_3_meeting_before_release():
    """003: "the initial Level 2 or Level 3 meeting must take place prior to their release": still before release,
    now as the level 3 meeting."""
    case = release_case(date(2027, 6, 4), date(2027, 2, 1))
    case.apply(referral(2, agency="sps"), at(date(2027, 2, 15)))
    case.apply(accept(2), at(date(2027, 2, 16)))
    assert case.deadlines["initial-meeting"].title.endswith("(level 2)")
    case.apply(
        ev.RiskChangeReported(reporting_agency="sps", direction="increased", summary="threats"),
        at(date(2027, 2, 17)),
    )
    case.apply(
        ev.RiskChangeTriaged(
            change_id="risk-change-1",
            outcome="level-change",
            new_level=3,
            level_2_cannot_deliver="police surveillance at short notice",
            reason="threats to a named victim",
        ),
        at(date(2027, 2, 17), 14),
    )
    meeting_due = case.deadlines["initial-meeting"]
    assert case.level == 3 and meeting_due.title.endswith("(level 3)")
    assert meeting_due.due_date == date(2027, 6, 3)


def test_every_correction_here_is_in_force_for_new_cases():
    assert {
        "referral-from-notification",
        "initial-meeting-before-release",
        "pre-meeting-information-exchange",
        "obligations-outlive-exit",
        "risk-increase-before-initial-meeting",
    } <= set(RULE_CHANGES)


def test_the_deadline_calculator_knows_the_new_rules():
    from api.calculator import calculate_deadline

    meeting = calculate_deadline("lanarkshire", "initial-meeting-before-release", date(2027, 6, 7))
    assert meeting.due_date == date(2027, 6, 4)  # the working day before a Monday release
    assert calculate_deadline(
        "lanarkshire", "restricted-patient-referral", date(2027, 6, 4)
    ).due_date == date(2027, 3, 12)
    assert calculate_deadline("lanarkshire", "pre-meeting-information", date(2026, 11, 16)).due_date == date(
        2026, 11, 13
    )
    assert calculate_deadline(
        "lanarkshire", "record-search-before-meeting", date(2026, 11, 16)
    ).due_date == date(2026, 11, 11)
