"""The API's tables agree with the workflow contract, and the permission table says what the brief says."""

from __future__ import annotations

import typing
from datetime import date

import pytest

from api import problems
from api.auth import EVENT_PERMISSIONS, OPEN_CASE, READ_CASE_FILE, READ_STATUS, User, authorise
from api.calculator import calculate_deadline, render
from api.openings import NewCase
from api.routes.cases import EVENT_ROUTES
from store.models import AgencyKind, TokenRole
from workflows.messages import EVENT_UPDATES
from workflows.rules import events as ev
from workflows.rules.actors import Actor, Role
from workflows.rules.errors import CaseRuleError, NotResponsible, RuleViolation, WrongStage
from workflows.rules.ownership import Permission, check_permission
from workflows.rules.registry import EVENTS, EventRow


def user(
    role: str, agency: str | None = "police-scotland-lanarkshire", area: str | None = "lanarkshire"
) -> User:
    return User(token_id=1, user_name="test", agency_id=agency, role=TokenRole(role), area=area)


def test_every_agency_event_has_one_route_and_one_permission() -> None:
    # A minute is filed on a route of its own (it carries the minute's text): api/routes/minutes.py.
    routed = [route.event for route in EVENT_ROUTES] + [ev.MinuteFiled]
    assert sorted(t.__name__ for t in routed) == sorted(t.__name__ for t in EVENT_UPDATES)
    assert len({route.path for route in EVENT_ROUTES}) == len(EVENT_ROUTES)
    assert set(EVENT_PERMISSIONS) == set(EVENT_UPDATES)


def test_each_acting_agency_field_exists_on_its_event() -> None:
    for event_type, permission in EVENT_PERMISSIONS.items():
        for field in permission.acts_as:
            assert field in event_type.model_fields, (event_type.__name__, field)


def test_a_new_case_is_a_case_opening_without_its_reference() -> None:
    # One model of an opening: the API's request and the workflow's input are both it.
    assert issubclass(NewCase, ev.OpeningRequest) and issubclass(ev.CaseOpening, ev.OpeningRequest)
    assert list(NewCase.model_fields) == [f for f in ev.CaseOpening.model_fields if f != "case_ref"]
    request = NewCase(
        area="lanarkshire",
        jurisdiction=ev.Jurisdiction.SCOTLAND,
        category=2,
        lead_agency="nhs-lanarkshire",
        route=ev.EntryRoute.RESTRICTED_PATIENT,
        subject=ev.SubjectDetails(name="A Testperson", date_of_birth=date(1980, 1, 1), address="1 Test Row"),
        restricted_patient=True,
        discharge_date=date(2027, 1, 4),
    )
    opening = request.with_reference("MAPPA-LAN-2026-ABC123")
    assert opening.model_dump() == request.model_dump() | {"case_ref": "MAPPA-LAN-2026-ABC123"}


def test_only_the_co_ordinator_screens_decides_and_exits() -> None:
    co_ordinator_only = {
        ev.ScreeningDecision,
        ev.FurtherInformationRequested,
        ev.ReferralDecision,
        ev.RiskChangeTriaged,
        ev.LevelChanged,
        ev.ExitDecision,
        ev.AspScreening,
        ev.MinutesCirculated,
    }
    for event_type, permission in EVENT_PERMISSIONS.items():
        if event_type in co_ordinator_only:
            assert permission.roles == {TokenRole.CO_ORDINATOR}, event_type.__name__


def test_only_a_chair_records_meetings_and_shares_with_child_protection() -> None:
    for event_type in (ev.MeetingHeld, ev.ConclusionsSharedWithChildProtection):
        assert EVENT_PERMISSIONS[event_type].roles == {TokenRole.CHAIR}


def test_ops_reads_status_but_no_case_content_and_sends_nothing() -> None:
    assert TokenRole.OPS in READ_STATUS.roles
    assert TokenRole.OPS not in READ_CASE_FILE.roles | OPEN_CASE.roles
    assert all(TokenRole.OPS not in p.roles for p in EVENT_PERMISSIONS.values())


def test_an_agency_worker_reports_for_their_own_agency_only() -> None:
    report = ev.RiskChangeReported(reporting_agency="nhs-lanarkshire", direction="increased", summary="x")
    with pytest.raises(problems.ProblemError) as refused:
        authorise(user("agency-worker"), EVENT_PERMISSIONS[ev.RiskChangeReported], "lanarkshire", report)
    assert (refused.value.problem.status, refused.value.problem.field) == (403, "reporting_agency")
    authorise(
        user("agency-worker", "nhs-lanarkshire"),
        EVENT_PERMISSIONS[ev.RiskChangeReported],
        "lanarkshire",
        report,
    )
    # The co-ordinator records on an agency's behalf.
    authorise(
        user("co-ordinator", "lanarkshire-justice-social-work"),
        EVENT_PERMISSIONS[ev.RiskChangeReported],
        "lanarkshire",
        report,
    )


