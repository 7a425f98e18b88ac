"""Stage 4: active management, changes in risk and of level (003 stage 4). In the guidance's words; pure: a clock is passed in."""

from datetime import date, timedelta

import pytest

from tests.case_builders import (
    accept,
    community_notification,
    meeting,
    referral,
)
from tests.unit.rules.cases import at, english_referred_case, referred_case
from workflows.rules import events as ev
from workflows.rules.calendar import local_date
from workflows.rules.case import CaseFile, RuleViolation, Stage
from workflows.rules.deadlines import DeadlineState
from workflows.rules.policy import DeadlineKind
from workflows.rules.rule_changes import LEVEL_1_REVIEW, TRIAGE_AT_NOTIFICATION_SCREENS_IT


def _managed_case_with_risk_increase(rule_changes_removed: tuple[str, ...] = ()) -> CaseFile:
    """Level 2 since the initial meeting on Tue 1 Dec 2026 (review set for 23 Feb); a risk increase on Thu 10 Dec."""
    case = referred_case()
    for name in rule_changes_removed:
        case.rule_changes.remove(name)
    held = date(2026, 12, 1)
    case.apply(meeting(held, date(2027, 2, 23)), at(held))
    case.apply(
        ev.RiskChangeReported(
            reporting_agency="police-scotland-lanarkshire", direction="increased", summary="breach of licence"
        ),
        at(date(2026, 12, 10)),
    )
    assert case.deadlines["triage:risk-change-1"].due_date == date(2026, 12, 11)
    return case


RAISED_TO_LEVEL_3 = ev.RiskChangeTriaged(
    change_id="risk-change-1",
    outcome="level-change",
    new_level=3,
    reason="risk now very high",
    level_2_cannot_deliver="police resources at short notice",
)


def test_a_managed_case_raised_to_level_3_meets_at_level_3_within_five_working_days():
    """001: "Where sufficient grounds exist for referral to Level 3, the co-ordinator will arrange an initial MAPPP
    to be held within five working days"; a case escalated to level 3 needs its MAPPP as soon, not a review in six
    weeks. The co-ordinator is reminded two working days before."""
    case = _managed_case_with_risk_increase()
    case.apply(RAISED_TO_LEVEL_3, at(date(2026, 12, 10), 15))
    assert case.level == 3
    assert case.deadlines["review:meeting-1"].state is DeadlineState.CANCELLED
    [mappp] = [d for d in case.open_deadlines() if d.kind is DeadlineKind.REVIEW_LEVEL_3]
    assert mappp.due_date == date(2026, 12, 17)  # Thu 10 Dec + 5 working days
    assert "level 3" in mappp.title and "five working days" in mappp.explanation
    assert mappp.reminder_at is not None and local_date(mappp.reminder_at) == date(2026, 12, 15)
    held = date(2026, 12, 16)
    case.apply(meeting(held, date(2027, 1, 26), level=3, statement="police resources"), at(held, 15))
    assert mappp.state is DeadlineState.MET
    review = case.deadlines["review:meeting-2"]
    assert review.kind is DeadlineKind.REVIEW_LEVEL_3 and review.due_date == date(2027, 1, 26)


def test_a_case_from_before_the_correction_raised_to_level_3_rearms_only_its_review_at_six_weeks():
    case = _managed_case_with_risk_increase(("level-3-meeting-within-five-working-days",))
    case.apply(RAISED_TO_LEVEL_3, at(date(2026, 12, 10), 15))
    review = next(d for d in case.open_deadlines() if d.kind is DeadlineKind.REVIEW_LEVEL_3)
    assert review.due_date == date(2026, 12, 10) + timedelta(weeks=6)


# ------------------------------------------------------------------ level 1 (004)


def _level_1_case(area: str = "lanarkshire") -> CaseFile:
    """Notified Wed 4 Nov 2026, screened to level 1 on Thu 5 Nov."""
    lead = "police-scotland-lanarkshire" if area == "lanarkshire" else "wiltshire-police"
    case = CaseFile.open(
        community_notification(
            "MAPPA-LAN-2026-LEVEL1" if area == "lanarkshire" else "MAPPA-WAS-2026-LEVEL1",
            area=area,
            disposal_date=date(2026, 11, 2),
            lead_agency=lead,
        ),
        at(date(2026, 11, 4)),
    )
    case.apply(ev.ScreeningDecision(outcome="level-1", reason="ordinary management"), at(date(2026, 11, 5)))
    return case


