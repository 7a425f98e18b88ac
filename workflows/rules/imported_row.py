"""An import row: where a case already in progress stands when an area switches the system on.

`ImportedPosition` is the part of a row the opening does not carry (stage, level, the dates each step was
reached on, open RMP actions, outstanding searches); `check_position` refuses a row that does not say what its
stage is reached by, or dates a step in the future or out of the case's order. How the row becomes the dated
events a live case would have received is in workflows/rules/imported.py.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Literal

from pydantic import Field

from workflows.rules import events as ev
from workflows.rules.errors import RuleViolation
from workflows.rules.event_fields import RmpActionId
from workflows.rules.records import Stage


class ImportedStage(StrEnum):
    """The stages a case can be imported at (a closed case is not imported)."""

    NOTIFICATION = Stage.NOTIFICATION.value
    REFERRAL_DUE = Stage.REFERRAL_DUE.value
    REFERRAL = Stage.REFERRAL.value
    INFORMATION_SHARING = Stage.INFORMATION_SHARING.value
    ACTIVE_MANAGEMENT = Stage.ACTIVE_MANAGEMENT.value
    LEVEL_1 = Stage.LEVEL_1.value


class ImportedRmpAction(ev.Event):
    """An RMP action still open: its id, owner and due date (its words stay in the area's own records)."""

    action_id: RmpActionId
    owner_agency: ev.AgencyId
    due_date: ev.PlannedFor


# The area's own case number: kept as the `ImportRef` search attribute, so it must never hold personal data.
IMPORT_REF_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9/_.-]{0,63}$"


class ImportedPosition(ev.Event):
    """Where an imported case stands: the part of an import row that the opening itself does not carry."""

    import_ref: str = Field(
        pattern=IMPORT_REF_PATTERN,
        description="The area's existing case number: one import per reference, whatever is re-run.",
    )
    stage: ImportedStage
    level: Literal[1, 2, 3] | None = None
    notified_on: ev.HappenedOn | None = Field(default=None, description="Notification received.")
    screened_on: ev.HappenedOn | None = Field(
        default=None, description="Screened: referral needed, or level 1 (level 1 is counted from it)."
    )
    referral_received_on: ev.HappenedOn | None = None
    referring_agency: ev.AgencyId | None = None
    level_sought: Literal[2, 3] | None = None
    level_2_cannot_deliver: ev.ShortText | None = None
    level_3_criteria: list[ev.Level3Criterion] = ev.level_3_criteria_field()
    asp_screened_on: ev.HappenedOn | None = Field(
        default=None,
        description="Scotland: the ASP 3-point screening was done and found no AP1 due (else it is owed).",
    )
    accepted_on: ev.HappenedOn | None = Field(default=None, description="Referral accepted.")
    pre_meeting_information_sent_on: ev.HappenedOn | None = Field(
        default=None, description="The record searches' results were sent to the initial meeting's agencies."
    )
    last_meeting_on: ev.HappenedOn | None = None
    chair_agency: ev.AgencyId | None = None
    next_review_date: ev.PlannedFor | None = Field(default=None, description="Set at the last meeting.")
    rmp_actions: list[ImportedRmpAction] = Field(default_factory=list, max_length=60)
    searches_outstanding: list[ev.AgencyId] = Field(
        default_factory=list, max_length=30, description="Agencies whose record search is not yet returned."
    )
    level_1_plan_recorded_on: ev.HappenedOn | None = None
    level_1_reviewed_on: ev.HappenedOn | None = Field(default=None, description="The last level 1 review.")
    # The moment of the import (go-live for this case): what fell due before it is pre-go-live. Set by the
    # import, so the case's own record agrees with the import's summary; else the case's opening.
    as_of: datetime | None = None


def _required(value: object, field: str, stage: ImportedStage, what: str) -> None:
    if value is None:
        raise RuleViolation(
            f"a case imported at stage '{stage.value}' needs {what}", "imported case dates", field
        )


