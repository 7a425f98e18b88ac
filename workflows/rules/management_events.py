"""The events of active management and exit (001, 003, 004): a change in risk and its triage, a change of level, level
1's plan and reviews, the subject told, the notices that an end approaches (SONR, supervision, licence) and the
decision to exit or continue.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from workflows.rules.event_fields import (
    AgencyId,
    Event,
    ShortText,
    SonrEndDate,
)
from workflows.rules.meeting_events import (
    Level3Criterion,
    level_3_criteria_field,
)

# Why a case stays in MAPPA past the end of what brought it in (SONR, supervision or licence).
ContinueBasis = Literal[
    "registered-sex-offender",  # category 1: notification requirements still run
    "violent-offender-under-supervision",  # category 2: supervision or licence still runs
    "other-risk-of-serious-harm",  # category 3: the criteria hold (003 stage 5)
    "shpo-application-pending",  # an SHPO is applied for, which would renew the SONR (003 stage 5)
]


class RiskChangeReported(Event):
    reporting_agency: AgencyId
    direction: Literal["increased", "decreased"]
    summary: ShortText


class RiskChangeTriaged(Event):
    change_id: str = Field(pattern=r"^risk-change-[0-9]{1,4}$")
    outcome: Literal["no-action", "extra-review", "level-change", "referral-requested"]
    new_level: Literal[1, 2, 3] | None = None
    level_2_cannot_deliver: ShortText | None = None
    level_3_criteria: list[Level3Criterion] = level_3_criteria_field()
    reason: ShortText


class LevelChanged(Event):
    new_level: Literal[1, 2, 3]
    reason: ShortText
    level_2_cannot_deliver: ShortText | None = None
    level_3_criteria: list[Level3Criterion] = level_3_criteria_field()


class SonrEndNoticeGiven(Event):
    given_by: AgencyId


class EndDateRecorded(Event):
    """An agency records when the SONR, or a category 2 or 3 case's supervision or licence, ends: set where it was
    not known, or changed (a registration period recalculated, a licence extended or recalled). The notice and the
    review of whether MAPPA must continue are counted back from it (003 stage 5)."""

    recorded_by: AgencyId
    ends: Literal["sonr", "supervision-or-licence"]
    end_date: SonrEndDate
    reason: ShortText


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
