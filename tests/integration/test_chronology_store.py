"""The chronology as stored, and the annual figures, on SQLite and PostgreSQL.

The chronology: each entry kept once whatever is retried, its words sealed (not readable in the table), read
back with the case's deadlines, escalations and minutes for the export, from the database alone.

The annual figures: a small set of ledger and chronology rows made by hand, with the table the core must count
worked out in the comments.
"""

from __future__ import annotations

import secrets
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from core.codec import KeyRing
from store.chronology import chronology, to_csv, write_entries
from store.figures import figures
from store.figures import to_csv as figures_csv
from store.models import ChronologyRecord, LedgerCase, LedgerDeadline, LedgerEscalation
from workflows.rules.annual_figures import CategoryLevel, KindCount, LevelChange
from workflows.rules.chronology import ChronologyEntry

LONDON = ZoneInfo("Europe/London")
KEYS = KeyRing({"k1": secrets.token_bytes(32)}, "k1")
CASE = "MAPPA-LAN-2026-CHRON1"


def utc(y: int, m: int, d: int, h: int = 10, mi: int = 0) -> datetime:
    return datetime(y, m, d, h, mi, tzinfo=UTC)


def entry(seq: int, at: datetime, event: str, **values: object) -> ChronologyEntry:
    return ChronologyEntry.model_validate({"seq": seq, "at": at, "event": event, **values})


def a_case(
    session: Session, case_ref: str, category: int, level: int | None, stage: str, **values: object
) -> None:
    session.add(
        LedgerCase(
            case_ref=case_ref,
            area=str(values.pop("area", "lanarkshire")),
            jurisdiction="scotland",
            category=category,
            level=level,
            stage=stage,
            lead_agency="police-scotland-lanarkshire",
            **values,
        )
    )


def a_deadline(session: Session, case_ref: str, deadline_id: str, kind: str, **values: object) -> None:
    due: datetime = values.pop("due_at", utc(2026, 5, 1))  # type: ignore[assignment]
    session.add(
        LedgerDeadline(
            case_ref=case_ref,
            deadline_id=deadline_id,
            area=str(values.pop("area", "lanarkshire")),
            jurisdiction="scotland",
            kind=kind,
            title=kind,
            source="003",
            responsible=str(values.pop("responsible", "nhs-lanarkshire")),
            opened_at=utc(2026, 4, 1),
            due_at=due,
            due_date=due.date(),
            state=str(values.pop("state", "breached")),
            **values,
        )
    )


# ------------------------------------------------------------------------------------------ the chronology


def test_each_entry_is_kept_once_its_words_sealed_and_read_back_with_the_deadlines(engine: Engine) -> None:
    opened = utc(2026, 4, 1)
    entries = [
        entry(
            1, opened, "CaseOpened", stage_after="notification", sender_agency="police-scotland-lanarkshire"
        ),
        entry(
            2,
            utc(2026, 4, 3),
            "ReferralDecision",
            sender_role="co-ordinator",
            sender_agency="justice-social-work-north-lanarkshire",
            stage_before="referral",
            stage_after="information-sharing",
            level_after=2,
            deadline_changes=[("referral-decision", "met"), ("record-search:nhs-lanarkshire", "opened")],
            fields={"outcome": "accepted", "reasons": '=HYPERLINK("x") the victim lives nearby'},
        ),
    ]
    with Session(engine) as session, session.begin():
        a_case(session, CASE, 1, 2, "information-sharing", opened_at=opened)
        session.flush()
        a_deadline(
            session, CASE, "record-search:nhs-lanarkshire", "record-search", breached_at=utc(2026, 5, 1)
        )
        session.add(
            LedgerEscalation(
                key=f"{CASE}/notice-9",
                case_ref=CASE,
                deadline_id="record-search:nhs-lanarkshire",
                area="lanarkshire",
                kind="breach-escalation",
                recipient="co-ordinator",
                due_at=utc(2026, 5, 1),
                escalated_at=utc(2026, 5, 1, 10),
                lateness_seconds=36000,
            )
        )
        write_entries(session, KEYS, CASE, "lanarkshire", entries)
    with Session(engine) as session, session.begin():
        write_entries(session, KEYS, CASE, "lanarkshire", entries)  # a retried ledger write
        rows = session.scalars(select(ChronologyRecord).where(ChronologyRecord.case_ref == CASE)).all()
        assert len(rows) == 2
        assert all(b"victim" not in r.sealed and b"accepted" not in r.sealed for r in rows)

    with Session(engine) as session:
        found = chronology(session, KEYS, CASE)

    # Oldest first: the opening and the deadline opened with it, the decision, the escalation of the breach.
    assert [line.section for line in found.lines] == ["event", "deadline", "event", "escalation"]
    assert [line.what for line in found.section("event")] == ["Case opened", "Referral decision"]
    decision = next(line for line in found.lines if line.what == "Referral decision")
    assert decision.who == "justice-social-work-north-lanarkshire (co-ordinator)"
    assert "the victim lives nearby" in decision.detail
    assert "level - -> 2" in decision.detail
    deadline = found.section("deadline")[0]
    assert deadline.state == "breached"
    assert found.section("escalation")[0].detail.endswith("10.0 hours after the due time")
    text = to_csv(found)
    assert "'reasons" not in text and "=HYPERLINK" in text  # inside a longer cell: not at its start
    assert text.splitlines()[0] == "case_ref,section,at,what,who,reference,state,detail"


