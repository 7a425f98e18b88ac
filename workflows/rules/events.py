"""What agencies tell the co-ordinator about a case: one model per event.

These are the payloads of the case workflow's updates and of the API's request bodies alike. Shape is checked
here (pydantic); the statutory rules that depend on the case (stage, level, dates) are checked by `CaseFile`.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any, Literal

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
)
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

# ------------------------------------------------------------------------------------------ text


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


class ChairGrade(StrEnum):
    """How senior a meeting's chair is (004: level 2 chaired by a Police Detective Inspector / Senior Probation
    Officer, level 3 by a Detective Chief Inspector / Probation Head of Cluster)."""

    MANAGER = "manager"  # e.g. detective inspector, senior probation officer, social work team manager
    SENIOR_MANAGER = "senior-manager"  # e.g. detective chief inspector, head of cluster, service manager


# Why a case stays in MAPPA past the end of what brought it in (SONR, supervision or licence).
ContinueBasis = Literal[
    "registered-sex-offender",  # category 1: notification requirements still run
    "violent-offender-under-supervision",  # category 2: supervision or licence still runs
    "other-risk-of-serious-harm",  # category 3: the criteria hold (003 stage 5)
    "shpo-application-pending",  # an SHPO is applied for, which would renew the SONR (003 stage 5)
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
    hospital_order: bool = Field(default=False, description="Category 2: a detention in hospital.")
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


# 004, "Level 3": active conferencing AND senior representation to commit significant resources at short notice
# AND/OR significant media issues or public interest (England and Wales).
Level3Criterion = Literal["active-conferencing", "senior-representation", "media-or-public-interest"]


def _level_3_criteria() -> Any:
    return Field(
        default_factory=list,
        max_length=3,
        description="England and Wales, moving to level 3: which of 004's level 3 criteria hold.",
    )


class ReferralDecision(Event):
    outcome: Literal["accepted", "rejected"]
    level: Literal[2, 3] | None = Field(default=None, description="The level accepted at.")
    reasons: str | None = Field(
        default=None, max_length=4000, description="Required when the referral is rejected."
    )
    level_2_cannot_deliver: ShortText | None = None
    level_3_criteria: list[Level3Criterion] = _level_3_criteria()
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


class Attendee(Event):
    """One person present at a meeting: each signs the confidentiality statement (003)."""

    agency: AgencyId
    name: PersonName | None = Field(default=None, description="The person present (required for new cases).")
    role: ShortText = "representative"
    signed_confidentiality_statement: bool
    substitute_for: PersonName | None = Field(
        default=None, description="The invitee this person replaces, when they came instead (001)."
    )
    can_commit_resources: bool = Field(
        default=False, description="Has the authority to commit the agency's resources (level 3, 001, 004)."
    )


class NotToBeShared(Event):
    item: ShortText
    reason: ShortText


class RmpActionSet(Event):
    action_id: str = Field(pattern=r"^[A-Za-z0-9-]{1,32}$")
    description: ShortText
    owner_agency: AgencyId
    due_date: PlannedFor


class MeetingHeld(Event):
    """A level 2 or 3 meeting: attendance, the level decided, the plan and the next review."""

    held_on: HappenedOn
    chair_agency: AgencyId
    chair_name: PersonName | None = Field(
        default=None, description="The person who chaired: one of the people present. Required for new cases."
    )
    chair_grade: ChairGrade | None = Field(
        default=None,
        description="How senior the chair is: it must fit the level (004). Required for new cases.",
    )
    invited: list[AgencyId] = Field(
        default_factory=list, max_length=40, description="The agencies the co-ordinator invited (003)."
    )
    attendees: list[Attendee] = Field(min_length=1, max_length=40, description="Each person present.")
    level_decided: Literal[1, 2, 3]
    level_2_cannot_deliver: ShortText | None = None
    level_3_criteria: list[Level3Criterion] = _level_3_criteria()
    rmp_actions: list[RmpActionSet] = Field(default_factory=list, max_length=60)
    not_to_be_shared: list[NotToBeShared] = Field(default_factory=list, max_length=60)
    next_review_date: PlannedFor | None = Field(
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
    level_3_criteria: list[Level3Criterion] = _level_3_criteria()


class SonrEndNoticeGiven(Event):
    given_by: AgencyId


class SupervisionEndNoticeGiven(Event):
    """The lead agency tells the co-ordinator that a category 2 or 3 case's supervision or licence is ending."""

    given_by: AgencyId


class ExitDecision(Event):
    outcome: Literal["exit", "continue", "shpo-granted"]
    reason: ShortText
    new_sonr_end_date: SonrEndDate | None = Field(
        default=None, description="Required when an SHPO extends the SONR."
    )
    continue_basis: ContinueBasis | None = Field(
        default=None,
        description="Required to continue past the SONR, supervision or licence end: what keeps the case in MAPPA.",
    )


class SubjectInformed(Event):
    informed: bool
    informed_by: AgencyId | None = Field(
        default=None, description="The lead agency, which tells the subject."
    )
    reason: ShortText | None = Field(default=None, description="Required when the subject is not told.")


class Level1PlanRecorded(Event):
    """The lead agency records its level 1 risk management plan (004)."""

    recorded_by: AgencyId
    summary: ShortText | None = None


class Level1ReviewRecorded(Event):
    """The lead agency reviews and records a level 1 case (004: "reviewed & recorded regularly")."""

    reviewed_by: AgencyId
    level_1_still_defensible: bool = Field(
        description="Whether level 1 is still the lowest level that gives a defensible plan (004)."
    )
    summary: ShortText | None = None


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
    "BirthDate",
    "ChildAtRisk",
    "ChildBirthDate",
    "ChildProtectionReferralMade",
    "ChildrenAtRisk",
    "DateKind",
    "DateOutsideWindow",
    "DateWindow",
    "Event",
    "HappenedOn",
    "PersonName",
    "PlannedFor",
    "ReleaseDate",
    "ShortText",
    "SonrEndDate",
    "date_kind",
    "dates_outside_window",
    "field_date_kind",
]
