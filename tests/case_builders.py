"""Realistic case openings and events, shared by the unit, workflow and API tests."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from workflows.rules import events as ev
from workflows.rules.calendar import Jurisdiction
from workflows.rules.case import CaseFile

SUBJECT = ev.SubjectDetails(
    name="Alasdair Testperson",
    date_of_birth=date(1979, 5, 17),
    address="14 Example Row, Hamilton ML3 0ZZ",
    visor_ref="VISOR-000123",
)

SCOTTISH_AGENCIES = [
    "police-scotland-lanarkshire",
    "lanarkshire-justice-social-work",
    "nhs-lanarkshire",
    "lanarkshire-housing",
]
ENGLISH_AGENCIES = [
    "wiltshire-police",
    "probation-wiltshire",
    "wiltshire-council",
    "avon-wiltshire-mental-health",
]


def community_notification(
    case_ref: str = "MAPPA-LAN-2026-TEST01",
    *,
    area: str = "lanarkshire",
    disposal_date: date,
    category: int = 1,
    recommended_level: int = 2,
    lead_agency: str = "police-scotland-lanarkshire",
    sonr_end_date: date | None = None,
    subject_is_offender: bool = True,
) -> ev.CaseOpening:
    jurisdiction = (
        Jurisdiction.SCOTLAND
        if area in ("lanarkshire", "glasgow", "lothian-and-borders")
        else Jurisdiction.ENGLAND_AND_WALES
    )
    return ev.CaseOpening(
        case_ref=case_ref,
        area=area,
        jurisdiction=jurisdiction,
        category=category,  # type: ignore[arg-type]
        lead_agency=lead_agency,
        route=ev.EntryRoute.COMMUNITY,
        subject=SUBJECT,
        subject_is_offender=subject_is_offender,
        notification=ev.Notification(
            notifying_agency=lead_agency,
            disposal_date=disposal_date,
            recommended_level=recommended_level,  # type: ignore[arg-type]
        ),
        sonr_end_date=sonr_end_date,
        **category_criteria(category, jurisdiction),
    )


def category_criteria(
    category: int, jurisdiction: Jurisdiction = Jurisdiction.ENGLAND_AND_WALES
) -> dict[str, Any]:
    """How a case meets its category: category 2, in England and Wales 12 months or more in custody and under
    supervision (004), in Scotland a restricted patient (000, 001); category 3, a past offence and a risk of
    serious harm to the public."""
    if category == 2 and jurisdiction is Jurisdiction.SCOTLAND:
        return {"restricted_patient": True}
    if category == 2:
        return {"custody_months": 18, "subject_to_supervision": True}
    if category == 3:
        return {"previous_offence": True, "risk_of_serious_harm": True}
    return {}


def custody_referral(
    case_ref: str = "MAPPA-LAN-2026-CUST01", *, release_date: date, level: int = 2, area: str = "lanarkshire"
) -> ev.CaseOpening:
    return ev.CaseOpening(
        case_ref=case_ref,
        area=area,
        jurisdiction=Jurisdiction.SCOTLAND,
        category=1,
        lead_agency="sps",
        route=ev.EntryRoute.CUSTODY,
        subject=SUBJECT,
        release_date=release_date,
        referral=referral(level, agency="sps"),
    )


def referral(
    level: int = 2, *, agency: str = "police-scotland-lanarkshire", statement: str | None = None
) -> ev.ReferralSubmitted:
    if level == 3 and statement is None:
        statement = "Level 2 cannot commit police surveillance resources at short notice."
    return ev.ReferralSubmitted(
        referring_agency=agency,
        level_sought=level,  # type: ignore[arg-type]
        level_2_cannot_deliver=statement,
    )


def accept(level: int = 2, agencies: list[str] | None = None) -> ev.ReferralDecision:
    return ev.ReferralDecision(
        outcome="accepted",
        level=level,
        record_search_agencies=agencies or SCOTTISH_AGENCIES,  # type: ignore[arg-type]
    )


def meeting(
    held_on: date,
    next_review: date | None,
    *,
    level: int = 2,
    attendees: list[str] | None = None,
    unsigned: str | None = None,
    actions: list[ev.RmpActionSet] | None = None,
    statement: str | None = None,
) -> ev.MeetingHeld:
    who = attendees or SCOTTISH_AGENCIES[:3]
    return ev.MeetingHeld(
        held_on=held_on,
        chair_agency=who[0],
        chair_name=person(who[0]),
        chair_grade=ev.ChairGrade.SENIOR_MANAGER,
        invited=who,
        attendees=[
            ev.Attendee(
                agency=a,
                name=person(a),
                signed_confidentiality_statement=(a != unsigned),
                can_commit_resources=True,
            )
            for a in who
        ],
        level_decided=level,  # type: ignore[arg-type]
        level_2_cannot_deliver=statement,
        rmp_actions=actions or [],
        next_review_date=next_review,
        not_to_be_shared=[ev.NotToBeShared(item="victim's new address", reason="risk to the victim")],
    )


def person(agency: str) -> str:
    """The name of the person an agency sends to a meeting (staff, not the subject)."""
    return f"Representative of {agency}"


def asp_criteria_met() -> ev.AspScreening:
    """An adult who meets all of the ASP 3-point criteria (and is 16 or over)."""
    return ev.AspScreening(
        aged_16_or_over=True,
        unable_to_safeguard_own_interests=True,
        at_risk_of_harm=True,
        more_vulnerable_than_others=True,
    )


def asp_criteria_not_met() -> ev.AspScreening:
    """An adult able to safeguard their own interests: the ASP 3-point criteria are not met."""
    return ev.AspScreening(
        aged_16_or_over=True,
        unable_to_safeguard_own_interests=False,
        at_risk_of_harm=False,
        more_vulnerable_than_others=False,
    )


def referral_accepted_with_record_searches(case_ref: str, at: datetime, agencies: list[str]) -> CaseFile:
    """A Lanarkshire referral received and accepted at level 2 at `at`: each of `agencies` owes a record search."""
    case = CaseFile.open(
        ev.CaseOpening(
            case_ref=case_ref,
            area="lanarkshire",
            jurisdiction=Jurisdiction.SCOTLAND,
            category=1,
            lead_agency="police-scotland-lanarkshire",
            subject=SUBJECT,
            referral=referral(2),
        ),
        at,
    )
    case.apply(accept(2, agencies), at)
    return case
