"""MappaCaseWorkflow: one durable workflow per MAPPA case. Orchestration only; the rules live in `rules/`.

Agencies' events arrive as Updates, one per row of the event registry (`with_event_updates`): the validator
asks the case file whether the event is allowed (nothing enters history if not), the handler applies it. The
main loop sleeps until the earliest reminder, deadline or re-escalation, or until an event arrives; then it
sends what the case file queued, writes the ledger and publishes the case's position to the Temporal UI.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import RetryPolicy, SearchAttributeKey, SearchAttributeUpdate
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from workflows import search_attributes as sa
    from workflows.messages import (
        ACTIVITY_FOR_NOTICE,
        RECORD_IN_LEDGER,
        CaseStatus,
        CaseSummary,
        CaseWorkflowInput,
        CaseWorkflowState,
        ChronologyEntry,
        Deadline,
        LedgerUpdate,
        LedgerWritten,
        Notice,
        NoticeDelivered,
        Receipt,
    )
    from workflows.rules import events as ev
    from workflows.rules import rule_changes
    from workflows.rules.case import CaseFile
    from workflows.rules.errors import CaseRuleError
    from workflows.rules.records import CLOSED_STAGES, ExitRecord
    from workflows.rules.registry import EVENTS, EventRow

# Delivery must not be lost: activities retry until they succeed, backing off to once every five minutes.
DELIVERY_RETRY = RetryPolicy(initial_interval=timedelta(seconds=1), maximum_interval=timedelta(minutes=5))
ACTIVITY_TIMEOUT = timedelta(seconds=30)
SEEN_KEYS_KEPT = 300
# Patch: notices are sent without the case waiting for delivery. Before it, a mail relay that was down held
# back the whole case (no breach marked, nothing published to the UI) until it came back.
NOTICES_IN_BACKGROUND = "notices-in-background"
# Patch: notices start alongside the ledger write instead of after it (an escalation no longer waits a round
# trip to the database), and the memo is upserted only when its text changes (one history event fewer).
NOTICES_WITH_LEDGER = "notices-with-ledger"
# Patch: a run continues as new once its own history passes RUN_EVENTS, well before the server suggests it
# (4,096 by default): replaying a run (a cache miss, a worker restart) then costs at most that many events.
CONTINUE_ON_OWN_COUNT = "continue-on-own-count"
RUN_EVENTS = 2_000
# Patch: a run records the rule corrections it follows as one marker, `corrections-through-<newest>`, instead of
# one per correction. Each patch marker is two history events (the marker and the SDK's upsert of the
# TemporalChangeVersion search attribute listing every patch so far): with 39 corrections they were 78 of a
# lifecycle's 262 events, their bytes growing with the square of the count, and every cached case and every
# replay carried them. A run with this marker also took the workflow's own patches made before it
# (NOTICES_IN_BACKGROUND, NOTICES_WITH_LEDGER, CONTINUE_ON_OWN_COUNT): they are not recorded again.
CORRECTIONS_THROUGH = "corrections-through-"
# Carried into the next run (the rest stays in the ledger and in earlier runs): closed repeatable deadlines
# (per meeting, action or search; a one-off deadline is always kept), meetings, and answered update IDs: the full
# first answers of the last few (a retry usually comes seconds after the first attempt). Each is about 500 bytes of
# the 32 KiB a run may carry; 8 since the rule corrections and the chronology grew the case file past it with 12.
CLOSED_DEADLINES_KEPT = 4
MEETINGS_KEPT = 12
SEEN_KEYS_CARRIED = 8
# Beyond those, the 48-bit digests of the last ANSWERED_KEPT update IDs are carried (about 15 bytes each), so a key
# repeated long after its first answer is still recognised: exactly once holds across runs.
ANSWERED_KEPT = 200


def key_digest(update_id: str) -> str:
    return hashlib.blake2b(update_id.encode(), digest_size=6).hexdigest()


_REFUSAL_TYPES = {
    "wrong-stage": "WrongStage",
    "not-responsible": "NotResponsible",
    "already-recorded": "AlreadyRecorded",
}


def rule_error(error: CaseRuleError) -> ApplicationError:
    """The refusal an agency sees: the API maps `type` to 409 / 422 / 403 and `details` to the problem document."""
    return ApplicationError(
        error.message,
        {"rule": error.rule, "field": error.field, "kind": error.kind},
        type=_REFUSAL_TYPES.get(error.kind, "RuleViolation"),
        non_retryable=True,
    )


def _rule_changes_recorded(skip: Iterable[str] = ()) -> list[str]:
    """The rule corrections a run made before CORRECTIONS_THROUGH follows, each recorded as a patch marker: a
    history made before a correction has no marker for it, so it replays under the rule as it was
    (workflows/rules/rule_changes.py)."""
    return [name for name in rule_changes.RULE_CHANGES if name not in skip and workflow.patched(name)]


def _corrections_through() -> list[str] | None:
    """The rule corrections this run follows, recorded as one patch marker naming the newest of them (the list
    is append-only, so it stands for every correction up to it). Looked for from the newest correction back: a
    history recorded before later corrections were appended finds its own marker and replays under the rules
    as they were. None for a run recorded before this marker: it named each correction (`_rule_changes_recorded`)."""
    names = rule_changes.RULE_CHANGES
    for newest in range(len(names) - 1, -1, -1):
        if workflow.patched(CORRECTIONS_THROUGH + names[newest]):
            return list(names[: newest + 1])
    return None


def with_event_updates(cls: type[Any]) -> type[Any]:
    """One update per row of the event registry, named as the row's handler: the validator asks the case file
    whether the event is allowed (nothing enters history if not), the handler applies it. Saved histories name
    these updates, so each keeps its name (tests/workflow/test_replay.py)."""
    for row in EVENTS:
        setattr(cls, row.update, _event_update(row))
    return cls


def _event_update(row: EventRow) -> Any:
    async def record(self: Any, e: ev.Event) -> Receipt:
        result: Receipt = await self._record(e)
        return result

    def check(self: Any, e: ev.Event) -> None:
        self._check(e)

    # The SDK reads the event's type from the annotations: it is what the update's payload is decoded into.
    record.__annotations__ = {"e": row.event, "return": Receipt}
    check.__annotations__ = {"e": row.event, "return": None}
    record.__name__ = record.__qualname__ = row.update
    check.__name__ = check.__qualname__ = f"_v_{row.update}"
    update = workflow.update(name=row.update, description=row.summary)(record)
    update.validator(check)
    return update


@workflow.defn(name="MappaCase")
@with_event_updates
class MappaCaseWorkflow:
    @workflow.init
    def __init__(self, inp: CaseWorkflowInput) -> None:
        # State exists before any update is validated, even one delivered with the first workflow task.
        corrections = _corrections_through()
        # A run recorded with one marker for its corrections took every patch of the workflow made before it.
        self._patched_before = corrections is not None
        if inp.state is not None:
            self._state = inp.state.model_copy(update={"runs": inp.state.runs + 1})
            # A running case takes up the rule corrections made since its last run.
            if corrections is None:
                corrections = _rule_changes_recorded(skip=self.case.rule_changes)
            self.case.take_up(corrections, workflow.now())
        else:
            assert inp.opening is not None
            if corrections is None:
                corrections = _rule_changes_recorded()
            opened = CaseFile.open(inp.opening, workflow.now(), corrections, inp.imported)
            self._state = CaseWorkflowState(case=opened)
        self._changed = False
        self._published: dict[str, Any] = {}
        self._sending: list[asyncio.Future[NoticeDelivered]] = []
        self._memo: str | None = None
        self._own_count = False
        self._chronology_off = False  # a run recorded before the chronology was kept
        self._timer: asyncio.Future[None] | None = None  # the timer kept across events, and its moment
        self._timer_for: tuple[datetime, str] | None = None

    @property
    def case(self) -> CaseFile:
        return self._state.case

    @workflow.run
    async def run(self, inp: CaseWorkflowInput) -> ExitRecord | None:
        self._own_count = self._patched_before or workflow.patched(CONTINUE_ON_OWN_COUNT)
        while True:
            self.case.tick(workflow.now())
            await self._carry_out()
            if self.case.stage in CLOSED_STAGES:
                break
            if self._run_is_long():
                await self._continue_as_new()
            wake = self.case.next_wakeup()
            self._changed = False
            # Wake for the earliest reminder, deadline or re-escalation, or as soon as an event changes the case.
            if self.case.follows(rule_changes.TIMER_KEPT_ACROSS_EVENTS):
                await self._sleep_until(wake)
                continue
            with contextlib.suppress(TimeoutError):
                await workflow.wait_condition(
                    lambda: self._changed or self._run_is_long(),
                    timeout=max(wake[0] - workflow.now(), timedelta(seconds=1)) if wake else None,
                    timeout_summary=wake[1] if wake else None,
                )
        self._stop_timer()
        # Let any update still in flight answer, and every notice go out, before the case closes.
        await workflow.wait_condition(workflow.all_handlers_finished)
        await self._carry_out()
        await self._notices_delivered()
        return self.case.exit_record

    async def _sleep_until(self, wake: tuple[datetime, str] | None) -> None:
        """Until `wake` (its moment and what falls due then) or an event. The timer is started once for a moment
        and kept while events leave the earliest moment where it was; a new moment replaces it."""
        if wake != self._timer_for:
            self._stop_timer()
            if wake is not None:
                delay = max(wake[0] - workflow.now(), timedelta(seconds=1))
                self._timer = asyncio.ensure_future(workflow.sleep(delay, summary=wake[1]))
                self._timer_for = wake
        timer = self._timer
        await workflow.wait_condition(
            lambda: self._changed or self._run_is_long() or (timer is not None and timer.done())
        )
        if timer is not None and timer.done():
            self._timer, self._timer_for = None, None

    def _stop_timer(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
        self._timer, self._timer_for = None, None

    def _run_is_long(self) -> bool:
        info = workflow.info()
        if self._own_count and info.get_current_history_length() >= RUN_EVENTS:
            return True
        return info.is_continue_as_new_suggested()

    async def _continue_as_new(self) -> None:
        # Handlers finish first so no event is half-applied; then send what they queued and carry the rest.
        await workflow.wait_condition(workflow.all_handlers_finished)
        await self._carry_out()
        # A notice in flight belongs to this run: continuing as new would cancel it.
        await self._notices_delivered()
        self.case.archive_closed(CLOSED_DEADLINES_KEPT, MEETINGS_KEPT)
        seen = list(self._state.seen)
        answered = [*self._state.answered, *(key_digest(k) for k in seen[:-SEEN_KEYS_CARRIED])]
        carried = self._state.model_copy(
            update={
                "seen": {k: self._state.seen[k] for k in seen[-SEEN_KEYS_CARRIED:]},
                "answered": answered[-ANSWERED_KEPT:],
            }
        )
        workflow.continue_as_new(CaseWorkflowInput(state=carried))

    async def _carry_out(self) -> None:
        """Write the ledger and send every queued notice, then publish the case's position."""
        if not (self._patched_before or workflow.patched(NOTICES_WITH_LEDGER)):
            await self._carry_out_before_notices_with_ledger()
            return
        while self.case.ledger_pending or self.case.outbox or self._chronology_due():
            changed = self.case.take_ledger_pending()
            entries = self._chronology_to_write()
            notices = self.case.take_outbox()
            self._sending = [f for f in self._sending if not f.done()]
            self._sending += [asyncio.ensure_future(self._send(n)) for n in notices]
            if changed or entries:
                await self._record_in_ledger(changed, entries)
        self._publish(memo_only_when_changed=True)

    def _chronology_due(self) -> bool:
        if self._chronology_off:
            return False
        return bool(self.case.chronology) or self.case.chronology_seq is None

    def _chronology_to_write(self) -> list[ChronologyEntry]:
        """The chronology's entries for this ledger write; none in a run recorded before it was kept."""
        if not self._chronology_due():
            return []
        # A correction like the rules' (rule_changes.CHRONOLOGY_IN_LEDGER): it rides in the run's one marker.
        if not self.case.follows(rule_changes.CHRONOLOGY_IN_LEDGER):
            self.case.stop_chronology()
            self._chronology_off = True
            return []
        self.case.start_chronology(workflow.now())  # a case opened before the chronology: its past first
        return self.case.take_chronology()

    async def _carry_out_before_notices_with_ledger(self) -> None:
        # The loop as it was, for cases started before NOTICES_WITH_LEDGER (so before the chronology too).
        self.case.stop_chronology()
        self._chronology_off = True
        while self.case.ledger_pending or self.case.outbox:
            changed = self.case.take_ledger_pending()
            if changed:
                await self._record_in_ledger(changed)
            notices = self.case.take_outbox()
            if not notices:
                continue
            if workflow.patched(NOTICES_IN_BACKGROUND):
                self._sending = [f for f in self._sending if not f.done()]
                self._sending += [asyncio.ensure_future(self._send(n)) for n in notices]
            else:
                await asyncio.gather(*(self._send(n) for n in notices))
        self._publish(memo_only_when_changed=False)

    async def _record_in_ledger(
        self, changed: list[Deadline], entries: list[ChronologyEntry] | None = None
    ) -> LedgerWritten:
        return await workflow.execute_activity(
            RECORD_IN_LEDGER,
            LedgerUpdate(case=CaseSummary.of(self.case), deadlines=changed, entries=entries or []),
            result_type=LedgerWritten,
            start_to_close_timeout=ACTIVITY_TIMEOUT,
            retry_policy=DELIVERY_RETRY,
            # No summary: one per event, it said no more than the activity's name, and each is a payload to
            # encrypt and store (a replay spends about a tenth of its time on such metadata).
        )

    async def _notices_delivered(self) -> None:
        if self._sending:
            await asyncio.gather(*self._sending)
            self._sending = []

    async def _send(self, notice: Notice) -> NoticeDelivered:
        return await workflow.execute_activity(
            ACTIVITY_FOR_NOTICE[notice.kind],
            notice,
            result_type=NoticeDelivered,
            start_to_close_timeout=ACTIVITY_TIMEOUT,
            retry_policy=DELIVERY_RETRY,
            summary=f"{notice.title} -> {notice.to}",
        )

    def _publish(self, memo_only_when_changed: bool) -> None:
        """Search attributes, memo and current details, for the co-ordinator's view in the Temporal UI.

        Upserted only when they change: every upsert is a history event, and a case lives for years.
        """
        summary = CaseSummary.of(self.case)
        attributes: dict[SearchAttributeKey[Any], Any] = {
            sa.CASE_STAGE: summary.stage.value,
            sa.CASE_LEVEL: summary.level or 0,
            sa.CASE_CATEGORY: str(summary.category),
            sa.JURISDICTION: summary.jurisdiction,
            sa.AREA: summary.area,
            sa.LEAD_AGENCY: summary.lead_agency,
            sa.NEXT_DEADLINE_AT: summary.next_deadline_at,
            sa.NEXT_DEADLINE_KIND: summary.next_deadline_kind,
            sa.OPEN_BREACHES: summary.open_breaches,
        }
        updates: list[SearchAttributeUpdate[Any]] = []
        for key, value in attributes.items():
            if self._published.get(key.name, "unset") == value:
                continue
            self._published[key.name] = value
            updates.append(key.value_unset() if value is None else key.value_set(value))
        memo = (
            f"Category {summary.category} case in {summary.area} ({summary.jurisdiction}), "
            f"level {summary.level or '-'}, stage {summary.stage.value}; lead agency {summary.lead_agency}"
        )
        if updates:
            workflow.upsert_search_attributes(updates)
            if not memo_only_when_changed or memo != self._memo:
                workflow.upsert_memo({"summary": memo})
        self._memo = memo
        workflow.set_current_details(self._details())

    def _details(self) -> str:
        lines = [f"Stage: {self.case.stage.value}; level: {self.case.level or '-'}"]
        open_deadlines = self.case.open_deadlines()
        lines += ["Open deadlines:"] + [f"- {d.describe()}" for d in open_deadlines] if open_deadlines else []
        return "\n".join(lines)

    # ------------------------------------------------------------------ updates

    def _check(self, event: ev.Event) -> None:
        info = workflow.current_update_info()
        if info is not None and self._answered_before(info.id):
            return  # a repeat: the handler answers with the first result
        try:
            self.case.check(event, workflow.now())
        except CaseRuleError as error:
            raise rule_error(error) from None

    def _answered_before(self, key: str) -> bool:
        return key in self._state.seen or key_digest(key) in self._state.answered

    async def _record(self, event: ev.Event) -> Receipt:
        info = workflow.current_update_info()
        key = info.id if info is not None else None
        if key is not None and key in self._state.seen:
            return self._state.seen[key].model_copy(update={"replayed": True})
        if key is not None and key_digest(key) in self._state.answered:
            # Answered in an earlier run whose answer was not carried: a repeat, recorded once already.
            return Receipt(
                case_ref=self.case.case_ref,
                event=type(event).__name__,
                stage=self.case.stage,
                level=self.case.level,
                replayed=True,
            )
        try:
            receipt = self.case.apply(event, workflow.now())
        except CaseRuleError as error:  # the case moved on between validator and handler
            raise rule_error(error) from None
        self.case.tick(workflow.now())
        if key is not None:
            self._state.seen[key] = receipt
            while len(self._state.seen) > SEEN_KEYS_KEPT:
                oldest = next(iter(self._state.seen))
                del self._state.seen[oldest]
                self._state.answered = [*self._state.answered, key_digest(oldest)][-ANSWERED_KEPT:]
        self._changed = True
        return receipt

    # ------------------------------------------------------------------ queries

    @workflow.query
    def status(self) -> CaseStatus:
        """Stage, level and every deadline with its rule: what ops and agencies may see (no personal data)."""
        deadlines = sorted(self.case.deadlines.values(), key=lambda d: d.due_at)
        return CaseStatus(summary=CaseSummary.of(self.case), deadlines=deadlines, runs=self._state.runs)

    @workflow.query
    def case_file(self) -> CaseFile:
        """The whole case file, personal data included: the API audits every read of it."""
        return self.case

    @workflow.query
    def carried_state(self) -> CaseWorkflowState:
        """What the case carries to its next run: the case file and the idempotency keys already answered. The API
        reads it from a closed case's last run to reopen the case for a subject access request (001); never shown."""
        return self._state
