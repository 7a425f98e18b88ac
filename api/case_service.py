"""How the API talks to a case's workflow: open it, send it one event, ask it a question.

Temporal's answers become problem documents here, and nowhere else: a refused transition is 409, a failed
rule 422, something recorded once already 409, an event its sender may not send (another agency's deadline) 403, an unknown case 404, a case that has exited MAPPA 409, Temporal or the case worker not answering
503.

A closed case still takes what the core accepts at stage `exited` (a subject access request, 001): its last run
has completed and takes no updates, so the case is reopened as a new run under the same reference, carrying the
closed run's state (case file and answered idempotency keys), and closes again once what it took is met.
"""

from __future__ import annotations

import secrets
import string
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from temporalio.api.common.v1 import WorkflowExecution
from temporalio.api.workflowservice.v1 import DescribeWorkflowExecutionRequest
from temporalio.client import (
    Client,
    RPCError,
    RPCTimeoutOrCancelledError,
    WithStartWorkflowOperation,
    WorkflowExecutionStatus,
    WorkflowHandle,
    WorkflowQueryFailedError,
    WorkflowQueryRejectedError,
    WorkflowUpdateFailedError,
    WorkflowUpdateRPCTimeoutOrCancelledError,
)
from temporalio.common import TypedSearchAttributes, WorkflowIDConflictPolicy, WorkflowIDReusePolicy
from temporalio.exceptions import ApplicationError, WorkflowAlreadyStartedError
from temporalio.service import RPCStatusCode

from api import problems
from workflows.messages import (
    EVENT_UPDATES,
    CaseFile,
    CaseStatus,
    CaseWorkflowInput,
    CaseWorkflowState,
    Receipt,
)
from workflows.rules import events as ev
from workflows.rules.calendar import LONDON
from workflows.rules.errors import CaseRuleError
from workflows.rules.imported_row import ImportedPosition
from workflows.rules.policy import UnknownArea, area_by_code
from workflows.rules.registry import accepts
from workflows.rules.stages import Stage

WORKFLOW_TYPE = "MappaCase"
# Long enough for a worker to run an update's handler; short enough that a dead worker is a prompt 503.
UPDATE_TIMEOUT = timedelta(seconds=20)
QUERY_TIMEOUT = timedelta(seconds=10)
START_TIMEOUT = timedelta(seconds=10)
CASE_REF_ALPHABET = string.ascii_uppercase + string.digits
CASE_REF_PATTERN = r"^MAPPA-[A-Z]{3}-[0-9]{4}-[A-Z0-9]{6}$"
CARRIED_STATE = "carried_state"  # the workflow's query for what a case carries to its next run

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


async def _latest_run(client: Client, case_ref: str) -> tuple[str, WorkflowExecutionStatus]:
    """The run ID and status of the case's latest run. Asked of the service directly: nothing but those two is
    decoded (the time-skipping test server's datetime search attributes do not decode in the SDK's describe)."""
    described = await client.workflow_service.describe_workflow_execution(
        DescribeWorkflowExecutionRequest(
            namespace=client.namespace, execution=WorkflowExecution(workflow_id=case_ref)
        ),
        retry=True,
        timeout=QUERY_TIMEOUT,
    )
    info = described.workflow_execution_info
    return info.execution.run_id, WorkflowExecutionStatus(info.status)


async def case_exists(client: Client, case_ref: str) -> bool:
    """Whether Temporal knows a workflow with this ID (running or closed): one call to the server, no worker."""
    try:
        await _latest_run(client, case_ref)
    except RPCError as error:
        if error.status is RPCStatusCode.NOT_FOUND:
            return False
        raise _unavailable(error) from None
    except RPCTimeoutOrCancelledError as error:
        raise _unavailable(error) from None
    return True


async def _not_found_or_exited(handle: WorkflowHandle[Any, Any], client: Client) -> problems.ProblemError:
    """NOT_FOUND means either no such workflow or one that has completed: tell the two apart."""
    try:
        _, status = await _latest_run(client, handle.id)
    except RPCError as error:
        if error.status is RPCStatusCode.NOT_FOUND:
            return problems.case_not_found(handle.id)
        return _unavailable(error)
    if status is WorkflowExecutionStatus.RUNNING:
        return problems.temporal_unavailable("the case did not take the event")
    return problems.case_exited(handle.id)


@asynccontextmanager
async def _temporal_errors(client: Client, handle: WorkflowHandle[Any, Any]) -> AsyncIterator[None]:
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
            raise await _not_found_or_exited(handle, client) from None
        if error.status is RPCStatusCode.CANCELLED:  # an RPC timeout: a query nobody answered
            raise problems.temporal_unavailable("the case's worker did not answer in time") from None
        raise _unavailable(error) from None