def test_a_level_1_case_is_reviewed_and_recorded_regularly_by_the_lead_agency():
    case = _level_1_case()
    plan, review = case.deadlines["level-1-rmp"], case.deadlines["level-1-review"]
    assert plan.responsible == review.responsible == "police-scotland-lanarkshire"
    assert plan.due_date == date(2026, 11, 19)  # 10 working days after Thu 5 Nov
    assert review.due_date == date(2026, 11, 5) + timedelta(weeks=12)
    case.apply(
        ev.Level1PlanRecorded(recorded_by="police-scotland-lanarkshire", summary="SONR checks, home visits"),
        at(date(2026, 11, 12)),
    )
    assert plan.state is DeadlineState.MET
    case.apply(
        ev.Level1ReviewRecorded(reviewed_by="police-scotland-lanarkshire", level_1_still_defensible=True),
        at(date(2027, 1, 20)),
    )
    assert case.deadlines["level-1-review"].due_date == date(2027, 1, 20) + timedelta(weeks=12)
    assert case.stage is Stage.LEVEL_1


def test_a_level_1_review_in_england_falls_due_sixteen_weeks_on():
    case = _level_1_case("wiltshire-and-swindon")
    assert case.deadlines["level-1-review"].due_date == date(2026, 11, 5) + timedelta(weeks=16)


def test_a_level_1_review_before_the_level_1_plan_is_refused():
    case = _level_1_case()
    with pytest.raises(RuleViolation, match="level 1 risk management plan before its review"):
        case.check(
            ev.Level1ReviewRecorded(reviewed_by="police-scotland-lanarkshire", level_1_still_defensible=True),
            at(date(2026, 11, 12)),
        )


def test_only_the_lead_agency_records_the_level_1_plan():
    case = _level_1_case()
    with pytest.raises(RuleViolation, match="the lead agency") as refused:
        case.check(ev.Level1PlanRecorded(recorded_by="nhs-lanarkshire"), at(date(2026, 11, 12)))
    assert refused.value.field == "recorded_by"


def test_level_1_no_longer_defensible_makes_a_referral_due():
    case = _level_1_case()
    case.apply(ev.Level1PlanRecorded(recorded_by="police-scotland-lanarkshire"), at(date(2026, 11, 12)))
    case.apply(
        ev.Level1ReviewRecorded(reviewed_by="police-scotland-lanarkshire", level_1_still_defensible=False),
        at(date(2026, 12, 1)),
    )
    assert case.stage is Stage.REFERRAL_DUE
    assert case.deadlines["referral"].responsible == "police-scotland-lanarkshire"


def test_level_1_deadlines_end_when_a_referral_is_accepted_and_a_step_down_opens_them():
    case = _level_1_case()
    case.apply(
        ev.RiskChangeReported(
            reporting_agency="police-scotland-lanarkshire", direction="increased", summary="new intelligence"
        ),
        at(date(2026, 11, 10)),
    )
    case.apply(
        ev.RiskChangeTriaged(change_id="risk-change-1", outcome="referral-requested", reason="needs level 2"),
        at(date(2026, 11, 10), 14),
    )
    case.apply(referral(2), at(date(2026, 11, 11)))
    case.apply(accept(2), at(date(2026, 11, 11), 15))
    assert case.deadlines["level-1-review"].state is DeadlineState.CANCELLED
    held = date(2026, 12, 1)
    case.apply(meeting(held, None, level=1), at(held, 16))
    assert case.deadlines["level-1-review"].state is DeadlineState.OPEN
    assert case.deadlines["level-1-rmp"].state is DeadlineState.OPEN


def test_a_running_level_1_case_takes_up_the_level_1_review_at_continue_as_new():
    case = CaseFile.open(
        community_notification(disposal_date=date(2026, 11, 2)), at(date(2026, 11, 4)), rule_changes=[]
    )
    case.apply(ev.ScreeningDecision(outcome="level-1", reason="ordinary management"), at(date(2026, 11, 5)))
    assert "level-1-review" not in case.deadlines  # opened before the rule
    case.take_up([LEVEL_1_REVIEW], at(date(2027, 3, 1)))
    assert case.deadlines["level-1-review"].due_date == date(2027, 3, 1) + timedelta(weeks=12)


# ------------------------------------------------------------------ a change in risk before the screening


