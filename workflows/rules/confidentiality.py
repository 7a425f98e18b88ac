"""Confidentiality and subject access (DOMAIN.md, confidentiality rules; 001, 002, 003).

What a meeting shares stays with the agencies that attended: every attendee signs the confidentiality statement,
minutes go to attendees only, and sharing beyond them is a disclosure the chair decides and the case records.
The subject is told of their MAPPA status unless there is a recorded reason not to; a subject access request
consults every attending agency before the co-ordinator decides, and withholding names its exemption.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Protocol, TypeVar

from workflows.rules import events as ev
from workflows.rules.asp_side import asp_chair_may_read
from workflows.rules.case_state import CaseState
from workflows.rules.deadlines import cancel_if_open, is_open, meet_deadline, meet_if_open, open_deadline
from workflows.rules.errors import AlreadyRecorded, NotResponsible, RuleViolation
from workflows.rules.meeting_checks import check_rmp_action_ids
from workflows.rules.minute_reads import (
    DisclosureStatus,
    MeetingsOnFile,
    minute_meeting,
    present_or_asp_chair,
)
from workflows.rules.policy import AreaPolicy, DeadlineKind
from workflows.rules.records import (
    CO_ORDINATOR,
    Disclosure,
    Meeting,
    Stage,
    SubjectAccessRequest,
    next_number,
)

# ------------------------------------------------------------------ a meeting's own rules


class Signatory(Protocol):
    """An attendee as a meeting or its minute lists them."""

    @property
    def agency(self) -> str: ...

    @property
    def signed_confidentiality_statement(self) -> bool: ...


def check_confidentiality_statements_signed(attendees: Sequence[Signatory]) -> None:
    """003 stage 4: "the confidentiality statement is signed and agreed by all those present": each person, not
    one signature for each agency."""
    unsigned = [
        f"{name} ({a.agency})" if (name := getattr(a, "name", None)) else a.agency
        for a in attendees
        if not a.signed_confidentiality_statement
    ]
    if unsigned:
        raise RuleViolation(
            "every person present signs the confidentiality statement at each meeting (003); not signed: "
            + ", ".join(unsigned),
            "confidentiality statement",
            "attendees",
        )


def check_minute(
    attendees: Sequence[Signatory], chair_agency: str, actions: Sequence[ev.RmpActionSet]
) -> None:
    """A minute's own rules, before it is stored: signed statements, each agency once, the chair attends."""
    check_confidentiality_statements_signed(attendees)
    people = {(a.agency, getattr(a, "name", None)) for a in attendees}
    if len(people) != len(attendees):
        raise RuleViolation("list each person present once", "minute attendees", "attendees")
    if chair_agency not in {a.agency for a in attendees}:
        raise RuleViolation(
            "the chair's agency attends the meeting it chairs", "minute attendees", "chair_agency"
        )
    check_rmp_action_ids(actions)


# ------------------------------------------------------------------ who may read a minute (001, 003; 000)
# The decision is workflows/rules/minute_reads.py; here the case file is put to it as plain data.


def meeting_of(case: CaseState | None, minute_ref: str) -> Meeting | None:
    return None if case is None else minute_meeting(case.meetings, minute_ref)


def meetings_on_file(case: CaseState | None) -> MeetingsOnFile | None:
    """What the case file records that decides who reads its minutes; None once its history has gone."""
    if case is None:
        return None
    return MeetingsOnFile(meetings=case.meetings, asp_chair=asp_chair_may_read(case))


_Case = TypeVar("_Case", bound=CaseState)  # the case file or its state: given back as it came


def redact_for(agency: str | None, case: _Case) -> _Case:
    """The case file as the agency may see it: what a meeting decided not to share stays with the agencies that
    attended it (the list is emptied for everyone else)."""
    asp_chair = asp_chair_may_read(case)
    meetings = [
        m
        if present_or_asp_chair(agency, m.meeting_id, m.attendees, asp_chair) is not None
        else m.model_copy(update={"not_to_be_shared": []})
        for m in case.meetings
    ]
    return case.model_copy(update={"meetings": meetings})


# ------------------------------------------------------------------ the subject and third parties


def record_subject_informed(
    case: CaseState, policy: AreaPolicy, e: ev.SubjectInformed, now: datetime
) -> None:
    if not e.informed and not e.reason:
        raise RuleViolation(
            "record why the subject is not told of their MAPPA status (002)", "subject informed", "reason"
        )
    if e.informed_by is not None and e.informed_by != case.lead_agency:
        raise RuleViolation(
            f"the lead agency ({case.lead_agency}) tells the subject of their MAPPA status (002)",
            "subject informed",
            "informed_by",
        )
    meet_if_open(case, "subject-informed", now)
    case.subject_informed = e.informed
    case.subject_not_informed_reason = None if e.informed else e.reason


