"""The MAPPA case file: how one case opens, and takes an event and the passage of time.

`CaseFile` is the case's state (workflows/rules/case_state.py: stage, level, meetings, risk changes, every
deadline) with what sits on top of the stages: opening, applying an event, the clock. An agency event is
checked against the stage table (workflows/rules/stages.py) and handed to its stage's handler, which applies
the statutory rules: it opens, meets or cancels deadlines and queues the notices the workflow must send.
`tick` sends reminders, marks breaches and escalates them. Pure: the workflow calls it with `workflow.now()`; tests with any clock.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from workflows.rules import events as ev
from workflows.rules.actors import Actor
from workflows.rules.calendar import end_of_local_day, local_date
from workflows.rules.case_state import CaseState
from workflows.rules.chronology import (
    OPENED,
    ChronologyEntry,
    event_fields,
    opening_sender,
    rebuilt_entries,
    sender_of,
)
from workflows.rules.deadlines import (
    DeadlineState,
    DueDate,
    breach_deadline,
    cancel_if_open,
    next_re_escalation,
    open_deadline,
    re_escalation_route,
    touch,
)
from workflows.rules.eligibility import check_opening
from workflows.rules.errors import CaseRuleError, RuleViolation, WrongStage
from workflows.rules.exit import close_when_obligations_met, open_supervision_end_deadlines
from workflows.rules.imported import (
    as_row_error,
    check_imported_opening,
    imported_history,
    record_imported_meeting,
)
from workflows.rules.imported_before_events import check_import, receive_import
from workflows.rules.imported_row import ImportedPosition, check_position
from workflows.rules.initial_meeting import INITIAL_MEETING_KINDS
from workflows.rules.level_1 import enter_level_1
from workflows.rules.management import REVIEW_KINDS
from workflows.rules.meeting_schedule import MEETING_KINDS
from workflows.rules.ownership import check_permission
from workflows.rules.policy import AreaPolicy, DeadlineKind
from workflows.rules.pre_notification import discharge_day, release_day
from workflows.rules.records import (
    ACTIVE_STAGES,
    CHAIR,
    CLOSED_STAGES,
    CO_ORDINATOR,
    DeadlineChange,
    Disclosure,
    ExitRecord,
    LevelDecision,
    Meeting,
    Notice,
    NoticeKind,
    Receipt,
    Referral,
    RiskChange,
    Stage,
    SubjectAccessRequest,
)
from workflows.rules.referral import receive_opening
from workflows.rules.registry import EVENT_TABLE
from workflows.rules.rule_changes import (
    ASP_CHAIR_NAMED_BY_CO_ORDINATOR,
    IMPORT_AS_DATED_EVENTS,
    LEVEL_1_REVIEW,
    LICENCE_END_ON_EVERY_OPENING,
    RULE_CHANGES,
    SUBJECT_INFORMED_DEADLINE,
    TRIAGE_AT_NOTIFICATION_SCREENS_IT,
)
from workflows.rules.working_copy import working_copy

# Names other packages import from here.
__all__ = [
    "ACTIVE_STAGES",
    "CHAIR",
    "CLOSED_STAGES",
    "CO_ORDINATOR",
    "INITIAL_MEETING_KINDS",
    "MEETING_KINDS",
    "REVIEW_KINDS",
    "CaseFile",
    "CaseRuleError",
    "DeadlineChange",
    "Disclosure",
    "ExitRecord",
    "LevelDecision",
    "Meeting",
    "Notice",
    "NoticeKind",
    "Receipt",
    "Referral",
    "RiskChange",
    "RuleViolation",
    "Stage",
    "SubjectAccessRequest",
    "WrongStage",
    "check_opening",
]


class CaseFile(CaseState):
    """The case file: its state (workflows/rules/case_state.py), opened from an opening, taking events and time.
    It adds no field: what the workflow carries decodes as before."""

    # ---------------------------------------------------------------- opening

    @classmethod
    def open(
        cls,
        opening: ev.CaseOpening,
        now: datetime,
        rule_changes: Iterable[str] | None = None,
        imported: ImportedPosition | None = None,
    ) -> CaseFile:
        """A case opened by `opening` at `now`, following `rule_changes` (default: every one in force);
        `imported`: a case already in progress, brought in at its stage (workflows/rules/imported.py)."""
        followed = sorted(RULE_CHANGES if rule_changes is None else rule_changes)
        if imported is not None and IMPORT_AS_DATED_EVENTS in followed:
            return cls._import(opening, imported, now, followed)
        policy = (
            check_opening(opening, followed)
            if imported is None
            else check_import(opening, imported, local_date(now))
        )
        case = cls._opened(opening, now, followed)
        if imported is None:
            receive_opening(case, policy, opening, now)
        else:
            receive_import(case, policy, opening, imported, now)
        case._chronicle_opening(opening, now)
        return case

    @classmethod
    def _opened(cls, opening: ev.CaseOpening, now: datetime, followed: list[str]) -> CaseFile:
        """The case file an opening starts: the one place an opening's fields become the case's."""
        case = cls(
            case_ref=opening.case_ref,
            area=opening.area,
            jurisdiction=opening.jurisdiction,
            category=opening.category,
            lead_agency=opening.lead_agency,
            route=opening.route,
            subject=opening.subject,
            release_date=release_day(opening),
            discharge_date=discharge_day(opening),
            sonr_end_date=opening.sonr_end_date,
            supervision_end_date=opening.supervision_end_date,
            opened_at=now,
            stage=Stage.NOTIFICATION,
            rule_changes=followed,
        )
        case._now = now
        return case

    @classmethod
    def _import(
        cls, opening: ev.CaseOpening, position: ImportedPosition, now: datetime, followed: list[str]
    ) -> CaseFile:
        """An imported case: the events its row stands for, applied at their moments through the live
        handlers, then what fell due before the import (go-live) breached without an e-mail each."""
        go_live = min(position.as_of or now, now)
        check_position(position, local_date(go_live))
        policy = check_imported_opening(opening, followed)
        history = imported_history(opening, position, go_live)
        case = cls._opened(history.opening, min(history.opened_at, go_live), followed)
        case.imported_at = go_live
        case._importing = True
        try:
            receive_opening(case, policy, history.opening, case.opened_at)
            case._chronicle_opening(history.opening, case.opened_at)
            for at, event in history.events:
                case.apply(event, min(at, go_live))
                if isinstance(event, ev.MeetingHeld):
                    record_imported_meeting(case, min(at, go_live))
            case.tick(go_live)
        except CaseRuleError as error:
            raise as_row_error(error) from None
        finally:
            case._importing = False
        case.outbox = []
        for d in case.deadlines.values():
            d.pre_go_live = d.due_at <= go_live
        return case

    def take_up(self, rule_changes: Iterable[str], now: datetime | None = None) -> None:
        """Follow these corrections from now on (a running case, at continue-as-new). Given `now`, a correction
        that adds a deadline opens it for the case as it stands (counted from now)."""
        taken = set(rule_changes) - set(self.rule_changes)
        self.rule_changes = sorted(set(self.rule_changes) | taken)
        if ASP_CHAIR_NAMED_BY_CO_ORDINATOR in taken and not self.asp_chair_named:
            # A chair that appointed itself under the old rule (an ASP inquiry concern) is no chair under the
            # new one: the co-ordinator names it.
            self.asp_chair_agency = None
        if now is not None and taken and self.stage in ACTIVE_STAGES:
            self._now = now
            take_up_corrections(self, self.policy, taken, now)

    # ---------------------------------------------------------------- events

    def check(self, event: ev.Event, now: datetime) -> None:
        """Raise CaseRuleError if `event` cannot be applied now; change nothing (it is tried on a working copy)."""
        working_copy(self).apply(event, now)

    def apply(self, event: ev.Event, now: datetime) -> Receipt:
        self.changes = []
        self._now = now
        row = EVENT_TABLE.get(type(event))
        if row is None:
            raise RuleViolation(f"{type(event).__name__} is not a case event", "unknown event")
        allowed = row.stages
        if self.stage not in allowed:
            raise WrongStage(
                f"{_words(type(event).__name__)} cannot be recorded while the case is at stage "
                f"'{self.stage.value}' (allowed at: {', '.join(sorted(s.value for s in allowed))})",
                "stage",
            )
        actor = event.sent_by
        # An event recorded before senders were carried has none: it is applied as it was then.
        if actor is not None:
            check_permission(row.permission, event, actor)
        self._sender = (actor, row.permission.meets) if actor is not None else (None, None)
        before = (self.stage.value, self.level)
        try:
            row.handler(self, self.policy, event, now)
            close_when_obligations_met(self, now)
            self._chronicle(type(event).__name__, now, actor, before, event_fields(event))
        finally:
            self._sender = (None, None)
        return Receipt(
            case_ref=self.case_ref,
            event=type(event).__name__,
            stage=self.stage,
            level=self.level,
            changes=list(self.changes),
        )

    # ---------------------------------------------------------------- the chronology

    def _chronicle(
        self,
        name: str,
        at: datetime,
        actor: Actor | None,
        before: tuple[str | None, int | None],
        fields: dict[str, object],
        sender_agency: str | None = None,
    ) -> None:
        """Queue the chronology's entry for what was just applied (003: decisions are recorded)."""
        if self.chronology_seq is None:
            return  # a case started before the chronology: its past is rebuilt first (`start_chronology`)
        self.chronology_seq += 1
        role, agency = sender_of(actor)
        self.chronology.append(
            ChronologyEntry(
                seq=self.chronology_seq,
                at=at,
                event=name,
                source="import" if self._importing else "event",
                sender_role=role,
                sender_agency=agency or sender_agency,
                stage_before=before[0],
                stage_after=self.stage.value,
                level_before=before[1],
                level_after=self.level,
                category=self.category,
                deadline_changes=[(c.deadline_id, c.change) for c in self.changes],
                fields=fields,
            )
        )

    def _chronicle_opening(self, opening: ev.CaseOpening, now: datetime) -> None:
        self.chronology_seq = 0
        self._chronicle(
            OPENED,
            now,
            None,
            (None, None),
            event_fields(opening),
            sender_agency=opening_sender(opening),
        )

    def start_chronology(self, now: datetime) -> None:
        """A case started before the chronology was kept: its past, as far as this file still holds it, then
        every event from now on (workflows/rules/chronology.py `rebuilt_entries`)."""
        if self.chronology_seq is not None:
            return
        self.chronology = rebuilt_entries(
            opened_at=self.opened_at,
            category=self.category,
            route=self.route.value,
            referral=self.referral,
            level_decisions=self.level_decisions,
            meetings=self.meetings,
            exit_record=self.exit_record,
            stage=self.stage.value,
            level_now=self.level,
            now=now,
            first_seq=1,
        )
        self.chronology_seq = len(self.chronology)

    # ---------------------------------------------------------------- time

    def tick(self, now: datetime) -> None:
        """Send due reminders, mark breaches and escalate them. Called whenever the workflow wakes."""
        policy = self.policy
        self._now = now
        for d in self.deadlines.values():
            if not d.is_open:
                continue
            if (
                d.reminder_at
                and d.reminded_at is None
                and d.reminder_at <= now < d.due_at
                and self._importing
            ):
                d.reminder_at = None  # its moment was before the import: not sent after the fact
            elif d.reminder_at and d.reminded_at is None and d.reminder_at <= now < d.due_at:
                d.reminded_at = now
                self.notify(
                    NoticeKind.REMINDER,
                    d.responsible,
                    f"reminder: {d.title}",
                    [d.explanation],
                    d.deadline_id,
                    d.due_at,
                )
                touch(self, d.deadline_id)
            if d.state is DeadlineState.OPEN and now >= d.due_at:
                breach_deadline(self, d.deadline_id, now, None)
            elif (
                d.state is DeadlineState.BREACHED
                and d.last_escalated_at is not None
                and now >= next_re_escalation(policy, d.last_escalated_at)
            ):
                d.escalations += 1
                d.last_escalated_at = now
                to, attention = re_escalation_route(self, d)
                self.notify(
                    NoticeKind.RE_ESCALATION,
                    to,
                    f"still breached: {d.title} (escalation {d.escalations})",
                    [*attention, d.explanation, f"Responsible: {d.responsible}"],
                    d.deadline_id,
                    d.due_at,
                )
                touch(self, d.deadline_id)

    def next_wakeup(self) -> tuple[datetime, str] | None:
        """The earliest moment something falls due: a reminder, a deadline or a re-escalation."""
        policy = self.policy
        best: tuple[datetime, str] | None = None
        for d in self.deadlines.values():
            if not d.is_open:
                continue
            candidates: list[tuple[datetime, str]] = []
            if d.state is DeadlineState.OPEN:
                # A reminder whose moment passed unsent (the deadline fell due first) is not waited for.
                if d.reminder_at and d.reminded_at is None and d.reminder_at < d.due_at:
                    candidates.append((d.reminder_at, f"reminder: {d.title}"))
                candidates.append((d.due_at, f"{d.title} due"))
            elif d.last_escalated_at is not None:
                candidates.append(
                    (next_re_escalation(policy, d.last_escalated_at), f"re-escalate: {d.title}")
                )
            for c in candidates:
                if best is None or c[0] < best[0]:
                    best = c
        return best


