"""The cases the benchmarks drive: realistic openings and the statutory lifecycle of a level 2 case."""

from __future__ import annotations

import itertools
from datetime import date, datetime, timedelta

from workflows.rules import events as ev
from workflows.rules.calendar import LONDON, Jurisdiction

AREA = "wiltshire-and-swindon"
AGENCIES = ["wiltshire-police", "probation-wiltshire", "wiltshire-council", "avon-wiltshire-mental-health"]
LEAD = AGENCIES[0]
SUBJECT = ev.SubjectDetails(
    name="Benchmark Subject", date_of_birth=date(1980, 1, 1), address="1 Benchmark Row, Swindon SN1 0ZZ"
)


def today() -> date:
    return datetime.now(LONDON).date()


_refs = itertools.count(1)
_DIGITS = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"


def new_case_ref(area_code: str = "WAS") -> str:
    """A reference of the API's shape (MAPPA-WAS-2026-00001A), unique within this process."""
    number, suffix = next(_refs), ""
    for _ in range(6):
        number, digit = divmod(number, 36)
        suffix = _DIGITS[digit] + suffix
    return f"MAPPA-{area_code}-{today().year}-{suffix}"


def notification(ref: str, day: date, area: str = AREA) -> ev.CaseOpening:
    """A category 1 case notified by the police at sentence, level 2 recommended (England and Wales)."""
    return ev.CaseOpening(
        case_ref=ref,
        area=area,
        jurisdiction=Jurisdiction.ENGLAND_AND_WALES,
        category=1,
        lead_agency=LEAD,
        route=ev.EntryRoute.COMMUNITY,
        subject=SUBJECT,
        notification=ev.Notification(notifying_agency=LEAD, disposal_date=day, recommended_level=2),
    )


def meeting(
    day: date,
    agencies: list[str] = AGENCIES,
    *,
    level: int = 2,
    review_after: timedelta = timedelta(weeks=16),
    statement: str | None = None,
    actions: list[ev.RmpActionSet] | None = None,
) -> ev.MeetingHeld:
    """A meeting chaired by the first agency, the first three present (each person named and signing)."""
    chair, present = agencies[0], agencies[:3]
    return ev.MeetingHeld(
        held_on=day,
        chair_agency=chair,
        chair_name=f"Chair of {chair}",
        chair_grade=ev.ChairGrade.SENIOR_MANAGER,
        invited=present,
        attendees=[
            ev.Attendee(
                agency=a,
                name=f"Chair of {a}" if a == chair else f"Representative of {a}",
                signed_confidentiality_statement=True,
                can_commit_resources=True,
            )
            for a in present
        ],
        level_decided=level,  # type: ignore[arg-type]
        level_2_cannot_deliver=statement,
        rmp_actions=actions or [],
        not_to_be_shared=[ev.NotToBeShared(item="victim's address", reason="risk to the victim")],
        next_review_date=day + review_after,
        chair_record=["reasonable-steps-taken", "decisions-recorded"],
    )


def lifecycle(day: date) -> list[ev.Event]:
    """Notification screened → referral → acceptance with four record searches → the searches returned →
    initial meeting → minutes → first review. Meetings are dated `day`: no time passes in the benchmark."""
    return [
        ev.ScreeningDecision(outcome="referral-needed", reason="joint risk assessment: high risk of harm"),
        ev.ReferralSubmitted(referring_agency=LEAD, level_sought=2, risk_summary="escalating contact"),
        ev.ReferralDecision(outcome="accepted", level=2, record_search_agencies=AGENCIES),
        *(ev.RecordSearchReturned(agency=a, relevant_information_found=True) for a in AGENCIES),
        meeting(day),
        ev.MinutesCirculated(meeting_id="meeting-1", recipients=AGENCIES[:3]),
        meeting(day),
    ]
