"""The MAPPA case file and its state machine.

`CaseFile` is the whole state of one case: stage, level, meetings, risk changes and every deadline. Each agency
event is checked against the stage and the statutory rules, then applied: it opens, meets or cancels deadlines
and queues the notices the workflow must send. The passage of time (`tick`) sends reminders, marks breaches and
escalates them. Pure: the workflow calls it with `workflow.now()`; tests call it with any clock.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import date, datetime, time, timedelta
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, Field, PrivateAttr

from workflows.rules import events as ev
from workflows.rules.calendar import Jurisdiction, end_of_local_day, local_date, local_time_on
from workflows.rules.deadlines import (
    Deadline,
    DeadlineState,
    DueDate,
    next_re_escalation,
    open_deadline,
)
from workflows.rules.policy import AreaPolicy, DeadlineKind, UnknownArea, area_policy


class Stage(StrEnum):
    NOTIFICATION = "notification"  # stage 1: awaiting the co-ordinator's screening
    LEVEL_1 = "level-1"  # ordinary agency management: recorded, no multi-agency meetings
    REFERRAL_DUE = "referral-due"  # screened as needing level 2/3: waiting for the referral
    REFERRAL = "referral"  # stage 2: referral received, awaiting the co-ordinator's decision
    INFORMATION_SHARING = "information-sharing"  # stage 3: record searches, initial meeting due
    ACTIVE_MANAGEMENT = "active-management"  # stage 4: meetings, minutes, reviews
    EXITED = "exited"  # stage 5
    ROUTED_TO_INFORMATION_SHARING_MEETING = "routed-to-information-sharing-meeting"  # not an offender


CLOSED_STAGES = frozenset({Stage.EXITED, Stage.ROUTED_TO_INFORMATION_SHARING_MEETING})
ACTIVE_STAGES = frozenset(set(Stage) - CLOSED_STAGES)
REVIEW_KINDS = {2: DeadlineKind.REVIEW_LEVEL_2, 3: DeadlineKind.REVIEW_LEVEL_3}
INITIAL_MEETING_KINDS = {2: DeadlineKind.INITIAL_MEETING_LEVEL_2, 3: DeadlineKind.INITIAL_MEETING_LEVEL_3}
MEETING_KINDS = frozenset(
    {*INITIAL_MEETING_KINDS.values(), *REVIEW_KINDS.values(), DeadlineKind.EXTRA_REVIEW}
)
CO_ORDINATOR = "co-ordinator"
CHAIR = "chair"


class CaseRuleError(Exception):
    """An event the case cannot take. `rule` names the rule in words a co-ordinator uses."""

    kind: Literal["wrong-stage", "rule-violation"] = "rule-violation"

    def __init__(self, message: str, rule: str, field: str | None = None):
        super().__init__(message)
        self.message = message
        self.rule = rule
        self.field = field


class WrongStage(CaseRuleError):
    kind: Literal["wrong-stage", "rule-violation"] = "wrong-stage"


class RuleViolation(CaseRuleError):
    kind: Literal["wrong-stage", "rule-violation"] = "rule-violation"


class NoticeKind(StrEnum):
    REFERRAL_RECEIPT = "referral-receipt"
    REFERRAL_DECISION = "referral-decision"
    FURTHER_INFORMATION_REQUEST = "further-information-request"
    RECORD_SEARCH_REQUEST = "record-search-request"
    REMINDER = "reminder"
    BREACH_ESCALATION = "breach-escalation"
    RE_ESCALATION = "re-escalation"
    ROUTED_TO_INFORMATION_SHARING_MEETING = "routed-to-information-sharing-meeting"


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


class Referral(BaseModel):
    referring_agency: str
    level_sought: int
    level_2_cannot_deliver: str | None
    received_at: datetime
    clock_from: datetime  # the meeting clock's start: receipt, or when missing information arrived
    awaiting_information: bool = False


class Meeting(BaseModel):
    meeting_id: str
    held_on: date
    initial: bool
    chair_agency: str
    level_decided: int
    attendees: list[str]
    not_to_be_shared: list[ev.NotToBeShared]
    minute_ref: str | None = None
    minute_digest: str | None = None
    minutes_circulated_to: list[str] = Field(default_factory=list)
    rmp_action_ids: list[str] = Field(default_factory=list)
    chair_record: list[str] = Field(default_factory=list)


class RiskChange(BaseModel):
    change_id: str
    reported_by: str
    direction: str
    reported_at: datetime
    outcome: str | None = None


class ExitRecord(BaseModel):
    case_ref: str
    exited_at: datetime
    reason: str
    final_stage_before_exit: Stage
    open_deadlines_cancelled: list[str]
    breached_deadlines: list[str]


class DeadlineChange(BaseModel):
    deadline_id: str
    title: str
    change: Literal["opened", "met", "met-late", "cancelled", "breached", "re-armed"]
    due_at: datetime


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


class Disclosure(BaseModel):
    meeting_id: str
    recipient: str
    what: str
    recorded_at: datetime


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
    opened_at: datetime
    stage: Stage
    level: int | None = None
    referral: Referral | None = None
    asp_criteria_met: bool | None = None
    asp_open: bool = False
    asp_chair_agency: str | None = None
    subject_informed: bool | None = None
    subject_not_informed_reason: str | None = None
    meetings: list[Meeting] = Field(default_factory=list)
    risk_changes: list[RiskChange] = Field(default_factory=list)
    disclosures: list[Disclosure] = Field(default_factory=list)
    subject_access_requests: list[SubjectAccessRequest] = Field(default_factory=list)
    deadlines: dict[str, Deadline] = Field(default_factory=dict)
    outbox: list[Notice] = Field(default_factory=list)
    ledger_pending: list[str] = Field(
        default_factory=list
    )  # deadline ids changed since the last ledger write
    seq: int = 0
    exit_record: ExitRecord | None = None
    # Change log of the current event; not carried between events.
    changes: list[DeadlineChange] = Field(default_factory=list, exclude=True)
    # The moment of the event or tick being applied: stamps the notices it raises.
    _now: datetime | None = PrivateAttr(default=None)

    # ---------------------------------------------------------------- opening

    @classmethod
    def open(cls, opening: ev.CaseOpening, now: datetime) -> CaseFile:
        policy = check_opening(opening)
        case = cls(
            case_ref=opening.case_ref,
            area=opening.area,
            jurisdiction=opening.jurisdiction,
            category=opening.category,
            lead_agency=opening.lead_agency,
            route=opening.route,
            subject=opening.subject,
            release_date=opening.release_date,
            discharge_date=opening.discharge_date,
            sonr_end_date=opening.sonr_end_date,
            opened_at=now,
            stage=Stage.NOTIFICATION,
        )
        case._now = now
        if not opening.subject_is_offender:
            # 002: a person who is not an offender cannot be in MAPPA; route to an information sharing meeting.
            case.stage = Stage.ROUTED_TO_INFORMATION_SHARING_MEETING
            case._notify(
                NoticeKind.ROUTED_TO_INFORMATION_SHARING_MEETING,
                (opening.notification.notifying_agency if opening.notification else opening.lead_agency),
                "not a MAPPA case: refer to a High Risk Information Sharing Meeting",
                ["The subject is not an offender, so cannot be managed under MAPPA (002)."],
            )
            return case
        if opening.release_date is not None and opening.route is ev.EntryRoute.CUSTODY:
            release_start = local_time_on(opening.release_date, time(12))
            case._open(
                policy,
                DeadlineKind.CUSTODY_REFERRAL,
                "custody-referral",
                opening.lead_agency,
                release_start,
                now,
            )
        if opening.notification is not None:
            n = opening.notification
            if n.disposal_date is not None:
                disposal = local_time_on(n.disposal_date, time(12))
                case._open(
                    policy, DeadlineKind.NOTIFICATION, "notification", n.notifying_agency, disposal, now
                )
                case._meet("notification", now)
            case._open(policy, DeadlineKind.SCREENING, "screening", CO_ORDINATOR, now, now)
        if opening.sonr_end_date is not None:
            case._open_sonr_deadlines(policy, opening.sonr_end_date, now)
        if opening.referral is not None:
            case._receive_referral(policy, opening.referral, now)
        elif case.deadlines.get("custody-referral") and opening.notification is not None:
            # The prison's notification counts: "a notification or referral" 12 weeks before release (003).
            case._meet("custody-referral", now)
        return case

    # ---------------------------------------------------------------- events

    def check(self, event: ev.Event, now: datetime) -> None:
        """Raise CaseRuleError if `event` cannot be applied now; change nothing."""
        self.model_copy(deep=True).apply(event, now)

    def apply(self, event: ev.Event, now: datetime) -> Receipt:
        self.changes = []
        self._now = now
        handler = _HANDLERS.get(type(event))
        if handler is None:
            raise RuleViolation(f"{type(event).__name__} is not a case event", "unknown event")
        allowed, method = handler
        if self.stage not in allowed:
            raise WrongStage(
                f"{_words(type(event).__name__)} cannot be recorded while the case is at stage "
                f"'{self.stage.value}' (allowed at: {', '.join(sorted(s.value for s in allowed))})",
                "stage",
            )
        method(self, self.policy, event, now)
        return Receipt(
            case_ref=self.case_ref,
            event=type(event).__name__,
            stage=self.stage,
            level=self.level,
            changes=list(self.changes),
        )

    @property
    def policy(self) -> AreaPolicy:
        return area_policy(self.area)

    def _screen(self, policy: AreaPolicy, e: ev.ScreeningDecision, now: datetime) -> None:
        self._meet("screening", now)
        if e.outcome == "level-1":
            self._refuse_level_1_for_category_3(policy, "outcome")
            self.stage, self.level = Stage.LEVEL_1, 1
        else:
            self.stage = Stage.REFERRAL_DUE
            self._open(policy, DeadlineKind.REFERRAL, "referral", self.lead_agency, now, now)

    def _submit_referral(self, policy: AreaPolicy, e: ev.ReferralSubmitted, now: datetime) -> None:
        self._receive_referral(policy, e, now)

    def _receive_referral(self, policy: AreaPolicy, e: ev.ReferralSubmitted, now: datetime) -> None:
        if e.level_sought == 3 and not e.level_2_cannot_deliver:
            raise RuleViolation(
                "a level 3 referral must say which parts of the risk management plan level 2 cannot deliver "
                "(001, 003)",
                "level 3 referral statement",
                "level_2_cannot_deliver",
            )
        self._cancel_if_open("screening", "a referral arrived before screening", now)
        for deadline_id in ("referral", "custody-referral"):
            self._meet_if_open(deadline_id, now)
        self.referral = Referral(
            referring_agency=e.referring_agency,
            level_sought=e.level_sought,
            level_2_cannot_deliver=e.level_2_cannot_deliver,
            received_at=now,
            clock_from=now,
            awaiting_information=False,
        )
        self.stage = Stage.REFERRAL
        # 001: "The co-ordinator will confirm receipt of the referral to the referring agency."
        self._notify(
            NoticeKind.REFERRAL_RECEIPT,
            e.referring_agency,
            f"referral received (level {e.level_sought} sought)",
            [f"Received {local_date(now):%A %d %B %Y}. The co-ordinator will decide on it."],
        )
        self._open(policy, DeadlineKind.REFERRAL_DECISION, "referral-decision", CO_ORDINATOR, now, now)
        if policy.policy.asp_link:
            self._open(policy, DeadlineKind.ASP_SCREENING, "asp-screening", CO_ORDINATOR, now, now)
        if not e.information_complete:
            self._request_information(
                policy, ev.FurtherInformationRequested(missing="the referral is incomplete"), now
            )

    def _request_information(
        self, policy: AreaPolicy, e: ev.FurtherInformationRequested, now: datetime
    ) -> None:
        assert self.referral is not None
        deadline_id = f"further-information-{self._next()}"
        self._open(
            policy, DeadlineKind.FURTHER_INFORMATION, deadline_id, self.referral.referring_agency, now, now
        )
        self.referral.awaiting_information = True
        self._notify(
            NoticeKind.FURTHER_INFORMATION_REQUEST,
            self.referral.referring_agency,
            "further information needed for the referral",
            [f"Missing: {e.missing}", "The initial meeting cannot be arranged until it arrives (001, 003)."],
            deadline_id=deadline_id,
        )

    def _supply_information(
        self, policy: AreaPolicy, e: ev.FurtherInformationSupplied, now: datetime
    ) -> None:
        assert self.referral is not None
        open_requests = [d for d in self._open_of(DeadlineKind.FURTHER_INFORMATION)]
        if not open_requests:
            raise RuleViolation("no further information has been asked for", "further information")
        for d in open_requests:
            self._meet(d.deadline_id, now)
        self.referral.awaiting_information = False
        if policy.policy.meeting_clock_after_further_information == "restart":
            self.referral.clock_from = now

    def _decide_referral(self, policy: AreaPolicy, e: ev.ReferralDecision, now: datetime) -> None:
        assert self.referral is not None
        referral = self.referral
        if e.outcome == "rejected":
            if not (e.reasons and e.reasons.strip()):
                raise RuleViolation(
                    "a referral that is not accepted must be answered with the reasons (003)",
                    "rejection reasons",
                    "reasons",
                )
            self._meet("referral-decision", now)
            self._cancel_open_of(DeadlineKind.FURTHER_INFORMATION, "referral not accepted", now)
            self._notify(
                NoticeKind.REFERRAL_DECISION,
                referral.referring_agency,
                "referral not accepted",
                [f"Reasons: {e.reasons}"],
            )
            if self.category == 3 and not policy.policy.category_3_may_be_level_1:
                self._exit(
                    f"referral not accepted; a category 3 case cannot be managed at level 1: {e.reasons}", now
                )
            else:
                self.stage, self.level = Stage.LEVEL_1, 1
            return
        if e.level is None:
            raise RuleViolation(
                "an accepted referral needs the level it is accepted at", "acceptance level", "level"
            )
        statement = e.level_2_cannot_deliver or referral.level_2_cannot_deliver
        if e.level == 3 and not statement:
            raise RuleViolation(
                "level 3 needs a statement of what the risk management plan cannot deliver at level 2 (001, 003)",
                "level 3 referral statement",
                "level_2_cannot_deliver",
            )
        if not e.record_search_agencies:
            raise RuleViolation(
                "name each agency whose single point of contact must search its records (003)",
                "record search request",
                "record_search_agencies",
            )
        if referral.awaiting_information:
            raise RuleViolation(
                "the referral is waiting for further information; record it before accepting",
                "further information",
            )
        self._meet("referral-decision", now)
        self.level = e.level
        self.stage = Stage.INFORMATION_SHARING
        self._notify(
            NoticeKind.REFERRAL_DECISION,
            referral.referring_agency,
            f"referral accepted at level {e.level}",
            [],
        )
        for agency in dict.fromkeys(e.record_search_agencies):
            deadline_id = f"record-search:{agency}"
            self._open(policy, DeadlineKind.RECORD_SEARCH, deadline_id, agency, now, now)
            self._notify(
                NoticeKind.RECORD_SEARCH_REQUEST,
                agency,
                "record search requested",
                [
                    "Search your agency's records for all relevant information about the offender, victims "
                    "and potential victims, and return the results to the co-ordinator (003)."
                ],
                deadline_id=deadline_id,
            )
        self._open(
            policy,
            INITIAL_MEETING_KINDS[e.level],
            "initial-meeting",
            CO_ORDINATOR,
            referral.clock_from,
            now,
            due_no_later_than=self._before_release_or_discharge(),
        )

    def _return_record_search(self, policy: AreaPolicy, e: ev.RecordSearchReturned, now: datetime) -> None:
        deadline_id = f"record-search:{e.agency}"
        d = self.deadlines.get(deadline_id)
        if d is None:
            raise RuleViolation(f"no record search was requested from {e.agency}", "record search", "agency")
        if not d.is_open:
            raise RuleViolation(
                f"{e.agency} has already returned its record search", "record search", "agency"
            )
        self._meet(deadline_id, now)

    def _screen_asp(self, policy: AreaPolicy, e: ev.AspScreening, now: datetime) -> None:
        self._require_asp(policy)
        self._meet_if_open("asp-screening", now)
        self.asp_criteria_met = e.criteria_met
        if e.criteria_met:
            assert self.referral is not None
            # 000: AP1 within 24 hours of the referral, and before any MAPPA meeting.
            self._open(
                policy,
                DeadlineKind.AP1_REFERRAL,
                "ap1-referral",
                self.lead_agency,
                self.referral.received_at,
                now,
            )

    def _make_ap1(self, policy: AreaPolicy, e: ev.Ap1ReferralMade, now: datetime) -> None:
        self._require_asp(policy)
        if not self._is_open("ap1-referral"):
            raise RuleViolation(
                "no AP1 referral is due: the ASP 3-point criteria were not found met", "AP1 referral"
            )
        self._meet("ap1-referral", now)
        self.asp_open = True
        self.asp_chair_agency = e.asp_chair_agency

    def _asp_concern(self, policy: AreaPolicy, e: ev.AspInquiryConcern, now: datetime) -> None:
        self._require_asp(policy)
        deadline_id = f"asp-information-sharing-{self._next()}"
        self._open(policy, DeadlineKind.ASP_INFORMATION_SHARING, deadline_id, e.raised_by, now, now)
        self.asp_open = True
        self.asp_chair_agency = self.asp_chair_agency or e.raised_by

    def _asp_shared(self, policy: AreaPolicy, e: ev.AspInformationShared, now: datetime) -> None:
        self._require_asp(policy)
        pending = self._open_of(DeadlineKind.ASP_INFORMATION_SHARING)
        if not pending:
            raise RuleViolation("no ASP information sharing is due", "ASP information sharing")
        self._meet(pending[0].deadline_id, now)

    def _children_at_risk(self, policy: AreaPolicy, e: ev.ChildrenAtRisk, now: datetime) -> None:
        deadline_id = f"child-protection-referral-{self._next()}"
        self._open(policy, DeadlineKind.CHILD_PROTECTION_REFERRAL, deadline_id, e.identified_by, now, now)

    def _child_protection_referral(
        self, policy: AreaPolicy, e: ev.ChildProtectionReferralMade, now: datetime
    ) -> None:
        pending = self._open_of(DeadlineKind.CHILD_PROTECTION_REFERRAL)
        if not pending:
            raise RuleViolation("no child protection referral is due", "child protection referral")
        self._meet(pending[0].deadline_id, now)

    def _hold_meeting(self, policy: AreaPolicy, e: ev.MeetingHeld, now: datetime) -> None:
        today = local_date(now)
        if e.held_on > today:
            raise RuleViolation(
                "a meeting cannot be recorded before the day it is held", "meeting date", "held_on"
            )
        if self.meetings and e.held_on < self.meetings[-1].held_on:
            raise RuleViolation(
                "a meeting cannot be dated before the previous meeting", "meeting date", "held_on"
            )
        unsigned = [a.agency for a in e.attendees if not a.signed_confidentiality_statement]
        if unsigned:
            raise RuleViolation(
                "every attendee signs the confidentiality statement at each meeting (003); not signed: "
                + ", ".join(unsigned),
                "confidentiality statement",
                "attendees",
            )
        if e.level_decided == 1:
            self._refuse_level_1_for_category_3(policy, "level_decided")
        if e.level_decided == 3 and self.level != 3 and not e.level_2_cannot_deliver:
            raise RuleViolation(
                "moving to level 3 needs a statement of what level 2 cannot deliver (001, 003)",
                "level 3 referral statement",
                "level_2_cannot_deliver",
            )
        review_due: date | None = None
        if e.level_decided in REVIEW_KINDS:
            weeks = policy.rule(REVIEW_KINDS[e.level_decided]).timescale.amount
            latest = e.held_on + timedelta(weeks=weeks)
            if e.next_review_date is None:
                raise RuleViolation(
                    f"set the review date at the meeting: at most {weeks} weeks after it (by {latest:%a %d %b %Y})",
                    "review date",
                    "next_review_date",
                )
            if e.next_review_date > latest:
                raise RuleViolation(
                    f"the review date {e.next_review_date:%a %d %b %Y} is later than the statutory maximum for "
                    f"level {e.level_decided} in {policy.policy.name}: {weeks} weeks after the meeting "
                    f"(by {latest:%a %d %b %Y})",
                    "review date maximum",
                    "next_review_date",
                )
            if e.next_review_date <= e.held_on:
                raise RuleViolation(
                    "the review date must be after the meeting", "review date", "next_review_date"
                )
            review_due = e.next_review_date
        for action in e.rmp_actions:
            if action.due_date < e.held_on:
                raise RuleViolation(
                    f"risk management plan action {action.action_id} is due before the meeting",
                    "RMP action due date",
                    "rmp_actions",
                )
        if len({a.action_id for a in e.rmp_actions}) != len(e.rmp_actions):
            raise RuleViolation("each RMP action needs its own id", "RMP action id", "rmp_actions")

        held_at = min(now, local_time_on(e.held_on, time(12)))
        meeting_id = f"meeting-{_next_number(m.meeting_id for m in self.meetings)}"
        if self.asp_criteria_met and self._is_open("ap1-referral"):
            # 000: the AP1 referral comes before any MAPPA meeting. The meeting happened, so it is recorded and
            # the missing AP1 is breached now, visibly, rather than refused and lost.
            self._breach("ap1-referral", now, f"{meeting_id} was held before the AP1 referral was made (000)")
        initial = not self.meetings
        for d in list(self.deadlines.values()):
            if d.is_open and d.kind in MEETING_KINDS:
                self._meet(d.deadline_id, held_at)
        self.meetings.append(
            Meeting(
                meeting_id=meeting_id,
                held_on=e.held_on,
                initial=initial,
                chair_agency=e.chair_agency,
                level_decided=e.level_decided,
                attendees=[a.agency for a in e.attendees],
                not_to_be_shared=e.not_to_be_shared,
                minute_ref=e.minute_ref,
                minute_digest=e.minute_digest,
                rmp_action_ids=[a.action_id for a in e.rmp_actions],
                chair_record=list(e.chair_record),
            )
        )
        self.level = e.level_decided
        self._open(policy, DeadlineKind.MINUTES, f"minutes:{meeting_id}", CO_ORDINATOR, held_at, now)
        if policy.policy.swis_alerts:
            self._open(
                policy, DeadlineKind.SWIS_ALERT, f"swis-alert:{meeting_id}", self.lead_agency, held_at, now
            )
        for action in e.rmp_actions:
            self._open(
                policy,
                DeadlineKind.RMP_ACTION,
                f"rmp:{meeting_id}:{action.action_id}",
                action.owner_agency,
                held_at,
                now,
                set_date=action.due_date,
                # The action's own words stay out of the title (it reaches subjects, the UI and the ledger).
                title_suffix=f" {action.action_id} (owner {action.owner_agency})",
            )
        if review_due is None:
            self.stage = Stage.LEVEL_1
            return
        self.stage = Stage.ACTIVE_MANAGEMENT
        self._open(
            policy,
            REVIEW_KINDS[e.level_decided],
            f"review:{meeting_id}",
            CO_ORDINATOR,
            held_at,
            now,
            due_no_later_than=DueDate(
                end_of_local_day(review_due),
                review_due,
                f"review date set at {meeting_id} ({e.held_on:%d %b %Y})",
            ),
        )

    def _circulate_minutes(self, policy: AreaPolicy, e: ev.MinutesCirculated, now: datetime) -> None:
        meeting = self._meeting(e.meeting_id)
        allowed = set(meeting.attendees)
        if self.asp_open and self.asp_chair_agency:
            allowed.add(self.asp_chair_agency)
        outsiders = sorted(set(e.recipients) - allowed)
        if outsiders:
            raise RuleViolation(
                "minutes go only to the agencies that attended (001, 003); sharing with "
                + ", ".join(outsiders)
                + " needs the chair's permission as a recorded disclosure",
                "minutes to attendees only",
                "recipients",
            )
        if self.asp_open and self.asp_chair_agency and self.asp_chair_agency not in e.recipients:
            raise RuleViolation(
                f"the case is open to both MAPPA and ASP: the ASP chair ({self.asp_chair_agency}) gets the minutes too (000)",
                "minutes to both chairs",
                "recipients",
            )
        deadline_id = f"minutes:{e.meeting_id}"
        if not self._is_open(deadline_id):
            raise RuleViolation(f"the minutes of {e.meeting_id} have already been circulated", "minutes")
        self._meet(deadline_id, now)
        meeting.minutes_circulated_to = sorted(set(e.recipients))

    def _update_swis(self, policy: AreaPolicy, e: ev.SwisAlertUpdated, now: datetime) -> None:
        self._meeting(e.meeting_id)
        deadline_id = f"swis-alert:{e.meeting_id}"
        if not self._is_open(deadline_id):
            raise RuleViolation(f"no SWIS alert update is due for {e.meeting_id}", "SWIS alert")
        self._meet(deadline_id, now)

    def _complete_action(self, policy: AreaPolicy, e: ev.RmpActionCompleted, now: datetime) -> None:
        deadline_id = f"rmp:{e.meeting_id}:{e.action_id}"
        if deadline_id not in self.deadlines:
            raise RuleViolation(f"{e.meeting_id} set no action {e.action_id}", "RMP action", "action_id")
        if not self._is_open(deadline_id):
            raise RuleViolation(f"action {e.action_id} is already closed", "RMP action", "action_id")
        self._meet(deadline_id, now)

    def _report_risk_change(self, policy: AreaPolicy, e: ev.RiskChangeReported, now: datetime) -> None:
        change_id = f"risk-change-{_next_number(c.change_id for c in self.risk_changes)}"
        self.risk_changes.append(
            RiskChange(
                change_id=change_id, reported_by=e.reporting_agency, direction=e.direction, reported_at=now
            )
        )
        self._open(policy, DeadlineKind.RISK_CHANGE_TRIAGE, f"triage:{change_id}", CO_ORDINATOR, now, now)

    def _triage_risk_change(self, policy: AreaPolicy, e: ev.RiskChangeTriaged, now: datetime) -> None:
        change = next((c for c in self.risk_changes if c.change_id == e.change_id), None)
        if change is None:
            raise RuleViolation(f"no change in risk {e.change_id} was reported", "risk change", "change_id")
        if change.outcome is not None:
            raise RuleViolation(f"{e.change_id} has already been triaged", "risk change", "change_id")
        if e.outcome in ("extra-review", "level-change") and self.stage is not Stage.ACTIVE_MANAGEMENT:
            raise WrongStage(
                f"'{e.outcome}' needs a case under level 2 or 3 management; at stage '{self.stage.value}' "
                "ask for a referral instead",
                "risk change triage",
            )
        if e.outcome == "referral-requested" and self.stage not in (Stage.LEVEL_1, Stage.NOTIFICATION):
            raise WrongStage(
                "a referral can be requested only for a case at level 1 or awaiting screening",
                "risk change triage",
            )
        if e.outcome == "level-change":
            if e.new_level is None:
                raise RuleViolation("a level change needs the new level", "level change", "new_level")
            self._change_level(
                policy,
                ev.LevelChanged(
                    new_level=e.new_level, reason=e.reason, level_2_cannot_deliver=e.level_2_cannot_deliver
                ),
                now,
            )
        self._meet(f"triage:{e.change_id}", now)
        change.outcome = e.outcome
        if e.outcome == "extra-review":
            self._open(
                policy, DeadlineKind.EXTRA_REVIEW, f"extra-review:{e.change_id}", CO_ORDINATOR, now, now
            )
        elif e.outcome == "referral-requested":
            self.stage = Stage.REFERRAL_DUE
            self._open(policy, DeadlineKind.REFERRAL, "referral", self.lead_agency, now, now)

    def _change_level(self, policy: AreaPolicy, e: ev.LevelChanged, now: datetime) -> None:
        if e.new_level == self.level:
            raise RuleViolation(f"the case is already at level {e.new_level}", "level change", "new_level")
        if e.new_level == 1:
            self._refuse_level_1_for_category_3(policy, "new_level")
        if e.new_level == 3 and not e.level_2_cannot_deliver:
            raise RuleViolation(
                "moving to level 3 needs a statement of what level 2 cannot deliver (001, 003)",
                "level 3 referral statement",
                "level_2_cannot_deliver",
            )
        current_review = next((d for d in self._open_of(*REVIEW_KINDS.values())), None)
        if current_review is not None:
            self._cancel(current_review.deadline_id, f"level changed to {e.new_level}", now)
        self.level = e.new_level
        if e.new_level == 1:
            self.stage = Stage.LEVEL_1
            return
        # The review is re-armed at the new level's maximum from today, never later than it already was.
        cap = (
            DueDate(current_review.due_at, current_review.due_date, "the review already set")
            if current_review
            else None
        )
        self._open(
            policy,
            REVIEW_KINDS[e.new_level],
            f"review:level-change-{self._next()}",
            CO_ORDINATOR,
            now,
            now,
            due_no_later_than=cap,
        )

    def _sonr_notice(self, policy: AreaPolicy, e: ev.SonrEndNoticeGiven, now: datetime) -> None:
        if not self._is_open("sonr-exit-notice"):
            raise RuleViolation("no SONR end notice is due", "SONR end notice")
        self._meet("sonr-exit-notice", now)

    def _decide_exit(self, policy: AreaPolicy, e: ev.ExitDecision, now: datetime) -> None:
        if e.outcome == "shpo-granted":
            if e.new_sonr_end_date is None or (
                self.sonr_end_date and e.new_sonr_end_date <= self.sonr_end_date
            ):
                raise RuleViolation(
                    "an SHPO keeps the case open only with a new SONR end date later than the current one",
                    "SHPO new end date",
                    "new_sonr_end_date",
                )
            self._meet_if_open("exit-review", now)
            self._cancel_if_open("sonr-exit-notice", "superseded: SHPO granted", now)
            self.sonr_end_date = e.new_sonr_end_date
            self._open_sonr_deadlines(policy, e.new_sonr_end_date, now)
            return
        if e.outcome == "continue":
            self._meet_if_open("exit-review", now)
            return
        self._meet_if_open("exit-review", now)
        self._exit(e.reason, now)

    def _inform_subject(self, policy: AreaPolicy, e: ev.SubjectInformed, now: datetime) -> None:
        if not e.informed and not e.reason:
            raise RuleViolation(
                "record why the subject is not told of their MAPPA status (002)", "subject informed", "reason"
            )
        self.subject_informed = e.informed
        self.subject_not_informed_reason = None if e.informed else e.reason

    def _share_with_child_protection(
        self, policy: AreaPolicy, e: ev.ConclusionsSharedWithChildProtection, now: datetime
    ) -> None:
        self._meeting(e.meeting_id)
        if e.reveals_third_party_source:
            raise RuleViolation(
                "conclusions and actions may go to a child protection conference only when no third-party source "
                "is revealed (002)",
                "child protection sharing",
                "reveals_third_party_source",
            )
        self.disclosures.append(
            Disclosure(
                meeting_id=e.meeting_id,
                recipient=e.conference,
                what="conclusions and actions",
                recorded_at=now,
            )
        )

    def _request_subject_access(
        self, policy: AreaPolicy, e: ev.SubjectAccessRequested, now: datetime
    ) -> None:
        meetings = [self._meeting(m) for m in dict.fromkeys(e.meeting_ids)]
        sar_id = f"sar-{_next_number(r.sar_id for r in self.subject_access_requests)}"
        consulted = sorted({agency for m in meetings for agency in m.attendees})
        self.subject_access_requests.append(
            SubjectAccessRequest(
                sar_id=sar_id,
                meeting_ids=[m.meeting_id for m in meetings],
                received_at=now,
                consulted=consulted,
            )
        )
        self._open(policy, DeadlineKind.SUBJECT_ACCESS_REQUEST, sar_id, CO_ORDINATOR, now, now)
        # 001: the co-ordinator and chair consult the other attending agencies.
        for agency in consulted:
            self._open(policy, DeadlineKind.SAR_CONSULTATION, f"{sar_id}:{agency}", agency, now, now)

    def _sar_view(self, policy: AreaPolicy, e: ev.SarAgencyView, now: datetime) -> None:
        sar = self._sar(e.sar_id)
        if e.agency not in sar.consulted:
            raise RuleViolation(
                f"{e.agency} did not attend and was not consulted on {e.sar_id}", "SAR consultation", "agency"
            )
        if e.view == "withhold" and not e.exemption:
            raise RuleViolation(
                "a view to withhold names the exemption relied on", "SAR exemption", "exemption"
            )
        if not self._is_open(f"{e.sar_id}:{e.agency}"):
            raise RuleViolation(
                f"{e.agency} has already answered on {e.sar_id}", "SAR consultation", "agency"
            )
        self._meet(f"{e.sar_id}:{e.agency}", now)
        sar.views[e.agency] = e.view if e.view == "disclose" else f"withhold: {e.exemption}"

    def _decide_sar(self, policy: AreaPolicy, e: ev.SarDecided, now: datetime) -> None:
        sar = self._sar(e.sar_id)
        if sar.outcome is not None:
            raise RuleViolation(f"{e.sar_id} has already been decided", "SAR decision", "sar_id")
        if e.outcome == "withhold" and not e.exemption:
            raise RuleViolation(
                "withholding minutes from the subject needs a data protection exemption (001)",
                "SAR exemption",
                "exemption",
            )
        for agency in sar.consulted:
            self._cancel_if_open(f"{e.sar_id}:{agency}", "decided before this agency answered", now)
        self._meet(e.sar_id, now)
        sar.outcome, sar.exemption = e.outcome, e.exemption

    def _sar(self, sar_id: str) -> SubjectAccessRequest:
        for sar in self.subject_access_requests:
            if sar.sar_id == sar_id:
                return sar
        raise RuleViolation(
            f"no subject access request {sar_id} on this case", "subject access request", "sar_id"
        )

    # ---------------------------------------------------------------- time

    def tick(self, now: datetime) -> None:
        """Send due reminders, mark breaches and escalate them. Called whenever the workflow wakes."""
        policy = self.policy
        self._now = now
        for d in self.deadlines.values():
            if not d.is_open:
                continue
            if d.reminder_at and d.reminded_at is None and d.reminder_at <= now < d.due_at:
                d.reminded_at = now
                self._notify(
                    NoticeKind.REMINDER,
                    d.responsible,
                    f"reminder: {d.title}",
                    [d.explanation],
                    d.deadline_id,
                    d.due_at,
                )
                self._touch(d.deadline_id)
            if d.state is DeadlineState.OPEN and now >= d.due_at:
                self._breach(d.deadline_id, now, None)
            elif (
                d.state is DeadlineState.BREACHED
                and d.last_escalated_at is not None
                and now >= next_re_escalation(policy, d.last_escalated_at)
            ):
                d.escalations += 1
                d.last_escalated_at = now
                self._notify(
                    NoticeKind.RE_ESCALATION,
                    CHAIR,
                    f"still breached: {d.title} (escalation {d.escalations})",
                    [d.explanation, f"Responsible: {d.responsible}"],
                    d.deadline_id,
                    d.due_at,
                )
                self._touch(d.deadline_id)

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

    def archive_closed(self, keep: int) -> list[str]:
        """Drop the oldest closed deadlines (and old meetings, settled risk changes and requests) from state
        beyond `keep`: they stay in the ledger and in earlier runs' histories."""
        closed = sorted(
            (
                d
                for d in self.deadlines.values()
                if not d.is_open and d.deadline_id not in self.ledger_pending
            ),
            key=lambda d: d.due_at,
        )
        dropped = [d.deadline_id for d in closed[: max(0, len(closed) - keep)]]
        for deadline_id in dropped:
            del self.deadlines[deadline_id]
        # Old meetings, triaged risk changes and decided requests go the same way: a case open for decades
        # would otherwise carry every one it ever had into each new run.
        self.meetings = self.meetings[-keep:]
        settled = [c for c in self.risk_changes if c.outcome is not None]
        gone = {c.change_id for c in settled[: max(0, len(settled) - keep)]}
        self.risk_changes = [c for c in self.risk_changes if c.change_id not in gone]
        self.disclosures = self.disclosures[-keep:]
        decided = [r for r in self.subject_access_requests if r.outcome is not None]
        old = {r.sar_id for r in decided[: max(0, len(decided) - keep)]}
        self.subject_access_requests = [r for r in self.subject_access_requests if r.sar_id not in old]
        return dropped

    # ---------------------------------------------------------------- helpers

    def _next(self) -> int:
        self.seq += 1
        return self.seq

    def _notify(
        self,
        kind: NoticeKind,
        to: str,
        title: str,
        lines: list[str],
        deadline_id: str | None = None,
        due_at: datetime | None = None,
    ) -> None:
        self.outbox.append(
            Notice(
                key=f"{self.case_ref}/notice-{self._next()}",
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
            )
        )

    def _touch(self, deadline_id: str) -> None:
        if deadline_id not in self.ledger_pending:
            self.ledger_pending.append(deadline_id)

    def _record(
        self, d: Deadline, change: Literal["opened", "met", "met-late", "cancelled", "breached", "re-armed"]
    ) -> None:
        self.changes.append(
            DeadlineChange(deadline_id=d.deadline_id, title=d.title, change=change, due_at=d.due_at)
        )
        self._touch(d.deadline_id)

    def _open(
        self,
        policy: AreaPolicy,
        kind: DeadlineKind,
        deadline_id: str,
        responsible: str,
        counted_from: datetime,
        now: datetime,
        *,
        set_date: date | None = None,
        due_no_later_than: DueDate | None = None,
        title_suffix: str = "",
    ) -> Deadline:
        if deadline_id in self.deadlines and self.deadlines[deadline_id].is_open:
            # Re-opening (e.g. a second referral request) replaces the open one.
            self._cancel(deadline_id, "replaced by a new deadline of the same kind", now)
        d = open_deadline(
            policy,
            kind,
            deadline_id,
            responsible,
            counted_from,
            now,
            set_date=set_date,
            due_no_later_than=due_no_later_than,
            title_suffix=title_suffix,
        )
        # A deadline opened after it fell due (a late notification) is met or breached on the next tick.
        self.deadlines[deadline_id] = d
        self._record(d, "opened")
        return d

    def _meet(self, deadline_id: str, at: datetime) -> None:
        d = self.deadlines[deadline_id]
        d.state = DeadlineState.MET
        d.met_at = at
        if at >= d.due_at and d.breached_at is None:
            d.breached_at = d.due_at
            d.breach_note = "met after it fell due"
        self._record(d, "met-late" if at >= d.due_at else "met")

    def _meet_if_open(self, deadline_id: str, at: datetime) -> None:
        if self._is_open(deadline_id):
            self._meet(deadline_id, at)

    def _breach(self, deadline_id: str, now: datetime, note: str | None) -> None:
        d = self.deadlines[deadline_id]
        d.state = DeadlineState.BREACHED
        d.breached_at = min(now, d.due_at)
        d.breach_note = note
        d.escalations += 1
        d.last_escalated_at = now
        self._record(d, "breached")
        lines = [d.explanation, f"Responsible: {d.responsible}", f"Rule ({d.source}): {d.rule_text}"]
        if note:
            lines.insert(0, note)
        self._notify(
            NoticeKind.BREACH_ESCALATION, CO_ORDINATOR, f"BREACHED: {d.title}", lines, d.deadline_id, d.due_at
        )

    def _cancel(self, deadline_id: str, reason: str, now: datetime) -> None:
        d = self.deadlines[deadline_id]
        d.state = DeadlineState.CANCELLED
        d.cancelled_at = now
        d.cancel_reason = reason
        self._record(d, "cancelled")

    def _cancel_if_open(self, deadline_id: str, reason: str, now: datetime) -> None:
        if self._is_open(deadline_id):
            self._cancel(deadline_id, reason, now)

    def _cancel_open_of(self, kind: DeadlineKind, reason: str, now: datetime) -> None:
        for d in self._open_of(kind):
            self._cancel(d.deadline_id, reason, now)

    def _is_open(self, deadline_id: str) -> bool:
        d = self.deadlines.get(deadline_id)
        return d is not None and d.is_open

    def _open_of(self, *kinds: DeadlineKind) -> list[Deadline]:
        return [d for d in self.deadlines.values() if d.is_open and d.kind in kinds]

    def _meeting(self, meeting_id: str) -> Meeting:
        for m in self.meetings:
            if m.meeting_id == meeting_id:
                return m
        raise RuleViolation(f"no meeting {meeting_id} is recorded on this case", "meeting", "meeting_id")

    def _require_asp(self, policy: AreaPolicy) -> None:
        if not policy.policy.asp_link:
            raise RuleViolation(
                f"Adult Support and Protection (Scotland) does not apply in {policy.policy.name}", "ASP link"
            )

    def _refuse_level_1_for_category_3(self, policy: AreaPolicy, field: str) -> None:
        if self.category == 3 and not policy.policy.category_3_may_be_level_1:
            raise RuleViolation(
                f"in {policy.policy.name} a category 3 case cannot be managed at level 1",
                "category 3 level",
                field,
            )

    def _before_release_or_discharge(self) -> DueDate | None:
        # 003: for custody and CPA cases the initial meeting takes place before release / discharge.
        day = self.release_date if self.route is ev.EntryRoute.CUSTODY else self.discharge_date
        if day is None:
            return None
        last_day = day - timedelta(days=1)
        return DueDate(
            end_of_local_day(last_day), last_day, f"before release / discharge on {day:%a %d %b %Y}"
        )

    def _open_sonr_deadlines(self, policy: AreaPolicy, sonr_end: date, now: datetime) -> None:
        end = local_time_on(sonr_end, time(12))
        self._open(policy, DeadlineKind.SONR_EXIT_NOTICE, "sonr-exit-notice", self.lead_agency, end, now)
        self._open(policy, DeadlineKind.EXIT_REVIEW, "exit-review", CO_ORDINATOR, end, now)

    def _exit(self, reason: str, now: datetime) -> None:
        cancelled = [d.deadline_id for d in self.open_deadlines()]
        for deadline_id in cancelled:
            self._cancel(deadline_id, "case exited MAPPA", now)
        self.exit_record = ExitRecord(
            case_ref=self.case_ref,
            exited_at=now,
            reason=reason,
            final_stage_before_exit=self.stage,
            open_deadlines_cancelled=cancelled,
            breached_deadlines=[d.deadline_id for d in self.deadlines.values() if d.breached_at is not None],
        )
        self.stage = Stage.EXITED


