"""The ops read side (store/views.py) on SQLite and PostgreSQL: compliance figures for a seeded set of
Lanarkshire cases match figures worked out by hand, and the breached / due-soon lists are right and sorted.

The ledger is seeded the way the workflow writes it: real `CaseFile`s take each event at its time (ticking
first, as the workflow does when it wakes at a due time), and the real `record_in_ledger` activity writes
what changed. Every write is made twice (a retried activity) and the whole sequence is replayed at the end
(a replayed or continued workflow): the ledger must still hold one row per case and per deadline.
"""

from dataclasses import dataclass, field
from datetime import UTC, date, datetime

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from store.models import LedgerCase, LedgerDeadline
from store.views import ComplianceReport, breached_and_due_soon, compliance, monthly_outcomes
from tests.case_builders import SCOTTISH_AGENCIES, meeting
from tests.integration.case_files import ledger_update
from tests.integration.test_ledger import activities_on
from workflows.messages import LedgerUpdate
from workflows.rules import events as ev
from workflows.rules.calendar import Jurisdiction
from workflows.rules.case import CaseFile
from workflows.rules.imported_row import ImportedPosition


def at(month: int, day: int, hour: int = 10) -> datetime:
    return datetime(2026, month, day, hour, tzinfo=UTC)


MARCH = (date(2026, 3, 1), date(2026, 3, 31))
APRIL_TO_JUNE = (date(2026, 4, 1), date(2026, 6, 30))
# The report is drawn up on Friday 1 May 2026: by then every case has woken for everything due before it.
REPORT_TIME = at(5, 1, 12)
RECEIVED = at(3, 2)  # Monday 2 March 2026, 10:00 GMT
DECIDED = at(3, 2, 13)
NOT_VULNERABLE = ev.AspScreening(
    aged_16_or_over=True,
    unable_to_safeguard_own_interests=False,
    at_risk_of_harm=False,
    more_vulnerable_than_others=False,
)
SEARCHED_BY = {"lanarkshire": "nhs-lanarkshire", "glasgow": "nhs-greater-glasgow-and-clyde"}
EXIT = ev.ExitDecision(outcome="exit", reason="the case no longer meets the MAPPA criteria")
ATTENDEES = SCOTTISH_AGENCIES[:3]


def accept(area: str) -> ev.ReferralDecision:
    return ev.ReferralDecision(outcome="accepted", level=2, record_search_agencies=[SEARCHED_BY[area]])


@dataclass
class LedgerDriver:
    """Cases taking events at given times, with each ledger write retried, and the writes kept for replay."""

    engine: Engine
    cases: dict[str, CaseFile] = field(default_factory=dict)
    written: list[LedgerUpdate] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.activities = activities_on(self.engine)

    def open(self, case_ref: str, area: str, received: datetime) -> None:
        opening = ev.CaseOpening(
            case_ref=case_ref,
            area=area,
            jurisdiction=Jurisdiction.SCOTLAND,
            category=1,
            lead_agency="police-scotland-lanarkshire",
            subject=ev.SubjectDetails(
                name="A Testperson", date_of_birth=date(1980, 1, 1), address="1 Test Row"
            ),
            referral=ev.ReferralSubmitted(referring_agency="police-scotland-lanarkshire", level_sought=2),
        )
        # Under the rules the figures were worked out by hand for (before issue 9 part 2 added, among others,
        # the deadline to tell the subject after the first meeting): the views are under test, not the rules.
        self.cases[case_ref] = CaseFile.open(opening, received, rule_changes=[])
        self._write(case_ref)

    def import_case(self, case_ref: str, position: ImportedPosition, go_live: datetime) -> None:
        """A case already in progress, imported at `go-live` under the rules in force (as an import is)."""
        opening = ev.CaseOpening(
            case_ref=case_ref,
            area="lanarkshire",
            jurisdiction=Jurisdiction.SCOTLAND,
            category=1,
            lead_agency="police-scotland-lanarkshire",
            subject=ev.SubjectDetails(
                name="A Testperson", date_of_birth=date(1980, 1, 1), address="1 Test Row"
            ),
        )
        self.cases[case_ref] = CaseFile.open(
            opening, go_live, imported=position.model_copy(update={"as_of": go_live})
        )
        self._write(case_ref)

    def event(self, case_ref: str, event: ev.Event, now: datetime) -> None:
        case = self.cases[case_ref]
        case.tick(now)
        case.apply(event, now)
        case.tick(now)
        self._write(case_ref)

    def wake_all(self, now: datetime) -> None:
        for case_ref, case in self.cases.items():
            case.tick(now)
            self._write(case_ref)

    def replay(self) -> None:
        for update in self.written:
            self.activities.record_in_ledger(update)

    def _write(self, case_ref: str) -> None:
        update = ledger_update(self.cases[case_ref])
        self.activities.record_in_ledger(update)
        self.activities.record_in_ledger(update)  # retried after a lost answer
        self.written.append(update)


