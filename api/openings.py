"""Opening a case: the request (a `CaseOpening` without its reference), the reference, and idempotency.

The API makes the reference, so it holds no personal data and names its area. With an Idempotency-Key the
`case_openings` table maps (agency, key) to the reference *before* the workflow starts: a retry after a lost
answer, or after a crash between the two, finds the same reference and starts (or finds) the same workflow.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, Field, field_validator
from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from temporalio.client import Client

from api import problems
from api.case_service import new_case_ref, start_case
from store.models import CaseOpening as CaseOpeningRow
from workflows.messages import CaseStatus, Stage
from workflows.rules import events as ev
from workflows.rules.calendar import Jurisdiction
from workflows.rules.deadlines import DeadlineState
from workflows.rules.errors import CaseRuleError
from workflows.rules.policy import AREAS
from workflows.rules.referral import check_opening

# A fresh reference collides with an existing one about once in two billion; try a few before giving up.
REFERENCE_ATTEMPTS = 5


class NewCase(ev.Event):
    """A notification or referral that opens a case: `CaseOpening` without `case_ref`, which the API makes."""

    area: str = Field(description="The MAPPA area's id.", json_schema_extra={"enum": list(AREAS)})
    jurisdiction: Jurisdiction
    category: Literal[1, 2, 3, 4] = Field(
        description="MAPPA category (4, terrorism: England and Wales only)."
    )
    lead_agency: ev.AgencyId
    route: ev.EntryRoute = ev.EntryRoute.COMMUNITY
    subject: ev.SubjectDetails
    subject_is_offender: bool = True
    notification: ev.Notification | None = None
    referral: ev.ReferralSubmitted | None = None
    release_date: date | None = Field(default=None, description="Custody: the date of release.")
    discharge_date: date | None = Field(
        default=None, description="Restricted patient: the date of discharge."
    )
    sonr_end_date: date | None = Field(default=None, description="When the notification requirements end.")

    @field_validator("area")
    @classmethod
    def _known_area(cls, area: str) -> str:
        if area not in AREAS:
            raise ValueError(f"unknown MAPPA area {area!r}; areas: {', '.join(AREAS)}")
        return area

    def with_reference(self, case_ref: str) -> ev.CaseOpening:
        return ev.CaseOpening.model_validate({**self.model_dump(), "case_ref": case_ref})


class DeadlineSummary(BaseModel):
    deadline_id: str
    title: str
    responsible: str
    due_at: datetime = Field(description="The end of the due day in Europe/London, as a UTC instant.")
    due_date: date
    state: DeadlineState


class CaseOpened(BaseModel):
    """The new case: its reference, where it stands and the deadlines now running."""

    case_ref: str
    stage: Stage
    level: int | None
    deadlines: list[DeadlineSummary]
    replayed: bool = Field(description="True when this Idempotency-Key opened the case before.")

    @classmethod
    def of(cls, status: CaseStatus, replayed: bool) -> CaseOpened:
        return cls(
            case_ref=status.summary.case_ref,
            stage=status.summary.stage,
            level=status.summary.level,
            deadlines=[
                DeadlineSummary(
                    deadline_id=d.deadline_id,
                    title=d.title,
                    responsible=d.responsible,
                    due_at=d.due_at,
                    due_date=d.due_date,
                    state=d.state,
                )
                for d in status.deadlines
                if d.is_open
            ],
            replayed=replayed,
        )


def _checked(request: NewCase, case_ref: str) -> ev.CaseOpening:
    opening = request.with_reference(case_ref)
    try:
        check_opening(opening)
    except CaseRuleError as error:
        raise problems.rule_violation(error.message, rule=error.rule, field=error.field) from None
    return opening


def _reserved(session: Session, agency_id: str, key: str) -> str | None:
    return session.scalars(
        select(CaseOpeningRow.case_ref).where(
            CaseOpeningRow.agency_id == agency_id, CaseOpeningRow.idempotency_key == key
        )
    ).one_or_none()


def _reserve(session: Session, agency_id: str, key: str, case_ref: str) -> str:
    """Map (agency, key) to `case_ref`; if another request got there first, its reference wins."""
    session.add(CaseOpeningRow(agency_id=agency_id, idempotency_key=key, case_ref=case_ref))
    try:
        session.commit()
    except IntegrityError:
        session.rollback()
        winner = _reserved(session, agency_id, key)
        assert winner is not None
        return winner
    return case_ref


def _release(session: Session, agency_id: str, key: str) -> None:
    session.execute(
        delete(CaseOpeningRow).where(
            CaseOpeningRow.agency_id == agency_id, CaseOpeningRow.idempotency_key == key
        )
    )
    session.commit()


async def open_case(
    client: Client, session: Session, task_queue: str, request: NewCase, sender: str, key: str | None
) -> tuple[str, bool]:
    """Start the case's workflow; returns its reference and whether this key had opened it already."""
    area = AREAS[request.area]
    if key is not None:
        reserved = await run_in_threadpool(_reserved, session, sender, key)
        if reserved is not None:
            # Started already, or reserved by an attempt that died before starting: (re)start is safe.
            started = await start_case(client, task_queue, _checked(request, reserved))
            return reserved, not started
    for _ in range(REFERENCE_ATTEMPTS):
        case_ref = new_case_ref(area.code)
        opening = _checked(request, case_ref)
        if key is not None:
            winner = await run_in_threadpool(_reserve, session, sender, key, case_ref)
            if winner != case_ref:  # a concurrent request with the same key
                started = await start_case(client, task_queue, _checked(request, winner))
                return winner, not started
        if await start_case(client, task_queue, opening):
            return case_ref, False
        if key is not None:
            await run_in_threadpool(_release, session, sender, key)
    raise problems.temporal_unavailable("no free case reference could be found")