def _refusal(error: WorkflowUpdateFailedError) -> problems.ProblemError:
    cause = error.cause
    if not isinstance(cause, ApplicationError):
        return problems.temporal_unavailable(f"the case could not take the event ({cause})")
    details: dict[str, Any] = cause.details[0] if cause.details and isinstance(cause.details[0], dict) else {}
    kind = _REFUSAL_KINDS.get(cause.type or "", "rule-violation")
    return problems.case_rule_refused(
        kind, cause.message, rule=details.get("rule"), field=details.get("field")
    )


# The workflow's refusal types (workflows/case.py `rule_error`) back to the core's kinds of refusal.
_REFUSAL_KINDS = {
    "WrongStage": "wrong-stage",
    "NotResponsible": "not-responsible",
    "AlreadyRecorded": "already-recorded",
}


async def send_event(
    client: Client, case_ref: str, event: ev.Event, update_id: str, *, task_queue: str | None = None
) -> Receipt:
    """Send one agency event through its update; a repeated `update_id` gets the first Receipt back.

    With `task_queue`, an event a closed case still takes (`reopens`) reopens it on that queue."""
    handle = client.get_workflow_handle(case_ref)
    try:
        async with _temporal_errors(client, handle):
            receipt: Receipt = await handle.execute_update(
                EVENT_UPDATES[type(event)],
                event,
                id=update_id,
                result_type=Receipt,
                rpc_timeout=UPDATE_TIMEOUT,
            )
    except problems.ProblemError as refusal:
        if task_queue is None or not reopens(event) or refusal.problem.type != CASE_EXITED:
            raise
        receipt = await _reopen_with(client, task_queue, case_ref, event, update_id, refusal)
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


CASE_EXITED = problems.case_exited("").problem.type


def reopens(event: ev.Event) -> bool:
    """Whether a closed case still takes the event: the core accepts it at stage `exited` (a subject access
    request, 001: data protection law does not end with MAPPA)."""
    return type(event) in accepts(Stage.EXITED)


async def _reopen_with(
    client: Client,
    task_queue: str,
    case_ref: str,
    event: ev.Event,
    update_id: str,
    refusal: problems.ProblemError,
) -> Receipt:
    """Reopen a closed case to take `event`: a new run under the same reference carries the last run's state on.

    Exactly once under concurrency: the run is started by update-with-start with the conflict policy
    USE_EXISTING, so a second request racing this one sends its event to the run the first one started. A
    repeated idempotency key the closed case already answered gets its first answer, and starts nothing.
    """
    latest = client.get_workflow_handle(case_ref)
    async with _temporal_errors(client, latest):
        run_id, status = await _latest_run(client, case_ref)
        if status is not WorkflowExecutionStatus.COMPLETED:
            raise refusal  # terminated, failed or timed out: not a case that exited MAPPA
        closed = client.get_workflow_handle(case_ref, run_id=run_id)
        state: CaseWorkflowState = await closed.query(
            CARRIED_STATE, result_type=CaseWorkflowState, rpc_timeout=QUERY_TIMEOUT
        )
    if update_id in state.seen:
        return state.seen[update_id].model_copy(update={"replayed": True})
    try:
        # The core's answer before anything starts: a refused event reopens nothing.
        state.case.check(event, datetime.now(UTC))
    except CaseRuleError as error:
        raise problems.refused_by_core(error) from None
    reopening: WithStartWorkflowOperation[Any, Any] = WithStartWorkflowOperation(
        WORKFLOW_TYPE,
        CaseWorkflowInput(state=state),
        id=case_ref,
        task_queue=task_queue,
        id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
        id_reuse_policy=WorkflowIDReusePolicy.ALLOW_DUPLICATE,
        static_summary=f"MAPPA case {case_ref}, reopened: {type(event).__name__}",
    )
    async with _temporal_errors(client, latest):
        receipt: Receipt = await client.execute_update_with_start_workflow(
            EVENT_UPDATES[type(event)],
            event,
            start_workflow_operation=reopening,
            id=update_id,
            result_type=Receipt,
            rpc_timeout=UPDATE_TIMEOUT,
        )
    return receipt


async def _query(client: Client, case_ref: str, name: str, result_type: type[T]) -> T:
    handle = client.get_workflow_handle(case_ref)
    async with _temporal_errors(client, handle):
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

    A reference is never reused for a new case, even after the case has exited: only an event the closed case
    still takes reopens it (`send_event`). `imported`: a case already in progress (api/imports.py), started
    with its `ImportRef` in `search_attributes`.
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
