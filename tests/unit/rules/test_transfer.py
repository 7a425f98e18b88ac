"""A transfer between MAPPA areas and jurisdictions: the subject moves, the case follows as one record.

No seed (000-004) speaks of transfers: the rules here are the README's choices ("transfer: ..." rows). What the
seeds do say is tested as it applies to a transferred case: working days are the case's jurisdiction's (DOMAIN.md),
reviews fall due at most 12 / 6 weeks after the last meeting in Scotland (001, 003) and 16 / 8 in England and
Wales (004), a review date set at a meeting "may be sooner" than the maximum (001, 003), the ASP duties are
Scotland's (000). Pure: a clock is passed in.
"""

from datetime import date, timedelta

import pytest
from pydantic import ValidationError

from tests.case_builders import (
    ENGLISH_AGENCIES,
    SCOTTISH_AGENCIES,
    accept,
    asp_criteria_met,
    community_notification,
    meeting,
    referral,
)
from tests.unit.rules.cases import at, english_referred_case, referred_case
from workflows.rules import events as ev
from workflows.rules.actors import Actor, Role
from workflows.rules.calendar import Jurisdiction, local_date
from workflows.rules.case import CaseFile, RuleViolation
from workflows.rules.deadlines import DeadlineState
from workflows.rules.policy import area_policy
from workflows.rules.records import CHAIR, CO_ORDINATOR, NoticeKind

GLASGOW_CO = Actor(role=Role.CO_ORDINATOR, agency="glasgow-justice-social-work")


def _to(area: str, *, on: date = date(2026, 12, 3)) -> tuple[ev.TransferRequested, date]:
    return ev.TransferRequested(receiving_area=area, reason="the subject moved house"), on


def _accepted(area: str, lead: str, handovers: dict[str, str] | None = None) -> ev.TransferAccepted:
    return ev.TransferAccepted(
        receiving_area=area,
        lead_agency=lead,
        handovers=[ev.AgencyHandover(from_agency=a, to_agency=b) for a, b in (handovers or {}).items()],
    )


SCOTTISH_TO_GLASGOW = {
    "lanarkshire-justice-social-work": "glasgow-justice-social-work",
    "nhs-lanarkshire": "nhs-greater-glasgow-and-clyde",
    "lanarkshire-housing": "glasgow-justice-social-work",
}
ENGLISH_TO_GLASGOW = {
    "probation-wiltshire": "glasgow-justice-social-work",
    "wiltshire-council": "glasgow-justice-social-work",
    "avon-wiltshire-mental-health": "nhs-greater-glasgow-and-clyde",
}


def _english_case_with_a_meeting(held: date = date(2026, 12, 1)) -> CaseFile:
    """Wiltshire and Swindon, level 2 since a meeting on `held` that set the review at 004's 16 weeks."""
    case = english_referred_case()
    for agency in ENGLISH_AGENCIES:
        case.apply(ev.RecordSearchReturned(agency=agency), at(date(2026, 11, 12)))
    case.apply(meeting(held, held + timedelta(weeks=16), attendees=ENGLISH_AGENCIES[:3]), at(held))
    return case


def test_a_transfer_keeps_the_reference_and_the_record_and_the_receiving_area_takes_the_case() -> None:
    case = _english_case_with_a_meeting()
    meetings, level = list(case.meetings), case.level
    request, on = _to("glasgow")
    case.apply(request, at(on))
    assert case.area == "wiltshire-and-swindon"  # nothing moves until the receiving area accepts
    case.apply(
        _accepted("glasgow", "police-scotland-glasgow", ENGLISH_TO_GLASGOW), at(on + timedelta(days=1))
    )
    assert (case.case_ref, case.area, case.jurisdiction) == (
        "MAPPA-WAS-2026-TEST01",
        "glasgow",
        Jurisdiction.SCOTLAND,
    )
    assert case.lead_agency == "police-scotland-glasgow"
    assert case.meetings == meetings and case.level == level
    [transfer] = case.transfers
    assert (transfer.from_area, transfer.to_area, transfer.outcome) == (
        "wiltshire-and-swindon",
        "glasgow",
        "accepted",
    )
    assert transfer.lead_agency_before == "wiltshire-police"
    assert case.policy.area.area_id == "glasgow"


