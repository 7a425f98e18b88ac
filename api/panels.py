"""Panel days: one day on which an area's panel hears several cases, each in a meeting of its own (003: "careful
scheduling of meetings").

A panel is scheduled whole or not at all: every case is authorised (the co-ordinator's own area, audited) and tried
on its own case file by the core before any is sent its `MeetingScheduled`. Each case then holds its own day,
invitations and, once held, its own meeting and minute: the panel is only the list of cases it was asked to hear
(`panel_cases`). With an Idempotency-Key, the request is bound to each case's key (`panel:{panel_ref}:{key}`) as
any event is, so a repeat is answered with the first receipts and schedules nothing again.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator
from sqlalchemy import select
from sqlalchemy.orm import Session

from api import problems
from api.case_service import CASE_REF_PATTERN
from store.models import PanelCase
from workflows.messages import CaseFile, Receipt, Stage
from workflows.rules import events as ev
from workflows.rules.deadlines import DeadlineState
from workflows.rules.errors import CaseRuleError
from workflows.rules.event_fields import AgencyId, PlannedFor
from workflows.rules.meeting_events import PanelRef
from workflows.rules.meeting_schedule import meeting_due

MAX_PANEL_CASES = 30  # a panel day hears a handful of cases; a limit keeps one request bounded


class PanelCaseRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    case_ref: str = Field(pattern=CASE_REF_PATTERN, description="A case of the co-ordinator's own area.")
    invited: list[AgencyId] = Field(
        default_factory=list,
        max_length=40,
        description="Agencies invited for this case beyond the panel's own (the case's lead agency, housing...).",
    )


class PanelRequest(BaseModel):
    """A panel day: its reference, its day, the agencies sitting on it and the cases it hears."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    panel_ref: PanelRef = Field(
        description="The panel's reference: PANEL- and digits only, e.g. PANEL-2026-14."
    )
    scheduled_for: PlannedFor = Field(description="The panel's day.")
    invited: list[AgencyId] = Field(
        default_factory=list,
        max_length=40,
        description="The agencies sitting on the panel: invited for every case.",
    )
    cases: list[PanelCaseRequest] = Field(min_length=1, max_length=MAX_PANEL_CASES)

    @field_validator("cases")
    @classmethod
    def _each_case_once(cls, cases: list[PanelCaseRequest]) -> list[PanelCaseRequest]:
        refs = [c.case_ref for c in cases]
        if len(set(refs)) != len(refs):
            raise ValueError("list each case once")
        return cases

    def events(self) -> list[tuple[str, ev.MeetingScheduled]]:
        """Each case's own MeetingScheduled: the panel's invitations and the case's own."""
        found = []
        for i, case in enumerate(self.cases):
            invited = list(dict.fromkeys([*self.invited, *case.invited]))
            if not invited:
                raise problems.rule_violation(
                    f"{case.case_ref}: invite at least one agency, on the panel (invited) or for the case",
                    rule="invitations",
                    field=f"cases.{i}.invited",
                )
            found.append(
                (
                    case.case_ref,
                    ev.MeetingScheduled(
                        scheduled_for=self.scheduled_for, invited=invited, panel_ref=self.panel_ref
                    ),
                )
            )
        return found


class PanelCaseScheduled(BaseModel):
    case_ref: str
    receipt: Receipt


class PanelScheduled(BaseModel):
    panel_ref: str
    area: str
    scheduled_for: date
    cases: list[PanelCaseScheduled]
    replayed: bool = Field(description="True when this Idempotency-Key scheduled the panel before.")


MeetingState = Literal["scheduled", "held", "moved-off-the-panel", "not-scheduled"]


class PanelCaseState(BaseModel):
    """Where one case on the panel stands, with no personal data: its stage, and the meeting the panel is for."""

    case_ref: str
    stage: Stage
    level: int | None
    meeting_id: str | None = Field(description="The meeting the case has (or had) on this panel.")
    meeting_state: MeetingState
    scheduled_for: date | None = Field(
        description="The day the case's meeting is scheduled for (or was held)."
    )
    meeting_due: date | None = Field(description="The statutory due date of the meeting the case owes next.")
    after_due_date: bool = False
    pre_meeting_information: DeadlineState | None = None
    minute_filed: bool = False


class Panel(BaseModel):
    panel_ref: str
    area: str
    cases: list[PanelCaseState]


def check_case(case_ref: str, case: CaseFile, event: ev.MeetingScheduled, now: datetime) -> None:
    """The core tries the event on a copy of the case file; its refusal names the case: nothing on the panel is
    scheduled."""
    try:
        case.check(event, now)
    except CaseRuleError as error:
        refusal = problems.refused_by_core(error)
        refusal.problem.detail = f"{case_ref}: {error.message}; nothing on the panel was scheduled"
        raise refusal from None


def record_panel_cases(
    session: Session, area: str, panel_ref: str, case_refs: list[str], day: date, user_name: str
) -> None:
    """Put the cases on the panel (or mark them asked for again, for this day)."""
    rows = {
        row.case_ref: row
        for row in session.scalars(
            select(PanelCase).where(PanelCase.area == area, PanelCase.panel_ref == panel_ref)
        )
    }
    for case_ref in case_refs:
        row = rows.get(case_ref)
        if row is None:
            session.add(
                PanelCase(
                    area=area,
                    panel_ref=panel_ref,
                    case_ref=case_ref,
                    scheduled_for=day,
                    scheduled_by=user_name,
                )
            )
        else:
            row.scheduled_for, row.scheduled_by = day, user_name
    session.commit()


def panel_cases(session: Session, area: str, panel_ref: str) -> list[str]:
    return list(
        session.scalars(
            select(PanelCase.case_ref)
            .where(PanelCase.area == area, PanelCase.panel_ref == panel_ref)
            .order_by(PanelCase.id)
        )
    )


def case_state(case: CaseFile, panel_ref: str) -> PanelCaseState:
    """Where the case stands for this panel: its meeting scheduled on it, held on it, or moved off it."""
    schedule = case.scheduled_meeting
    held = next((m for m in reversed(case.meetings) if m.panel_ref == panel_ref), None)
    due = meeting_due(case)
    state: MeetingState
    if schedule is not None and schedule.panel_ref == panel_ref:
        state, meeting_id, day = "scheduled", schedule.meeting_id, schedule.scheduled_for
    elif held is not None:
        state, meeting_id, day = "held", held.meeting_id, held.held_on
    elif schedule is not None:
        state, meeting_id, day = "moved-off-the-panel", schedule.meeting_id, schedule.scheduled_for
    else:
        state, meeting_id, day = "not-scheduled", None, None
    pack = case.deadlines.get(f"pre-meeting-information:{meeting_id}") or (
        case.deadlines.get("pre-meeting-information") if meeting_id == "meeting-1" else None
    )
    return PanelCaseState(
        case_ref=case.case_ref,
        stage=case.stage,
        level=case.level,
        meeting_id=meeting_id,
        meeting_state=state,
        scheduled_for=day,
        meeting_due=due.due_date if due is not None else None,
        after_due_date=state == "scheduled" and schedule is not None and schedule.after_due_date,
        pre_meeting_information=pack.state if pack is not None else None,
        minute_filed=held is not None and held.minute_ref is not None,
    )
