"""Opening a case: the request (a `CaseOpening` without its reference), the reference, and idempotency.

The API makes the reference, so it holds no personal data and names its area. Before anything starts, the
opening is tried on the core exactly as the workflow will open it (`CaseFile.open`), and its dates are checked
against the policy's windows: input the API accepts cannot fail the workflow's first task.

Every opening reserves its reference in `case_openings` (unique) *before* the workflow starts, with the sender,
the Idempotency-Key if any and a hash of the request. A retry after a lost answer, or after a crash between the
two, finds the same reference and starts (or finds) the same workflow; concurrent requests with one key race on
the insert and all get the winner's reference; the same key with another body is refused (422). Because every
reference is reserved, a workflow that already exists under a reserved reference was started for that key.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

from pydantic import BaseModel, Field, field_validator
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from temporalio.client import Client

from api import problems
from api.case_service import new_case_ref, start_case
from api.idempotency import key_reused, request_hash
from core.codec import KeyRing
from store.directory import DirectoryRefusal, check_named_agencies
from store.models import CaseOpening as CaseOpeningRow
from store.person_links import add_links
from workflows.messages import CaseStatus, Stage
from workflows.rules import events as ev
from workflows.rules.calendar import local_date
from workflows.rules.case import CaseFile
from workflows.rules.deadlines import DeadlineState
from workflows.rules.errors import CaseRuleError
from workflows.rules.policy import AREAS

# A fresh reference collides with an existing one about once in two billion; try a few before giving up.
REFERENCE_ATTEMPTS = 5


class NewCase(ev.OpeningRequest):
    """A notification or referral that opens a case: the core's opening without `case_ref`, which the API
    makes; its area must be one the policy knows."""

    area: str = Field(description="The MAPPA area's id.", json_schema_extra={"enum": list(AREAS)})

    @field_validator("area")
    @classmethod
    def _known_area(cls, area: str) -> str:
        if area not in AREAS:
            raise ValueError(f"unknown MAPPA area {area!r}; areas: {', '.join(AREAS)}")
        return area


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


def check_dates(request: BaseModel, now: datetime) -> None:
    """Refuse any date outside its policy window around today (Europe/London), naming the first such field."""
    outside = ev.dates_outside_window(request, local_date(now))
    if outside:
        raise problems.rule_violation(outside[0].message, rule="plausible dates", field=outside[0].field)


def check_plaintext_ids(request: BaseModel) -> None:
    """Refuse an id an agency chose that could carry a name into plaintext (an RMP action's), naming the field."""
    refused = ev.ids_outside_pattern(request)
    if refused:
        raise problems.rule_violation(refused[0].message, rule="ids in plaintext", field=refused[0].field)


def directory_problem(refusal: DirectoryRefusal) -> problems.ProblemError:
    return problems.rule_violation(refusal.message, rule=refusal.rule, field=refusal.field)


async def check_agencies(session: Session, area: str, *requests: BaseModel, end_reads: bool = False) -> None:
    """Every agency the requests name is one the directory allows on a case of `area` (store/directory.py: the
    one check, which the import makes too); refused with the directory's own error as 422.

    With `end_reads` (nothing written yet in the request), the session's read transaction ends on the same
    thread, so closing the session afterwards needs no thread of its own."""

    def checked() -> None:
        try:
            check_named_agencies(session, area, *requests)
        finally:
            if end_reads:
                session.rollback()

    try:
        await run_in_threadpool(checked)
    except DirectoryRefusal as refusal:
        raise directory_problem(refusal) from None


def _checked(request: NewCase, case_ref: str, now: datetime) -> ev.CaseOpening:
    """The opening, once the core has opened it as the workflow will: a refusal is 422 and starts nothing."""
    opening = request.with_reference(case_ref)
    try:
        CaseFile.open(opening, now)
    except CaseRuleError as error:
        raise problems.refused_by_core(error) from None
    except (ValueError, OverflowError) as error:  # arithmetic the dates cannot bear: never start such a case
        raise problems.rule_violation(
            f"the case's deadlines cannot be computed from these dates ({error})",
            rule="plausible dates",
            field=None,
        ) from None
    return opening


def _reserved(session: Session, sender: str, key: str) -> CaseOpeningRow | None:
    return session.scalars(
        select(CaseOpeningRow).where(
            CaseOpeningRow.agency_id == sender, CaseOpeningRow.idempotency_key == key
        )
    ).one_or_none()


def _reserve(
    session: Session,
    sender: str,
    key: str | None,
    case_ref: str,
    digest: str,
    linked: tuple[KeyRing, NewCase] | None = None,
) -> tuple[str, str | None] | None:
    """Reserve `case_ref` for this opening. Returns the reference and request hash that hold the key (another
    request's, if it got there first), or None when the reference itself is taken (draw another). With
    `linked`, the case is linked to its subject's other cases in the same transaction (store/person_links.py)."""
    session.add(CaseOpeningRow(agency_id=sender, idempotency_key=key, case_ref=case_ref, request_hash=digest))
    if linked is not None:
        ring, request = linked
        add_links(session, ring, case_ref, request.area, request.subject)
    try:
        session.commit()
    except IntegrityError:
        session.rollback()
        winner = _reserved(session, sender, key) if key is not None else None
        return None if winner is None else (winner.case_ref, winner.request_hash)
    return case_ref, digest


async def open_case(
    client: Client,
    session: Session,
    task_queue: str,
    request: NewCase,
    sender: str,
    key: str | None,
    ring: KeyRing | None = None,
) -> tuple[str, bool]:
    """Start the case's workflow; returns its reference and whether this key had opened it already."""
    area = AREAS[request.area]
    now = datetime.now(UTC)
    check_dates(request, now)
    await check_agencies(session, request.area, request)
    digest = request_hash("open a case", request)
    if key is not None:
        reserved = await run_in_threadpool(_reserved, session, sender, key)
        if reserved is not None:
            return await _start_reserved(
                client, task_queue, request, key, digest, reserved.case_ref, reserved.request_hash, now
            )
    for _ in range(REFERENCE_ATTEMPTS):
        case_ref = new_case_ref(area.code)
        _checked(request, case_ref, now)
        linked = (ring, request) if ring is not None else None
        holder = await run_in_threadpool(_reserve, session, sender, key, case_ref, digest, linked)
        if holder is None:  # the reference is taken: draw another
            continue
        if key is not None:
            return await _start_reserved(client, task_queue, request, key, digest, *holder, now)
        # Without a key nobody else can hold this reservation: a workflow already there predates reservations.
        if await start_case(client, task_queue, _checked(request, case_ref, now)):
            return case_ref, False
    raise problems.temporal_unavailable("no free case reference could be found")


async def _start_reserved(
    client: Client,
    task_queue: str,
    request: NewCase,
    key: str,
    digest: str,
    case_ref: str,
    reserved_digest: str | None,
    now: datetime,
) -> tuple[str, bool]:
    # A row from before request hashes were kept (None) is taken on trust, as it was then.
    if reserved_digest is not None and reserved_digest != digest:
        raise key_reused(key)
    # Started already (by a request with this key), or reserved by an attempt that died before starting.
    started = await start_case(client, task_queue, _checked(request, case_ref, now))
    return case_ref, not started
