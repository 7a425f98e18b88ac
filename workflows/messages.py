"""Every message the case workflow takes or gives, declared once and shared by the API, worker and tests.

Agency events (the updates' inputs) live in the pure core (`workflows.rules.events`) and are re-exported here,
with the update each one is sent through, the workflow's start input and state, and the activities' inputs.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from workflows.rules import events as ev
from workflows.rules.case import CaseFile
from workflows.rules.chronology import ChronologyEntry
from workflows.rules.deadlines import Deadline, DeadlineState
from workflows.rules.imported_row import ImportedPosition
from workflows.rules.policy import DeadlineKind
from workflows.rules.records import ExitRecord, Notice, NoticeKind, Receipt, Stage
from workflows.rules.registry import EVENTS

__all__ = [
    "ACTIVITY_FOR_NOTICE",
    "EVENT_UPDATES",
    "RECORD_IN_LEDGER",
    "TASK_QUEUE",
    "CaseFile",
    "CaseStatus",
    "CaseSummary",
    "CaseWorkflowInput",
    "CaseWorkflowState",
    "ChronologyEntry",
    "Deadline",
    "DeadlineInLedger",
    "ExitRecord",
    "LedgerUpdate",
    "LedgerWritten",
    "Notice",
    "NoticeDelivered",
    "NoticeKind",
    "Receipt",
    "Stage",
    "TransferSummary",
]

TASK_QUEUE = "mappa-cases"

# The update each agency event travels through, named as its handler (workflows/rules/registry.py). The API
# sends `EVENT_UPDATES[type(event)]`.
EVENT_UPDATES: dict[type[ev.Event], str] = {row.event: row.update for row in EVENTS}


class CaseWorkflowState(BaseModel):
    """Everything a case carries across continue-as-new."""

    case: CaseFile
    # Idempotency keys (update IDs) already answered, with their first answer; bounded, newest last.
    seen: dict[str, Receipt] = Field(default_factory=dict)
    # Older answered update IDs, as short digests, whose first answers were not carried: a repeat of one is
    # answered as a repeat (no changes) instead of being applied twice. Bounded, newest last.
    answered: list[str] = Field(default_factory=list)
    runs: int = 1


class CaseWorkflowInput(BaseModel):
    opening: ev.CaseOpening | None = None
    # A case already in progress, imported at its stage (workflows/rules/imported.py); with `opening`.
    imported: ImportedPosition | None = None
    state: CaseWorkflowState | None = None


class TransferSummary(BaseModel):
    """A transfer between areas as the ledger and the API's area check see it: no one's words, no personal data."""

    transfer_id: str
    from_area: str
    to_area: str
    state: Literal["requested", "accepted", "declined", "lapsed"]
    requested_at: datetime
    accept_by: datetime | None = None
    decided_at: datetime | None = None

    @classmethod
    def of(cls, case: CaseFile) -> list[TransferSummary]:
        pending = case.pending_transfer
        found = []
        for t in case.transfers:
            d = case.deadlines.get(t.acceptance_deadline)
            state = t.outcome or ("requested" if t is pending else "lapsed")  # an exit cancels a request
            found.append(
                cls(
                    transfer_id=t.transfer_id,
                    from_area=t.from_area,
                    to_area=t.to_area,
                    state=state,
                    requested_at=t.requested_at,
                    accept_by=d.due_at if d is not None else None,
                    decided_at=t.decided_at,
                )
            )
        return found


class CaseSummary(BaseModel):
    """A case as ops and the ledger see it: no personal data, no case content."""

    case_ref: str
    area: str
    jurisdiction: str
    category: int
    level: int | None
    stage: Stage
    lead_agency: str
    opened_at: datetime
    exited_at: datetime | None = None
    open_breaches: int
    next_deadline_at: datetime | None = None
    next_deadline_kind: str | None = None
    # The areas the case was asked of, or moved between (the API's area check reads them from the ledger).
    transfers: list[TransferSummary] = Field(default_factory=list, exclude_if=lambda v: not v)

    @classmethod
    def of(cls, case: CaseFile) -> CaseSummary:
        open_deadlines = [d for d in case.open_deadlines() if d.state.value == "open"]
        nxt = open_deadlines[0] if open_deadlines else None
        return cls(
            case_ref=case.case_ref,
            area=case.area,
            jurisdiction=case.jurisdiction.value,
            category=case.category,
            level=case.level,
            stage=case.stage,
            lead_agency=case.lead_agency,
            opened_at=case.opened_at,
            exited_at=case.exit_record.exited_at if case.exit_record else None,
            open_breaches=len(case.open_breaches()),
            next_deadline_at=nxt.due_at if nxt else None,
            next_deadline_kind=nxt.kind.value if nxt else None,
            transfers=TransferSummary.of(case),
        )


class CaseStatus(BaseModel):
    """The `status` query: stage, level and every deadline with its rule. No personal data."""

    summary: CaseSummary
    deadlines: list[Deadline]
    runs: int


class DeadlineInLedger(BaseModel):
    """A deadline as the ledger keeps it (activities/ledger.py): its state and dates, not its rule text or the
    explanation of its count, which the case file and the status query give. Every ledger write carries the
    deadlines it changed, so these are most of what a case's history holds and what every replay decodes
    (issue 19). A full `Deadline`, given directly or as a write recorded before this, is read down to these."""

    model_config = ConfigDict(from_attributes=True)

    deadline_id: str
    kind: DeadlineKind
    title: str
    source: str
    responsible: str
    opened_at: datetime
    due_at: datetime
    due_date: date
    state: DeadlineState
    # Left out of the payload when unset (read back as the default): a quarter of a deadline's bytes were nulls
    # and zeros, and each ledger write is kept in the case's history for its life.
    met_at: datetime | None = Field(default=None, exclude_if=lambda v: v is None)
    breached_at: datetime | None = Field(default=None, exclude_if=lambda v: v is None)
    cancelled_at: datetime | None = Field(default=None, exclude_if=lambda v: v is None)
    cancel_reason: str | None = Field(default=None, exclude_if=lambda v: v is None)
    escalations: int = Field(default=0, exclude_if=lambda v: v == 0)
    pre_go_live: bool = Field(default=False, exclude_if=lambda v: not v)

    @property
    def met_late(self) -> bool:
        return self.state is DeadlineState.MET and self.breached_at is not None


class LedgerUpdate(BaseModel):
    case: CaseSummary
    deadlines: list[DeadlineInLedger]
    # The chronology's entries since the last write (workflows/rules/chronology.py): kept once each, sealed.
    entries: list[ChronologyEntry] = Field(default_factory=list)


class LedgerWritten(BaseModel):
    deadlines_written: int


class NoticeDelivered(BaseModel):
    key: str
    recipients: list[str]
    outbox_id: int | None = None


# The activity that sends each kind of notice: named for what it does, so the history reads like the case file.
ACTIVITY_FOR_NOTICE: dict[NoticeKind, str] = {
    NoticeKind.REFERRAL_RECEIPT: "acknowledge_referral",
    NoticeKind.REFERRAL_DECISION: "send_decision",
    NoticeKind.RECORD_SEARCH_REQUEST: "request_record_search",
    NoticeKind.REMINDER: "send_reminder",
    NoticeKind.BREACH_ESCALATION: "escalate_breach",
    NoticeKind.RE_ESCALATION: "escalate_breach",
    NoticeKind.FURTHER_INFORMATION_REQUEST: "send_notice",
    NoticeKind.ROUTED_TO_INFORMATION_SHARING_MEETING: "send_notice",
    NoticeKind.PRE_MEETING_INFORMATION: "send_notice",
    NoticeKind.MEETING_SHORTFALL: "send_notice",
    NoticeKind.ASP_CHAIR_TO_NAME: "send_notice",
    NoticeKind.IMPORT_SUMMARY: "send_notice",
    NoticeKind.DEADLINE_MOVED: "send_notice",
    NoticeKind.CASE_TRANSFER: "send_notice",
    NoticeKind.MEETING_INVITATION: "send_notice",
    NoticeKind.MEETING_SCHEDULED_LATE: "send_notice",
}
RECORD_IN_LEDGER = "record_in_ledger"
