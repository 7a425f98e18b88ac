"""Stage 5: exit from MAPPA (DOMAIN.md; 003 stage 5).

A case registered for a period (SONR) is reviewed before the period ends and the lead agency gives notice of
the end; an SHPO granted keeps it open to a new end date. On exit every open deadline is cancelled with the
reason, and the exit record keeps what was cancelled and what had been breached.
"""

from __future__ import annotations

from datetime import date, datetime, time

from workflows.rules import events as ev
from workflows.rules.calendar import end_of_local_day, local_date, local_time_on
from workflows.rules.case_state import CaseState
from workflows.rules.deadlines import (
    cancel_deadline,
    cancel_if_open,
    is_open,
    meet_deadline,
    meet_if_open,
    open_deadline,
)
from workflows.rules.due_dates import DeadlineState, DueDate
from workflows.rules.errors import RuleViolation
from workflows.rules.policy import AreaPolicy, DeadlineKind
from workflows.rules.records import CO_ORDINATOR, ExitRecord, Stage
from workflows.rules.rule_changes import (
    DATES_IN_CASE_ORDER,
    EXIT_BASIS,
    OBLIGATIONS_OUTLIVE_EXIT,
    SAFEGUARDING_OUTLIVES_EXIT,
)


def open_sonr_deadlines(
    case: CaseState, policy: AreaPolicy, sonr_end: date, now: datetime, floor: DueDate | None = None
) -> None:
    end = local_time_on(sonr_end, time(12))
    lead = case.lead_agency
    kinds = (
        (DeadlineKind.SONR_EXIT_NOTICE, "sonr-exit-notice", lead),
        (DeadlineKind.EXIT_REVIEW, "exit-review", CO_ORDINATOR),
    )
    for kind, deadline_id, responsible in kinds:
        open_deadline(case, policy, kind, deadline_id, responsible, end, now, due_no_earlier_than=floor)


def open_supervision_end_deadlines(
    case: CaseState, policy: AreaPolicy, end_day: date, now: datetime, floor: DueDate | None = None
) -> None:
    """Category 2 and 3: the end of supervision or licence prompts exit planning as the SONR end does (003)."""
    if case.category not in (2, 3) or not case.follows(EXIT_BASIS):
        return
    end = local_time_on(end_day, time(12))
    lead = case.lead_agency
    kinds = (
        (DeadlineKind.SUPERVISION_END_NOTICE, "supervision-end-notice", lead),
        (DeadlineKind.SUPERVISION_EXIT_REVIEW, "supervision-exit-review", CO_ORDINATOR),
    )
    for kind, deadline_id, responsible in kinds:
        open_deadline(case, policy, kind, deadline_id, responsible, end, now, due_no_earlier_than=floor)


def record_end_date(case: CaseState, policy: AreaPolicy, e: ev.EndDateRecorded, now: datetime) -> None:
    """003 stage 5: the lead agency gives notice "with sufficient time to allow for a review" before the SONR (or
    the supervision or licence) ends. A new end date counts both afresh from it; a notice given for the old date
    is not notice of the new one. Neither falls due before the day the date is recorded: nobody could act on an
    end date before it was known."""
    today = local_date(now)
    if e.end_date <= today:
        raise RuleViolation(
            "an end date already reached is not planned for: decide the exit (003 stage 5)",
            "end date",
            "end_date",
        )
    floor = DueDate(end_of_local_day(today), today, f"today: the end date was recorded {today:%a %d %b %Y}")
    if e.ends == "sonr":
        if e.end_date == case.sonr_end_date:
            raise RuleViolation("the SONR already ends that day", "end date", "end_date")
        case.sonr_end_date = e.end_date
        open_sonr_deadlines(case, policy, e.end_date, now, floor)
        return
    if case.category not in (2, 3):
        raise RuleViolation(
            "only a category 2 or 3 case is in MAPPA by its supervision or licence (004)", "end date", "ends"
        )
    if e.end_date == case.supervision_end_date:
        raise RuleViolation("the supervision or licence already ends that day", "end date", "end_date")
    case.supervision_end_date = e.end_date
    open_supervision_end_deadlines(case, policy, e.end_date, now, floor)


def give_supervision_end_notice(
    case: CaseState, policy: AreaPolicy, e: ev.SupervisionEndNoticeGiven, now: datetime
) -> None:
    if not is_open(case, "supervision-end-notice"):
        raise RuleViolation("no notice of the end of supervision or licence is due", "supervision end notice")
    meet_deadline(case, "supervision-end-notice", now)


# The basis for continuing, and the category it puts the case in where it is one.
_BASIS_CATEGORY = {
    "registered-sex-offender": 1,
    "violent-offender-under-supervision": 2,
    "other-risk-of-serious-harm": 3,
}


