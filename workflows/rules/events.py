"""What agencies tell the co-ordinator about a case: one model per event.

These are the payloads of the case workflow's updates and of the API's request bodies alike. Shape is checked
here (pydantic); the statutory rules that depend on the case (stage, level, dates) are checked by `CaseFile`.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Literal

from pydantic import Field

from workflows.rules.calendar import Jurisdiction
from workflows.rules.event_fields import (
    DATE_WINDOWS,
    EARLIEST_DATE,
    LATEST_DATE,
    AgencyId,
    BirthDate,
    ChildBirthDate,
    DateKind,
    DateOutsideWindow,
    DateWindow,
    Event,
    HappenedOn,
    PersonName,
    PlannedFor,
    ReleaseDate,
    ShortText,
    SonrEndDate,
    date_kind,
    dates_outside_window,
    field_date_kind,
    ids_outside_pattern,
)
from workflows.rules.management_events import (
    ContinueBasis,
    EndDateRecorded,
    ExitDecision,
    Level1PlanRecorded,
    Level1ReviewRecorded,
    LevelChanged,
    RiskChangeReported,
    RiskChangeTriaged,
    SonrEndNoticeGiven,
    SubjectInformed,
    SupervisionEndNoticeGiven,
)
from workflows.rules.meeting_events import (
    Attendee,
    ChairGrade,
    Level3Criterion,
    MeetingHeld,
    MeetingScheduled,
    MinuteFiled,
    MinutesCirculated,
    NotToBeShared,
    RmpActionCompleted,
    RmpActionSet,
    SwisAlertUpdated,
    level_3_criteria_field,
)
from workflows.rules.recall_events import *  # noqa: F403  (read as `events.X` too, as are the transfer events)
from workflows.rules.safeguarding_events import (
    AdultAtRiskIdentified,
    AdultSafeguardingReferralMade,
    Ap1ReferralMade,
    AspChairNamed,
    AspInformationShared,
    AspInquiryConcern,
    AspScreening,
    AspSharedItem,
    AspSideClosed,
    ChildAtRisk,
    ChildProtectionReferralMade,
    ChildrenAtRisk,
)
from workflows.rules.transfer_events import *  # noqa: F403

# ------------------------------------------------------------------------------------------ dates


class EntryRoute(StrEnum):
    COMMUNITY = "community"  # police and justice social work joint risk assessment, referral at sentence
    CUSTODY = "custody"  # pre-release ICM case conference, SPS / prison referral
    RESTRICTED_PATIENT = "restricted-patient"  # Care Programme Approach meeting, NHS referral
    ASP_CASE_CONFERENCE = "asp-case-conference"  # an Adult Support and Protection case conference refers
    CATEGORY_3_AGENCY = "category-3-agency"  # any agency, after contacting police / social work


# The kinds of agency in the directory (store.models.AgencyKind, which a test keeps in step): who may refer
# depends on it (001, 003).
AgencyKind = Literal[
    "police",
    "justice-social-work",
    "probation",
    "prison",
    "health",
    "housing",
    "education",
    "council",
    "youth-offending",
    "dwp",
    "other",
]


class SubjectDetails(Event):
    """The subject's personal data. Travels only inside encrypted payloads; never in IDs, attributes or logs."""

    name: PersonName
    date_of_birth: BirthDate
    address: ShortText
    visor_ref: str | None = Field(default=None, max_length=64)
    swis_ref: str | None = Field(default=None, max_length=64)