def _words(name: str) -> str:
    out = "".join(f" {c.lower()}" if c.isupper() else c for c in name).strip()
    return out[0].upper() + out[1:]


def take_up_corrections(case: CaseFile, policy: AreaPolicy, new: set[str], now: datetime) -> None:
    """A running case taking up corrections opens the deadlines they add, for the case as it stands."""
    if LEVEL_1_REVIEW in new and case.stage is Stage.LEVEL_1 and case.level == 1:
        enter_level_1(case, policy, now)
    if SUBJECT_INFORMED_DEADLINE in new and case.meetings and case.subject_informed is None:
        open_deadline(
            case, policy, DeadlineKind.SUBJECT_INFORMED, "subject-informed", case.lead_agency, now, now
        )
    end = case.supervision_end_date
    if (
        LICENCE_END_ON_EVERY_OPENING in new
        and end is not None
        and "supervision-end-notice" not in case.deadlines
    ):
        # Opened by its disposal, release or discharge before the correction: the licence end was not read.
        today = local_date(now)
        floor = DueDate(end_of_local_day(today), today, "today: the licence end is read from today")
        open_supervision_end_deadlines(case, policy, end, now, floor)
    if TRIAGE_AT_NOTIFICATION_SCREENS_IT in new and case.stage is not Stage.NOTIFICATION:
        # A screening left open by a triage that asked for a referral was decided by that triage.
        cancel_if_open(case, "screening", "decided by the risk triage that asked for a referral", now)
