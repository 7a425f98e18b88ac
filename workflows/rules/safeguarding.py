"""Safeguarding alongside MAPPA (DOMAIN.md): Adult Support and Protection in Scotland (000), adults at risk in
England and Wales (002, 004), and child protection (002).

Scotland (000): every notification and referral, whatever its category or level, is screened against the ASP
3-point criteria, for each adult at risk the case involves. Where they are met an AP1 referral is due within 24
hours and before any MAPPA meeting (the ASP side and its chair: workflows/rules/asp_side.py). An ASP inquiry
that finds a MAPPA concern shares it with justice social work or the police unit (SOPU) the same day, and the
case records what went to whom.
England and Wales: a specific adult at risk is referred into the council's adult safeguarding (Care Act).
Children at risk are named and referred to child protection.
"""

from __future__ import annotations

from datetime import datetime, time

from workflows.rules import events as ev
from workflows.rules.asp_side import prompt_to_name_asp_chair, require_asp
from workflows.rules.calendar import local_date, local_time_on
from workflows.rules.case_state import CaseState
from workflows.rules.deadlines import breach_deadline, meet_deadline, open_deadline, open_of, touch
from workflows.rules.due_dates import Deadline
from workflows.rules.errors import RuleViolation
from workflows.rules.ownership import sender_may_meet
from workflows.rules.policy import AreaPolicy, DeadlineKind
from workflows.rules.records import (
    CHAIR,
    CO_ORDINATOR,
    AdultAtRisk,
    AspShare,
    ChildAtRiskRecord,
    NoticeKind,
    next_number,
)
from workflows.rules.rule_changes import (
    AP1_BREACHED_BY_EARLIER_MEETING,
    AP1_CLOCK_FROM_RE_SCREENING,
    AP1_FROM_THE_SCREENING,
    ASP_CHAIR_NAMED_BY_CO_ORDINATOR,
    ASP_SCREENING_OF_EVERY_NOTIFICATION,
    ASP_SHARE_RECORDS_WHAT_AND_WITH_WHOM,
    CHILDREN_AT_RISK_NAMED,
)

# The first adult's AP1 keeps the id cases have always used; each further adult has its own.
FIRST_AP1 = "ap1-referral"


# ------------------------------------------------------------------ the ASP side and its chair


# ------------------------------------------------------------------ screening and the AP1 (000)


def asp_screening_falls_due(case: CaseState, policy: AreaPolicy, deadline_id: str, now: datetime) -> None:
    """000: "All referrals to MAPPA, irrespective of their category or risk level, must be considered against
    the ASP 3 point criteria"; for a case following the correction, every notification too."""
    if not policy.policy.asp_link:
        return
    if deadline_id != "asp-screening" and not case.follows(ASP_SCREENING_OF_EVERY_NOTIFICATION):
        return
    open_deadline(case, policy, DeadlineKind.ASP_SCREENING, deadline_id, CO_ORDINATOR, now, now)


def _adults(case: CaseState) -> list[AdultAtRisk]:
    """The adults screened so far; a case screened before adults were told apart screened its subject."""
    if not case.adults_at_risk and case.asp_criteria_met is not None:
        old_ap1 = FIRST_AP1 if FIRST_AP1 in case.deadlines else None
        case.adults_at_risk.append(
            AdultAtRisk(adult_id="adult-1", criteria_met=case.asp_criteria_met, ap1_deadline_id=old_ap1)
        )
    return case.adults_at_risk


def _adult_screened(case: CaseState, e: ev.AspScreening) -> AdultAtRisk:
    adults = _adults(case)
    if e.adult_id is not None and e.adult_name is not None:
        raise RuleViolation(
            "give the adult_id of an adult already screened, or the name of a new adult, not both",
            "adult at risk",
            "adult_name",
        )
    if e.adult_id is not None:
        found = next((a for a in adults if a.adult_id == e.adult_id), None)
        if found is None:
            raise RuleViolation(
                f"no adult {e.adult_id} has been screened on this case", "adult at risk", "adult_id"
            )
        return found
    if e.adult_name is None:
        subject = next((a for a in adults if a.name is None), None)
        if subject is not None:
            return subject
    adult = AdultAtRisk(adult_id=f"adult-{next_number(a.adult_id for a in adults)}", name=e.adult_name)
    adults.append(adult)
    return adult


