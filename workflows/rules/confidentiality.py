"""Confidentiality and subject access (DOMAIN.md, confidentiality rules; 001, 002, 003).

What a meeting shares stays with the agencies that attended: every attendee signs the confidentiality statement,
minutes go to attendees only, and sharing beyond them is a disclosure the chair decides and the case records.
The subject is told of their MAPPA status unless there is a recorded reason not to; a subject access request
consults every attending agency before the co-ordinator decides, and withholding names its exemption.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Protocol

from workflows.rules import events as ev
from workflows.rules.deadlines import cancel_if_open, is_open, meet_deadline, open_deadline
from workflows.rules.errors import RuleViolation
from workflows.rules.policy import AreaPolicy, DeadlineKind
from workflows.rules.records import CO_ORDINATOR, Disclosure, SubjectAccessRequest, next_number

if TYPE_CHECKING:
    from workflows.rules.case import CaseFile


# ------------------------------------------------------------------ a meeting's own rules


class Signatory(Protocol):
    """An attendee as a meeting or its minute lists them."""

    @property
    def agency(self) -> str: ...

    @property
    def signed_confidentiality_statement(self) -> bool: ...


def check_confidentiality_statements_signed(attendees: Sequence[Signatory]) -> None:
    """003 stage 4: every attendee signs the confidentiality statement at each meeting."""
    unsigned = [a.agency for a in attendees if not a.signed_confidentiality_statement]
    if unsigned:
        raise RuleViolation(
            "every attendee signs the confidentiality statement at each meeting (003); not signed: "
            + ", ".join(unsigned),
            "confidentiality statement",
            "attendees",
        )


def check_rmp_action_ids(actions: Sequence[ev.RmpActionSet]) -> None:
    """Each action of the risk management plan has its own id: it is met, and chased, on its own."""
    if len({a.action_id for a in actions}) != len(actions):
        raise RuleViolation("each RMP action needs its own id", "RMP action id", "rmp_actions")


# ------------------------------------------------------------------ the subject and third parties


def record_subject_informed(case: CaseFile, policy: AreaPolicy, e: ev.SubjectInformed, now: datetime) -> None:
    if not e.informed and not e.reason:
        raise RuleViolation(
            "record why the subject is not told of their MAPPA status (002)", "subject informed", "reason"
        )
    case.subject_informed = e.informed
    case.subject_not_informed_reason = None if e.informed else e.reason


def share_with_child_protection(
    case: CaseFile, policy: AreaPolicy, e: ev.ConclusionsSharedWithChildProtection, now: datetime
) -> None:
    case.meeting(e.meeting_id)
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
    case: CaseFile, policy: AreaPolicy, e: ev.SubjectAccessRequested, now: datetime
) -> None:
    meetings = [case.meeting(m) for m in dict.fromkeys(e.meeting_ids)]
    sar_id = f"sar-{next_number(r.sar_id for r in case.subject_access_requests)}"
    consulted = sorted({agency for m in meetings for agency in m.attendees})
    case.subject_access_requests.append(
        SubjectAccessRequest(
            sar_id=sar_id, meeting_ids=[m.meeting_id for m in meetings], received_at=now, consulted=consulted
        )
    )
    open_deadline(case, policy, DeadlineKind.SUBJECT_ACCESS_REQUEST, sar_id, CO_ORDINATOR, now, now)
    # 001: the co-ordinator and chair consult the other attending agencies.
    for agency in consulted:
        open_deadline(case, policy, DeadlineKind.SAR_CONSULTATION, f"{sar_id}:{agency}", agency, now, now)


def record_sar_agency_view(case: CaseFile, policy: AreaPolicy, e: ev.SarAgencyView, now: datetime) -> None:
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


def decide_subject_access(case: CaseFile, policy: AreaPolicy, e: ev.SarDecided, now: datetime) -> None:
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
    sar.outcome, sar.exemption = e.outcome, e.exemption


def _sar(case: CaseFile, sar_id: str) -> SubjectAccessRequest:
    for sar in case.subject_access_requests:
        if sar.sar_id == sar_id:
            return sar
    raise RuleViolation(
        f"no subject access request {sar_id} on this case", "subject access request", "sar_id"
    )