def _unscreened_case_with_risk_increase() -> CaseFile:
    """Notified Wed 4 Nov 2026; a risk increase reported Mon 9 Nov, before the co-ordinator screened it."""
    case = CaseFile.open(community_notification(disposal_date=date(2026, 11, 2)), at(date(2026, 11, 4)))
    case.apply(
        ev.RiskChangeReported(
            reporting_agency="police-scotland-lanarkshire", direction="increased", summary="new intelligence"
        ),
        at(date(2026, 11, 9)),
    )
    return case


def test_a_triage_asking_for_a_referral_before_screening_counts_it_from_the_notifications_submission():
    """003 stage 2: a referral "must be submitted ... within five working days of submission of the notification
    form"; the triage that asks for it is the screening's decision, so the screening is met, not left to breach."""
    case = _unscreened_case_with_risk_increase()
    case.apply(
        ev.RiskChangeTriaged(change_id="risk-change-1", outcome="referral-requested", reason="needs level 2"),
        at(date(2026, 11, 9), 14),
    )
    assert case.stage is Stage.REFERRAL_DUE
    assert case.deadlines["referral"].due_date == date(2026, 11, 11)  # Wed 4 Nov + 5 working days
    screening = case.deadlines["screening"]
    assert screening.state is DeadlineState.MET and screening.met_at == at(date(2026, 11, 9), 14)
    case.tick(at(date(2026, 11, 20)))
    assert not [n for n in case.take_outbox() if n.deadline_id == "screening"]  # never re-escalated


def test_a_case_that_left_its_screening_open_after_such_a_triage_closes_it_at_continue_as_new():
    case = _unscreened_case_with_risk_increase()
    case.rule_changes.remove(TRIAGE_AT_NOTIFICATION_SCREENS_IT)
    case.apply(
        ev.RiskChangeTriaged(change_id="risk-change-1", outcome="referral-requested", reason="needs level 2"),
        at(date(2026, 11, 9), 14),
    )
    assert case.deadlines["referral"].due_date == date(2026, 11, 16)  # as it was: from the triage
    case.tick(at(date(2026, 11, 12)))
    assert case.deadlines["screening"].state is DeadlineState.BREACHED
    case.take_up([TRIAGE_AT_NOTIFICATION_SCREENS_IT], at(date(2026, 11, 13)))
    assert case.deadlines["screening"].state is DeadlineState.CANCELLED


# ------------------------------------------------------------------ level 3 in England and Wales (004)

ENGLISH_PEOPLE = ["wiltshire-police", "wiltshire-probation"]
LEVEL_3_CRITERIA = ["active-conferencing", "senior-representation"]


def _risk_increase(case: CaseFile, day: date) -> None:
    case.apply(
        ev.RiskChangeReported(reporting_agency="wiltshire-police", direction="increased", summary="threats"),
        at(day),
    )


def _to_level_3(criteria: list[str]) -> ev.RiskChangeTriaged:
    return ev.RiskChangeTriaged(
        change_id="risk-change-1",
        outcome="level-change",
        new_level=3,
        reason="imminent risk to a named victim",
        level_2_cannot_deliver="police resources at short notice",
        level_3_criteria=criteria,  # type: ignore[arg-type]
    )


def test_a_triage_to_level_3_before_the_initial_meeting_states_the_level_3_criteria_in_england():
    case = english_referred_case()
    _risk_increase(case, date(2026, 11, 12))
    with pytest.raises(RuleViolation, match="active conferencing") as refused:
        case.check(_to_level_3([]), at(date(2026, 11, 12), 15))
    assert refused.value.field == "level_3_criteria"
    case.apply(_to_level_3(LEVEL_3_CRITERIA), at(date(2026, 11, 12), 15))
    assert case.level == 3


def test_a_triage_to_level_3_of_a_managed_case_takes_the_level_3_criteria_in_england():
    case = english_referred_case()
    held = date(2026, 11, 20)
    case.apply(meeting(held, held + timedelta(weeks=16), attendees=ENGLISH_PEOPLE), at(held))
    _risk_increase(case, date(2026, 11, 23))
    with pytest.raises(RuleViolation, match="active conferencing"):
        case.check(_to_level_3(["active-conferencing"]), at(date(2026, 11, 23), 15))
    case.apply(_to_level_3(["active-conferencing", "media-or-public-interest"]), at(date(2026, 11, 23), 15))
    assert case.level == 3