def check_opening(opening: ev.CaseOpening) -> AreaPolicy:
    """The rules a new case must satisfy before a workflow is started for it (also used by the API)."""
    try:
        policy = area_policy(opening.area)
    except UnknownArea:
        raise RuleViolation(f"unknown MAPPA area '{opening.area}'", "area", "area") from None
    if policy.area.jurisdiction is not opening.jurisdiction:
        raise RuleViolation(
            f"{policy.area.name} is in {policy.policy.name}, not {opening.jurisdiction.value}",
            "jurisdiction",
            "jurisdiction",
        )
    if opening.category not in policy.policy.categories:
        raise RuleViolation(
            f"category {opening.category} is not a MAPPA category in {policy.policy.name}",
            "category",
            "category",
        )
    if opening.notification is None and opening.referral is None:
        raise RuleViolation("a case opens with a notification or a referral", "case opening", "notification")
    if opening.notification is not None and opening.referral is not None:
        raise RuleViolation(
            "send the notification and the referral as separate events", "case opening", "referral"
        )
    if opening.route is ev.EntryRoute.CUSTODY and opening.release_date is None:
        raise RuleViolation("a custody case needs its release date", "custody release date", "release_date")
    if (
        opening.subject_is_offender
        and opening.route is ev.EntryRoute.COMMUNITY
        and opening.notification
        and opening.notification.disposal_date is None
    ):
        raise RuleViolation(
            "a community notification needs the date of the sentence disposal (due 3 working days after it, 003)",
            "notification timescale",
            "notification.disposal_date",
        )
    if (
        opening.referral
        and opening.referral.level_sought == 3
        and not opening.referral.level_2_cannot_deliver
    ):
        raise RuleViolation(
            "a level 3 referral must say which parts of the risk management plan level 2 cannot deliver (001, 003)",
            "level 3 referral statement",
            "referral.level_2_cannot_deliver",
        )
    return policy


