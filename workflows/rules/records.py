"""What a case file records: where the case stands, its referral, meetings, risk changes, requests and
disclosures, the notices it must send and the receipt an event gets back.

Field names and shapes here are carried across continue-as-new and held in saved histories: do not rename them.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, Field

from workflows.rules import events as ev
from workflows.rules.policy import DeadlineKind

# Roles of the area that notices go to (the directory says who holds each at the time).
CO_ORDINATOR = "co-ordinator"
CHAIR = "chair"


class Stage(StrEnum):
    # opened by a court disposal, an upcoming release or a discharge: the notification or referral is due
    AWAITING_NOTIFICATION = "awaiting-notification"
    NOTIFICATION = "notification"  # stage 1: awaiting the co-ordinator's screening
    LEVEL_1 = "level-1"  # ordinary agency management: recorded, no multi-agency meetings
    REFERRAL_DUE = "referral-due"  # screened as needing level 2/3: waiting for the referral
    REFERRAL = "referral"  # stage 2: referral received, awaiting the co-ordinator's decision
    INFORMATION_SHARING = "information-sharing"  # stage 3: record searches, initial meeting due
    ACTIVE_MANAGEMENT = "active-management"  # stage 4: meetings, minutes, reviews
    EXITING = "exiting"  # exit decided; obligations that outlive it (minutes, subject access) still open
    EXITED = "exited"  # stage 5
    ROUTED_TO_INFORMATION_SHARING_MEETING = "routed-to-information-sharing-meeting"  # not an offender


CLOSED_STAGES = frozenset({Stage.EXITED, Stage.ROUTED_TO_INFORMATION_SHARING_MEETING})
ACTIVE_STAGES = frozenset(set(Stage) - CLOSED_STAGES)


class NoticeKind(StrEnum):
    REFERRAL_RECEIPT = "referral-receipt"
    REFERRAL_DECISION = "referral-decision"
    FURTHER_INFORMATION_REQUEST = "further-information-request"
    RECORD_SEARCH_REQUEST = "record-search-request"
    REMINDER = "reminder"
    BREACH_ESCALATION = "breach-escalation"
    RE_ESCALATION = "re-escalation"
    ROUTED_TO_INFORMATION_SHARING_MEETING = "routed-to-information-sharing-meeting"
    PRE_MEETING_INFORMATION = "pre-meeting-information"
    MEETING_SHORTFALL = "meeting-shortfall"
    ASP_CHAIR_TO_NAME = "asp-chair-to-name"
    IMPORT_SUMMARY = "import-summary"
    DEADLINE_MOVED = "deadline-moved"
    CASE_TRANSFER = "case-transfer"
    MEETING_INVITATION = "meeting-invitation"
    MEETING_SCHEDULED_LATE = "meeting-scheduled-late"


class Notice(BaseModel):
    """Something the workflow must send. Carries the case reference, never the subject's personal data."""

    key: str  # unique and stable: the idempotency key of the send
    kind: NoticeKind
    case_ref: str
    area: str
    to: str  # an agency id, or a role of the area ("co-ordinator", "chair")
    deadline_id: str | None = None
    deadline_kind: DeadlineKind | None = None
    title: str
    lines: list[str] = Field(default_factory=list)
    due_at: datetime | None = None
    # When the case raised it: the directory is read as of this moment ("whoever holds the role at the time").
    raised_at: datetime | None = None
    # Roles the notice must not fall back to when `to` has no holder: the breach of the co-ordinator's own
    # deadline goes to the chair or the deputy, never back to the co-ordinator.
    passes_over: list[str] = Field(default_factory=list)


class Referral(BaseModel):
    referring_agency: str
    level_sought: int
    level_2_cannot_deliver: str | None
    received_at: datetime
    clock_from: datetime  # the meeting clock's start: receipt, or when missing information arrived
    awaiting_information: bool = False
    # Agencies' own words: in the case file (audited reads), never in a notice.
    information_requested: list[str] = Field(default_factory=list)
    rejection_reasons: str | None = None