def share_with_child_protection(
    case: CaseState, policy: AreaPolicy, e: ev.ConclusionsSharedWithChildProtection, now: datetime
) -> None:
    case.attended(e.meeting_id)
    if e.reveals_third_party_source:
        raise RuleViolation(
            "conclusions and actions may go to a child protection conference only when no third-party source "
            "is revealed (002)",
            "child protection sharing",
            "reveals_third_party_source",
        )
    case.disclosures.append(
        Disclosure(
            meeting_id=e.meeting_id, recipient=e.conference, what="conclusions and actions", recorded_at=now
        )
    )


# ------------------------------------------------------------------ subject access


def request_subject_access(
    case: CaseState, policy: AreaPolicy, e: ev.SubjectAccessRequested, now: datetime
) -> None:
    # Any meeting the case held, an old one archived at continue-as-new included: its identity outlives the run.
    attended = {m: case.attended(m) for m in dict.fromkeys(e.meeting_ids)}
    if case.stage is Stage.EXITED:
        # The request outlives the case: it re-opens to stage exiting and closes again once decided.
        case.stage = Stage.EXITING
    sar_id = f"sar-{next_number(r.sar_id for r in case.subject_access_requests)}"
    consulted = sorted({agency for agencies in attended.values() for agency in agencies})
    case.subject_access_requests.append(
        SubjectAccessRequest(sar_id=sar_id, meeting_ids=list(attended), received_at=now, consulted=consulted)
    )
    open_deadline(case, policy, DeadlineKind.SUBJECT_ACCESS_REQUEST, sar_id, CO_ORDINATOR, now, now)
    # 001 "Records of meetings": the co-ordinator and chair consult the other attending agencies.
    for agency in consulted:
        open_deadline(case, policy, DeadlineKind.SAR_CONSULTATION, f"{sar_id}:{agency}", agency, now, now)


def record_sar_agency_view(case: CaseState, policy: AreaPolicy, e: ev.SarAgencyView, now: datetime) -> None:
    sar = _sar(case, e.sar_id)
    if e.agency not in sar.consulted:
        raise RuleViolation(
            f"{e.agency} did not attend and was not consulted on {e.sar_id}", "SAR consultation", "agency"
        )
    if e.view == "withhold" and not e.exemption:
        raise RuleViolation("a view to withhold names the exemption relied on", "SAR exemption", "exemption")
    if not is_open(case, f"{e.sar_id}:{e.agency}"):
        raise RuleViolation(f"{e.agency} has already answered on {e.sar_id}", "SAR consultation", "agency")
    meet_deadline(case, f"{e.sar_id}:{e.agency}", now)
    sar.views[e.agency] = e.view if e.view == "disclose" else f"withhold: {e.exemption}"


def decide_subject_access(case: CaseState, policy: AreaPolicy, e: ev.SarDecided, now: datetime) -> None:
    sar = _sar(case, e.sar_id)
    if sar.outcome is not None:
        raise RuleViolation(f"{e.sar_id} has already been decided", "SAR decision", "sar_id")
    if e.outcome == "withhold" and not e.exemption:
        raise RuleViolation(
            "withholding minutes from the subject needs a data protection exemption (001)",
            "SAR exemption",
            "exemption",
        )
    for agency in sar.consulted:
        cancel_if_open(case, f"{e.sar_id}:{agency}", "decided before this agency answered", now)
    meet_deadline(case, e.sar_id, now)
    sar.outcome, sar.exemption, sar.reason = e.outcome, e.exemption, e.reason


def _sar(case: CaseState, sar_id: str) -> SubjectAccessRequest:
    for sar in case.subject_access_requests:
        if sar.sar_id == sar_id:
            return sar
    raise RuleViolation(
        f"no subject access request {sar_id} on this case", "subject access request", "sar_id"
    )


# ------------------------------------------------------------------ deciding a disclosure (003 stage 4)


class NotTheChair(NotResponsible):
    """Only the chair of the meeting decides on sharing its minute."""


class AlreadyDecided(AlreadyRecorded):
    """A disclosure is decided once; asking again makes a new request."""


UNDECIDED = DisclosureStatus.REQUESTED.value


def check_decider(decider_agency: str | None, chair_agency: str) -> None:
    """003 stage 4: nothing goes beyond those present without the chair's permission; the chair of the meeting
    (its chair agency's chair) decides."""
    if decider_agency != chair_agency:
        raise NotTheChair(
            f"the chair of the meeting decides on sharing its minute: {chair_agency} chaired it, your token is "
            f"for {decider_agency or 'no agency'}",
            "chair decides disclosure",
        )


def already_decided(
    disclosure_ref: str, status: str, decided_by: str | None, decided_at: datetime | None
) -> AlreadyDecided:
    when = f" on {decided_at:%d %b %Y}" if decided_at else ""
    return AlreadyDecided(
        f"disclosure {disclosure_ref} was {status} by {decided_by or 'another chair'}{when}; "
        "ask again for a new decision",
        "disclosure decision",
    )


