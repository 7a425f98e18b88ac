"""Cases at a known point, shared by the stage tests. Pure: a clock is passed in."""

from datetime import UTC, date, datetime

from tests.case_builders import ENGLISH_AGENCIES, accept, community_notification, referral
from workflows.rules import events as ev
from workflows.rules.case import CaseFile


def at(day: date, hour: int = 10) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=UTC)


def referred_case(level: int = 2, area: str = "lanarkshire") -> CaseFile:
    """A Scottish community case, notified Wed 4 Nov 2026, referred Mon 9 Nov, accepted the same day."""
    case = CaseFile.open(
        community_notification(disposal_date=date(2026, 11, 2), area=area), at(date(2026, 11, 4))
    )
    case.apply(
        ev.ScreeningDecision(outcome="referral-needed", reason="joint assessment: high risk"),
        at(date(2026, 11, 5)),
    )
    case.apply(referral(level), at(date(2026, 11, 9)))
    case.apply(accept(level), at(date(2026, 11, 9), 15))
    return case


def english_referred_case() -> CaseFile:
    """The same dates in Wiltshire and Swindon (England & Wales)."""
    case = CaseFile.open(
        community_notification(
            "MAPPA-WAS-2026-TEST01",
            area="wiltshire-and-swindon",
            disposal_date=date(2026, 11, 2),
            lead_agency="wiltshire-police",
        ),
        at(date(2026, 11, 4)),
    )
    case.apply(referral(2, agency="wiltshire-police"), at(date(2026, 11, 9)))
    case.apply(accept(2, ENGLISH_AGENCIES), at(date(2026, 11, 9), 15))
    return case