def _core_refusal(
    permission: Permission, request: object, actor: Actor
) -> tuple[int, str | None, str, str | None] | None:
    try:
        check_permission(permission, request, actor)
    except NotResponsible as refusal:
        return (403, refusal.message, refusal.rule, refusal.field)
    return None


def _api_refusal(
    user_: User, permission: Permission, request: ev.Event
) -> tuple[int, str | None, str, str | None] | None:
    try:
        authorise(user_, permission, "lanarkshire", request)
    except problems.ProblemError as refusal:
        return (
            refusal.problem.status,
            refusal.problem.detail,
            refusal.problem.rule or "",
            refusal.problem.field,
        )
    return None


@pytest.mark.parametrize("row", EVENTS, ids=[row.update for row in EVENTS])
def test_the_api_refuses_a_sender_exactly_as_the_case_does(row: EventRow) -> None:
    # One sender check: the API asks the core's, so every role, acting for itself or for another agency, gets the
    # same answer from both (the area aside, which is the token's).
    request = row.event.model_construct(
        **{field.split(".")[0]: "nhs-lanarkshire" for field in row.permission.acts_as}
    )
    for role in Role:
        for agency in ("nhs-lanarkshire", "police-scotland-lanarkshire"):
            sender = user(role.value, agency)
            assert EVENT_PERMISSIONS[row.event] is row.permission
            assert _api_refusal(sender, row.permission, request) == _core_refusal(
                row.permission, request, sender.actor
            ), (role, agency)


def test_a_national_agency_worker_acts_in_any_area_but_a_co_ordinator_only_in_theirs() -> None:
    search = ev.RecordSearchReturned(agency="sps")
    authorise(
        user("agency-worker", "sps", None), EVENT_PERMISSIONS[ev.RecordSearchReturned], "glasgow", search
    )
    with pytest.raises(problems.ProblemError) as refused:
        authorise(user("co-ordinator"), READ_STATUS, "glasgow")
    assert refused.value.problem.rule == "area"
    assert "Glasgow" in (refused.value.problem.detail or "")


def test_the_cli_table_shows_the_days_a_scottish_count_skipped() -> None:
    table = render(calculate_deadline("lanarkshire", "record-search", date(2026, 4, 2)))
    assert "Good Friday (bank-holiday)" in table
    assert "Easter Monday (local-holiday)" in table
    assert "end of Mon 13 Apr 2026 Europe/London" in table


def test_the_calculator_knows_the_level_1_subject_informed_and_supervision_end_rules() -> None:
    # Level 1 review: 12 weeks in Scotland, 16 in England and Wales (policy values, 004 says "regularly").
    assert calculate_deadline("lanarkshire", "level-1-review", date(2026, 11, 5)).due_date == date(
        2027, 1, 28
    )
    assert calculate_deadline("south-wales", "level-1-review", date(2026, 11, 5)).due_date == date(
        2027, 2, 25
    )
    assert calculate_deadline("lanarkshire", "level-1-rmp", date(2026, 11, 5)).due_date == date(2026, 11, 19)
    informed = calculate_deadline("wiltshire-and-swindon", "subject-informed", date(2026, 12, 1))
    assert informed.due_date == date(2026, 12, 15) and informed.source.startswith("002")
    # Counted back 8 weeks from Sat 15 May 2027 lands on Sat 20 March: due the working day before.
    notice = calculate_deadline("glasgow", "supervision-end-notice", date(2027, 5, 15))
    assert notice.due_date == date(2027, 3, 19) and "not a working day" in notice.explanation
    assert calculate_deadline("glasgow", "sonr-exit-notice", date(2027, 5, 15)).due_date == date(2027, 3, 19)


def test_the_core_knows_the_same_kinds_of_agency_as_the_directory() -> None:
    # Who may refer is decided on the directory's kind of agency (001, 003).
    assert set(typing.get_args(ev.AgencyKind)) == {k.value for k in AgencyKind}


@pytest.mark.parametrize(
    ("refusal", "status"), [(WrongStage, 409), (NotResponsible, 403), (RuleViolation, 422)]
)
def test_the_cores_refusal_becomes_the_same_problem_wherever_it_is_met(
    refusal: type[CaseRuleError], status: int
) -> None:
    # Met by the API's own check, by a closed case asked to reopen, or inside a running case: one mapping.
    problem = problems.refused_by_core(refusal("the sender may not", "role", "agency")).problem
    assert (problem.status, problem.detail, problem.rule, problem.field) == (
        status,
        "the sender may not",
        "role",
        "agency",
    )