class Meeting(BaseModel):
    meeting_id: str
    held_on: date
    initial: bool
    chair_agency: str
    level_decided: int
    attendees: list[str]  # the agencies of the people present, substitutes included: who may read the minute
    not_to_be_shared: list[ev.NotToBeShared]
    minute_ref: str | None = None
    minute_digest: str | None = None
    minutes_circulated_to: list[str] = Field(default_factory=list)
    rmp_action_ids: list[str] = Field(default_factory=list)
    chair_record: list[str] = Field(default_factory=list)
    chair_name: str | None = None
    chair_grade: str | None = None
    invited: list[str] = Field(default_factory=list)
    people: list[ev.Attendee] = Field(default_factory=list)  # each person present, with their signature
    absent: list[str] = Field(
        default_factory=list
    )  # invited agencies nobody came from (001: send a replacement)
    # What the meeting did that falls short of the guidance (a chair below the level's grade, level 3 without
    # senior representation): recorded as it happened, and flagged to the co-ordinator.
    shortfalls: list[str] = Field(default_factory=list)
    # The day it was scheduled for and the panel it sat on, when the co-ordinator scheduled it (MeetingScheduled).
    scheduled_for: date | None = None
    panel_ref: str | None = None


class ScheduledMeeting(BaseModel):
    """The case's next meeting as the co-ordinator arranged it (001, 003 stage 4): the day, the agencies invited
    and the panel (one day, several subjects) it is part of, under the id it will have once held. Kept until the
    meeting is recorded; each move keeps the day it was moved from."""

    meeting_id: str
    scheduled_for: date
    invited: list[str]
    panel_ref: str | None = None
    scheduled_at: datetime
    # The statutory due date of the meeting it answers, when it was set; a day after it is recorded as late.
    due_date: date
    after_due_date: bool = False
    moved_from: list[date] = Field(default_factory=list)


class ArchivedMeetings(BaseModel):
    """The meetings a case no longer carries whole (continue-as-new keeps the newest): their numbers and the
    agencies that attended each, so a request naming an old one (a subject access request, 001) still finds it
    and whom to consult. Consecutive meetings attended by the same agencies share one entry (first, last,
    attendees as a bit mask over `agencies`): a case carries every meeting it ever held in a few bytes."""

    agencies: list[str] = Field(default_factory=list)
    runs: list[tuple[int, int, int]] = Field(default_factory=list)

    def add(self, meeting: Meeting) -> None:
        mask = 0
        for agency in meeting.attendees:
            if agency not in self.agencies:
                self.agencies.append(agency)
            mask |= 1 << self.agencies.index(agency)
        number = int(meeting.meeting_id.rsplit("-", 1)[1])
        if self.runs and self.runs[-1][1] == number - 1 and self.runs[-1][2] == mask:
            self.runs[-1] = (self.runs[-1][0], number, mask)
        else:
            self.runs.append((number, number, mask))

    def attendees(self, meeting_id: str) -> list[str] | None:
        """The agencies that attended the archived meeting, or None if it is not one."""
        number = meeting_id.rsplit("-", 1)[-1]
        if not number.isdigit():
            return None
        for first, last, mask in self.runs:
            if first <= int(number) <= last:
                return [a for i, a in enumerate(self.agencies) if mask >> i & 1]
        return None

    def last_number(self) -> int:
        return self.runs[-1][1] if self.runs else 0


class RiskChange(BaseModel):
    change_id: str
    reported_by: str
    direction: str
    reported_at: datetime
    outcome: str | None = None
    # What the reporting agency said and how the co-ordinator triaged it, and why (001, 003). Agencies' own
    # words: the encrypted case file only, never a notice, the ledger or an attribute.
    summary: str | None = None
    triage_reason: str | None = None
    new_level: int | None = None
    triaged_at: datetime | None = None


class LevelDecision(BaseModel):
    """A decision that set the case's level, with what it stated: what level 2 cannot deliver (001, 003), which
    of 004's level 3 criteria hold (England and Wales) and why. Carried whole: levels change rarely, and the
    reason for a level outlives the run that took it. Agencies' own words: the encrypted case file only."""

    decided_at: datetime
    level: int
    by: str  # "referral decision", a meeting id, "level change", or the change in risk triaged
    reason: str | None = None
    level_2_cannot_deliver: str | None = None
    level_3_criteria: list[str] = Field(default_factory=list)


