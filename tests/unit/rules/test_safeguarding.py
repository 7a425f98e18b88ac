"""Safeguarding alongside MAPPA: ASP in Scotland (000), adults at risk in England and Wales (002, 004), child
protection (002). In the guidance's words; pure: a clock is passed in."""

from dataclasses import replace
from datetime import date, timedelta

import pytest

from tests.case_builders import (
    SCOTTISH_AGENCIES as SCOTTISH,
)
from tests.case_builders import (
    accept,
    asp_criteria_met,
    community_notification,
    meeting,
    referral,
)
from tests.unit.rules.cases import at, english_referred_case, referred_case
from workflows.rules import events as ev
from workflows.rules.case import CaseFile, NoticeKind, RuleViolation
from workflows.rules.deadlines import DeadlineState, calculate
from workflows.rules.policy import AREAS, DeadlineKind, Timescale, area_policy

COUNCIL = "south-lanarkshire-council"
VICTIM = "Morag Dalgleish-Finch"


def asp_not_met() -> ev.AspScreening:
    return asp_criteria_met().model_copy(update={"more_vulnerable_than_others": False})


def name_chair(case: CaseFile, when: date, hour: int = 11) -> None:
    case.apply(ev.AspChairNamed(asp_chair_agency=COUNCIL), at(when, hour))


# ------------------------------------------------------------------ ASP (000)


def test_asp_criteria_met_need_an_ap1_referral_within_24_hours_and_before_any_meeting():
    case = referred_case()
    case.apply(asp_criteria_met(), at(date(2026, 11, 9), 16))
    ap1 = case.deadlines["ap1-referral"]
    assert ap1.due_at == at(date(2026, 11, 10), 16)  # 24 hours from the screening that found the criteria met
    held = date(2026, 11, 20)
    case.take_outbox()
    case.apply(meeting(held, date(2027, 2, 9)), at(held))
    assert case.deadlines["ap1-referral"].state is DeadlineState.BREACHED
    assert "before the AP1 referral" in (case.deadlines["ap1-referral"].breach_note or "")
    assert any(
        n.kind is NoticeKind.BREACH_ESCALATION and n.deadline_id == "ap1-referral" for n in case.outbox
    )


def test_every_notification_is_screened_against_the_three_point_criteria_whatever_its_category_or_level():
    for category in (1, 2, 3):
        case = CaseFile.open(
            community_notification(disposal_date=date(2026, 11, 2), category=category), at(date(2026, 11, 4))
        )
        screening = case.deadlines["asp-screening:notification"]
        assert screening.kind is DeadlineKind.ASP_SCREENING
        assert screening.due_at == at(date(2026, 11, 5))  # 24 hours
    level_1 = CaseFile.open(community_notification(disposal_date=date(2026, 11, 2)), at(date(2026, 11, 4)))
    level_1.apply(
        ev.ScreeningDecision(outcome="level-1", reason="ordinary management"), at(date(2026, 11, 4), 12)
    )
    level_1.apply(asp_criteria_met(), at(date(2026, 11, 4), 15))
    assert level_1.deadlines["asp-screening:notification"].state is DeadlineState.MET
    # The 24 hours for the AP1 run from the screening that found the criteria met.
    assert level_1.deadlines["ap1-referral"].due_at == at(date(2026, 11, 5), 15)


def test_every_referral_is_screened_too_and_one_screening_answers_both():
    case = referred_case()
    assert {d.deadline_id for d in case.open_deadlines() if d.kind is DeadlineKind.ASP_SCREENING} == {
        "asp-screening:notification",
        "asp-screening",
    }
    case.apply(asp_criteria_met(), at(date(2026, 11, 9), 16))
    assert not [d for d in case.open_deadlines() if d.kind is DeadlineKind.ASP_SCREENING]
    assert case.deadlines["ap1-referral"].due_at == at(date(2026, 11, 10), 16)  # from the screening


