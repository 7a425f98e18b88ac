"""The case file's state: everything one case holds, and the small helpers every stage uses on it.

`CaseState` is what the workflow carries between events and across continue-as-new: stage, level, meetings,
risk changes, every deadline, the notices waiting to go. The stage modules read and change it through the
helpers here (`follows`, `notify`, `next_seq`, `meeting`, `sender`...). How a case opens and takes an event
or the passage of time is above it, in workflows/rules/case.py (`CaseFile`).
"""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, Field, PrivateAttr

from workflows.rules import events as ev
from workflows.rules.actors import Actor
from workflows.rules.calendar import Jurisdiction
from workflows.rules.chronology import ChronologyEntry
from workflows.rules.due_dates import Deadline, DeadlineState
from workflows.rules.errors import RuleViolation
from workflows.rules.ownership import Meets
from workflows.rules.policy import AreaPolicy, area_policy
from workflows.rules.records import (
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
    Recall,
    Referral,
    RiskChange,
    ScheduledMeeting,
    Stage,
    SubjectAccessRequest,
    Transfer,
)

# At continue-as-new the newest meetings are carried whole, older ones without their per-person detail.
MEETINGS_KEPT_WHOLE = 2


class CaseState(BaseModel):
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
    # The next meeting, once the co-ordinator has scheduled it (workflows/rules/meeting_schedule.py).
    scheduled_meeting: ScheduledMeeting | None = None
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
    # The chronology's entries not yet handed to the ledger, and the number of the last one made (its own count,
    # so notice keys stay as they were). None: a case started before the chronology was kept, until its past is
    # rebuilt from this file (workflows/rules/chronology.py).
    chronology: list[ChronologyEntry] = Field(default_factory=list)
    chronology_seq: int | None = None
    exit_record: ExitRecord | None = None
    # Every transfer asked of this case, oldest first: the areas it was managed in (workflows/rules/transfer.py).
    transfers: list[Transfer] = Field(default_factory=list, exclude_if=lambda v: not v)
    # Each recall to custody, the latest last: what it paused and the re-release (workflows/rules/recall.py).
    recalls: list[Recall] = Field(default_factory=list)
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

    # ---------------------------------------------------------------- what every stage reads

    def follows(self, rule_change: str) -> bool:
        """Whether this case follows the named rule correction (else the rule as it was before it)."""
        return rule_change in self.rule_changes

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

    @property
    def pending_transfer(self) -> Transfer | None:
        """The transfer awaiting the receiving area's decision: its acceptance deadline still open (an exit
        cancels it, and with it the request)."""
        last = self.transfers[-1] if self.transfers else None
        if last is None or last.outcome is not None:
            return None
        d = self.deadlines.get(last.acceptance_deadline)
        return last if d is not None and d.is_open else None

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

    def take_chronology(self) -> list[ChronologyEntry]:
        entries, self.chronology = self.chronology, []
        return entries

    def stop_chronology(self) -> None:
        """Keep no chronology in this run (a run recorded before it was kept): its past is rebuilt later."""
        self.chronology, self.chronology_seq = [], None

    def archive_closed(self, keep: int, meetings_kept: int | None = None) -> list[str]:
        """Drop the oldest closed deadlines (and old meetings, settled risk changes and requests) from state
        beyond `keep` (`meetings_kept` meetings): they stay in the ledger and in earlier runs' histories.

        A closed deadline the case has once (the initial meeting, the referral decision...) is kept whatever
        its age: rules look those up by name. Only repeatable ones (per meeting, action, search) are dropped."""
        closed = sorted(
            (
                d
                for d in self.deadlines.values()
                if not d.is_open
                and d.state is not DeadlineState.PAUSED  # still owed, once resumed
                and d.deadline_id not in self.ledger_pending
                and ":" in d.deadline_id
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
        area: str | None = None,
    ) -> None:
        """Queue a notice to `to` (an agency, or a role of `area`: by default the area whose people owe the
        deadline, the case's own but for a transfer's acceptance, owed by the receiving area)."""
        if self._importing:
            return  # a moment before the import: the area's previous system did what it asked
        owed = self.deadlines[deadline_id].owed_in_area if deadline_id in self.deadlines else None
        self.outbox.append(
            Notice(
                key=f"{self.case_ref}/notice-{self.next_seq()}",
                kind=kind,
                case_ref=self.case_ref,
                area=area or owed or self.area,
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