def _next_number(ids: Iterable[str]) -> int:
    """The number after the highest of ids like "meeting-7" (old ones may have been archived)."""
    return max((int(i.rsplit("-", 1)[1]) for i in ids), default=0) + 1


def _words(name: str) -> str:
    out = "".join(f" {c.lower()}" if c.isupper() else c for c in name).strip()
    return out[0].upper() + out[1:]


_ALL = ACTIVE_STAGES
_HANDLERS: dict[type, tuple[frozenset[Stage], Callable[..., None]]] = {
    ev.ScreeningDecision: (frozenset({Stage.NOTIFICATION}), CaseFile._screen),
    ev.ReferralSubmitted: (
        frozenset({Stage.NOTIFICATION, Stage.REFERRAL_DUE, Stage.LEVEL_1}),
        CaseFile._submit_referral,
    ),
    ev.FurtherInformationRequested: (frozenset({Stage.REFERRAL}), CaseFile._request_information),
    ev.FurtherInformationSupplied: (frozenset({Stage.REFERRAL}), CaseFile._supply_information),
    ev.ReferralDecision: (frozenset({Stage.REFERRAL}), CaseFile._decide_referral),
    ev.RecordSearchReturned: (
        frozenset({Stage.INFORMATION_SHARING, Stage.ACTIVE_MANAGEMENT, Stage.LEVEL_1}),
        CaseFile._return_record_search,
    ),
    ev.AspScreening: (
        frozenset({Stage.REFERRAL, Stage.INFORMATION_SHARING, Stage.ACTIVE_MANAGEMENT}),
        CaseFile._screen_asp,
    ),
    ev.Ap1ReferralMade: (_ALL, CaseFile._make_ap1),
    ev.AspInquiryConcern: (_ALL, CaseFile._asp_concern),
    ev.AspInformationShared: (_ALL, CaseFile._asp_shared),
    ev.ChildrenAtRisk: (_ALL, CaseFile._children_at_risk),
    ev.ChildProtectionReferralMade: (_ALL, CaseFile._child_protection_referral),
    ev.MeetingHeld: (frozenset({Stage.INFORMATION_SHARING, Stage.ACTIVE_MANAGEMENT}), CaseFile._hold_meeting),
    ev.MinutesCirculated: (_ALL, CaseFile._circulate_minutes),
    ev.SwisAlertUpdated: (_ALL, CaseFile._update_swis),
    ev.RmpActionCompleted: (_ALL, CaseFile._complete_action),
    ev.RiskChangeReported: (_ALL, CaseFile._report_risk_change),
    ev.RiskChangeTriaged: (_ALL, CaseFile._triage_risk_change),
    ev.LevelChanged: (frozenset({Stage.ACTIVE_MANAGEMENT}), CaseFile._change_level),
    ev.SonrEndNoticeGiven: (_ALL, CaseFile._sonr_notice),
    ev.ExitDecision: (_ALL, CaseFile._decide_exit),
    ev.SubjectInformed: (_ALL, CaseFile._inform_subject),
    ev.ConclusionsSharedWithChildProtection: (_ALL, CaseFile._share_with_child_protection),
    ev.SubjectAccessRequested: (_ALL, CaseFile._request_subject_access),
    ev.SarAgencyView: (_ALL, CaseFile._sar_view),
    ev.SarDecided: (_ALL, CaseFile._decide_sar),
}