class ExitRecord(BaseModel):
    case_ref: str
    exited_at: datetime
    reason: str
    final_stage_before_exit: Stage
    open_deadlines_cancelled: list[str]
    breached_deadlines: list[str]
    # Deadlines the exit did not end (minutes, subject access, child protection): the case closes when met.
    obligations_outstanding: list[str] = Field(default_factory=list)


class PausedDeadline(BaseModel):
    """A deadline paused by a recall, and how long it had left: resumed that long after the re-release."""

    deadline_id: str
    days_left: int  # calendar days from the day of recall to its due day


class Recall(BaseModel):
    """A recall to custody (workflows/rules/recall.py): what it paused and, once the prison records it, the day
    of re-release from which the paused deadlines run again."""

    recalled_on: date
    recorded_by: str
    reason: str
    paused: list[PausedDeadline] = Field(default_factory=list)
    pre_release_meeting: str | None = None  # the id of the meeting due before the re-release
    re_release_on: date | None = None


DeadlineChangeKind = Literal[
    "opened", "met", "met-late", "cancelled", "breached", "re-armed", "transferred", "paused", "resumed"
]


class DeadlineChange(BaseModel):
    deadline_id: str
    title: str
    change: DeadlineChangeKind
    due_at: datetime
    # Why, where the change is not the event's plain consequence (a transfer re-basing its deadlines).
    reason: str | None = Field(default=None, exclude_if=lambda v: v is None)


class Transfer(BaseModel):
    """A transfer of the case to another MAPPA area: asked by the sending co-ordinator, decided by the receiving
    one (workflows/rules/transfer.py). The case keeps its reference and its one record throughout."""

    transfer_id: str
    from_area: str
    to_area: str
    from_jurisdiction: str
    to_jurisdiction: str
    reason: str  # the sending co-ordinator's words: the case file's, never a notice's
    proposed_on: date | None = None
    requested_at: datetime
    requested_by: str
    outcome: Literal["accepted", "declined"] | None = None
    decided_at: datetime | None = None
    decided_by: str | None = None
    decline_reason: str | None = None
    lead_agency_before: str | None = None
    lead_agency_after: str | None = None
    # One line per deadline open at the acceptance: what moved, what stayed, and why.
    rebased: list[str] = Field(default_factory=list)

    @property
    def acceptance_deadline(self) -> str:
        return f"transfer-acceptance:{self.transfer_id}"


class Receipt(BaseModel):
    """What the sender of an event gets back: the case's new position and the deadlines it touched."""

    case_ref: str
    event: str
    stage: Stage
    level: int | None
    changes: list[DeadlineChange] = Field(default_factory=list)
    replayed: bool = False  # true when an idempotency key was seen before and this is the first answer again


class SubjectAccessRequest(BaseModel):
    sar_id: str
    meeting_ids: list[str]
    received_at: datetime
    consulted: list[str]
    views: dict[str, str] = Field(default_factory=dict)  # agency -> "disclose" / "withhold: exemption"
    outcome: str | None = None
    exemption: str | None = None
    reason: str | None = None  # the co-ordinator's reason for the decision (001)


class Disclosure(BaseModel):
    meeting_id: str
    recipient: str
    what: str
    recorded_at: datetime


def next_number(ids: Iterable[str]) -> int:
    """The number after the highest of ids like "meeting-7" (old ones may have been archived)."""
    return max((int(i.rsplit("-", 1)[1]) for i in ids), default=0) + 1


class AdultAtRisk(BaseModel):
    """An adult considered against the ASP 3-point criteria (000) or, in England and Wales, referred into adult
    safeguarding (002, 004). `name` None: the subject. Personal data: the case file only (encrypted)."""

    adult_id: str
    name: str | None = None
    criteria_met: bool | None = None
    screened_at: datetime | None = None
    ap1_deadline_id: str | None = None


class AspShare(BaseModel):
    """000: what was shared the same day after an ASP inquiry found a MAPPA case or concern, and with whom."""

    shared_with: str
    recipient: str
    shared: list[str]
    about: list[str]
    shared_at: datetime


class ChildAtRiskRecord(BaseModel):
    """A named child at risk (002). Personal data: the case file only (encrypted)."""

    name: str
    date_of_birth: date | None = None
    identified_by: str
    identified_at: datetime
    referral_deadline_id: str
