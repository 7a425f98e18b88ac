"""The deadline mechanics every stage uses: open, remind, breach, escalate, meet late, archive. In the guidance's words; pure: a clock is passed in."""

from datetime import date, timedelta

from tests.case_builders import (
    community_notification,
    meeting,
)
from tests.unit.rules.cases import at, referred_case
from workflows.rules import events as ev
from workflows.rules.case import CaseFile, NoticeKind
from workflows.rules.deadlines import DeadlineState, DueDate, compute_due, rearm_deadline
from workflows.rules.policy import DeadlineKind, area_policy

LANARKSHIRE = area_policy("lanarkshire")


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
    assert len(dropped) == 2 and all(":" in d for d in dropped), (
        "only repeatable deadlines, beyond the 2 kept"
    )
    assert all(d not in case.deadlines for d in dropped)
    assert "initial-meeting" in case.deadlines
    assert not case.deadlines["referral-decision"].is_open, "a closed one-off deadline is kept: rules read it"


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


# ------------------------------------------------------------------ escalation routing


def test_a_breach_of_the_co_ordinators_own_deadline_goes_to_the_chair_or_deputy_not_back_to_the_co_ordinator():
    case = referred_case()
    initial = case.deadlines["initial-meeting"]
    assert initial.responsible == "co-ordinator"
    case.take_outbox()
    case.tick(initial.due_at)
    breach = [n for n in case.take_outbox() if n.deadline_id == "initial-meeting"]
    assert [(n.kind, n.to, n.passes_over) for n in breach] == [
        (NoticeKind.BREACH_ESCALATION, "chair", ["co-ordinator"])
    ]


def test_a_breach_under_the_rule_before_the_correction_still_goes_to_the_co_ordinator():
    case = CaseFile.open(
        community_notification(disposal_date=date(2026, 11, 2)), at(date(2026, 11, 4)), rule_changes=[]
    )
    screening = case.deadlines["screening"]
    case.tick(screening.due_at)
    breach = [n for n in case.take_outbox() if n.deadline_id == "screening"]
    assert [(n.to, n.passes_over) for n in breach] == [("co-ordinator", [])]


def test_re_escalation_goes_to_the_chair_of_the_meeting_that_set_the_deadline():
    case = referred_case()
    held = date(2026, 12, 1)
    action = ev.RmpActionSet(
        action_id="A1",
        description="Home visit",
        owner_agency="lanarkshire-housing",
        due_date=date(2026, 12, 15),
    )
    chair_agency = "lanarkshire-justice-social-work"
    case.apply(
        meeting(
            held, date(2027, 2, 9), actions=[action], attendees=[chair_agency, "police-scotland-lanarkshire"]
        ),
        at(held, 16),
    )
    d = case.deadlines["rmp:meeting-1:A1"]
    assert d.set_at_meeting == "meeting-1"
    case.take_outbox()
    case.tick(d.due_at)
    first = [n for n in case.take_outbox() if n.deadline_id == d.deadline_id]
    assert first[0].to == "co-ordinator"  # the owner agency breached: its co-ordinator hears first
    case.tick(d.due_at + timedelta(days=5))
    again = [n for n in case.take_outbox() if n.deadline_id == d.deadline_id]
    assert [(n.kind, n.to) for n in again] == [(NoticeKind.RE_ESCALATION, chair_agency)]
    assert "chair of meeting-1 (Representative of lanarkshire-justice-social-work)" in again[0].lines[0]


def test_a_missed_deadline_moved_ahead_and_back_to_the_time_it_was_missed_is_escalated_once():
    # A release date moved ahead (parole) and back (the decision reversed): the deadline counted from it is
    # missed again at the very time it was first missed, and that breach has already been escalated.
    case = referred_case()
    search = case.deadlines["record-search:nhs-lanarkshire"]
    missed_at = search.due_at
    case.tick(missed_at)
    later = missed_at + timedelta(hours=2)
    ahead = DueDate(missed_at + timedelta(days=14), (missed_at + timedelta(days=14)).date(), "moved ahead")
    rearm_deadline(case, case.policy, search.deadline_id, ahead, later, "release date moved")
    assert search.state is DeadlineState.OPEN
    back = DueDate(missed_at, missed_at.date(), "moved back")
    rearm_deadline(case, case.policy, search.deadline_id, back, later, "release date moved back")
    case.tick(later + timedelta(minutes=1))
    assert search.state is DeadlineState.BREACHED
    escalations = [
        n
        for n in case.take_outbox()
        if n.deadline_id == search.deadline_id and n.kind is NoticeKind.BREACH_ESCALATION
    ]
    assert len(escalations) == 1


def test_older_meetings_carried_into_a_new_run_keep_who_attended_but_not_each_signature():
    # A case that lives for years carries its meetings into each new run: the newest whole, older ones with what
    # later rules read (who may read the minute, its circulation, the plan's actions), not every signature.
    case = referred_case()
    for day in (16, 23, 30):
        held = date(2026, 11, day)
        case.apply(meeting(held, held + timedelta(weeks=10)), at(held, 14))
    case.take_ledger_pending()
    case.archive_closed(4, 12)
    oldest, *_, newest = case.meetings
    assert oldest.attendees and not oldest.people and not oldest.not_to_be_shared
    assert newest.people and newest.not_to_be_shared


# ------------------------------------------------------------------ closed days named, counted back or ahead


def test_a_date_counted_back_in_working_days_names_the_holidays_it_passed_over():
    """The exit review falls "before the SONR end date": a SONR ending Tue 29 Dec 2026 in Scotland is reviewed by
    Thu 24 Dec, and the explanation says why not Mon 28 Dec."""
    rule = LANARKSHIRE.rule(DeadlineKind.EXIT_REVIEW)
    due = compute_due(LANARKSHIRE, rule, at(date(2026, 12, 29), 12))
    assert due.due_date == date(2026, 12, 24)
    assert "25 Dec Christmas Day (bank holiday)" in due.explanation and "28 Dec" in due.explanation


def test_lanarkshire_closes_for_easter_monday_every_year_not_only_2026_and_2027():
    assert not LANARKSHIRE.calendar.is_working_day(date(2028, 4, 17))
    assert not LANARKSHIRE.calendar.is_working_day(date(2035, 3, 26))
    assert area_policy("glasgow").calendar.is_working_day(date(2028, 4, 17))
