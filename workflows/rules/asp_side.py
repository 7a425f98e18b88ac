"""The ASP side of a case and its chair (000): a case open to both MAPPA and Adult Support and Protection.

The co-ordinator names the ASP chair (or an ASP case conference's referral names it at opening); while the
case is open to both forums that chair gets the minutes, the council officer attends MAPPA meetings and the
co-ordinator advises both chairs on a referral from an ASP case conference. The ASP side can close.
"""

from __future__ import annotations

from datetime import datetime

from workflows.rules import events as ev
from workflows.rules.case_state import CaseState
from workflows.rules.errors import RuleViolation
from workflows.rules.policy import AreaPolicy
from workflows.rules.records import CHAIR, CO_ORDINATOR, NoticeKind
from workflows.rules.rule_changes import ASP_CHAIR_NAMED_BY_CO_ORDINATOR, ASP_CROSS_FORUM_RULES


def require_asp(policy: AreaPolicy) -> None:
    if not policy.policy.asp_link:
        raise RuleViolation(
            f"Adult Support and Protection (Scotland) does not apply in {policy.policy.name}", "ASP link"
        )


def asp_chair_copied(case: CaseState) -> str | None:
    """The ASP chair's agency that gets the minutes: while the case is open to both MAPPA and ASP (000), and,
    for a case following the correction, only a chair the co-ordinator named."""
    if not case.asp_open or case.asp_chair_agency is None:
        return None
    if case.follows(ASP_CHAIR_NAMED_BY_CO_ORDINATOR) and not case.asp_chair_named:
        return None
    return case.asp_chair_agency


def asp_chair_may_read(case: CaseState) -> str | None:
    """The ASP chair's agency that may read minutes as of right: one the co-ordinator named, never one that
    named itself, and only while the ASP side is open (000)."""
    return asp_chair_copied(case) if case.asp_chair_named else None


def receive_asp_route(case: CaseState, policy: AreaPolicy, opening: ev.CaseOpening) -> None:
    """000 "Referral of Cases from ASP to MAPPA": a case an ASP case conference refers opens with its ASP side
    open and the ASP chair named (by the co-ordinator: api/auth.py lets no one else fill the field)."""
    from_asp = opening.route is ev.EntryRoute.ASP_CASE_CONFERENCE and policy.policy.asp_link
    if opening.asp_chair_agency is None:
        if from_asp and case.follows(ASP_CHAIR_NAMED_BY_CO_ORDINATOR):
            raise RuleViolation(
                "a case referred by an ASP case conference opens with its ASP chair, named by the co-ordinator "
                "(000)",
                "ASP chair",
                "asp_chair_agency",
            )
        return
    require_asp(policy)
    if not from_asp:
        raise RuleViolation(
            "only a case referred by an ASP case conference opens with an ASP chair; name one later "
            "(asp-chair)",
            "ASP chair",
            "asp_chair_agency",
        )
    case.asp_open, case.asp_chair_agency, case.asp_chair_named = True, opening.asp_chair_agency, True


def name_asp_chair(case: CaseState, policy: AreaPolicy, e: ev.AspChairNamed, now: datetime) -> None:
    require_asp(policy)
    case.asp_open, case.asp_chair_agency, case.asp_chair_named = True, e.asp_chair_agency, True


def prompt_to_name_asp_chair(case: CaseState) -> None:
    """000: once the case is open to both forums, both chairs share the minutes and the council officer attends
    MAPPA meetings; the co-ordinator is prompted to name the ASP chair that makes this work."""
    if case.follows(ASP_CROSS_FORUM_RULES) and case.asp_open and not case.asp_chair_named:
        case.notify(
            NoticeKind.ASP_CHAIR_TO_NAME, CO_ORDINATOR, "the case is open to ASP: name its ASP chair", []
        )


def advise_both_chairs(case: CaseState, decision: str) -> None:
    """000 "Referral of Cases from ASP to MAPPA": the co-ordinator advises the MAPPA and ASP chairs whether a
    referral from an ASP case conference meets the threshold to be managed within MAPPA."""
    if not case.follows(ASP_CROSS_FORUM_RULES) or case.route is not ev.EntryRoute.ASP_CASE_CONFERENCE:
        return
    for chair in dict.fromkeys(c for c in (CHAIR, asp_chair_copied(case)) if c):
        case.notify(
            NoticeKind.REFERRAL_DECISION, chair, f"{decision}: the co-ordinator's advice to both chairs", []
        )


def cross_forum_attendance(case: CaseState, attendees: list[str]) -> str | None:
    """000 "Attendance at MAPPA / ASP Meetings": where a case is referred between the forums, the council officer
    or delegate attends the MAPPA meeting. What falls short, or None."""
    council = asp_chair_copied(case)
    if not case.follows(ASP_CROSS_FORUM_RULES) or council is None or council in attendees:
        return None
    return (
        "the case is open to MAPPA and ASP: the council officer or a delegate attends the MAPPA meeting (000); "
        f"nobody from {council} was present"
    )


def close_asp_side(case: CaseState, policy: AreaPolicy, e: ev.AspSideClosed, now: datetime) -> None:
    require_asp(policy)
    if not case.asp_open:
        raise RuleViolation("the case is not open to ASP", "ASP side")
    # Its chair stops getting the minutes, and loses the read of them the role gave.
    case.asp_open, case.asp_chair_agency, case.asp_chair_named = False, None, False