def test_transfer_re_bases_the_review_on_the_receiving_jurisdictions_maximum() -> None:
    """004 gives a level 2 review 16 weeks; 001 and 003 give Scotland 12. A case moving to Glasgow is reviewed
    within Scotland's maximum of its last meeting, and the receipt says why."""
    held = date(2026, 12, 1)
    case = _english_case_with_a_meeting(held)
    assert case.deadlines["review:meeting-1"].due_date == held + timedelta(weeks=16)
    request, on = _to("glasgow")
    case.apply(request, at(on))
    receipt = case.apply(
        _accepted("glasgow", "police-scotland-glasgow", ENGLISH_TO_GLASGOW), at(on + timedelta(days=1))
    )
    review = case.deadlines["review:meeting-1"]
    assert review.due_date == held + timedelta(weeks=12)
    assert review.state is DeadlineState.OPEN and review.responsible == CO_ORDINATOR
    [why] = [
        c.reason for c in receipt.changes if c.deadline_id == review.deadline_id and c.change == "transferred"
    ]
    assert why is not None and "transfer-1 to Glasgow" in why and "12 weeks" in why and "001, 003" in why


def test_a_review_set_at_a_scottish_meeting_is_no_later_in_england() -> None:
    """001, 003: the review date set at a meeting may be sooner than the maximum, never later: moving to England,
    whose maximum is 16 weeks (004), does not push a date the Scottish meeting set at 12."""
    case = referred_case()
    case.apply(
        ev.AspScreening(**{**asp_criteria_met().model_dump(), "at_risk_of_harm": False}),
        at(date(2026, 11, 9), 16),
    )
    for agency in SCOTTISH_AGENCIES:
        case.apply(ev.RecordSearchReturned(agency=agency), at(date(2026, 11, 12)))
    held = date(2026, 12, 1)
    case.apply(meeting(held, held + timedelta(weeks=12)), at(held))
    case.apply(ev.SwisAlertUpdated(meeting_id="meeting-1"), at(held, 15))
    request, on = _to("wiltshire-and-swindon")
    case.apply(request, at(on))
    case.apply(
        _accepted(
            "wiltshire-and-swindon",
            "wiltshire-police",
            {"lanarkshire-justice-social-work": "probation-wiltshire"},
        ),
        at(on + timedelta(days=1)),
    )
    assert case.jurisdiction is Jurisdiction.ENGLAND_AND_WALES
    assert case.deadlines["review:meeting-1"].due_date == held + timedelta(weeks=12)
    assert any("review:meeting-1" in r and "no sooner" in r for r in case.transfers[0].rebased)


def _lanarkshire_case_referred_before_easter() -> CaseFile:
    """Referred and accepted Tue 16 Mar 2027: the initial meeting's 20 working days span Good Friday (a Scottish
    bank holiday) and Easter Monday (a Lanarkshire local holiday, not Glasgow's)."""
    case = CaseFile.open(community_notification(disposal_date=date(2027, 3, 11)), at(date(2027, 3, 12)))
    case.apply(ev.ScreeningDecision(outcome="referral-needed", reason="high risk"), at(date(2027, 3, 15)))
    case.apply(referral(2), at(date(2027, 3, 16)))
    case.apply(accept(2), at(date(2027, 3, 16), 15))
    return case


def test_transfer_re_bases_the_initial_meeting_on_the_receiving_areas_calendar() -> None:
    """DOMAIN.md: working days are the jurisdiction's less its bank holidays, plus the area's own. Glasgow does not
    close for Easter Monday: counted again on its calendar, the initial meeting (20 working days, 001, 003) is due
    a working day sooner."""
    case = _lanarkshire_case_referred_before_easter()
    received = date(2027, 3, 16)
    lanarkshire = area_policy("lanarkshire").calendar.add_working_days(received, 20).due_date
    glasgow = area_policy("glasgow").calendar.add_working_days(received, 20).due_date
    assert case.deadlines["initial-meeting"].due_date == lanarkshire and glasgow < lanarkshire
    case.apply(ev.TransferRequested(receiving_area="glasgow", reason="moved"), at(date(2027, 3, 17)))
    case.apply(
        _accepted("glasgow", "police-scotland-glasgow", SCOTTISH_TO_GLASGOW).model_copy(
            update={"sent_by": GLASGOW_CO}
        ),
        at(date(2027, 3, 18)),
    )
    meeting_due = case.deadlines["initial-meeting"]
    assert meeting_due.due_date == glasgow
    assert meeting_due.reminder_at is not None
    assert "re-based on the transfer to Glasgow" in meeting_due.explanation
    # The record searches are handed over: Glasgow's agencies owe them, and meet them under the ids asked by.
    assert case.deadlines["record-search:nhs-lanarkshire"].responsible == "nhs-greater-glasgow-and-clyde"
    case.apply(ev.RecordSearchReturned(agency="nhs-greater-glasgow-and-clyde"), at(date(2027, 3, 19)))
    assert case.deadlines["record-search:nhs-lanarkshire"].state is DeadlineState.MET