def test_a_case_can_involve_more_than_one_adult_at_risk_each_with_their_own_ap1():
    case = referred_case()
    case.apply(asp_criteria_met(), at(date(2026, 11, 9), 16))
    case.apply(asp_criteria_met().model_copy(update={"adult_name": VICTIM}), at(date(2026, 11, 10), 9))
    assert [(a.adult_id, a.name, a.criteria_met) for a in case.adults_at_risk] == [
        ("adult-1", None, True),
        ("adult-2", VICTIM, True),
    ]
    victim_ap1 = case.deadlines["ap1-referral:adult-2"]
    assert victim_ap1.due_at == at(date(2026, 11, 11), 9)  # screened when nothing was due: from the screening
    assert VICTIM not in victim_ap1.title + victim_ap1.explanation  # names stay in the case file
    with pytest.raises(RuleViolation, match="give the adult_id"):
        case.check(ev.Ap1ReferralMade(locality="Hamilton"), at(date(2026, 11, 10), 10))
    case.apply(ev.Ap1ReferralMade(locality="Hamilton", adult_id="adult-2"), at(date(2026, 11, 10), 10))
    assert victim_ap1.state is DeadlineState.MET
    assert case.deadlines["ap1-referral"].is_open


def test_a_re_screening_counts_the_ap1_s_24_hours_from_the_screening_never_opening_it_already_breached():
    case = referred_case()
    case.apply(asp_not_met(), at(date(2026, 11, 9), 16))
    assert "ap1-referral" not in case.deadlines
    rescreened = at(date(2026, 11, 16), 14)  # a week later the adult's circumstances changed
    case.apply(asp_criteria_met().model_copy(update={"adult_id": "adult-1"}), rescreened)
    ap1 = case.deadlines["ap1-referral"]
    assert ap1.state is DeadlineState.OPEN and ap1.due_at == rescreened + timedelta(hours=24)
    case.tick(rescreened + timedelta(hours=1))
    assert ap1.state is DeadlineState.OPEN


def test_the_ap1_s_24_hours_run_from_the_screening_that_found_the_criteria_so_the_lead_agency_is_reminded():
    """000: "if the MAPPA Coordinator knows or believes the adult meets the criteria" the AP1 follows "within 24
    hours": the lead agency cannot act before the criteria are known, so its 24 hours start there, and it is
    reminded before they end (the screening itself is due 24 hours from receipt)."""
    case = referred_case()  # referral received Mon 9 Nov at 10:00
    screened = at(date(2026, 11, 10), 9)  # screened just inside its own 24 hours
    case.apply(asp_criteria_met(), screened)
    ap1 = case.deadlines["ap1-referral"]
    assert ap1.due_at == screened + timedelta(hours=24) and ap1.state is DeadlineState.OPEN
    assert ap1.reminder_at == ap1.due_at - timedelta(hours=4)
    case.take_outbox()
    case.tick(ap1.reminder_at)
    assert [n.to for n in case.take_outbox() if n.kind is NoticeKind.REMINDER] == [
        "police-scotland-lanarkshire"
    ]
    case.tick(ap1.due_at)
    assert ap1.state is DeadlineState.BREACHED


def test_a_meeting_held_before_the_screening_found_the_criteria_met_is_the_co_ordinators_lateness_not_the_lead_agencys():
    """000: the co-ordinator considers every referral "prior to any MAPPA meeting"; a screening that comes after a
    meeting is late as of that meeting. The lead agency's AP1 still has its 24 hours from the screening."""
    case = referred_case()
    held = date(2026, 11, 9)
    case.apply(meeting(held, date(2027, 2, 1)), at(held, 15))
    case.take_outbox()
    screened = at(date(2026, 11, 9), 17)  # within the screening's 24 hours, but after the meeting
    case.apply(asp_criteria_met(), screened)
    ap1 = case.deadlines["ap1-referral"]
    assert ap1.state is DeadlineState.OPEN and ap1.due_at == screened + timedelta(hours=24)
    screening = case.deadlines["asp-screening"]
    assert screening.met_late and screening.breached_at == at(held, 12)
    assert "meeting-1 was held before the screening" in (screening.breach_note or "")
    [escalation] = [n for n in case.take_outbox() if n.kind is NoticeKind.BREACH_ESCALATION]
    assert escalation.deadline_id == "asp-screening" and escalation.to == "chair"