# What the row must give at each stage (each date the events are applied at).
_NEEDS: dict[ImportedStage, tuple[tuple[str, str], ...]] = {
    ImportedStage.NOTIFICATION: (("notified_on", "the day the notification was received"),),
    ImportedStage.REFERRAL_DUE: (
        ("notified_on", "the day the notification was submitted (the referral counts from it, 003)"),
        ("screened_on", "the day the notification was screened"),
    ),
    ImportedStage.REFERRAL: (
        ("referral_received_on", "the day the referral was received"),
        ("level_sought", "the level the referral seeks"),
    ),
    ImportedStage.INFORMATION_SHARING: (
        ("referral_received_on", "the day the referral was received"),
        ("accepted_on", "the day the referral was accepted"),
        ("level", "the level the referral was accepted at"),
    ),
    ImportedStage.ACTIVE_MANAGEMENT: (
        ("last_meeting_on", "the day of the last meeting"),
        ("level", "the level decided at the last meeting"),
        ("next_review_date", "the review date set at the last meeting"),
    ),
    ImportedStage.LEVEL_1: (),
}


# The days the row gives, each on or after the ones it follows.
_FOLLOWS = (
    ("screened_on", "notified_on"),
    ("referral_received_on", "notified_on"),
    ("accepted_on", "referral_received_on"),
    ("pre_meeting_information_sent_on", "accepted_on"),
    ("last_meeting_on", "referral_received_on"),
    ("level_1_plan_recorded_on", "screened_on"),
    ("level_1_reviewed_on", "level_1_plan_recorded_on"),
)


def check_position(p: ImportedPosition, today: date) -> None:
    """What the row itself must say: the dates its stage is reached by, none in the future, in case order."""
    for field, what in _NEEDS[p.stage]:
        _required(getattr(p, field), field, p.stage, what)
    if p.stage in (ImportedStage.INFORMATION_SHARING, ImportedStage.ACTIVE_MANAGEMENT) and p.level == 1:
        raise RuleViolation(
            f"a case at stage '{p.stage.value}' is managed at level 2 or 3; import a level 1 case at stage "
            "'level-1'",
            "imported case level",
            "level",
        )
    if p.stage is ImportedStage.LEVEL_1 and p.level not in (None, 1):
        raise RuleViolation("a case at stage 'level-1' is at level 1", "imported case level", "level")
    dated = {field for pair in _FOLLOWS for field in pair} | {"asp_screened_on"}
    for field in sorted(dated):
        day = getattr(p, field)
        if day is not None and day > today:
            raise RuleViolation(f"{field} {day.isoformat()} is in the future", "imported case dates", field)
    for later, earlier in _FOLLOWS:
        if (
            getattr(p, later) is not None
            and getattr(p, earlier) is not None
            and getattr(p, later) < getattr(p, earlier)
        ):
            raise RuleViolation(f"{later} is before {earlier}", "imported case dates", later)
    if p.searches_outstanding and p.stage not in (
        ImportedStage.INFORMATION_SHARING,
        ImportedStage.ACTIVE_MANAGEMENT,
    ):
        raise RuleViolation(
            "record searches are requested when a referral is accepted; a case at stage "
            f"'{p.stage.value}' has none outstanding",
            "record search request",
            "searches_outstanding",
        )
    if p.searches_outstanding:
        _required(p.accepted_on, "accepted_on", p.stage, "the day the record searches were requested")
    if p.rmp_actions and p.stage is not ImportedStage.ACTIVE_MANAGEMENT:
        raise RuleViolation(
            "RMP actions are set at a meeting: import them with a case at stage 'active-management'",
            "RMP action",
            "rmp_actions",
        )
    if p.level_1_reviewed_on is not None and p.level_1_plan_recorded_on is None:
        _required(None, "level_1_plan_recorded_on", p.stage, "the day the level 1 plan was recorded")