def record_asp_screening(case: CaseState, policy: AreaPolicy, e: ev.AspScreening, now: datetime) -> None:
    require_asp(policy)
    adult = _adult_screened(case, e)
    screened_before = adult.criteria_met is not None
    due = open_of(case, DeadlineKind.ASP_SCREENING)
    for d in due:
        meet_deadline(case, d.deadline_id, now)
    adult.criteria_met, adult.screened_at = e.criteria_met, now
    case.asp_criteria_met = any(a.criteria_met for a in case.adults_at_risk)
    if not e.criteria_met:
        return
    ap1_id = ap1_deadline_id(adult.adult_id)
    if not case.follows(AP1_CLOCK_FROM_RE_SCREENING):
        # As it was: 24 hours from the referral's receipt, whichever screening found the criteria met.
        assert case.referral is not None
        _open_ap1(case, policy, adult, ap1_id, case.referral.received_at, now)
        return
    if adult.ap1_deadline_id is not None and adult.ap1_deadline_id in case.deadlines:
        ap1 = case.deadlines[adult.ap1_deadline_id]
        if ap1.is_open or ap1.met_at is not None:
            return  # already running (breached or not), or already made: a re-screening changes neither
    if case.follows(AP1_FROM_THE_SCREENING):
        # 000: the lead agency makes the AP1 once the co-ordinator "knows or believes the adult meets the
        # criteria": its 24 hours start here, reminded before they end.
        _open_ap1(case, policy, adult, ap1_id, now, now)
        if not screened_before:
            _screening_after_a_meeting(case, due, now)
        return
    # The 24 hours run from the receipt this screening answers (the latest, when a referral followed the
    # notification); a re-screening, or a screening nothing called for, starts them itself, so an AP1 never
    # opens already breached by the time the criteria were not known to be met.
    start = now if screened_before or not due else max(d.opened_at for d in due)
    ap1 = _open_ap1(case, policy, adult, ap1_id, start, now)
    if screened_before or not case.follows(AP1_BREACHED_BY_EARLIER_MEETING):
        return
    earlier = [m for m in case.meetings if m.held_on >= local_date(start)]
    if earlier:
        first = earlier[0]
        breach_deadline(
            case, ap1_id, now, f"{first.meeting_id} was held before the AP1 referral was made (000)"
        )
        ap1.breached_at = min(ap1.due_at, local_time_on(first.held_on, time(12)))


def _screening_after_a_meeting(case: CaseState, screenings: list[Deadline], now: datetime) -> None:
    """000: the referral is considered against the criteria so that the AP1 comes "prior to any MAPPA meeting". A
    screening that found them met after a meeting was late as of that meeting: the co-ordinator's, escalated to the
    chair, never the lead agency's. One already late by its own 24 hours keeps that lateness."""
    for d in screenings:
        first = next((m for m in case.meetings if m.held_on >= local_date(d.opened_at)), None)
        if first is None or d.breached_at is not None:
            continue
        assert d.met_at is not None
        d.breached_at = max(d.opened_at, min(local_time_on(first.held_on, time(12)), d.met_at))
        d.breach_note = f"{first.meeting_id} was held before the screening found the ASP criteria met (000)"
        case.notify(
            NoticeKind.BREACH_ESCALATION,
            CHAIR,
            f"BREACHED: {d.title}",
            [
                d.breach_note,
                d.explanation,
                f"Responsible: {d.responsible}",
                f"Rule ({d.source}): {d.rule_text}",
            ],
            d.deadline_id,
            d.due_at,
            passes_over=[CO_ORDINATOR],
        )
        touch(case, d.deadline_id)


def ap1_deadline_id(adult_id: str) -> str:
    return FIRST_AP1 if adult_id == "adult-1" else f"{FIRST_AP1}:{adult_id}"


def _open_ap1(
    case: CaseState, policy: AreaPolicy, adult: AdultAtRisk, ap1_id: str, start: datetime, now: datetime
) -> Deadline:
    adult.ap1_deadline_id = ap1_id
    # 000 "Information Sharing Between ASP and MAPPA": AP1 within 24 hours, and before any MAPPA meeting.
    return open_deadline(case, policy, DeadlineKind.AP1_REFERRAL, ap1_id, case.lead_agency, start, now)


def record_ap1_referral(case: CaseState, policy: AreaPolicy, e: ev.Ap1ReferralMade, now: datetime) -> None:
    require_asp(policy)
    if e.asp_chair_agency is not None and case.follows(ASP_CHAIR_NAMED_BY_CO_ORDINATOR):
        raise RuleViolation(
            "the co-ordinator names the ASP chair (asp-chair), not the agency making the AP1 referral",
            "ASP chair named by the co-ordinator",
            "asp_chair_agency",
        )
    due = open_of(case, DeadlineKind.AP1_REFERRAL)
    if e.adult_id is not None:
        due = [d for d in due if d.deadline_id == ap1_deadline_id(e.adult_id)]
    if not due:
        raise RuleViolation(
            "no AP1 referral is due: the ASP 3-point criteria were not found met", "AP1 referral"
        )
    if len(due) > 1:
        raise RuleViolation(
            "more than one adult's AP1 referral is due: give the adult_id", "AP1 referral", "adult_id"
        )
    meet_deadline(case, due[0].deadline_id, now)
    case.asp_open = True
    prompt_to_name_asp_chair(case)
    if not case.follows(ASP_CHAIR_NAMED_BY_CO_ORDINATOR):
        # As it was: the AP1 named the chair (the API now lets only the co-ordinator fill the field).
        case.asp_chair_agency = e.asp_chair_agency
        case.asp_chair_named = e.asp_chair_agency is not None


# ------------------------------------------------------------------ an ASP inquiry finds a MAPPA concern (000)