@pytest.fixture
def ledger(engine: Engine) -> LedgerDriver:
    """Seven cases referred for level 2 (six in Lanarkshire, one in Glasgow), each faring differently."""
    d = LedgerDriver(engine)
    for ref, area in [("MAPPA-LAN-2026-0001", "lanarkshire"), ("MAPPA-LAN-2026-0002", "lanarkshire")]:
        d.open(ref, area, RECEIVED)
    for ref in ("MAPPA-LAN-2026-0003", "MAPPA-LAN-2026-0004", "MAPPA-LAN-2026-0005"):
        d.open(ref, "lanarkshire", RECEIVED)
    d.open("MAPPA-GLA-2026-0006", "glasgow", RECEIVED)

    # 0001: everything on time. Record search back on Thu 5 March, initial meeting Mon 16 March, SWIS alert
    # the same afternoon, minutes the next day; the review is set for 1 June.
    d.event("MAPPA-LAN-2026-0001", NOT_VULNERABLE, DECIDED)
    d.event("MAPPA-LAN-2026-0001", accept("lanarkshire"), DECIDED)
    d.event("MAPPA-LAN-2026-0001", ev.RecordSearchReturned(agency="nhs-lanarkshire"), at(3, 5))
    d.event(
        "MAPPA-LAN-2026-0001",
        meeting(date(2026, 3, 16), date(2026, 6, 1), attendees=ATTENDEES),
        at(3, 16, 13),
    )
    d.event("MAPPA-LAN-2026-0001", ev.SwisAlertUpdated(meeting_id="meeting-1"), at(3, 16, 14))
    d.event(
        "MAPPA-LAN-2026-0001", ev.MinutesCirculated(meeting_id="meeting-1", recipients=ATTENDEES), at(3, 17)
    )

    # 0002: record search back on Wed 11 March (due Mon 9), initial meeting on Wed 1 April (due Mon 30 March);
    # that meeting's SWIS alert and minutes are then never done; review set for 1 June.
    d.event("MAPPA-LAN-2026-0002", NOT_VULNERABLE, DECIDED)
    d.event("MAPPA-LAN-2026-0002", accept("lanarkshire"), DECIDED)
    d.event("MAPPA-LAN-2026-0002", ev.RecordSearchReturned(agency="nhs-lanarkshire"), at(3, 11))
    d.event(
        "MAPPA-LAN-2026-0002", meeting(date(2026, 4, 1), date(2026, 6, 1), attendees=ATTENDEES), at(4, 1, 13)
    )

    # 0003: ASP screening on Wed 4 March (due Tue 3, 10:00), referral accepted the same day (due Thu 5); the
    # record search (due Wed 11) and the initial meeting (due Mon 30 March) never happen.
    d.event("MAPPA-LAN-2026-0003", NOT_VULNERABLE, at(3, 4))
    d.event("MAPPA-LAN-2026-0003", accept("lanarkshire"), at(3, 4))

    # 0004: accepted, then exits on Wed 4 March, before its record search or meeting fell due.
    d.event("MAPPA-LAN-2026-0004", NOT_VULNERABLE, DECIDED)
    d.event("MAPPA-LAN-2026-0004", accept("lanarkshire"), DECIDED)
    d.event("MAPPA-LAN-2026-0004", EXIT, at(3, 4))

    # 0005: accepted; record search and meeting never happen; exits on Thu 2 April, with both breached.
    d.event("MAPPA-LAN-2026-0005", NOT_VULNERABLE, DECIDED)
    d.event("MAPPA-LAN-2026-0005", accept("lanarkshire"), DECIDED)
    d.event("MAPPA-LAN-2026-0005", EXIT, at(4, 2))

    # 0006 is in Glasgow: screened and accepted on time, then nothing.
    d.event("MAPPA-GLA-2026-0006", NOT_VULNERABLE, DECIDED)
    d.event("MAPPA-GLA-2026-0006", accept("glasgow"), DECIDED)

    # 0007: referred on Mon 30 March; never screened (due Tue 31 March, 10:00) nor decided (due Thu 2 April).
    d.open("MAPPA-LAN-2026-0007", "lanarkshire", at(3, 30))

    d.wake_all(REPORT_TIME)
    return d


