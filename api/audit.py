"""Authorisation with an audit trail: every refusal, every event sent and every read of personal data is kept.

The audit row is committed before the route answers: if it cannot be written the request fails with 503 and
returns nothing (`problems.audit_unavailable`), so no read of case content or minutes goes unrecorded.
Status and deadline reads carry no personal data and are not audited when allowed (ops polls them).

One exception, when the API has a spool (`MAPPA_AUDIT_SPOOL`): an agency event's "allowed" row is kept on the
API's disk before the event is sent and committed to the database after the answer (`event_audited`,
api/audit_spool.py). The event itself is durable in the case's history by then; a refusal is still committed
before the answer.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import NoReturn

from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from temporalio.client import Client

from api import problems
from api.audit_spool import AuditSpool, SpooledRow
from api.auth import SENDING_AREA_READS, Permission, User, authorise, authorise_involvement
from api.case_service import area_of, case_exists, case_file
from store.models import AuditEvent, AuditOutcome
from store.transfers import CaseAreas, case_areas
from workflows.messages import CaseFile
from workflows.rules.involvement import involved_agencies
from workflows.rules.transfer_events import TransferAccepted, TransferDeclined

log = logging.getLogger(__name__)


def record(
    session: Session,
    user: User,
    action: str,
    case_ref: str | None,
    outcome: AuditOutcome,
    reason: str | None = None,
    target: str | None = None,
) -> None:
    """Write one audit row and commit it, with whatever else the session holds (e.g. a decision)."""
    session.add(
        AuditEvent(
            user_name=user.user_name,
            agency_id=user.agency_id,
            role=user.role.value,
            action=action,
            case_ref=case_ref,
            target=target,
            outcome=outcome.value,
            reason=reason,
        )
    )
    try:
        session.commit()
    except SQLAlchemyError as error:
        session.rollback()
        log.error("audit trail not written (%s by %s on %s): %s", action, user.user_name, case_ref, error)
        raise problems.audit_unavailable() from None


def recorded_since(
    session: Session,
    user: User,
    action: str,
    case_ref: str | None,
    outcome: AuditOutcome,
    target: str | None,
    since: datetime,
) -> bool:
    """Whether the same user's same access (action, case, target, outcome) is in the trail since `since`."""
    query = (
        select(AuditEvent.id)
        .where(
            AuditEvent.at >= since,
            AuditEvent.case_ref.is_not_distinct_from(case_ref),
            AuditEvent.user_name == user.user_name,
            AuditEvent.agency_id.is_not_distinct_from(user.agency_id),
            AuditEvent.role == user.role.value,
            AuditEvent.action == action,
            AuditEvent.target.is_not_distinct_from(target),
            AuditEvent.outcome == outcome.value,
        )
        .limit(1)
    )
    try:
        return session.scalars(query).first() is not None
    except SQLAlchemyError as error:
        session.rollback()
        log.error("audit trail not read (%s by %s on %s): %s", action, user.user_name, case_ref, error)
        raise problems.audit_unavailable() from None