def test_a_case_from_before_the_correction_leaves_the_ap1_breached_as_of_a_meeting_recorded_before_the_screening():
    case = referred_case()
    case.rule_changes.remove("ap1-from-the-screening")
    held = date(2026, 11, 20)
    case.apply(meeting(held, date(2027, 2, 9)), at(held, 15))
    case.take_outbox()
    case.apply(asp_criteria_met(), at(date(2026, 11, 23)))
    ap1 = case.deadlines["ap1-referral"]
    assert ap1.state is DeadlineState.BREACHED
    assert ap1.breached_at is not None and ap1.breached_at <= at(held, 12)
    assert "meeting-1 was held before the AP1 referral" in (ap1.breach_note or "")
    assert [n.deadline_id for n in case.outbox if n.kind is NoticeKind.BREACH_ESCALATION] == ["ap1-referral"]


def test_a_case_opened_before_the_corrections_keeps_the_ap1_clock_from_the_referral():
    case = CaseFile.open(
        community_notification(disposal_date=date(2026, 11, 2)), at(date(2026, 11, 4)), rule_changes=[]
    )
    assert "asp-screening:notification" not in case.deadlines
    case.apply(ev.ScreeningDecision(outcome="referral-needed", reason="high risk"), at(date(2026, 11, 5)))
    case.apply(referral(2), at(date(2026, 11, 9)))
    case.apply(asp_not_met(), at(date(2026, 11, 9), 12))
    case.apply(asp_criteria_met(), at(date(2026, 11, 16)))
    assert case.deadlines["ap1-referral"].due_at == at(date(2026, 11, 10))


def test_the_asp_case_conference_route_opens_the_case_with_the_asp_side_open_and_its_chair_named():
    opening = community_notification(disposal_date=date(2026, 11, 2)).model_copy(
        update={"route": ev.EntryRoute.ASP_CASE_CONFERENCE, "asp_chair_agency": COUNCIL}
    )
    case = CaseFile.open(opening, at(date(2026, 11, 4)))
    assert case.asp_open and case.asp_chair_agency == COUNCIL and case.asp_chair_named
    with pytest.raises(RuleViolation, match="opens with its ASP chair"):
        CaseFile.open(opening.model_copy(update={"asp_chair_agency": None}), at(date(2026, 11, 4)))
    with pytest.raises(RuleViolation, match="only a case referred by an ASP case conference"):
        CaseFile.open(opening.model_copy(update={"route": ev.EntryRoute.COMMUNITY}), at(date(2026, 11, 4)))


def test_when_the_case_is_open_to_asp_both_chairs_get_the_minutes_until_the_asp_side_closes():
    case = referred_case()
    case.apply(asp_criteria_met(), at(date(2026, 11, 9), 12))
    case.apply(ev.Ap1ReferralMade(locality="Hamilton"), at(date(2026, 11, 9), 13))
    name_chair(case, date(2026, 11, 9), 14)
    held = date(2026, 11, 20)
    case.apply(meeting(held, date(2027, 2, 9)), at(held))
    with pytest.raises(RuleViolation, match="ASP chair"):
        case.check(
            ev.MinutesCirculated(meeting_id="meeting-1", recipients=["police-scotland-lanarkshire"]), at(held)
        )
    case.apply(
        ev.MinutesCirculated(meeting_id="meeting-1", recipients=["police-scotland-lanarkshire", COUNCIL]),
        at(held),
    )
    assert case.deadlines["minutes:meeting-1"].state is DeadlineState.MET

    case.apply(ev.AspSideClosed(reason="ASP protection plan ended"), at(date(2026, 11, 24)))
    second = date(2026, 12, 1)
    case.apply(meeting(second, date(2027, 2, 9)), at(second))
    with pytest.raises(RuleViolation, match="attended"):
        case.check(ev.MinutesCirculated(meeting_id="meeting-2", recipients=[COUNCIL]), at(second))
    case.apply(
        ev.MinutesCirculated(meeting_id="meeting-2", recipients=["police-scotland-lanarkshire"]), at(second)
    )


