"""Who may send each event, and whose deadlines it meets (issue 10, finding 6). Pure: a clock is passed in."""

from datetime import date

import pytest

from store.models import ApiToken, TokenRole
from tests.case_builders import asp_criteria_met, meeting
from tests.unit.rules.cases import at, referred_case
from workflows.rules import events as ev
from workflows.rules.actors import Actor, Role
from workflows.rules.case import CaseFile
from workflows.rules.deadlines import DeadlineState
from workflows.rules.errors import NotResponsible

HELD = date(2026, 11, 20)


def worker(agency: str) -> Actor:
    return Actor(role=Role.AGENCY_WORKER, agency=agency)


CO_ORDINATOR = Actor(role=Role.CO_ORDINATOR, agency="lanarkshire-justice-social-work")


def sent(event: ev.Event, by: Actor) -> ev.Event:
    return event.model_copy(update={"sent_by": by})


def case_with_plan() -> CaseFile:
    """A Lanarkshire case whose meeting set justice social work an RMP action and the police a SWIS update."""
    case = referred_case()
    action = ev.RmpActionSet(
        action_id="A1",
        description="home visit",
        owner_agency="lanarkshire-justice-social-work",
        due_date=date(2026, 12, 4),
    )
    case.apply(meeting(HELD, date(2027, 1, 29), actions=[action]), at(HELD))
    return case


def test_the_tokens_hold_the_cores_roles() -> None:
    # One role type: a token's role is the core's, and the column's constraint takes exactly its values.
    assert TokenRole is Role
    checks = {str(getattr(c, "sqltext", "")) for c in ApiToken.__table__.constraints}
    assert "role IN ('co-ordinator', 'chair', 'agency-worker', 'ops')" in checks


def test_nhs_cannot_complete_justice_social_works_rmp_action() -> None:
    case = case_with_plan()
    done = ev.RmpActionCompleted(meeting_id="meeting-1", action_id="A1")
    with pytest.raises(NotResponsible, match="lanarkshire-justice-social-work's to meet"):
        case.apply(sent(done, worker("nhs-lanarkshire")), at(date(2026, 11, 23)))
    assert case.deadlines["rmp:meeting-1:A1"].state is DeadlineState.OPEN
    case.apply(sent(done, worker("lanarkshire-justice-social-work")), at(date(2026, 11, 23)))
    action = case.deadlines["rmp:meeting-1:A1"]
    assert action.state is DeadlineState.MET
    assert action.met_by == "lanarkshire-justice-social-work (agency-worker)" and action.met_for is None


def test_housing_cannot_record_the_polices_swis_update() -> None:
    case = case_with_plan()
    update = ev.SwisAlertUpdated(meeting_id="meeting-1")
    with pytest.raises(NotResponsible, match=r"deadline owner|to meet"):
        case.check(sent(update, worker("lanarkshire-housing")), at(HELD, 15))
    case.apply(sent(update, worker("police-scotland-lanarkshire")), at(HELD, 15))
    assert case.deadlines["swis-alert:meeting-1"].state is DeadlineState.MET


def test_nhs_cannot_record_the_polices_ap1_referral() -> None:
    case = referred_case()
    case.apply(sent(asp_criteria_met(), CO_ORDINATOR), at(date(2026, 11, 9), 16))
    ap1 = ev.Ap1ReferralMade(locality="North Lanarkshire", asp_chair_agency="north-lanarkshire-council")
    with pytest.raises(NotResponsible):
        case.apply(sent(ap1, worker("nhs-lanarkshire")), at(date(2026, 11, 9), 17))
    assert case.deadlines["ap1-referral"].state is DeadlineState.OPEN


def test_the_co_ordinator_may_meet_an_agencys_deadline_and_it_is_recorded_on_its_behalf() -> None:
    case = case_with_plan()
    case.apply(sent(ev.SwisAlertUpdated(meeting_id="meeting-1"), CO_ORDINATOR), at(HELD, 15))
    swis = case.deadlines["swis-alert:meeting-1"]
    assert swis.state is DeadlineState.MET
    assert swis.met_by == "lanarkshire-justice-social-work (co-ordinator)"
    assert swis.met_for == "police-scotland-lanarkshire"


def test_an_agency_acts_only_for_itself_and_a_role_only_as_itself() -> None:
    case = case_with_plan()
    report = ev.RiskChangeReported(
        reporting_agency="police-scotland-lanarkshire", direction="increased", summary="new address"
    )
    with pytest.raises(NotResponsible, match="acts only for itself"):
        case.check(sent(report, worker("nhs-lanarkshire")), at(date(2026, 11, 23)))
    decision = ev.LevelChanged(new_level=3, reason="escalating", level_2_cannot_deliver="24h monitoring")
    with pytest.raises(NotResponsible, match="role agency-worker may not change the level"):
        case.check(sent(decision, worker("police-scotland-lanarkshire")), at(date(2026, 11, 23)))


def test_a_child_protection_referral_meets_the_senders_own_deadline_first() -> None:
    case = case_with_plan()
    day = at(date(2026, 11, 23))
    case.apply(
        sent(
            ev.ChildrenAtRisk(children=[ev.ChildAtRisk(name="Child A")], identified_by="nhs-lanarkshire"),
            CO_ORDINATOR,
        ),
        day,
    )
    case.apply(
        sent(
            ev.ChildrenAtRisk(
                children=[ev.ChildAtRisk(name="Child B"), ev.ChildAtRisk(name="Child C")],
                identified_by="lanarkshire-housing",
            ),
            CO_ORDINATOR,
        ),
        day,
    )
    made = ev.ChildProtectionReferralMade(referred_by="lanarkshire-housing")
    case.apply(sent(made, worker("lanarkshire-housing")), day)
    met = [
        d
        for d in case.deadlines.values()
        if d.kind.value.startswith("child") and d.state is DeadlineState.MET
    ]
    assert [d.responsible for d in met] == ["lanarkshire-housing"]


def test_an_event_recorded_before_senders_were_carried_is_applied_as_it_was() -> None:
    case = case_with_plan()
    case.apply(ev.RmpActionCompleted(meeting_id="meeting-1", action_id="A1"), at(date(2026, 11, 23)))
    assert case.deadlines["rmp:meeting-1:A1"].met_by is None