class Notification(Event):
    """Stage 1: a responsible authority notifies the co-ordinator of a MAPPA offender."""

    notifying_agency: AgencyId
    disposal_date: HappenedOn | None = Field(
        default=None,
        description="Community sentence disposal: the notification is due 3 working days after it.",
    )
    disposal_notified_on: HappenedOn | None = Field(
        default=None,
        description="The day the lead authority was notified of the disposal, when later than the disposal: the "
        "3 working days count from it (003: 'within three working days of being notified').",
    )
    recommended_level: Literal[1, 2, 3] = 1
    summary: ShortText | None = None
    extenuating_circumstances: ShortText | None = Field(
        default=None,
        description="Why a late notification is late (003: 'unless there are extenuating circumstances').",
    )


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
    extenuating_circumstances: ShortText | None = Field(
        default=None,
        description="Why a late custody referral is late (003: 'unless there are extenuating circumstances').",
    )
    referring_agency_kind: AgencyKind | None = Field(
        default=None,
        description="The kind of agency referring: who may refer depends on the category (001, 003).",
    )
    police_or_social_work_contacted: bool = Field(
        default=False,
        description="Category 3 from another agency: the police and/or social work were contacted first (003).",
    )


class CourtDisposal(Event):
    """A community sentence disposal, recorded by police or justice social work: the notification to the
    co-ordinator falls due 3 working days after it (003 stage 1)."""

    recorded_by: AgencyId
    disposal_date: HappenedOn
    disposal_notified_on: HappenedOn | None = Field(
        default=None,
        description="The day the lead authority was notified of the disposal, when later than the disposal: the "
        "3 working days count from it (003: 'within three working days of being notified').",
    )


class UpcomingRelease(Event):
    """An upcoming release, recorded by the prison (SPS) after the pre-release ICM case conference: the
    notification or referral falls due 12 weeks before release (003 stage 2)."""

    recorded_by: AgencyId
    release_date: ReleaseDate
    icm_held_on: HappenedOn = Field(description="The pre-release integrated case management case conference.")


class HospitalDischarge(Event):
    """A restricted patient's planned discharge, recorded by the hospital: the NHS notification or referral
    falls due before it (001, 003; the Care Programme Approach)."""

    recorded_by: AgencyId
    discharge_date: ReleaseDate


class OpeningRequest(Event):
    """What opens a case, before it has its reference: the one model of an opening, which the API's request
    (`NewCase`) and an import row's opening are, and `CaseOpening` adds the reference to. A case starts with a
    notification or, for custody, ASP or restricted-patient routes, directly with a referral."""

    area: str = Field(min_length=2, max_length=64)
    jurisdiction: Jurisdiction
    category: Literal[1, 2, 3, 4]
    lead_agency: AgencyId
    route: EntryRoute = EntryRoute.COMMUNITY
    subject: SubjectDetails
    subject_is_offender: bool = True
    notification: Notification | None = None
    referral: ReferralSubmitted | None = None
    # A case opened before its notification, by the event that starts the notification's clock.
    disposal: CourtDisposal | None = None
    upcoming_release: UpcomingRelease | None = None
    discharge: HospitalDischarge | None = None
    release_date: ReleaseDate | None = Field(default=None, description="Custody: the date of release.")
    discharge_date: ReleaseDate | None = Field(
        default=None, description="Restricted patient: the date of discharge."
    )
    sonr_end_date: SonrEndDate | None = Field(
        default=None, description="When the notification requirements end."
    )
    asp_chair_agency: AgencyId | None = Field(
        default=None,
        description="ASP case-conference route (Scotland): the council whose ASP chair shares in the minutes, "
        "named by the co-ordinator (000).",
    )
    supervision_end_date: SonrEndDate | None = Field(
        default=None,
        description="Category 2 or 3: when the supervision or licence ends (exit planning counts back from it).",
    )
    # Eligibility (004's category definitions): category 2 and 3 cases say how they meet their category.
    custody_months: int | None = Field(
        default=None, ge=0, le=1200, description="Category 2: the custodial sentence, in months."
    )
    hospital_order: bool = Field(
        default=False, description="Category 2 (England and Wales): a detention in hospital."
    )
    restricted_patient: bool = Field(
        default=False,
        description="Category 2 (Scotland): a mentally disordered restricted patient (000, 001).",
    )
    subject_to_supervision: bool | None = Field(
        default=None,
        description="Category 2: subject to probation / justice social work supervision or licence in the "
        "community (on release, for a custody case).",
    )
    previous_offence: bool | None = Field(
        default=None, description="Category 3: has committed an offence in the past."
    )
    risk_of_serious_harm: bool | None = Field(
        default=None, description="Category 3: considered to pose a risk of serious harm to the public."
    )

    def with_reference(self, case_ref: str) -> CaseOpening:
        return CaseOpening.model_validate({**self.model_dump(), "case_ref": case_ref})