# ------------------------------------------------------------------ both forums at once (000)


def _asp_route_case() -> CaseFile:
    """A case an ASP case conference referred, its ASP chair (the council) named by the co-ordinator."""
    opening = community_notification(disposal_date=date(2026, 11, 2)).model_copy(
        update={
            "route": ev.EntryRoute.ASP_CASE_CONFERENCE,
            "asp_chair_agency": COUNCIL,
            "notification": None,
            "referral": referral(2),
        }
    )
    return CaseFile.open(opening, at(date(2026, 11, 4)))


def test_the_co_ordinator_advises_both_chairs_whether_an_asp_referral_meets_the_mappa_threshold():
    case = _asp_route_case()
    case.take_outbox()
    case.apply(accept(2), at(date(2026, 11, 5)))
    advised = {n.to for n in case.outbox if n.kind is NoticeKind.REFERRAL_DECISION}
    assert {"chair", COUNCIL} <= advised  # the MAPPA chair and the ASP chair, besides the referrer


def test_the_council_officer_attends_the_mappa_meeting_of_a_case_referred_between_the_forums():
    case = _asp_route_case()
    case.apply(accept(2), at(date(2026, 11, 5)))
    held = date(2026, 11, 20)
    case.take_outbox()
    case.apply(meeting(held, date(2027, 2, 9)), at(held))  # police, justice social work, health: no council
    (shortfall,) = case.meetings[-1].shortfalls
    assert "council officer" in shortfall and COUNCIL in shortfall
    assert any(n.kind is NoticeKind.MEETING_SHORTFALL for n in case.outbox)
    with_council = meeting(date(2026, 12, 1), date(2027, 2, 9), attendees=[SCOTTISH[0], SCOTTISH[1], COUNCIL])
    case.apply(with_council, at(date(2026, 12, 1)))
    assert not case.meetings[-1].shortfalls


def test_copies_of_the_minutes_are_shared_with_both_chairs_when_there_is_an_open_mappa_and_asp_case():
    case = _asp_route_case()
    case.apply(accept(2), at(date(2026, 11, 5)))
    held = date(2026, 11, 20)
    case.apply(meeting(held, date(2027, 2, 9), attendees=[SCOTTISH[1], SCOTTISH[0], COUNCIL]), at(held))
    chair = case.meetings[-1].chair_agency
    with pytest.raises(RuleViolation, match="both chairs") as refused:
        case.check(ev.MinutesCirculated(meeting_id="meeting-1", recipients=[COUNCIL]), at(held))
    assert chair in refused.value.message
    case.apply(ev.MinutesCirculated(meeting_id="meeting-1", recipients=[chair, COUNCIL]), at(held))


def test_the_co_ordinator_is_prompted_to_name_the_asp_chair_when_the_asp_side_opens():
    case = referred_case()
    case.apply(asp_criteria_met(), at(date(2026, 11, 9), 12))
    case.take_outbox()
    case.apply(ev.Ap1ReferralMade(locality="Hamilton"), at(date(2026, 11, 9), 13))
    (prompt,) = [n for n in case.outbox if n.kind is NoticeKind.ASP_CHAIR_TO_NAME]
    assert prompt.to == "co-ordinator"
    name_chair(case, date(2026, 11, 9), 14)
    case.take_outbox()
    case.apply(ev.AspInquiryConcern(raised_by="lanarkshire-housing"), at(date(2026, 11, 9), 15))
    assert not [n for n in case.outbox if n.kind is NoticeKind.ASP_CHAIR_TO_NAME]  # named already


