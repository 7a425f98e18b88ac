"""Authorisation with an audit trail: every refusal, every event sent and every read of personal data is kept.

Status and deadline reads carry no personal data and are not audited when allowed (ops polls them).
"""

from __future__ import annotations

from pydantic import BaseModel
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from api import problems
from api.auth import Permission, User, authorise
from store.models import AuditEvent, AuditOutcome


def record(
    session: Session,
    user: User,
    action: str,
    case_ref: str | None,
    outcome: AuditOutcome,
    reason: str | None = None,
    target: str | None = None,
) -> None:
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
    session.commit()


async def permit(
    session: Session,
    user: User,
    permission: Permission,
    *,
    area: str,
    case_ref: str | None,
    request: BaseModel | None = None,
    audit_allowed: bool = True,
) -> None:
    """Raise a 403 problem unless the user may act; either way, write it to the audit trail."""
    try:
        authorise(user, permission, area, request)
    except problems.ProblemError as refusal:
        await run_in_threadpool(
            record, session, user, permission.action, case_ref, AuditOutcome.REFUSED, refusal.problem.detail
        )
        raise
    if audit_allowed:
        await record_allowed(session, user, permission, case_ref)


async def record_allowed(session: Session, user: User, permission: Permission, case_ref: str | None) -> None:
    await run_in_threadpool(record, session, user, permission.action, case_ref, AuditOutcome.ALLOWED)