def test_a_cell_that_starts_like_a_formula_is_neutralised_in_the_chronologys_csv(engine: Engine) -> None:
    with Session(engine) as session, session.begin():
        a_case(session, CASE, 1, None, "notification", opened_at=utc(2026, 4, 1))
        write_entries(
            session, KEYS, CASE, "lanarkshire", [entry(1, utc(2026, 4, 1), "CaseOpened", stage_after="=1+1")]
        )
    with Session(engine) as session:
        text = to_csv(chronology(session, KEYS, CASE))
    assert ",'=1+1," in text


# ------------------------------------------------------------------------------------------ the annual figures


def test_the_annual_figures_match_the_figures_worked_by_hand(engine: Engine) -> None:
    """The reporting year 2026: 1 April 2026 to 31 March 2027, Europe/London.

    case  cat  what happened                                                   at 31 March   counted in the year
    A     1    opened 2025, level 2 in 2025, raised 2 -> 3 on 10 Sep 2026       cat 1, lvl 3  one change 2 -> 3
    B     2    opened by referral 1 May 2026, level 2; lowered to 1 Apr 2027    cat 2, lvl 2  one referral
    C     1    notified Apr 2026, referred 15 Apr, level 2, exit 1 Dec 2026     (exited)      one referral, one exit
    D     3    opened 2024, no chronology (before it was kept), ledger level 2  cat 3, lvl 2  (from the ledger)
    E     1    routed to an information sharing meeting                         no MAPPA case
    F     1    notified 31 Mar 2027 23:30 London (BST)                          cat 1, lvl -
    G     1    notified 1 Apr 2027 00:30 London (31 Mar 23:30 UTC)              (next year)
    H     1    another area's referral                                          (not this area)
    I     2    exited 1 Mar 2026                                                (exited before the year)

    cases at 31 March: (1, -) 1, (1, 3) 1, (2, 2) 1, (3, 2) 1 = 4, of which 1 from the ledger
    referrals 2 (B, C); level changes 1 (2 -> 3; B's first level is none, its lowering is next year's); exits 1 (C)
    breaches: record-search 2 (C's two), review-level-2 1 (A's in August); A's March 2026 minutes and B's April 2027
    minutes are outside the year; D's pre-go-live review-level-2 is counted apart (1).
    """
    with Session(engine) as session, session.begin():
        a_case(session, "MAPPA-A", 1, 3, "active-management", opened_at=utc(2025, 6, 1))
        a_case(session, "MAPPA-B", 2, 1, "active-management", opened_at=utc(2026, 5, 1))
        a_case(session, "MAPPA-C", 1, 2, "exiting", opened_at=utc(2026, 4, 10), exited_at=utc(2026, 12, 1))
        a_case(session, "MAPPA-D", 3, 2, "active-management", opened_at=utc(2024, 1, 1))
        a_case(
            session, "MAPPA-E", 1, None, "routed-to-information-sharing-meeting", opened_at=utc(2026, 6, 1)
        )
        f_opened = datetime(2027, 3, 31, 23, 30, tzinfo=LONDON)
        g_opened = datetime(2027, 4, 1, 0, 30, tzinfo=LONDON)
        a_case(session, "MAPPA-F", 1, None, "notification", opened_at=f_opened)
        a_case(session, "MAPPA-G", 1, None, "notification", opened_at=g_opened)
        a_case(session, "MAPPA-H", 1, 2, "information-sharing", opened_at=utc(2026, 6, 1), area="glasgow")
        a_case(session, "MAPPA-I", 2, 2, "exited", opened_at=utc(2025, 1, 1), exited_at=utc(2026, 3, 1))
        session.flush()
        chronicle = {
            "MAPPA-A": [
                entry(1, utc(2025, 6, 1), "CaseOpened", stage_after="notification", category=1),
                entry(
                    2,
                    utc(2025, 6, 20),
                    "ReferralDecision",
                    stage_before="referral",
                    stage_after="information-sharing",
                    level_after=2,
                    category=1,
                ),
                entry(
                    3,
                    utc(2026, 9, 10),
                    "LevelChanged",
                    stage_before="active-management",
                    stage_after="active-management",
                    level_before=2,
                    level_after=3,
                    category=1,
                ),
            ],
            "MAPPA-B": [
                entry(1, utc(2026, 5, 1), "CaseOpened", stage_after="referral", category=2),
                entry(
                    2,
                    utc(2026, 5, 5),
                    "ReferralDecision",
                    stage_before="referral",
                    stage_after="information-sharing",
                    level_after=2,
                    category=2,
                ),
                entry(
                    3,
                    utc(2027, 4, 10),
                    "LevelChanged",
                    stage_before="active-management",
                    stage_after="active-management",
                    level_before=2,
                    level_after=1,
                    category=2,
                ),
            ],
            "MAPPA-C": [
                entry(1, utc(2026, 4, 10), "CaseOpened", stage_after="notification", category=1),
                entry(
                    2,
                    utc(2026, 4, 13),
                    "ScreeningDecision",
                    stage_before="notification",
                    stage_after="referral-due",
                    category=1,
                ),
                entry(
                    3,
                    utc(2026, 4, 15),
                    "ReferralSubmitted",
                    stage_before="referral-due",
                    stage_after="referral",
                    category=1,
                ),
                entry(
                    4,
                    utc(2026, 4, 20),
                    "ReferralDecision",
                    stage_before="referral",
                    stage_after="information-sharing",
                    level_after=2,
                    category=1,
                ),
                entry(
                    5,
                    utc(2026, 12, 1),
                    "ExitDecision",
                    stage_before="active-management",
                    stage_after="exiting",
                    level_before=2,
                    level_after=2,
                    category=1,
                ),
            ],
            "MAPPA-F": [entry(1, f_opened, "CaseOpened", stage_after="notification", category=1)],
            "MAPPA-G": [entry(1, g_opened, "CaseOpened", stage_after="notification", category=1)],
            "MAPPA-H": [entry(1, utc(2026, 6, 1), "CaseOpened", stage_after="referral", category=1)],
        }
        for case_ref, entries in chronicle.items():
            area = "glasgow" if case_ref == "MAPPA-H" else "lanarkshire"
            write_entries(session, KEYS, case_ref, area, entries)
        a_deadline(session, "MAPPA-A", "review", "review-level-2", breached_at=utc(2026, 8, 1))
        a_deadline(session, "MAPPA-A", "minutes:1", "minutes", breached_at=utc(2026, 3, 31))
        a_deadline(session, "MAPPA-B", "minutes:2", "minutes", breached_at=utc(2027, 4, 5))
        a_deadline(session, "MAPPA-C", "record-search:a", "record-search", breached_at=utc(2026, 4, 25))
        a_deadline(session, "MAPPA-C", "record-search:b", "record-search", breached_at=utc(2026, 5, 1))
        a_deadline(
            session, "MAPPA-D", "review", "review-level-2", breached_at=utc(2026, 6, 1), pre_go_live=True
        )

    with Session(engine) as session:
        found = figures(session, "lanarkshire", 2026)

    assert found.at_31_march == [
        CategoryLevel(category=1, level="-", cases=1),
        CategoryLevel(category=1, level="3", cases=1),
        CategoryLevel(category=2, level="2", cases=1),
        CategoryLevel(category=3, level="2", cases=1),
    ]
    assert (found.cases_at_31_march, found.from_the_ledger) == (4, 1)
    assert found.referrals == 2
    assert found.level_changes == [LevelChange(from_level=2, to_level=3, changes=1)]
    assert found.exits == 1
    assert found.breaches_by_kind == [
        KindCount(kind="record-search", breaches=2),
        KindCount(kind="review-level-2", breaches=1),
    ]
    assert found.breaches_total == 3
    assert found.breaches_before_go_live == [KindCount(kind="review-level-2", breaches=1)]
    csv = figures_csv(found)
    assert "lanarkshire,2026/27,cases at 31 March,1,3,,,,1" in csv
    assert "lanarkshire,2026/27,referrals,,,,,,2" in csv

    with Session(engine) as session:
        assert session.scalar(select(func.count()).select_from(ChronologyRecord)) == 14