def test_only_the_co_ordinator_names_the_asp_chair_never_the_ap1_or_an_inquiry_concern():
    case = referred_case()
    case.apply(asp_criteria_met(), at(date(2026, 11, 9), 12))
    with pytest.raises(RuleViolation, match="co-ordinator names the ASP chair") as refused:
        case.check(
            ev.Ap1ReferralMade(locality="Hamilton", asp_chair_agency="nhs-lanarkshire"),
            at(date(2026, 11, 9), 13),
        )
    assert refused.value.field == "asp_chair_agency"
    case.apply(ev.AspInquiryConcern(raised_by="lanarkshire-housing"), at(date(2026, 11, 9), 14))
    assert case.asp_open and case.asp_chair_agency is None


def test_the_same_day_share_records_what_was_shared_and_with_whom():
    case = referred_case()
    case.apply(ev.AspInquiryConcern(raised_by=COUNCIL), at(date(2026, 11, 10), 9))
    due = next(d for d in case.open_deadlines() if d.kind is DeadlineKind.ASP_INFORMATION_SHARING)
    assert due.due_date == date(2026, 11, 10)  # the same day
    with pytest.raises(RuleViolation, match="justice social work or the Sex Offender Policing Unit"):
        case.check(
            ev.AspInformationShared(shared_with="police-scotland-lanarkshire"), at(date(2026, 11, 10), 11)
        )
    case.apply(
        ev.AspInformationShared(
            shared_with="police-scotland-lanarkshire",
            recipient="sopu",
            shared=["name", "date-of-birth", "address", "needs", "risks"],
            about=["perpetrator", "victim"],
        ),
        at(date(2026, 11, 10), 11),
    )
    assert due.state is DeadlineState.MET
    [share] = case.asp_shares
    assert (share.shared_with, share.recipient, share.about) == (
        "police-scotland-lanarkshire",
        "sopu",
        ["perpetrator", "victim"],
    )
    assert share.shared == ["name", "date-of-birth", "address", "needs", "risks"]


def test_adult_support_and_protection_does_not_apply_in_england():
    case = CaseFile.open(
        community_notification(
            "MAPPA-WAS-2026-TEST03",
            area="wiltshire-and-swindon",
            disposal_date=date(2026, 11, 2),
            lead_agency="wiltshire-police",
        ),
        at(date(2026, 11, 4)),
    )
    assert not [d for d in case.open_deadlines() if d.kind is DeadlineKind.ASP_SCREENING]
    with pytest.raises(RuleViolation, match="does not apply in England and Wales"):
        case.check(ev.AspInquiryConcern(raised_by="wiltshire-council"), at(date(2026, 11, 5)))


# ------------------------------------------------------------------ adults at risk in England and Wales


def test_in_england_and_wales_a_specific_adult_at_risk_is_referred_into_adult_safeguarding():
    case = english_referred_case()
    case.apply(
        ev.AdultAtRiskIdentified(identified_by="wiltshire-police", adult_name=VICTIM), at(date(2026, 11, 10))
    )
    due = case.deadlines["adult-safeguarding-referral:adult-1"]
    assert due.due_date == date(2026, 11, 11)  # 1 working day, a policy value
    assert "policy value" in due.source and VICTIM not in due.title + due.explanation
    case.apply(
        ev.AdultSafeguardingReferralMade(referred_by="wiltshire-police", local_authority="wiltshire-council"),
        at(date(2026, 11, 10), 15),
    )
    assert due.state is DeadlineState.MET
    with pytest.raises(RuleViolation, match="screened against the ASP 3-point criteria"):
        referred_case().check(
            ev.AdultAtRiskIdentified(identified_by="police-scotland-lanarkshire"), at(date(2026, 11, 10))
        )


