"""Before the notification (003 stages 1-2): a court disposal, an upcoming release after the pre-release ICM or a
hospital discharge opens the case with the notification or referral it owes; release and discharge dates move
the deadlines counted from them; custody and CPA meetings fall due before release or discharge.
"""

from __future__ import annotations

from datetime import date, datetime, time

from workflows.rules import events as ev
from workflows.rules.calendar import local_time_on
from workflows.rules.case_state import CaseState
from workflows.rules.deadlines import is_open, meet_deadline, open_deadline, rearm_deadline
from workflows.rules.due_dates import EXTENUATING_CIRCUMSTANCES, compute_due
from workflows.rules.errors import RuleViolation
from workflows.rules.exit import open_sonr_deadlines, open_supervision_end_deadlines
from workflows.rules.initial_meeting import rearm_initial_meeting
from workflows.rules.policy import AreaPolicy, DeadlineKind
from workflows.rules.recall import set_re_release
from workflows.rules.records import CO_ORDINATOR, Stage
from workflows.rules.rule_changes import (
    LICENCE_END_ON_EVERY_OPENING,
)
from workflows.rules.safeguarding import asp_screening_falls_due

# The deadline each event that precedes a case starts, met by the notification or referral (003 stages 1-2).
PRE_NOTIFICATION_DEADLINES = ("notification", "custody-referral", "restricted-patient-referral")


def release_day(opening: ev.CaseOpening) -> date | None:
    if opening.upcoming_release is not None:
        return opening.upcoming_release.release_date
    return opening.release_date


def discharge_day(opening: ev.CaseOpening) -> date | None:
    if opening.discharge is not None:
        return opening.discharge.discharge_date
    return opening.discharge_date


def pre_notification_facts(opening: ev.CaseOpening) -> list[ev.Event]:
    return [f for f in (opening.disposal, opening.upcoming_release, opening.discharge) if f is not None]


def check_pre_notification(opening: ev.CaseOpening) -> None:
    facts = pre_notification_facts(opening)
    if not facts:
        return
    if len(facts) > 1 or opening.notification is not None or opening.referral is not None:
        raise RuleViolation(
            "a case opened by a court disposal, an upcoming release or a hospital discharge opens with that "
            "one event; the notification or referral follows as its own event",
            "pre-notification opening",
            "notification",
        )
    routes = {
        "disposal": (opening.disposal, ev.EntryRoute.COMMUNITY),
        "upcoming_release": (opening.upcoming_release, ev.EntryRoute.CUSTODY),
        "discharge": (opening.discharge, ev.EntryRoute.RESTRICTED_PATIENT),
    }
    for field, (fact, route) in routes.items():
        if fact is not None and opening.route is not route:
            raise RuleViolation(
                f"a case opened by its {field.replace('_', ' ')} takes the {route.value} route",
                "entry route",
                "route",
            )
    if opening.upcoming_release is not None:
        r = opening.upcoming_release
        if opening.release_date is not None and opening.release_date != r.release_date:
            raise RuleViolation(
                "the release date is given twice, differently", "custody release date", "release_date"
            )
        if r.icm_held_on >= r.release_date:
            raise RuleViolation(
                "the pre-release ICM case conference is held before the release (003)",
                "pre-release ICM",
                "upcoming_release.icm_held_on",
            )
    if opening.discharge is not None and opening.discharge_date not in (
        None,
        opening.discharge.discharge_date,
    ):
        raise RuleViolation(
            "the discharge date is given twice, differently", "discharge date", "discharge_date"
        )


def disposal_notified(disposal_date: date, notified_on: date | None, field: str) -> datetime:
    """003 stage 2: the notification is due "within three workings days of being notified of a community sentence
    disposal": counted from the day the lead authority was notified, the disposal's own day when not given."""
    if notified_on is not None and notified_on < disposal_date:
        raise RuleViolation(
            "the lead authority cannot be notified of a disposal before the disposal (003)",
            "disposal notified",
            field,
        )
    return local_time_on(notified_on or disposal_date, time(12))