def record_once_within(
    session: Session,
    user: User,
    action: str,
    case_ref: str | None,
    outcome: AuditOutcome,
    reason: str,
    target: str | None,
    window: timedelta,
) -> bool:
    """`record`, unless the same access is already in the trail within `window`: one screen that reads a case
    in many requests (the Temporal UI decodes each event apart) is one access, not one row per request. The
    earlier row stands for the later requests, and says so. True when a row was written. Either way the
    session's transaction ends here (committed, as `record` does), so it holds no connection afterwards."""
    if recorded_since(session, user, action, case_ref, outcome, target, datetime.now(UTC) - window):
        session.commit()
        return False
    minutes = int(window.total_seconds() // 60)
    record(
        session,
        user,
        action,
        case_ref,
        outcome,
        f"{reason}; the same user's further requests within {minutes} minutes are covered by this record",
        target,
    )
    return True


async def permit(
    session: Session,
    user: User,
    permission: Permission,
    *,
    area: str,
    case_ref: str | None,
    request: BaseModel | None = None,
    audit_allowed: bool = True,
    target: str | None = None,
) -> None:
    """Raise a 403 problem unless the user may act; either way, write it to the audit trail."""
    try:
        authorise(user, permission, area, request)
    except problems.ProblemError as refusal:
        await refuse(session, user, permission.action, case_ref, refusal, target)
    if audit_allowed:
        await record_allowed(session, user, permission, case_ref, target=target)


_CASE_AREAS = "mappa.case_areas"


async def case_area_for(
    session: Session, user: User, permission: Permission, case_ref: str, request: BaseModel | None = None
) -> str:
    """The area a user's action on a case is authorised against. A case transferred to another area is that
    area's (the reference names where it began); the areas it left may still read it (status, deadlines, case
    file, audit trail), never send it an event; a transfer awaiting a decision is decided by its receiving area."""
    # Read once per request (the session is the request's): the event routes ask it to authorise and again to
    # check the agencies named against the area, and each read was a database query on a thread of its own.
    known: dict[str, CaseAreas] = session.info.setdefault(_CASE_AREAS, {})
    areas = known.get(case_ref)
    if areas is None:
        areas = known[case_ref] = await run_in_threadpool(case_areas, session, case_ref, area_of(case_ref))
    if isinstance(request, TransferAccepted | TransferDeclined) and areas.receiving is not None:
        return areas.receiving
    if user.area in areas.previous and permission in SENDING_AREA_READS:
        return user.area
    return areas.current


async def permit_on_case(
    session: Session,
    client: Client,
    user: User,
    permission: Permission,
    case_ref: str,
    *,
    request: BaseModel | None = None,
    audit_allowed: bool = True,
    read_file: bool = False,
) -> CaseFile | None:
    """`permit` on one case; a token without an area is also refused unless its agency is involved in the case,
    which only the case itself knows (its file is returned, so the route need not ask again; with `read_file`
    it is read for any user).

    A case that does not exist is answered as the national agency's refusal (403, audited) for a token without
    an area, so such a token cannot tell an existing case it has no part in from no case at all; for others it
    is 404, and an audited access to it is recorded as refused, never allowed."""
    await permit(
        session,
        user,
        permission,
        area=await case_area_for(session, user, permission, case_ref, request),
        case_ref=case_ref,
        request=request,
        audit_allowed=False,
    )
    case = None
    if user.area is None:
        try:
            case = await case_file(client, case_ref)
            involved = involved_agencies(case)
        except problems.ProblemError as error:
            if error.problem.status != 404:
                raise
            involved = frozenset()
        try:
            authorise_involvement(user, involved)
        except problems.ProblemError as refusal:
            await refuse(session, user, permission.action, case_ref, refusal)
    elif audit_allowed or read_file:
        try:
            if read_file:
                case = await case_file(client, case_ref)
            elif not await case_exists(client, case_ref):
                raise problems.case_not_found(case_ref)
        except problems.ProblemError as missing:
            if missing.problem.status == 404 and audit_allowed:
                await refuse(session, user, permission.action, case_ref, missing)
            raise
    if audit_allowed:
        await record_allowed(session, user, permission, case_ref)
    return case


async def record_allowed(
    session: Session,
    user: User,
    permission: Permission,
    case_ref: str | None,
    *,
    target: str | None = None,
    reason: str | None = None,
    action: str | None = None,
) -> None:
    """Record an allowed access; `reason` says on what basis (e.g. "nhs-lanarkshire attended meeting-1")."""
    await run_in_threadpool(
        record,
        session,
        user,
        action or permission.action,
        case_ref,
        AuditOutcome.ALLOWED,
        reason,
        target,
    )


async def refuse(
    session: Session,
    user: User,
    action: str,
    case_ref: str | None,
    refusal: problems.ProblemError,
    target: str | None = None,
) -> NoReturn:
    """Record the refusal, then raise it."""
    await run_in_threadpool(
        record, session, user, action, case_ref, AuditOutcome.REFUSED, refusal.problem.detail, target
    )
    raise refusal


@asynccontextmanager
async def event_audited(
    session: Session,
    client: Client,
    user: User,
    permission: Permission,
    case_ref: str,
    event: BaseModel,
    spool: AuditSpool | None,
) -> AsyncIterator[None]:
    """Authorise an agency event on a case and audit it; the event is sent inside the block.

    Without a spool the allowed row is committed first (`permit_on_case`). With one, the row is put in the spool
    (on disk) and committed by its drain once the block has answered, so neither the database's commit nor a
    call to Temporal to see that the case exists holds the answer up: the update itself says so. An event to no
    case is then answered 404 as before, its spooled row withdrawn and the refusal committed, never allowed."""
    if spool is None:
        await permit_on_case(session, client, user, permission, case_ref, request=event)
        yield
        return
    await permit_on_case(session, client, user, permission, case_ref, request=event, audit_allowed=False)
    row = SpooledRow(
        user_name=user.user_name,
        agency_id=user.agency_id,
        role=user.role.value,
        action=permission.action,
        case_ref=case_ref,
        outcome=AuditOutcome.ALLOWED.value,
        at=SpooledRow.now(),
    )
    try:
        spool_id = await run_in_threadpool(spool.append, row)
    except (OSError, sqlite3.Error) as error:  # the spool's disk did not take it
        log.error("audit spool not written (%s by %s on %s): %s", row.action, user.user_name, case_ref, error)
        raise problems.audit_unavailable() from None
    try:
        yield
    except problems.ProblemError as error:
        if error.problem.status == 404:
            spool.withdraw(spool_id)
            await refuse(session, user, permission.action, case_ref, error)
        raise
    finally:
        spool.settle(spool_id)
