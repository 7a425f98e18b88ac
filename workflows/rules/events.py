"""What agencies tell the co-ordinator about a case: one model per event.

These are the payloads of the case workflow's updates and of the API's request bodies alike. Shape is checked
here (pydantic); the statutory rules that depend on the case (stage, level, dates) are checked by `CaseFile`.
"""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from workflows.rules.calendar import Jurisdiction

AgencyId = Annotated[
    str,
    Field(
        min_length=2,
        max_length=64,
        pattern=r"^[a-z0-9][a-z0-9-]*$",
        description="An agency's id in the co-ordinator's directory, e.g. 'police-scotland-lanarkshire'.",
    ),
]
ShortText = Annotated[str, Field(min_length=1, max_length=4000)]


class Event(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class EntryRoute(StrEnum):
    COMMUNITY = "community"  # police and justice social work joint risk assessment, referral at sentence
    CUSTODY = "custody"  # pre-release ICM case conference, SPS / prison referral
    RESTRICTED_PATIENT = "restricted-patient"  # Care Programme Approach meeting, NHS referral
    ASP_CASE_CONFERENCE = "asp-case-conference"  # an Adult Support and Protection case conference refers
    CATEGORY_3_AGENCY = "category-3-agency"  # any agency, after contacting police / social work


class SubjectDetails(Event):
    """The subject's personal data. Travels only inside encrypted payloads; never in IDs, attributes or logs."""

    name: ShortText
    date_of_birth: date
    address: ShortText
    visor_ref: str | None = Field(default=None, max_length=64)
    swis_ref: str | None = Field(default=None, max_length=64)


class Notification(Event):
    """Stage 1: a responsible authority notifies the co-ordinator of a MAPPA offender."""

    notifying_agency: AgencyId
    disposal_date: date | None = Field(
        default=None,
        description="Community sentence disposal: the notification is due 3 working days after it.",
    )
    recommended_level: Literal[1, 2, 3] = 1
    summary: ShortText | None = None


class ReferralSubmitted(Event):
    """Stage 2: a referral to level 2 or 3 management."""

    referring_agency: AgencyId
    level_sought: Literal[2, 3]
    level_2_cannot_deliver: ShortText | None = Field(
        default=None,
        description="Required for level 3: the parts of the risk management plan level 2 cannot deliver.",
    )
    information_complete: bool = True
    risk_summary: ShortText | None = None


class CaseOpening(Event):
    """Opens a case: the workflow's start input. A case starts with a notification or, for custody, ASP or
    restricted-patient routes, directly with a referral."""

    case_ref: str = Field(pattern=r"^MAPPA-[A-Z0-9-]{4,40}$")
    area: str = Field(min_length=2, max_length=64)
    jurisdiction: Jurisdiction
    category: Literal[1, 2, 3, 4]
    lead_agency: AgencyId
    route: EntryRoute = EntryRoute.COMMUNITY
    subject: SubjectDetails
    subject_is_offender: bool = True
    notification: Notification | None = None
    referral: ReferralSubmitted | None = None
    release_date: date | None = Field(default=None, description="Custody: the date of release.")
    discharge_date: date | None = Field(
        default=None, description="Restricted patient: the date of discharge."
    )
    sonr_end_date: date | None = Field(default=None, description="When the notification requirements end.")


class ScreeningDecision(Event):
    """The co-ordinator screens a notification: level 1 (record only) or a referral is needed."""

    outcome: Literal["level-1", "referral-needed"]
    reason: ShortText


class FurtherInformationRequested(Event):
    missing: ShortText


class FurtherInformationSupplied(Event):
    supplied_by: AgencyId
    summary: ShortText | None = None


class ReferralDecision(Event):
    outcome: Literal["accepted", "rejected"]
    level: Literal[2, 3] | None = Field(default=None, description="The level accepted at.")
    reasons: str | None = Field(
        default=None, max_length=4000, description="Required when the referral is rejected."
    )
    level_2_cannot_deliver: ShortText | None = None
    record_search_agencies: list[AgencyId] = Field(
        default_factory=list,
        max_length=30,
        description="Each agency whose single point of contact searches its records.",
    )


class RecordSearchReturned(Event):
    agency: AgencyId
    relevant_information_found: bool = False


class AspScreening(Event):
    """The ASP 3-point test (Adult Support and Protection (Scotland) Act 2007 s3)."""

    aged_16_or_over: bool
    unable_to_safeguard_own_interests: bool
    at_risk_of_harm: bool
    more_vulnerable_than_others: bool

    @property
    def criteria_met(self) -> bool:
        return (
            self.aged_16_or_over
            and self.unable_to_safeguard_own_interests
            and self.at_risk_of_harm
            and self.more_vulnerable_than_others
        )


class Ap1ReferralMade(Event):
    locality: ShortText
    asp_chair_agency: AgencyId = Field(
        description="The council whose ASP chair also receives the minutes (000)."
    )


class AspInquiryConcern(Event):
    """An ASP inquiry found that the adult is a MAPPA case or raised a MAPPA concern."""

    raised_by: AgencyId
    summary: ShortText | None = None


class AspInformationShared(Event):
    shared_with: AgencyId


class ChildrenAtRisk(Event):
    number_of_children: int = Field(ge=1, le=50)
    identified_by: AgencyId


class ChildProtectionReferralMade(Event):
    referred_by: AgencyId


class Attendee(Event):
    agency: AgencyId
    role: ShortText = "representative"
    signed_confidentiality_statement: bool


class NotToBeShared(Event):
    item: ShortText
    reason: ShortText


class RmpActionSet(Event):
    action_id: str = Field(pattern=r"^[A-Za-z0-9-]{1,32}$")
    description: ShortText
    owner_agency: AgencyId
    due_date: date


class MeetingHeld(Event):
    """A level 2 or 3 meeting: attendance, the level decided, the plan and the next review."""

    held_on: date
    chair_agency: AgencyId
    attendees: list[Attendee] = Field(min_length=1, max_length=40)
    level_decided: Literal[1, 2, 3]
    level_2_cannot_deliver: ShortText | None = None
    rmp_actions: list[RmpActionSet] = Field(default_factory=list, max_length=60)
    not_to_be_shared: list[NotToBeShared] = Field(default_factory=list, max_length=60)
    next_review_date: date | None = Field(
        default=None, description="Required unless the case moves to level 1."
    )
    minute_ref: str | None = Field(default=None, max_length=128, description="The stored minute's reference.")
    minute_digest: str | None = Field(
        default=None, max_length=128, description="sha256 of the stored minute."
    )
    chair_record: list[
        Literal[
            "reasonable-steps-taken",
            "information-evaluated",
            "reliable-assessment-methods",
            "decisions-recorded",
            "procedures-followed",
        ]
    ] = Field(default_factory=list, description="What the chair records as done (003).")


class MinutesCirculated(Event):
    meeting_id: str = Field(pattern=r"^meeting-[0-9]{1,4}$")
    recipients: list[AgencyId] = Field(min_length=1, max_length=40)


class SwisAlertUpdated(Event):
    meeting_id: str = Field(pattern=r"^meeting-[0-9]{1,4}$")


class RmpActionCompleted(Event):
    meeting_id: str = Field(pattern=r"^meeting-[0-9]{1,4}$")
    action_id: str = Field(pattern=r"^[A-Za-z0-9-]{1,32}$")


class RiskChangeReported(Event):
    reporting_agency: AgencyId
    direction: Literal["increased", "decreased"]
    summary: ShortText


class RiskChangeTriaged(Event):
    change_id: str = Field(pattern=r"^risk-change-[0-9]{1,4}$")
    outcome: Literal["no-action", "extra-review", "level-change", "referral-requested"]
    new_level: Literal[1, 2, 3] | None = None
    level_2_cannot_deliver: ShortText | None = None
    reason: ShortText


class LevelChanged(Event):
    new_level: Literal[1, 2, 3]
    reason: ShortText
    level_2_cannot_deliver: ShortText | None = None


class SonrEndNoticeGiven(Event):
    given_by: AgencyId


class ExitDecision(Event):
    outcome: Literal["exit", "continue", "shpo-granted"]
    reason: ShortText
    new_sonr_end_date: date | None = Field(
        default=None, description="Required when an SHPO extends the SONR."
    )


class SubjectInformed(Event):
    informed: bool
    reason: ShortText | None = Field(default=None, description="Required when the subject is not told.")


class ConclusionsSharedWithChildProtection(Event):
    """Conclusions and actions (never the minutes) shared with a child protection conference (002)."""

    meeting_id: str = Field(pattern=r"^meeting-[0-9]{1,4}$")
    conference: ShortText
    reveals_third_party_source: bool


class SubjectAccessRequested(Event):
    """The subject asks for the minutes: a subject access request (001)."""

    meeting_ids: list[str] = Field(
        min_length=1, max_length=40, description="The meetings whose minutes are asked for."
    )


class SarAgencyView(Event):
    sar_id: str = Field(pattern=r"^sar-[0-9]{1,4}$")
    agency: AgencyId
    view: Literal["disclose", "withhold"]
    exemption: str | None = Field(default=None, max_length=400)


class SarDecided(Event):
    sar_id: str = Field(pattern=r"^sar-[0-9]{1,4}$")
    outcome: Literal["disclose", "withhold"]
    exemption: str | None = Field(
        default=None,
        max_length=400,
        description="Required to withhold: the data protection exemption relied on.",
    )
    reason: ShortText