def open_pre_notification(
    case: CaseState, policy: AreaPolicy, opening: ev.CaseOpening, now: datetime
) -> None:
    """003 stages 1-2: the deadline for the notification (or the prison's / hospital's notification or referral)
    runs from the disposal, or back from the release or discharge, before the case reaches the co-ordinator."""
    case.stage = Stage.AWAITING_NOTIFICATION
    if opening.disposal is not None:
        d = opening.disposal
        disposal = disposal_notified(d.disposal_date, d.disposal_notified_on, "disposal.disposal_notified_on")
        open_deadline(
            case, policy, DeadlineKind.NOTIFICATION, "notification", case.lead_agency, disposal, now
        )
    elif opening.upcoming_release is not None:
        release = local_time_on(opening.upcoming_release.release_date, time(12))
        open_deadline(
            case, policy, DeadlineKind.CUSTODY_REFERRAL, "custody-referral", case.lead_agency, release, now
        )
    elif opening.discharge is not None:
        discharge = local_time_on(opening.discharge.discharge_date, time(12))
        open_deadline(
            case,
            policy,
            DeadlineKind.RESTRICTED_PATIENT_REFERRAL,
            "restricted-patient-referral",
            case.lead_agency,
            discharge,
            now,
        )
    if opening.sonr_end_date is not None:
        open_sonr_deadlines(case, policy, opening.sonr_end_date, now)
    if opening.supervision_end_date is not None and case.follows(LICENCE_END_ON_EVERY_OPENING):
        # Category 2 and 3: the licence end on release prompts exit planning, as on any other opening (003).
        open_supervision_end_deadlines(case, policy, opening.supervision_end_date, now)


def meet_pre_notification(case: CaseState, now: datetime, extenuating_circumstances: str | None) -> None:
    """The notification or referral meets the deadline its preceding event started; a late one keeps its
    extenuating circumstances (003 stage 2) on the deadline, for the record and the ledger."""
    for deadline_id in PRE_NOTIFICATION_DEADLINES:
        if not is_open(case, deadline_id):
            continue
        meet_deadline(case, deadline_id, now)
        d = case.deadlines[deadline_id]
        if d.met_late and extenuating_circumstances:
            d.breach_note = f"{EXTENUATING_CIRCUMSTANCES}: {extenuating_circumstances}"


def submit_notification(
    case: CaseState, policy: AreaPolicy, e: ev.NotificationSubmitted, now: datetime
) -> None:
    if e.disposal_notified_on is not None:
        raise RuleViolation(
            "the day the disposal was notified is given with the court disposal that opened the case",
            "disposal notified",
            "disposal_notified_on",
        )
    meet_pre_notification(case, now, e.extenuating_circumstances)
    case.notified_at = now
    case.stage = Stage.NOTIFICATION
    open_deadline(case, policy, DeadlineKind.SCREENING, "screening", CO_ORDINATOR, now, now)
    # 000: a notification sent after the case was opened by its disposal is screened for ASP like any other.
    asp_screening_falls_due(case, policy, "asp-screening:notification", now)


def change_release_date(case: CaseState, policy: AreaPolicy, e: ev.ReleaseDateChanged, now: datetime) -> None:
    why = f"release date moved to {e.release_date:%a %d %b %Y} ({e.reason})"
    # A case recalled to custody (whatever its route) has its re-release date: the same event, the same rule.
    if set_re_release(case, policy, e.release_date, why, now):
        return
    if case.route is not ev.EntryRoute.CUSTODY:
        raise RuleViolation(
            "only a custody case, or a case recalled to custody, has a release date",
            "custody release date",
            "release_date",
        )
    if e.release_date == case.release_date:
        raise RuleViolation("the release date is already that day", "custody release date", "release_date")
    case.release_date = e.release_date
    if is_open(case, "custody-referral"):
        rule = policy.rule(DeadlineKind.CUSTODY_REFERRAL)
        due = compute_due(policy, rule, local_time_on(e.release_date, time(12)))
        rearm_deadline(case, policy, "custody-referral", due, now, why)
    rearm_initial_meeting(case, policy, now, why)


def change_discharge_date(
    case: CaseState, policy: AreaPolicy, e: ev.DischargeDateChanged, now: datetime
) -> None:
    if case.route is not ev.EntryRoute.RESTRICTED_PATIENT:
        raise RuleViolation(
            "only a restricted patient has a discharge date", "discharge date", "discharge_date"
        )
    if e.discharge_date == case.discharge_date:
        raise RuleViolation("the discharge date is already that day", "discharge date", "discharge_date")
    case.discharge_date = e.discharge_date
    why = f"discharge date moved to {e.discharge_date:%a %d %b %Y}"
    if is_open(case, "restricted-patient-referral"):
        rule = policy.rule(DeadlineKind.RESTRICTED_PATIENT_REFERRAL)
        due = compute_due(policy, rule, local_time_on(e.discharge_date, time(12)))
        rearm_deadline(case, policy, "restricted-patient-referral", due, now, why)
    rearm_initial_meeting(case, policy, now, why)