Counts = tuple[int, int, int, int, int, int, int]


def figures(report: ComplianceReport) -> dict[str, Counts]:
    """kind -> (fell due, on time, late, still breached, closed unmet, not yet due, cancelled)."""
    return {
        row.kind: (
            row.fell_due,
            row.met_on_time,
            row.met_late,
            row.still_breached,
            row.closed_unmet,
            row.open_not_yet_due,
            row.cancelled,
        )
        for row in report.rows
    }


def march_in_lanarkshire(engine: Engine) -> ComplianceReport:
    with Session(engine) as session:
        return compliance(
            session, area="lanarkshire", period_start=MARCH[0], period_end=MARCH[1], now=REPORT_TIME
        )


# Worked out by hand from the story above (deadlines due in March, Lanarkshire, as at 1 May).
MARCH_BY_HAND: dict[str, Counts] = {
    #                         fell  on   late  still closed not   cancelled
    #                         due   time       brch  unmet  yet
    # 0001, 0002, 0004, 0005 on time; 0003 late; 0007 (due 31 March) never.
    "asp-screening": (6, 4, 1, 1, 0, 0, 0),
    # 0001-0005, all decided by Wed 4 March (due Thu 5); 0007's decision falls due in April.
    "referral-decision": (5, 5, 0, 0, 0, 0, 0),
    # 0001 on time, 0002 late, 0003 never, 0005 breached then closed by the exit, 0004 closed before due.
    "record-search": (4, 1, 1, 1, 1, 0, 1),
    # The same pattern: 0001 on time, 0002 late (1 April), 0003 never, 0005 closed unmet, 0004 cancelled.
    "initial-meeting-level-2": (4, 1, 1, 1, 1, 0, 1),
    # 0001's meeting on 16 March: the SWIS alert that day, the minutes the next.
    "swis-alert": (1, 1, 0, 0, 0, 0, 0),
    "minutes": (1, 1, 0, 0, 0, 0, 0),
}


def test_compliance_for_march_matches_the_figures_worked_out_by_hand(ledger: LedgerDriver) -> None:
    report = march_in_lanarkshire(ledger.engine)

    assert figures(report) == MARCH_BY_HAND
    assert [row.kind for row in report.rows] == [
        "referral-decision",
        "asp-screening",
        "record-search",
        "initial-meeting-level-2",
        "minutes",
        "swis-alert",
    ], "rows follow the order of the policy's kinds, roughly the order of the process"
    by_kind = {row.kind: row for row in report.rows}
    assert by_kind["initial-meeting-level-2"].sentence == (
        "initial level 2 meeting within 20 working days of receipt of referral: 1 of 4 on time"
    )
    assert by_kind["asp-screening"].sentence == (
        "screening against the ASP 3-point criteria within 24 hours of receipt of referral: 4 of 6 on time"
    )
    assert by_kind["referral-decision"].on_time_percent == 100.0
    assert by_kind["record-search"].on_time_percent == 25.0
    assert (report.area_name, report.period_start, report.period_end) == ("Lanarkshire", *MARCH)


def test_deadlines_not_yet_due_in_the_period_are_shown_apart_and_not_counted(ledger: LedgerDriver) -> None:
    with Session(ledger.engine) as session:
        report = compliance(
            session,
            area="lanarkshire",
            period_start=APRIL_TO_JUNE[0],
            period_end=APRIL_TO_JUNE[1],
            now=REPORT_TIME,
        )

    assert figures(report) == {
        # 0007's decision (due Thu 2 April) was never made.
        "referral-decision": (1, 0, 0, 1, 0, 0, 0),
        # 0002's meeting on 1 April: neither its minutes nor its SWIS alert were done.
        "minutes": (1, 0, 0, 1, 0, 0, 0),
        "swis-alert": (1, 0, 0, 1, 0, 0, 0),
        # 0001's and 0002's reviews, set for 1 June: open, not yet due on 1 May.
        "review-level-2": (0, 0, 0, 0, 0, 2, 0),
    }
    review = next(row for row in report.rows if row.kind == "review-level-2")
    assert review.sentence == "level 2 review meeting within 12 weeks of last meeting: none fell due"
    assert review.on_time_percent is None