def test_a_breached_deadline_stays_breached_and_passes_to_the_receiving_area() -> None:
    case = english_referred_case()  # record searches asked Mon 9 Nov, due Mon 16 Nov
    case.tick(at(date(2026, 11, 20)))
    missed = case.deadlines["record-search:wiltshire-council"]
    assert missed.state is DeadlineState.BREACHED
    due_at, breached_at = missed.due_at, missed.breached_at
    case.apply(ev.TransferRequested(receiving_area="glasgow", reason="moved"), at(date(2026, 11, 23)))
    handovers = {**ENGLISH_TO_GLASGOW, "wiltshire-police": "police-scotland-glasgow"}
    case.apply(_accepted("glasgow", "police-scotland-glasgow", handovers), at(date(2026, 11, 24)))
    assert (missed.state, missed.due_at, missed.breached_at) == (DeadlineState.BREACHED, due_at, breached_at)
    assert missed.responsible == "glasgow-justice-social-work"
    assert any("stays breached" in line for line in case.transfers[0].rebased)


def test_the_acceptance_is_owed_by_the_receiving_co_ordinator_reminded_and_escalated_in_that_area() -> None:
    """A policy value: 5 working days of the receiving area's calendar, reminded 2 before; a breach of the
    co-ordinator's own deadline goes to the chair there (the escalation routing every deadline follows)."""
    case = english_referred_case()
    asked = date(2026, 12, 3)
    case.apply(ev.TransferRequested(receiving_area="glasgow", reason="moved"), at(asked))
    acceptance = case.deadlines["transfer-acceptance:transfer-1"]
    glasgow = area_policy("glasgow").calendar
    assert acceptance.due_date == glasgow.add_working_days(asked, 5).due_date
    assert acceptance.responsible == CO_ORDINATOR and acceptance.owed_in_area == "glasgow"
    [asked_of] = [n for n in case.take_outbox() if n.kind is NoticeKind.CASE_TRANSFER]
    assert (asked_of.area, asked_of.to) == ("glasgow", CO_ORDINATOR)
    assert acceptance.reminder_at is not None
    case.tick(acceptance.reminder_at)
    [reminder] = [n for n in case.take_outbox() if n.deadline_id == acceptance.deadline_id]
    assert (reminder.kind, reminder.area, reminder.to) == (NoticeKind.REMINDER, "glasgow", CO_ORDINATOR)
    case.tick(acceptance.due_at)
    [breach] = [n for n in case.take_outbox() if n.deadline_id == acceptance.deadline_id]
    assert (breach.kind, breach.area, breach.to) == (NoticeKind.BREACH_ESCALATION, "glasgow", CHAIR)
    assert case.pending_transfer is not None  # still to be decided, late
    case.apply(
        _accepted(
            "glasgow",
            "police-scotland-glasgow",
            {**ENGLISH_TO_GLASGOW, "wiltshire-police": "police-scotland-glasgow"},
        ),
        at(local_date(acceptance.due_at) + timedelta(days=1)),
    )
    assert acceptance.met_late


