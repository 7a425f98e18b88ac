"""Idempotency keys as payment APIs keep them: a key is bound to the request it first came with.

A key is scoped to its sender (an agency, `User.sender`) and, for events, to the case. The binding is a hash of
the request's route and canonical body; the same key with another request is refused (422, naming the key)
instead of being answered with the first request's result while the new content is dropped.
Case openings keep their binding in `case_openings` (api/openings.py); events in `event_requests`, here.
"""

from __future__ import annotations

import hashlib
from enum import StrEnum

from pydantic import BaseModel
from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from api import problems
from store.models import EventRequest


def request_hash(scope: str, request: BaseModel) -> str:
    """sha256 of what a request asks for: its scope (the route) and its body as validated, so spacing and key
    order do not matter but every value does."""
    return hashlib.sha256(f"{scope}\n{request.model_dump_json()}".encode()).hexdigest()


def key_reused(key: str) -> problems.ProblemError:
    return problems.ProblemError(
        422,
        "idempotency-key-reused",
        "Idempotency-Key already used",
        f"the Idempotency-Key {key!r} was first used for a different request; a retry must repeat the request "
        "exactly, and a new request needs a new key",
        field="Idempotency-Key",
    )


class KeyUse(StrEnum):
    FIRST = "first"  # the key is new: the request goes ahead
    REPEAT = "repeat"  # the same request again: it gets the first answer, marked replayed


def claim_event_key(session: Session, sender: str, case_ref: str, key: str, digest: str) -> KeyUse:
    """Bind `key` to `digest` for this sender and case, or find it bound; raise 422 if bound to another."""
    session.add(EventRequest(sender=sender, case_ref=case_ref, idempotency_key=key, request_hash=digest))
    try:
        session.commit()
        return KeyUse.FIRST
    except IntegrityError:
        session.rollback()
    bound = session.scalars(
        select(EventRequest.request_hash).where(
            EventRequest.sender == sender,
            EventRequest.case_ref == case_ref,
            EventRequest.idempotency_key == key,
        )
    ).one()
    if bound != digest:
        raise key_reused(key)
    return KeyUse.REPEAT


def release_event_key(session: Session, sender: str, case_ref: str, key: str) -> None:
    """The case refused the event, so nothing was recorded under the key: it is free for a corrected request."""
    session.execute(
        delete(EventRequest).where(
            EventRequest.sender == sender,
            EventRequest.case_ref == case_ref,
            EventRequest.idempotency_key == key,
        )
    )
    session.commit()