def record_asp_inquiry_concern(
    case: CaseState, policy: AreaPolicy, e: ev.AspInquiryConcern, now: datetime
) -> None:
    require_asp(policy)
    deadline_id = f"asp-information-sharing-{case.next_seq()}"
    open_deadline(case, policy, DeadlineKind.ASP_INFORMATION_SHARING, deadline_id, e.raised_by, now, now)
    case.asp_open = True
    prompt_to_name_asp_chair(case)
    if not case.follows(ASP_CHAIR_NAMED_BY_CO_ORDINATOR):
        # As it was: the raising agency became the ASP chair (it could name itself).
        case.asp_chair_agency = case.asp_chair_agency or e.raised_by


def record_asp_information_shared(
    case: CaseState, policy: AreaPolicy, e: ev.AspInformationShared, now: datetime
) -> None:
    require_asp(policy)
    pending = sender_may_meet(case.sender[0], open_of(case, DeadlineKind.ASP_INFORMATION_SHARING))
    if not pending:
        raise RuleViolation("no ASP information sharing is due", "ASP information sharing")
    if case.follows(ASP_SHARE_RECORDS_WHAT_AND_WITH_WHOM):
        if e.recipient is None:
            raise RuleViolation(
                "say whether it went to justice social work or the Sex Offender Policing Unit (000)",
                "ASP information sharing",
                "recipient",
            )
        if not e.shared:
            raise RuleViolation(
                "say what was shared: name, date of birth, address, needs, risks (000)",
                "ASP information sharing",
                "shared",
            )
        case.asp_shares.append(
            AspShare(
                shared_with=e.shared_with,
                recipient=e.recipient,
                shared=list(dict.fromkeys(e.shared)),
                about=list(dict.fromkeys(e.about or ["perpetrator"])),
                shared_at=now,
            )
        )
    meet_deadline(case, pending[0].deadline_id, now)


# ------------------------------------------------------------------ adults at risk in England and Wales


def record_adult_at_risk(
    case: CaseState, policy: AreaPolicy, e: ev.AdultAtRiskIdentified, now: datetime
) -> None:
    """002 "Specific Vulnerable Adults at risk from another person should be referred into the Vulnerable
    Adults procedures"; 004: the Care Act's local adult safeguarding arrangements."""
    if policy.policy.asp_link:
        raise RuleViolation(
            f"in {policy.policy.name} an adult at risk is screened against the ASP 3-point criteria "
            "(asp-screening)",
            "adult safeguarding route",
        )
    adults = case.adults_at_risk
    if e.adult_name is None and any(a.name is None for a in adults):
        raise RuleViolation(
            "the subject is already referred as an adult at risk", "adult at risk", "adult_name"
        )
    adult = AdultAtRisk(adult_id=f"adult-{next_number(a.adult_id for a in adults)}", name=e.adult_name)
    adult.ap1_deadline_id = f"adult-safeguarding-referral:{adult.adult_id}"
    adults.append(adult)
    open_deadline(
        case,
        policy,
        DeadlineKind.ADULT_SAFEGUARDING_REFERRAL,
        adult.ap1_deadline_id,
        e.identified_by,
        now,
        now,
    )


def record_adult_safeguarding_referral(
    case: CaseState, policy: AreaPolicy, e: ev.AdultSafeguardingReferralMade, now: datetime
) -> None:
    due = open_of(case, DeadlineKind.ADULT_SAFEGUARDING_REFERRAL)
    if e.adult_id is not None:
        due = [d for d in due if d.deadline_id == f"adult-safeguarding-referral:{e.adult_id}"]
    if not due:
        raise RuleViolation("no adult safeguarding referral is due", "adult safeguarding referral")
    if len(due) > 1:
        raise RuleViolation(
            "more than one adult's safeguarding referral is due: give the adult_id",
            "adult safeguarding referral",
            "adult_id",
        )
    meet_deadline(case, due[0].deadline_id, now)


# ------------------------------------------------------------------ children at risk (002)


def record_children_at_risk(case: CaseState, policy: AreaPolicy, e: ev.ChildrenAtRisk, now: datetime) -> None:
    if case.follows(CHILDREN_AT_RISK_NAMED) and (not e.children or e.number_of_children is not None):
        raise RuleViolation(
            "specific children at risk are named, not counted (002): give each child's name",
            "children at risk named",
            "children",
        )
    deadline_id = f"child-protection-referral-{case.next_seq()}"
    open_deadline(
        case, policy, DeadlineKind.CHILD_PROTECTION_REFERRAL, deadline_id, e.identified_by, now, now
    )
    for child in e.children:
        case.children_at_risk.append(
            ChildAtRiskRecord(
                name=child.name,
                date_of_birth=child.date_of_birth,
                identified_by=e.identified_by,
                identified_at=now,
                referral_deadline_id=deadline_id,
            )
        )


def record_child_protection_referral(
    case: CaseState, policy: AreaPolicy, e: ev.ChildProtectionReferralMade, now: datetime
) -> None:
    pending = sender_may_meet(case.sender[0], open_of(case, DeadlineKind.CHILD_PROTECTION_REFERRAL))
    if not pending:
        raise RuleViolation("no child protection referral is due", "child protection referral")
    meet_deadline(case, pending[0].deadline_id, now)
