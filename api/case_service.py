"""How the API talks to a case's workflow: open it, send it one event, ask it a question.

Temporal's answers become problem documents here, and nowhere else: a refused transition is 409, a failed
rule 422, an event its sender may not send (another agency's deadline) 403, an unknown case 404, a case that has exited MAPPA 409, Temporal or the case worker not answering
503.
"""

from __future__ import annotations

import secrets
import string
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from temporalio.client import (
    Client,
    RPCError,
    RPCTimeoutOrCancelledError,
    WorkflowExecutionStatus,
    WorkflowHandle,
    WorkflowQueryFailedError,
    WorkflowQueryRejectedError,
    WorkflowUpdateFailedError,
    WorkflowUpdateRPCTimeoutOrCancelledError,
)
from temporalio.common import TypedSearchAttributes, WorkflowIDReusePolicy
from temporalio.exceptions import ApplicationError, WorkflowAlreadyStartedError
from temporalio.service import RPCStatusCode

from api import problems
from workflows.messages import EVENT_UPDATES, CaseFile, CaseStatus, CaseWorkflowInput, Receipt
from workflows.rules import events as ev
from workflows.rules.calendar import LONDON
from workflows.rules.imported import ImportedPosition
from workflows.rules.policy import UnknownArea, area_by_code

WORKFLOW_TYPE = "MappaCase"
# Long enough for a worker to run an update's handler; short enough that a dead worker is a prompt 503.
UPDATE_TIMEOUT = timedelta(seconds=20)
QUERY_TIMEOUT = timedelta(seconds=10)
START_TIMEOUT = timedelta(seconds=10)
CASE_REF_ALPHABET = string.ascii_uppercase + string.digits
CASE_REF_PATTERN = r"^MAPPA-[A-Z]{3}-[0-9]{4}-[A-Z0-9]{6}$"

T = TypeVar("T")


def new_case_ref(area_code: str, now: datetime | None = None) -> str:
    """`MAPPA-{area code}-{year}-{6 random}`: no personal data, and the area can be read from it."""
    year = (now or datetime.now(UTC)).astimezone(LONDON).year
    suffix = "".join(secrets.choice(CASE_REF_ALPHABET) for _ in range(6))
    return f"MAPPA-{area_code}-{year}-{suffix}"


def area_of(case_ref: str) -> str:
    """The area id a case reference names; an unknown area code means there is no such case."""
    try:
        return area_by_code(case_ref.split("-")[1]).area_id
    except (IndexError, UnknownArea):
        raise problems.case_not_found(case_ref) from None


def _unavailable(error: BaseException) -> problems.ProblemError:
    if isinstance(error, RPCTimeoutOrCancelledError | WorkflowUpdateRPCTimeoutOrCancelledError):
        return problems.temporal_unavailable("the case's worker did not answer in time")
    return problems.temporal_unavailable(f"Temporal did not answer ({error})")


async def _not_found_or_exited(handle: WorkflowHandle[Any, Any]) -> problems.ProblemError:
    """NOT_FOUND means either no such workflow or one that has completed: tell the two apart."""
    try:
        description = await handle.describe(rpc_timeout=QUERY_TIMEOUT)
    except RPCError as error:
        if error.status is RPCStatusCode.NOT_FOUND:
            return problems.case_not_found(handle.id)
        return _unavailable(error)
    if description.status is WorkflowExecutionStatus.RUNNING:
        return problems.temporal_unavailable("the case did not take the event")
    return problems.case_exited(handle.id)


@asynccontextmanager
async def _temporal_errors(handle: WorkflowHandle[Any, Any]) -> AsyncIterator[None]:
    try:
        yield
    except WorkflowUpdateFailedError as error:
        raise _refusal(error) from None
    except (WorkflowUpdateRPCTimeoutOrCancelledError, RPCTimeoutOrCancelledError) as error:
        raise _unavailable(error) from None
    except (WorkflowQueryFailedError, WorkflowQueryRejectedError) as error:
        raise problems.temporal_unavailable(f"the case could not answer ({error})") from None
    except RPCError as error:
        if error.status is RPCStatusCode.NOT_FOUND:
            raise await _not_found_or_exited(handle) from None
        if error.status is RPCStatusCode.CANCELLED:  # an RPC timeout: a query nobody answered
            raise problems.temporal_unavailable("the case's worker did not answer in time") from None
        raise _unavailable(error) from None


def _refusal(error: WorkflowUpdateFailedError) -> problems.ProblemError:
    cause = error.cause
    if not isinstance(cause, ApplicationError):
        return problems.temporal_unavailable(f"the case could not take the event ({cause})")
    details: dict[str, Any] = cause.details[0] if cause.details and isinstance(cause.details[0], dict) else {}
    rule, field = details.get("rule"), details.get("field")
    if cause.type == "WrongStage":
        return problems.wrong_stage(cause.message, rule=rule, field=field)
    if cause.type == "NotResponsible":
        return problems.forbidden(cause.message, rule=rule or "deadline owner", field=field)
    return problems.rule_violation(cause.message, rule=rule, field=field)


async def send_event(client: Client, case_ref: str, event: ev.Event, update_id: str) -> Receipt:
    """Send one agency event through its update; a repeated `update_id` gets the first Receipt back."""
    handle = client.get_workflow_handle(case_ref)
    async with _temporal_errors(handle):
        receipt: Receipt = await handle.execute_update(
            EVENT_UPDATES[type(event)], event, id=update_id, result_type=Receipt, rpc_timeout=UPDATE_TIMEOUT
        )
    if receipt.event != type(event).__name__:
        # The key's first use was another kind of event: its answer is no answer to this request.
        raise problems.ProblemError(
            422,
            "idempotency-key-reused",
            "Idempotency-Key already used",
            f"this Idempotency-Key was first used for {receipt.event} on this case; use a new key for a new event",
            field="Idempotency-Key",
        )
    return receipt


async def _query(client: Client, case_ref: str, name: str, result_type: type[T]) -> T:
    handle = client.get_workflow_handle(case_ref)
    async with _temporal_errors(handle):
        result: T = await handle.query(name, result_type=result_type, rpc_timeout=QUERY_TIMEOUT)
        return result


async def case_status(client: Client, case_ref: str) -> CaseStatus:
    return await _query(client, case_ref, "status", CaseStatus)


async def case_file(client: Client, case_ref: str) -> CaseFile:
    return await _query(client, case_ref, "case_file", CaseFile)


async def start_case(
    client: Client,
    task_queue: str,
    opening: ev.CaseOpening,
    *,
    imported: ImportedPosition | None = None,
    search_attributes: TypedSearchAttributes | None = None,
) -> bool:
    """Start the case's workflow; False when a workflow with that reference exists or existed.

    A reference is never reused, even after the case has exited: that would reopen a closed case. `imported`:
    a case already in progress (api/imports.py), started with its `ImportRef` in `search_attributes`.
    """
    try:
        await client.start_workflow(
            WORKFLOW_TYPE,
            CaseWorkflowInput(opening=opening, imported=imported),
            search_attributes=search_attributes,
            id=opening.case_ref,
            task_queue=task_queue,
            id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
            static_summary=f"MAPPA case {opening.case_ref}",
            rpc_timeout=START_TIMEOUT,
        )
    except WorkflowAlreadyStartedError:
        return False
    except (RPCError, RPCTimeoutOrCancelledError) as error:
        raise _unavailable(error) from None
    return True