def test_retried_and_replayed_ledger_writes_leave_one_row_per_fact(ledger: LedgerDriver) -> None:
    before = march_in_lanarkshire(ledger.engine)

    ledger.replay()

    with Session(ledger.engine) as session:
        assert session.scalar(select(func.count()).select_from(LedgerCase)) == len(ledger.cases) == 7
        assert session.scalar(select(func.count()).select_from(LedgerDeadline)) == sum(
            len(case.deadlines) for case in ledger.cases.values()
        )
        duplicated = session.execute(
            select(LedgerDeadline.case_ref, LedgerDeadline.deadline_id)
            .group_by(LedgerDeadline.case_ref, LedgerDeadline.deadline_id)
            .having(func.count() > 1)
        ).all()
    assert duplicated == []
    assert march_in_lanarkshire(ledger.engine) == before


def test_breached_deadlines_are_listed_oldest_first_and_those_due_soon_soonest_first(
    ledger: LedgerDriver,
) -> None:
    with Session(ledger.engine) as session:
        lists = breached_and_due_soon(session, within_days=35, area="lanarkshire", now=REPORT_TIME)

    assert [(d.case_ref, d.deadline_id) for d in lists.breached] == [
        ("MAPPA-LAN-2026-0003", "record-search:nhs-lanarkshire"),  # due Wed 11 March
        ("MAPPA-LAN-2026-0003", "initial-meeting"),  # Mon 30 March
        ("MAPPA-LAN-2026-0007", "asp-screening"),  # Tue 31 March, 10:00
        ("MAPPA-LAN-2026-0002", "swis-alert:meeting-1"),  # Wed 1 April
        ("MAPPA-LAN-2026-0007", "referral-decision"),  # Thu 2 April
        ("MAPPA-LAN-2026-0002", "minutes:meeting-1"),  # 5 working days after 1 April, Easter skipped
    ]
    assert all(d.state == "breached" and d.area == "lanarkshire" for d in lists.breached)
    assert [(d.case_ref, d.deadline_id) for d in lists.due_soon] == [
        ("MAPPA-LAN-2026-0001", "review:meeting-1"),
        ("MAPPA-LAN-2026-0002", "review:meeting-1"),
    ]
    meeting_row = lists.breached[1]
    assert (meeting_row.kind, meeting_row.rule, meeting_row.responsible) == (
        "initial-meeting-level-2",
        "initial level 2 meeting",
        "co-ordinator",
    )
    assert meeting_row.due_date == date(2026, 3, 30)


def test_the_lists_filter_by_area_agency_and_kind(ledger: LedgerDriver) -> None:
    with Session(ledger.engine) as session:
        by_agency = breached_and_due_soon(session, within_days=35, agency="nhs-lanarkshire", now=REPORT_TIME)
        by_kind = breached_and_due_soon(
            session, within_days=35, area="lanarkshire", kind="initial-meeting-level-2", now=REPORT_TIME
        )
        glasgow = breached_and_due_soon(session, within_days=35, area="glasgow", now=REPORT_TIME)
        too_soon = breached_and_due_soon(session, within_days=7, area="lanarkshire", now=REPORT_TIME)

    assert [(d.case_ref, d.deadline_id) for d in by_agency.breached] == [
        ("MAPPA-LAN-2026-0003", "record-search:nhs-lanarkshire")
    ]
    assert [d.case_ref for d in by_kind.breached] == ["MAPPA-LAN-2026-0003"]
    assert {d.case_ref for d in glasgow.breached} == {"MAPPA-GLA-2026-0006"}
    assert {d.deadline_id for d in glasgow.breached} == {
        "record-search:nhs-greater-glasgow-and-clyde",
        "initial-meeting",
    }
    assert too_soon.due_soon == [], "the reviews fall due in 31 days"


def test_a_deadline_past_due_that_its_case_has_not_yet_marked_is_listed_as_breached(
    ledger: LedgerDriver,
) -> None:
    # On 10 June no case has woken since 1 May (a worker is behind): the 1 June reviews are still `open`.
    with Session(ledger.engine) as session:
        lists = breached_and_due_soon(session, within_days=7, area="lanarkshire", now=at(6, 10))

    overdue = [d for d in lists.breached if d.deadline_id == "review:meeting-1"]
    assert [(d.case_ref, d.state) for d in overdue] == [
        ("MAPPA-LAN-2026-0001", "open"),
        ("MAPPA-LAN-2026-0002", "open"),
    ]


# ------------------------------------------------------------------------------------------ imported cases

# Lanarkshire goes live on Monday 16 March 2026, 09:00, importing two cases in progress.
GO_LIVE = at(3, 16, 9)