def check_undecided(
    disclosure_ref: str, status: str, decided_by: str | None, decided_at: datetime | None
) -> None:
    if status != UNDECIDED:
        raise already_decided(disclosure_ref, status, decided_by, decided_at)


def check_items_shared(
    granting: bool, whole_minute: bool, named: Sequence[str], not_to_be_shared: Sequence[ev.NotToBeShared]
) -> list[str]:
    """The items marked not to be shared that a grant of the whole minute shares, each named by the chair.
    Nothing else: the items the chair did not name stay withheld from the recipient."""
    if not named:
        return []
    if not (granting and whole_minute):
        raise RuleViolation(
            "items not to be shared can be named only when granting the whole minute",
            "items not to be shared",
            "share_items",
        )
    known = {i.item for i in not_to_be_shared}
    unknown = [n for n in named if n not in known]
    if unknown:
        raise RuleViolation(
            "the minute marks no such item not to be shared: " + "; ".join(unknown),
            "items not to be shared",
            "share_items",
        )
    return sorted(set(named))


# ------------------------------------------------------------------ filing a meeting's minute (001, 003)

MINUTE_OF_A_RECORDED_MEETING = "minute of a recorded meeting"
ONE_MINUTE_ONE_MEETING = "one minute, one meeting"


class MinuteAlreadyFiled(AlreadyRecorded):
    """A meeting has one minute, and a minute is the record of one meeting."""


def check_meeting_names_no_minute(e: ev.MeetingHeld) -> None:
    """A minute is filed for a meeting the case file already records (`MinuteFiled`, by the meeting's id), never
    named by the meeting as it is recorded: who may read a minute then always follows the case file's record."""
    if e.minute_ref is not None or e.minute_digest is not None:
        raise RuleViolation(
            "record the meeting without its minute, then file the minute for the meeting_id the meeting gets",
            MINUTE_OF_A_RECORDED_MEETING,
            "minute_ref" if e.minute_ref is not None else "minute_digest",
        )


def check_minute_of_meeting(
    meeting: Meeting, held_on: date, chair_agency: str, attendees: Sequence[str]
) -> None:
    """A minute records the meeting as the case file holds it: the same day, the same chair's agency, the same
    agencies present. The case file decides who may read the minute; a minute cannot add a reader (001, 003)."""
    at = meeting.meeting_id
    if held_on != meeting.held_on:
        raise RuleViolation(
            f"{at} was held on {meeting.held_on:%a %d %b %Y}, not {held_on:%a %d %b %Y}",
            MINUTE_OF_A_RECORDED_MEETING,
            "held_on",
        )
    if chair_agency != meeting.chair_agency:
        raise RuleViolation(
            f"{at} was chaired by {meeting.chair_agency}, not {chair_agency}",
            MINUTE_OF_A_RECORDED_MEETING,
            "chair_agency",
        )
    listed, present = set(attendees), set(meeting.attendees)
    if listed != present:
        differences = []
        if listed - present:
            differences.append("not present at it: " + ", ".join(sorted(listed - present)))
        if present - listed:
            differences.append("present but not in the minute: " + ", ".join(sorted(present - listed)))
        raise RuleViolation(
            f"the minute lists the agencies the case file records as present at {at}; "
            + "; ".join(differences),
            MINUTE_OF_A_RECORDED_MEETING,
            "attendees",
        )


def check_minute_unfiled(case: CaseState, meeting: Meeting, minute_ref: str) -> None:
    """One minute for each meeting, and each minute the record of one meeting."""
    if meeting.minute_ref is not None:
        raise MinuteAlreadyFiled(
            f"{meeting.meeting_id} already has its minute ({meeting.minute_ref})",
            ONE_MINUTE_ONE_MEETING,
            "meeting_id",
        )
    named = meeting_of(case, minute_ref)
    if named is not None:
        raise MinuteAlreadyFiled(
            f"minute {minute_ref} is already the record of {named.meeting_id}",
            ONE_MINUTE_ONE_MEETING,
            "minute_ref",
        )


def file_minute(case: CaseState, policy: AreaPolicy, e: ev.MinuteFiled, now: datetime) -> None:
    """The chair of the meeting's chair agency files its minute: the meeting then names it, and the minute is read
    by the agencies the meeting records as present (and the ASP chair, 000)."""
    meeting = case.meeting(e.meeting_id)
    sender, _ = case.sender
    if sender is not None and sender.agency != meeting.chair_agency:
        raise NotResponsible(
            f"{meeting.chair_agency} chaired {meeting.meeting_id}: its chair files the minute, not "
            f"{sender.agency or 'a user with no agency'}",
            "the meeting's chair files its minute",
            "meeting_id",
        )
    check_minute_unfiled(case, meeting, e.minute_ref)
    meeting.minute_ref, meeting.minute_digest = e.minute_ref, e.minute_digest