def give_sonr_end_notice(
    case: CaseState, policy: AreaPolicy, e: ev.SonrEndNoticeGiven, now: datetime
) -> None:
    if not is_open(case, "sonr-exit-notice"):
        raise RuleViolation("no SONR end notice is due", "SONR end notice")
    meet_deadline(case, "sonr-exit-notice", now)


def decide_exit(case: CaseState, policy: AreaPolicy, e: ev.ExitDecision, now: datetime) -> None:
    if e.outcome == "shpo-granted":
        if e.new_sonr_end_date is None or (case.sonr_end_date and e.new_sonr_end_date <= case.sonr_end_date):
            raise RuleViolation(
                "an SHPO keeps the case open only with a new SONR end date later than the current one",
                "SHPO new end date",
                "new_sonr_end_date",
            )
        if case.follows(DATES_IN_CASE_ORDER) and e.new_sonr_end_date <= local_date(now):
            raise RuleViolation(
                "an SHPO extends the notification requirements to a date still ahead",
                "SHPO new end date",
                "new_sonr_end_date",
            )
        meet_if_open(case, "exit-review", now)
        cancel_if_open(case, "sonr-exit-notice", "superseded: SHPO granted", now)
        case.sonr_end_date = e.new_sonr_end_date
        open_sonr_deadlines(case, policy, e.new_sonr_end_date, now)
        return
    if e.outcome == "continue":
        if case.follows(EXIT_BASIS):
            if e.continue_basis is None:
                raise RuleViolation(
                    "continuing past the end of the SONR, supervision or licence needs a recorded basis: "
                    "what keeps the case in MAPPA (003 stage 5)",
                    "continuing basis",
                    "continue_basis",
                )
            case.continue_basis = e.continue_basis
            case.category = _BASIS_CATEGORY.get(e.continue_basis, case.category)
            meet_if_open(case, "supervision-exit-review", now)
        meet_if_open(case, "exit-review", now)
        return
    meet_if_open(case, "exit-review", now)
    meet_if_open(case, "supervision-exit-review", now)
    exit_mappa(case, e.reason, now)


# What the decision to exit does not end: minutes still to circulate (001, 003), a subject access request and
# its consultations (001; data protection law), a child protection referral for children at risk (002).
OUTLIVE_EXIT = frozenset(
    {
        DeadlineKind.MINUTES,
        DeadlineKind.SUBJECT_ACCESS_REQUEST,
        DeadlineKind.SAR_CONSULTATION,
        DeadlineKind.CHILD_PROTECTION_REFERRAL,
    }
)
# Nor does it end what protects an adult at risk or keeps the alert on the subject current: the AP1 (000: "within
# 24 hours so as to minimise risk"), the adult safeguarding referral (002, 004), the same-day ASP share (000) and
# the SWIS alert after a meeting (000).
SAFEGUARDING_OUTLIVE_EXIT = frozenset(
    {
        DeadlineKind.AP1_REFERRAL,
        DeadlineKind.ADULT_SAFEGUARDING_REFERRAL,
        DeadlineKind.ASP_INFORMATION_SHARING,
        DeadlineKind.SWIS_ALERT,
    }
)


def outlives_exit(case: CaseState, kind: DeadlineKind) -> bool:
    if not case.follows(OBLIGATIONS_OUTLIVE_EXIT):
        return False
    return kind in OUTLIVE_EXIT or (
        case.follows(SAFEGUARDING_OUTLIVES_EXIT) and kind in SAFEGUARDING_OUTLIVE_EXIT
    )


def exit_mappa(case: CaseState, reason: str, now: datetime) -> None:
    kept = [d.deadline_id for d in case.open_deadlines() if outlives_exit(case, d.kind)]
    cancelled = [d.deadline_id for d in case.open_deadlines() if d.deadline_id not in kept]
    # A deadline a recall paused is still owed until the exit ends it (workflows/rules/recall.py).
    cancelled += [i for i, d in case.deadlines.items() if d.state is DeadlineState.PAUSED]
    for deadline_id in cancelled:
        cancel_deadline(case, deadline_id, "case exited MAPPA", now)
    case.exit_record = ExitRecord(
        case_ref=case.case_ref,
        exited_at=now,
        reason=reason,
        final_stage_before_exit=case.stage,
        open_deadlines_cancelled=cancelled,
        breached_deadlines=[d.deadline_id for d in case.deadlines.values() if d.breached_at is not None],
        obligations_outstanding=kept,
    )
    # The case stays open, enforcing what is left, until the last obligation is met.
    case.stage = Stage.EXITING if kept else Stage.EXITED


def close_when_obligations_met(case: CaseState, now: datetime) -> None:
    """An exited case closes once nothing that outlives the exit decision is still open."""
    if case.stage is Stage.EXITING and not case.open_deadlines():
        case.stage = Stage.EXITED