def test_level_3_in_england_and_wales_needs_active_conferencing_and_senior_representation_or_media_interest():
    case = english_referred_case()
    move = ev.LevelChanged(
        new_level=3, reason="imminent risk", level_2_cannot_deliver="resources at short notice"
    )
    case.apply(
        meeting(date(2026, 11, 20), date(2027, 2, 9), attendees=["wiltshire-police", "wiltshire-probation"]),
        at(date(2026, 11, 20)),
    )
    with pytest.raises(RuleViolation, match="active conferencing") as refused:
        case.check(move, at(date(2026, 11, 23)))
    assert refused.value.field == "level_3_criteria"
    with pytest.raises(RuleViolation, match="active conferencing"):
        case.check(
            move.model_copy(update={"level_3_criteria": ["active-conferencing"]}), at(date(2026, 11, 23))
        )
    case.apply(
        move.model_copy(update={"level_3_criteria": ["active-conferencing", "media-or-public-interest"]}),
        at(date(2026, 11, 23)),
    )
    assert case.level == 3
    # Scotland has no such list (its level 3 statement is what level 2 cannot deliver).
    scottish = referred_case()
    scottish.apply(meeting(date(2026, 11, 20), date(2027, 2, 9)), at(date(2026, 11, 20)))
    scottish.apply(move, at(date(2026, 11, 23)))
    assert scottish.level == 3


def test_timescales_no_england_and_wales_seed_sets_are_policy_values_there_and_an_area_can_override_them():
    england, scotland = area_policy("wiltshire-and-swindon"), area_policy("lanarkshire")
    assert "policy value" in england.rule(DeadlineKind.INITIAL_MEETING_LEVEL_2).source
    assert "policy value" not in scotland.rule(DeadlineKind.INITIAL_MEETING_LEVEL_2).source
    assert "policy value" not in england.rule(DeadlineKind.REVIEW_LEVEL_2).source  # 004 sets 16 weeks
    local = replace(
        AREAS["wiltshire-and-swindon"],
        overrides={DeadlineKind.INITIAL_MEETING_LEVEL_2: Timescale("working_days", 15)},
    )
    overridden = area_policy("wiltshire-and-swindon", {"wiltshire-and-swindon": local})
    start = at(date(2026, 11, 9))
    assert calculate(overridden, DeadlineKind.INITIAL_MEETING_LEVEL_2, start).due.due_date == date(
        2026, 11, 30
    )
    assert calculate(england, DeadlineKind.INITIAL_MEETING_LEVEL_2, start).due.due_date == date(2026, 12, 7)


# ------------------------------------------------------------------ children at risk (002)


def test_children_at_risk_are_named_not_counted_and_open_a_child_protection_referral():
    case = referred_case()
    with pytest.raises(RuleViolation, match="named, not counted"):
        case.check(
            ev.ChildrenAtRisk(number_of_children=2, identified_by="lanarkshire-justice-social-work"),
            at(date(2026, 11, 10)),
        )
    children = [
        ev.ChildAtRisk(name="Isla Brodie"),
        ev.ChildAtRisk(name="Rory Brodie", date_of_birth=date(2019, 5, 1)),
    ]
    case.take_outbox()
    case.apply(
        ev.ChildrenAtRisk(children=children, identified_by="lanarkshire-justice-social-work"),
        at(date(2026, 11, 10)),
    )
    assert [c.name for c in case.children_at_risk] == ["Isla Brodie", "Rory Brodie"]
    cp = next(d for d in case.open_deadlines() if d.kind is DeadlineKind.CHILD_PROTECTION_REFERRAL)
    assert cp.due_date == date(2026, 11, 11)
    case.tick(at(date(2026, 11, 12)))  # breached: the escalation names no child
    said = " ".join(f"{n.title} {' '.join(n.lines)}" for n in case.take_outbox())
    assert "BREACHED" in said and "Brodie" not in said and "Brodie" not in cp.title + cp.explanation
    case.apply(
        ev.ChildProtectionReferralMade(referred_by="lanarkshire-justice-social-work"),
        at(date(2026, 11, 12), 15),
    )
    assert cp.state is DeadlineState.MET
