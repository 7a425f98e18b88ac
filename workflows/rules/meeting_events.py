"""The meeting events (001, 003, 004): the meeting scheduled and whom it invites, who came, the risk management
plan's actions, what is not to be shared, the minute filed for a meeting, the minutes' circulation, the SWIS alert
and each action completed.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import Field

from workflows.rules.event_fields import (
    AgencyId,
    Event,
    HappenedOn,
    PersonName,
    PlannedFor,
    RmpActionId,
    ShortText,
)

# A panel's reference reaches plaintext (invitations, the status, the panel's page): digits only, no name fits.
PANEL_REF_PATTERN = r"^PANEL-[0-9]{1,4}(-[0-9]{1,4}){0,3}$"
PanelRef = Annotated[str, Field(pattern=PANEL_REF_PATTERN)]


class ChairGrade(StrEnum):
    """How senior a meeting's chair is (004: level 2 chaired by a Police Detective Inspector / Senior Probation
    Officer, level 3 by a Detective Chief Inspector / Probation Head of Cluster)."""

    MANAGER = "manager"  # e.g. detective inspector, senior probation officer, social work team manager
    SENIOR_MANAGER = "senior-manager"  # e.g. detective chief inspector, head of cluster, service manager


# 004, "Level 3": active conferencing AND senior representation to commit significant resources at short notice
# AND/OR significant media issues or public interest (England and Wales).
Level3Criterion = Literal["active-conferencing", "senior-representation", "media-or-public-interest"]


def level_3_criteria_field() -> Any:
    return Field(
        default_factory=list,
        max_length=3,
        description="England and Wales, moving to level 3: which of 004's level 3 criteria hold.",
    )


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
    action_id: RmpActionId
    description: ShortText
    owner_agency: AgencyId
    due_date: PlannedFor


class MeetingScheduled(Event):
    """The co-ordinator arranges the case's next meeting (the initial meeting, or a review) for a day, and invites
    the agencies central to its plan (001: "The co-ordinator will arrange initial Level 2 meetings"; 003: the
    co-ordinator "will identify which agencies are central ... and arrange for their attendance"). Sent again, it
    moves the meeting: the invitations and the pre-meeting information follow the new day."""

    scheduled_for: PlannedFor = Field(description="The day the meeting is to be held.")
    invited: list[AgencyId] = Field(
        min_length=1, max_length=40, description="The agencies invited to the meeting (003)."
    )
    panel_ref: PanelRef | None = Field(
        default=None,
        description="The panel meeting (one day, several subjects) the case is discussed at, e.g. PANEL-2026-14.",
    )


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
    level_3_criteria: list[Level3Criterion] = level_3_criteria_field()
    rmp_actions: list[RmpActionSet] = Field(default_factory=list, max_length=60)
    not_to_be_shared: list[NotToBeShared] = Field(default_factory=list, max_length=60)
    next_review_date: PlannedFor | None = Field(
        default=None, description="Required unless the case moves to level 1."
    )
    # A minute is filed for the meeting once it is recorded (MinuteFiled); these two are read from histories
    # recorded before that, and refused from the API.
    minute_ref: str | None = Field(
        default=None, max_length=128, description="Not given: file the minute for the recorded meeting."
    )
    minute_digest: str | None = Field(
        default=None, max_length=128, description="Not given: file the minute for the recorded meeting."
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


class MinuteFiled(Event):
    """The chair files the minute of a meeting the case file records: its stored reference and digest (the minute's
    text stays in the encrypted minutes store, never in the case's history). Who may read it follows the meeting's
    record of who was present (001, 003)."""

    meeting_id: str = Field(pattern=r"^meeting-[0-9]{1,4}$", description="The meeting the minute records.")
    minute_ref: str = Field(pattern=r"^MIN-[A-Z0-9]{12}$", description="The stored minute's reference.")
    minute_digest: str = Field(pattern=r"^[0-9a-f]{64}$", description="sha256 of the stored minute.")


class MinutesCirculated(Event):
    meeting_id: str = Field(pattern=r"^meeting-[0-9]{1,4}$")
    recipients: list[AgencyId] = Field(min_length=1, max_length=40)


class SwisAlertUpdated(Event):
    meeting_id: str = Field(pattern=r"^meeting-[0-9]{1,4}$")


class RmpActionCompleted(Event):
    meeting_id: str = Field(pattern=r"^meeting-[0-9]{1,4}$")
    action_id: str = Field(pattern=r"^[A-Za-z0-9-]{1,32}$")