def test_acceptance_is_refused_while_a_scottish_duty_with_no_english_counterpart_is_open() -> None:
    """000: the ASP screening (24 hours) is Scotland's; England and Wales have none. It is met in Scotland before
    the case moves, so nothing is left behind unowned."""
    case = referred_case()
    assert case.deadlines["asp-screening"].is_open
    case.apply(
        ev.TransferRequested(receiving_area="wiltshire-and-swindon", reason="moved"),
        at(date(2026, 11, 9), 16),
    )
    with pytest.raises(RuleViolation, match="no counterpart in England and Wales") as refused:
        case.check(_accepted("wiltshire-and-swindon", "wiltshire-police"), at(date(2026, 11, 10)))
    assert "ASP" in refused.value.message and "000" in refused.value.message


def test_only_the_receiving_area_decides_and_one_transfer_at_a_time() -> None:
    case = english_referred_case()
    case.apply(ev.TransferRequested(receiving_area="glasgow", reason="moved"), at(date(2026, 11, 10)))
    with pytest.raises(RuleViolation, match="only the receiving area decides"):
        case.check(_accepted("greater-manchester", "greater-manchester-police"), at(date(2026, 11, 11)))
    with pytest.raises(RuleViolation, match="one transfer at a time"):
        case.check(ev.TransferRequested(receiving_area="south-wales", reason="moved"), at(date(2026, 11, 11)))
    with pytest.raises(RuleViolation, match="name who takes each over"):
        case.check(_accepted("glasgow", "police-scotland-glasgow"), at(date(2026, 11, 11)))


def test_a_transfer_is_asked_of_another_known_area() -> None:
    case = english_referred_case()
    with pytest.raises(RuleViolation, match="already in Wiltshire"):
        case.check(
            ev.TransferRequested(receiving_area="wiltshire-and-swindon", reason="x"), at(date(2026, 11, 10))
        )
    with pytest.raises(RuleViolation, match="not a MAPPA area"):
        case.check(ev.TransferRequested(receiving_area="atlantis", reason="x"), at(date(2026, 11, 10)))


def test_declining_needs_reasons_and_leaves_the_case_where_it_is() -> None:
    with pytest.raises(ValidationError):
        ev.TransferDeclined(receiving_area="glasgow", reason="")
    case = english_referred_case()
    case.apply(ev.TransferRequested(receiving_area="glasgow", reason="moved"), at(date(2026, 11, 10)))
    case.take_outbox()
    case.apply(
        ev.TransferDeclined(receiving_area="glasgow", reason="no address confirmed"), at(date(2026, 11, 11))
    )
    assert case.area == "wiltshire-and-swindon" and case.pending_transfer is None
    assert case.transfers[0].outcome == "declined"
    [told] = case.take_outbox()
    assert (told.area, told.to, told.kind) == (
        "wiltshire-and-swindon",
        CO_ORDINATOR,
        NoticeKind.CASE_TRANSFER,
    )
    assert "no address" not in " ".join(told.lines)  # the reasons stay in the case file


def test_an_exit_lapses_a_transfer_awaiting_its_decision() -> None:
    case = english_referred_case()
    case.apply(ev.TransferRequested(receiving_area="glasgow", reason="moved"), at(date(2026, 11, 10)))
    case.apply(ev.ExitDecision(outcome="exit", reason="died"), at(date(2026, 11, 11)))
    assert case.deadlines["transfer-acceptance:transfer-1"].state is DeadlineState.CANCELLED
    assert case.pending_transfer is None


def test_a_transfer_is_carried_across_continue_as_new_and_a_level_change() -> None:
    """The case file's state is what a new run starts from: the transfer and who owes the acceptance survive it."""
    case = referred_case()
    held = date(2026, 12, 1)
    case.apply(meeting(held, held + timedelta(weeks=12)), at(held))
    case.apply(ev.TransferRequested(receiving_area="glasgow", reason="moved"), at(date(2026, 12, 3)))
    raised = ev.LevelChanged(new_level=3, reason="risk up", level_2_cannot_deliver="police resources")
    case.apply(raised, at(date(2026, 12, 4)))
    carried = CaseFile.model_validate(case.model_dump(mode="json"))
    assert carried.transfers == case.transfers and carried.pending_transfer is not None
    assert carried.deadlines["transfer-acceptance:transfer-1"].owed_in_area == "glasgow"
    carried.apply(_accepted("glasgow", "police-scotland-glasgow", SCOTTISH_TO_GLASGOW), at(date(2026, 12, 7)))
    assert carried.area == "glasgow" and carried.level == 3
