"""The MAPPA case file: the whole state of one case, and how it takes an event and the passage of time.

`CaseFile` holds stage, level, meetings, risk changes and every deadline. An agency event is checked against the
stage table (workflows/rules/stages.py) and handed to its stage's handler, which applies the statutory rules:
it opens, meets or cancels deadlines and queues the notices the workflow must send. `tick` sends reminders,
marks breaches and escalates them. Pure: the workflow calls it with `workflow.now()`; tests with any clock.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime

from pydantic import BaseModel, Field, PrivateAttr

from workflows.rules import events as ev
from workflows.rules.actors import Actor
from workflows.rules.calendar import Jurisdiction, end_of_local_day, local_date
from workflows.rules.deadlines import (
    Deadline,
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
    ImportedPosition,
    as_row_error,
    check_imported_opening,
    check_position,
    imported_history,
    record_imported_meeting,
)
from workflows.rules.imported_before_events import check_import, receive_import
from workflows.rules.management import REVIEW_KINDS, enter_level_1
from workflows.rules.meetings import INITIAL_MEETING_KINDS, MEETING_KINDS
from workflows.rules.ownership import Meets, check_sender
from workflows.rules.policy import AreaPolicy, DeadlineKind, area_policy
from workflows.rules.pre_notification import discharge_day, release_day
from workflows.rules.records import (
    ACTIVE_STAGES,
    CHAIR,
    CLOSED_STAGES,
    CO_ORDINATOR,
    AdultAtRisk,
    ArchivedMeetings,
    AspShare,
    ChildAtRiskRecord,
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
from workflows.rules.rule_changes import (
    ASP_CHAIR_NAMED_BY_CO_ORDINATOR,
    IMPORT_AS_DATED_EVENTS,
    LEVEL_1_REVIEW,
    LICENCE_END_ON_EVERY_OPENING,
    RULE_CHANGES,
    SUBJECT_INFORMED_DEADLINE,
    TRIAGE_AT_NOTIFICATION_SCREENS_IT,
)
from workflows.rules.stages import STAGE_TABLE
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


# At continue-as-new the newest meetings are carried whole, older ones without their per-person detail.
MEETINGS_KEPT_WHOLE = 2


class CaseFile(BaseModel):
    case_ref: str
    area: str
    jurisdiction: Jurisdiction
    category: int
    lead_agency: str
    route: ev.EntryRoute
    subject: ev.SubjectDetails
    release_date: date | None = None
    discharge_date: date | None = None
    sonr_end_date: date | None = None
    supervision_end_date: date | None = None
    continue_basis: str | None = None  # why the case stays in MAPPA past the end of what brought it in
    level_1_plan_recorded_at: datetime | None = None
    opened_at: datetime
    # An imported case: the moment of its import (go-live). What fell due before it is pre-go-live.
    imported_at: datetime | None = None
    # When the notification (or a referral in its place) was submitted: the referral's 5 WD count from it (003).
    notified_at: datetime | None = None
    # The day a risk triage brought the initial meeting forward to: a new release or discharge date keeps it.
    initial_meeting_brought_forward_to: date | None = None
    stage: Stage
    level: int | None = None
    referral: Referral | None = None
    asp_criteria_met: bool | None = None
    asp_open: bool = False
    asp_chair_agency: str | None = None
    # Whether the ASP chair was named by the co-ordinator (or the ASP-route opening), the only source that
    # confers a right to read minutes (000 gives the chairs the minutes); an older case's chair may have named itself.
    asp_chair_named: bool = False
    adults_at_risk: list[AdultAtRisk] = Field(default_factory=list)
    asp_shares: list[AspShare] = Field(default_factory=list)
    children_at_risk: list[ChildAtRiskRecord] = Field(default_factory=list)
    subject_informed: bool | None = None
    subject_not_informed_reason: str | None = None
    meetings: list[Meeting] = Field(default_factory=list)
    # The meetings no longer carried whole, in a few bytes each: their identity outlives the trimming.
    archived_meetings: ArchivedMeetings = Field(default_factory=ArchivedMeetings)
    risk_changes: list[RiskChange] = Field(default_factory=list)
    # Every decision that set the level, with its statement, criteria and reason (001, 003, 004).
    level_decisions: list[LevelDecision] = Field(default_factory=list)
    # Why the co-ordinator screened the notification as it did (003 stage 1).
    screening_reason: str | None = None
    disclosures: list[Disclosure] = Field(default_factory=list)
    subject_access_requests: list[SubjectAccessRequest] = Field(default_factory=list)
    deadlines: dict[str, Deadline] = Field(default_factory=dict)
    outbox: list[Notice] = Field(default_factory=list)
    ledger_pending: list[str] = Field(
        default_factory=list
    )  # deadline ids changed since the last ledger write
    seq: int = 0
    exit_record: ExitRecord | None = None
    # Rule corrections this case follows (workflows/rules/rule_changes.py); sorted, carried across runs.
    rule_changes: list[str] = Field(default_factory=list)
    # Change log of the current event; not carried between events.
    changes: list[DeadlineChange] = Field(default_factory=list, exclude=True)
    # The moment of the event or tick being applied: stamps the notices it raises.
    _now: datetime | None = PrivateAttr(default=None)
    # The sender of the event being applied, and which deadlines its event may meet (workflows/rules/ownership.py).
    _sender: tuple[Actor | None, Meets | None] = PrivateAttr(default=(None, None))
    # While an import applies the events its row stands for: their moments are past, nothing is sent.
    _importing: bool = PrivateAttr(default=False)

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

    def follows(self, rule_change: str) -> bool:
        """Whether this case follows the named rule correction (else the rule as it was before it)."""
        return rule_change in self.rule_changes

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
        entry = STAGE_TABLE.get(type(event))
        if entry is None:
            raise RuleViolation(f"{type(event).__name__} is not a case event", "unknown event")
        allowed, handler = entry
        if self.stage not in allowed:
            raise WrongStage(
                f"{_words(type(event).__name__)} cannot be recorded while the case is at stage "
                f"'{self.stage.value}' (allowed at: {', '.join(sorted(s.value for s in allowed))})",
                "stage",
            )
        actor = event.sent_by
        # An event recorded before senders were carried has none: it is applied as it was then.
        self._sender = (actor, check_sender(event, actor).meets) if actor is not None else (None, None)
        try:
            handler(self, self.policy, event, now)
            close_when_obligations_met(self, now)
        finally:
            self._sender = (None, None)
        return Receipt(
            case_ref=self.case_ref,
            event=type(event).__name__,
            stage=self.stage,
            level=self.level,
            changes=list(self.changes),
        )

    @property
    def sender(self) -> tuple[Actor | None, Meets | None]:
        """Who sends the event being applied, and which deadlines it may meet; (None, None) otherwise."""
        return self._sender

    @property
    def importing(self) -> bool:
        """Whether the events being applied are an import's (workflows/rules/imported.py)."""
        return self._importing

    @property
    def policy(self) -> AreaPolicy:
        return area_policy(self.area)

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

    # ---------------------------------------------------------------- views

    def open_deadlines(self) -> list[Deadline]:
        return sorted((d for d in self.deadlines.values() if d.is_open), key=lambda d: d.due_at)

    def open_breaches(self) -> list[Deadline]:
        return [d for d in self.deadlines.values() if d.state is DeadlineState.BREACHED]

    def take_outbox(self) -> list[Notice]:
        notices, self.outbox = self.outbox, []
        return notices

    def take_ledger_pending(self) -> list[Deadline]:
        ids, self.ledger_pending = self.ledger_pending, []
        return [self.deadlines[i] for i in dict.fromkeys(ids)]

    def archive_closed(self, keep: int, meetings_kept: int | None = None) -> list[str]:
        """Drop the oldest closed deadlines (and old meetings, settled risk changes and requests) from state
        beyond `keep` (`meetings_kept` meetings): they stay in the ledger and in earlier runs' histories.

        A closed deadline the case has once (the initial meeting, the referral decision...) is kept whatever
        its age: rules look those up by name. Only repeatable ones (per meeting, action, search) are dropped."""
        closed = sorted(
            (
                d
                for d in self.deadlines.values()
                if not d.is_open and d.deadline_id not in self.ledger_pending and ":" in d.deadline_id
            ),
            key=lambda d: d.due_at,
        )
        dropped = [d.deadline_id for d in closed[: max(0, len(closed) - keep)]]
        for deadline_id in dropped:
            del self.deadlines[deadline_id]
        # Old meetings, triaged risk changes and decided requests go the same way: a case open for decades
        # would otherwise carry every one it ever had into each new run.
        kept = self.meetings[-(keep if meetings_kept is None else meetings_kept) :]
        for meeting in self.meetings[: len(self.meetings) - len(kept)]:
            self.archived_meetings.add(meeting)
        self.meetings = kept
        # Of older meetings, keep what later rules read (who attended, the minute, its circulation, the plan's
        # actions, the chair's name); each person's signature, the invitations, the chair's grade and record and the
        # items not to be shared are in the minute and the history, and leave the case file (the case-file view
        # then shows those items to no one).
        for meeting in self.meetings[:-MEETINGS_KEPT_WHOLE]:
            meeting.people, meeting.chair_record, meeting.not_to_be_shared = [], [], []
            meeting.invited, meeting.absent, meeting.chair_grade = [], [], None
        settled = [c for c in self.risk_changes if c.outcome is not None]
        gone = {c.change_id for c in settled[: max(0, len(settled) - keep)]}
        self.risk_changes = [c for c in self.risk_changes if c.change_id not in gone]
        self.disclosures = self.disclosures[-keep:]
        decided = [r for r in self.subject_access_requests if r.outcome is not None]
        old = {r.sar_id for r in decided[: max(0, len(decided) - keep)]}
        self.subject_access_requests = [r for r in self.subject_access_requests if r.sar_id not in old]
        return dropped

    # ---------------------------------------------------------------- what every stage uses

    def next_seq(self) -> int:
        """A number unique within the case: notice keys and the ids of repeatable deadlines."""
        self.seq += 1
        return self.seq

    def notify(
        self,
        kind: NoticeKind,
        to: str,
        title: str,
        lines: list[str],
        deadline_id: str | None = None,
        due_at: datetime | None = None,
        passes_over: list[str] | None = None,
    ) -> None:
        if self._importing:
            return  # a moment before the import: the area's previous system did what it asked
        self.outbox.append(
            Notice(
                key=f"{self.case_ref}/notice-{self.next_seq()}",
                kind=kind,
                case_ref=self.case_ref,
                area=self.area,
                to=to,
                deadline_id=deadline_id,
                deadline_kind=self.deadlines[deadline_id].kind if deadline_id in self.deadlines else None,
                title=title,
                lines=lines,
                due_at=due_at,
                raised_at=self._now,
                passes_over=passes_over or [],
            )
        )

    def meeting(self, meeting_id: str) -> Meeting:
        for m in self.meetings:
            if m.meeting_id == meeting_id:
                return m
        raise RuleViolation(f"no meeting {meeting_id} is recorded on this case", "meeting", "meeting_id")

    def attended(self, meeting_id: str) -> list[str]:
        """The agencies that attended a meeting of this case, carried whole or archived."""
        for m in self.meetings:
            if m.meeting_id == meeting_id:
                return m.attendees
        archived = self.archived_meetings.attendees(meeting_id)
        if archived is None:
            raise RuleViolation(f"no meeting {meeting_id} is recorded on this case", "meeting", "meeting_id")
        return archived


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