def test_every_meeting_that_decides_level_3_in_england_determines_the_level_3_criteria_hold():
    case = english_referred_case()
    _risk_increase(case, date(2026, 11, 12))
    case.apply(_to_level_3(LEVEL_3_CRITERIA), at(date(2026, 11, 12), 15))
    held = date(2026, 11, 18)
    level_3_meeting = meeting(held, held + timedelta(weeks=8), level=3, attendees=ENGLISH_PEOPLE)
    with pytest.raises(RuleViolation, match="active conferencing") as refused:
        case.check(level_3_meeting, at(held, 16))
    assert refused.value.field == "level_3_criteria"
    case.apply(level_3_meeting.model_copy(update={"level_3_criteria": LEVEL_3_CRITERIA}), at(held, 16))
    assert case.meetings[-1].level_decided == 3


# ------------------------------------------------------------------ what a level decision stated is kept (001, 003)

STATEMENT = "Level 2 cannot commit police surveillance at short notice."


def _words_outside_the_case_file(case: CaseFile) -> str:
    """Everything the case sends or writes in plaintext: notices (e-mail) and deadlines (ledger, UI titles)."""
    notices = [f"{n.title} {' '.join(n.lines)}" for n in case.outbox]
    deadlines = [f"{d.title} {d.explanation} {d.breach_note or ''}" for d in case.deadlines.values()]
    return " ".join(notices + deadlines)


def test_the_level_3_statement_given_at_a_meeting_is_kept_in_the_case_file_and_nowhere_in_plaintext():
    case = referred_case()
    held = date(2026, 12, 1)
    case.apply(meeting(held, held + timedelta(weeks=6), level=3, statement=STATEMENT), at(held, 16))
    decision = case.level_decisions[-1]
    assert (decision.level, decision.by, decision.level_2_cannot_deliver) == (3, "meeting-1", STATEMENT)
    assert STATEMENT not in _words_outside_the_case_file(case)


def test_a_change_in_risk_keeps_what_was_reported_and_why_the_co_ordinator_triaged_it_as_they_did():
    case = referred_case()
    held = date(2026, 12, 1)
    case.apply(meeting(held, held + timedelta(weeks=12)), at(held))
    case.apply(
        ev.RiskChangeReported(
            reporting_agency="police-scotland-lanarkshire", direction="increased", summary="breach of licence"
        ),
        at(date(2026, 12, 10)),
    )
    case.apply(
        ev.RiskChangeTriaged(
            change_id="risk-change-1",
            outcome="level-change",
            new_level=3,
            reason="risk now very high",
            level_2_cannot_deliver=STATEMENT,
        ),
        at(date(2026, 12, 10), 15),
    )
    change = case.risk_changes[0]
    assert (change.summary, change.triage_reason, change.new_level) == (
        "breach of licence",
        "risk now very high",
        3,
    )
    decision = case.level_decisions[-1]
    assert (decision.by, decision.reason, decision.level_2_cannot_deliver) == (
        "risk-change-1",
        "risk now very high",
        STATEMENT,
    )
    text = _words_outside_the_case_file(case)
    assert "breach of licence" not in text and "very high" not in text and STATEMENT not in text
    # Carried across continue-as-new whatever else is archived: the reason for a level outlives its run.
    case.archive_closed(keep=0, meetings_kept=0)
    assert [d.by for d in case.level_decisions] == ["referral decision", "risk-change-1"]


def test_the_screening_reason_and_a_level_change_reason_are_kept_in_the_case_file():
    case = CaseFile.open(community_notification(disposal_date=date(2026, 11, 2)), at(date(2026, 11, 4)))
    case.apply(
        ev.ScreeningDecision(outcome="level-1", reason="single agency can manage"), at(date(2026, 11, 5))
    )
    assert case.screening_reason == "single agency can manage"
    managed = referred_case()
    held = date(2026, 12, 1)
    managed.apply(meeting(held, held + timedelta(weeks=12)), at(held))
    managed.apply(
        ev.LevelChanged(new_level=3, reason="media interest", level_2_cannot_deliver=STATEMENT), at(held, 16)
    )
    assert managed.level_decisions[-1].model_dump(include={"by", "reason", "level_2_cannot_deliver"}) == {
        "by": "level change",
        "reason": "media interest",
        "level_2_cannot_deliver": STATEMENT,
    }
