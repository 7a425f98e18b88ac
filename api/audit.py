"""Authorisation with an audit trail: every refusal, every event sent and every read of personal data is kept.

The audit row is committed before the route answers: if it cannot be written the request fails with 503 and
returns nothing (`problems.audit_unavailable`), so no read of case content or minutes goes unrecorded.
Status and deadline reads carry no personal data and are not audited when allowed (ops polls them).
"""

from __future__ import annotations

import logging
from typing import NoReturn

from pydantic import BaseModel
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from temporalio.client import Client

from api import problems
from api.auth import Permission, User, authorise, authorise_involvement
from api.case_service import area_of, case_file
from store.models import AuditEvent, AuditOutcome
from workflows.messages import CaseFile
from workflows.rules.involvement import involved_agencies

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


async def permit_on_case(
    session: Session,
    client: Client,
    user: User,
    permission: Permission,
    case_ref: str,
    *,
    request: BaseModel | None = None,
    audit_allowed: bool = True,
) -> CaseFile | None:
    """`permit` on one case; a token without an area is also refused unless its agency is involved in the case,
    which only the case itself knows (its file is returned, so the route need not ask again)."""
    await permit(
        session,
        user,
        permission,
        area=area_of(case_ref),
        case_ref=case_ref,
        request=request,
        audit_allowed=False,
    )
    case = None
    if user.area is None:
        case = await case_file(client, case_ref)
        try:
            authorise_involvement(user, involved_agencies(case))
        except problems.ProblemError as refusal:
            await refuse(session, user, permission.action, case_ref, refusal)
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