@pytest.fixture
def with_imports(ledger: LedgerDriver) -> LedgerDriver:
    """The seven live cases, and two imported at go-live with deadlines already past."""
    # 0008: referral received Mon 2 March and screened that day (due Tue 3, 12:00: on time), accepted Wed 4
    # March (due Thu 5: on time); NHS Lanarkshire's record search (due Wed 11) not yet back at go-live. It
    # comes back on Wed 18 March, late; the pre-meeting information (due Fri 27 March) and the initial
    # meeting (due Mon 30 March, 20 working days from 2 March) never happen.
    ledger.import_case(
        "MAPPA-LAN-2026-0008",
        ImportedPosition(
            import_ref="LAN-2026-00008",
            stage="information-sharing",
            level=2,
            referral_received_on=date(2026, 3, 2),
            referring_agency="police-scotland-lanarkshire",
            level_sought=2,
            asp_screened_on=date(2026, 3, 2),
            accepted_on=date(2026, 3, 4),
            searches_outstanding=["nhs-lanarkshire"],
        ),
        GO_LIVE,
    )
    ledger.event("MAPPA-LAN-2026-0008", ev.RecordSearchReturned(agency="nhs-lanarkshire"), at(3, 18))
    # 0009: referral received Mon 9 March; neither screened (due Tue 10, 12:00) nor decided (due Thu 12) at
    # go-live. Screened on Tue 17 March, late; never decided.
    ledger.import_case(
        "MAPPA-LAN-2026-0009",
        ImportedPosition(
            import_ref="LAN-2026-00009",
            stage="referral",
            referral_received_on=date(2026, 3, 9),
            referring_agency="police-scotland-lanarkshire",
            level_sought=2,
        ),
        GO_LIVE,
    )
    ledger.event("MAPPA-LAN-2026-0009", NOT_VULNERABLE, at(3, 17))
    ledger.wake_all(REPORT_TIME)
    return ledger


def before_go_live(report: ComplianceReport) -> dict[str, Counts]:
    return figures(report.model_copy(update={"rows": report.before_go_live}))


def test_deadlines_past_at_go_live_are_counted_apart_from_what_the_system_could_have_reminded(
    with_imports: LedgerDriver,
) -> None:
    report = march_in_lanarkshire(with_imports.engine)

    #                    fell  on   late  still closed not   cancelled
    #                    due   time       brch  unmet  yet
    assert figures(report) == MARCH_BY_HAND | {
        # 0008's initial meeting (due Mon 30 March, after go-live) never held: one more still breached.
        "initial-meeting-level-2": (5, 1, 1, 2, 1, 0, 1),
        # 0008's pre-meeting information (due Fri 27 March) never sent.
        "pre-meeting-information": (1, 0, 0, 1, 0, 0, 0),
    }
    assert before_go_live(report) == {
        # 0008 screened on time on 2 March; 0009 due Tue 10 March, screened on 17 March.
        "asp-screening": (2, 1, 1, 0, 0, 0, 0),
        # 0008 accepted on time on 4 March; 0009 due Thu 12 March, never decided.
        "referral-decision": (2, 1, 0, 1, 0, 0, 0),
        # 0008's record search, due Wed 11 March, back on Wed 18.
        "record-search": (1, 0, 1, 0, 0, 0, 0),
    }
    by_kind = {row.kind: row for row in report.before_go_live}
    assert by_kind["referral-decision"].sentence.endswith(": 1 of 2 on time")
    # The chart counts what the table counts: nothing that fell due before go-live.
    with Session(with_imports.engine) as session:
        (march,) = monthly_outcomes(
            session, area="lanarkshire", period_start=MARCH[0], period_end=MARCH[1], now=REPORT_TIME
        )
    assert (
        (march.met_on_time, march.met_late, march.still_breached)
        == (
            sum(row.met_on_time for row in report.rows),
            sum(row.met_late for row in report.rows),
            sum(row.still_breached for row in report.rows),
        )
        == (13, 3, 5)
    )


def test_a_breach_already_past_at_go_live_is_listed_apart_from_the_systems_breaches(
    with_imports: LedgerDriver,
) -> None:
    with Session(with_imports.engine) as session:
        lists = breached_and_due_soon(session, within_days=35, area="lanarkshire", now=REPORT_TIME)

    assert [(d.case_ref, d.deadline_id, d.pre_go_live) for d in lists.breached_before_go_live] == [
        ("MAPPA-LAN-2026-0009", "referral-decision", True)  # due Thu 12 March, before go-live
    ]
    imported = [(d.case_ref, d.deadline_id) for d in lists.breached if d.case_ref.endswith(("0008", "0009"))]
    assert imported == [
        ("MAPPA-LAN-2026-0008", "pre-meeting-information"),  # Fri 27 March
        ("MAPPA-LAN-2026-0008", "initial-meeting"),  # Mon 30 March
    ]
    assert not any(d.pre_go_live for d in lists.breached)