class CaseOpening(OpeningRequest):
    """Opens a case: the workflow's start input, an opening with the case's reference."""

    case_ref: str = Field(pattern=r"^MAPPA-[A-Z0-9-]{4,40}$")


class NotificationSubmitted(Notification):
    """Stage 1: the notification to a case opened by a disposal, an upcoming release or a discharge."""


class ReleaseDateChanged(Event):
    """The prison records a new release date (an appeal, parole, a recall): deadlines counted from it move."""

    recorded_by: AgencyId
    release_date: ReleaseDate
    reason: Literal["appeal", "parole", "recall", "sentence-recalculated", "other"]


class DischargeDateChanged(Event):
    """The hospital records a new discharge date for a restricted patient: deadlines counted from it move."""

    recorded_by: AgencyId
    discharge_date: ReleaseDate
    reason: ShortText


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
    level_3_criteria: list[Level3Criterion] = level_3_criteria_field()
    record_search_agencies: list[AgencyId] = Field(
        default_factory=list,
        max_length=30,
        description="Each agency whose single point of contact searches its records.",
    )


class RecordSearchReturned(Event):
    agency: AgencyId
    relevant_information_found: bool = False


class PreMeetingInformationSent(Event):
    """The co-ordinator sends the compiled record search results to every agency attending the initial
    meeting, in advance of it (003 stage 4; 001)."""

    attending_agencies: list[AgencyId] = Field(min_length=1, max_length=40)


ASP_SHARED_ITEMS: tuple[AspSharedItem, ...] = ("name", "date-of-birth", "address", "needs", "risks")


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


# Names other modules read as `events.X` (`ev.X`): the fields and the safeguarding events live apart.
__all__ = [
    "DATE_WINDOWS",
    "EARLIEST_DATE",
    "LATEST_DATE",
    "AdultAtRiskIdentified",
    "AdultSafeguardingReferralMade",
    "AgencyId",
    "Ap1ReferralMade",
    "AspChairNamed",
    "AspInformationShared",
    "AspInquiryConcern",
    "AspScreening",
    "AspSharedItem",
    "AspSideClosed",
    "Attendee",
    "BirthDate",
    "ChairGrade",
    "ChildAtRisk",
    "ChildBirthDate",
    "ChildProtectionReferralMade",
    "ChildrenAtRisk",
    "ContinueBasis",
    "DateKind",
    "DateOutsideWindow",
    "DateWindow",
    "EndDateRecorded",
    "Event",
    "ExitDecision",
    "HappenedOn",
    "Level1PlanRecorded",
    "Level1ReviewRecorded",
    "Level3Criterion",
    "LevelChanged",
    "MeetingHeld",
    "MeetingScheduled",
    "MinuteFiled",
    "MinutesCirculated",
    "NotToBeShared",
    "PersonName",
    "PlannedFor",
    "ReleaseDate",
    "RiskChangeReported",
    "RiskChangeTriaged",
    "RmpActionCompleted",
    "RmpActionSet",
    "ShortText",
    "SonrEndDate",
    "SonrEndNoticeGiven",
    "SubjectInformed",
    "SupervisionEndNoticeGiven",
    "SwisAlertUpdated",
    "date_kind",
    "dates_outside_window",
    "field_date_kind",
    "ids_outside_pattern",
]
