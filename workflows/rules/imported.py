"""Cases imported already in progress: an area switching the system on brings its open cases at their stage.

An import row is turned into the dated events a live case would have received (the notification, its
screening, the referral, the decision, the pre-meeting information, the last meeting...), each applied at noon
Europe/London of its day (as a day known only by its date is counted everywhere in the core) through the very
handlers a live case runs. So an imported case owes exactly what a live case owes: no rule is written here.

While the events are applied the case is being imported: nothing it raises is sent (those moments are past,
and the area's old system did what they asked), and what fell due before the import (go-live) is recorded as
breached without an escalation per deadline: the import sends the co-ordinator one summary listing them
(`import_summary`), re-escalation counts from go-live, and compliance reports them apart as pre-go-live.

What the row cannot say is taken as done in the area's previous system, never invented as done here: an
imported meeting names no attendees (its minutes stay in the old system), and its minutes, SWIS alert and the
telling of the subject are recorded as done there (cancelled with that reason), not as met.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time

from workflows.rules import events as ev
from workflows.rules.calendar import local_date, local_time_on
from workflows.rules.case_state import CaseState
from workflows.rules.deadlines import cancel_if_open
from workflows.rules.due_dates import next_re_escalation
from workflows.rules.eligibility import check_opening
from workflows.rules.errors import CaseRuleError
from workflows.rules.imported_row import ImportedPosition, ImportedStage
from workflows.rules.policy import AreaPolicy
from workflows.rules.records import CO_ORDINATOR, Notice, NoticeKind
from workflows.rules.rule_changes import ELIGIBILITY

# A day known only by its date is taken at noon Europe/London, as everywhere in the core.
NOON = time(12)
IMPORTED_MEETING_ID = "meeting-1"
# What an imported meeting's follow-ups are closed with: done in the old system, not met in this one.
DONE_BEFORE_IMPORT = "done before the import, in the area's previous system"
IMPORTED_REASON = "imported: decided before the import, in the area's previous system"


@dataclass(frozen=True)
class ImportedHistory:
    """The live opening and the dated events an import row stands for, oldest first."""

    opening: ev.CaseOpening
    opened_at: datetime
    events: list[tuple[datetime, ev.Event]]


def _noon(day: date) -> datetime:
    return local_time_on(day, NOON)


def check_imported_opening(opening: ev.CaseOpening, rule_changes: Iterable[str]) -> AreaPolicy:
    """The area, jurisdiction, category and route rules of any opening. Eligibility and the referrer were
    decided when the area took the case into MAPPA, before the system: not re-judged."""
    return check_opening(
        opening.model_copy(
            update={
                "notification": None,
                "referral": ev.ReferralSubmitted(referring_agency=opening.lead_agency, level_sought=2),
            }
        ),
        [change for change in rule_changes if change != ELIGIBILITY],
    )


def imported_history(opening: ev.CaseOpening, p: ImportedPosition, as_of: datetime) -> ImportedHistory:
    """The events a live case at `p.stage` would have received, each on the row's day for it."""
    lead = opening.lead_agency
    base = opening.model_copy(update={"notification": None, "referral": None})
    stage = p.stage
    events: list[tuple[datetime, ev.Event]] = []
    referral_day = p.referral_received_on
    if stage is ImportedStage.ACTIVE_MANAGEMENT and referral_day is None:
        # A referral older than what the row says: it came, and was accepted, no later than the last meeting.
        referral_day = p.accepted_on or p.last_meeting_on
    referred = stage in (
        ImportedStage.REFERRAL,
        ImportedStage.INFORMATION_SHARING,
        ImportedStage.ACTIVE_MANAGEMENT,
    )
    level_sought = p.level_sought or (p.level if p.level in (2, 3) else 2)
    referral = ev.ReferralSubmitted(
        referring_agency=p.referring_agency or lead,
        level_sought=level_sought,  # type: ignore[arg-type]
        level_2_cannot_deliver=p.level_2_cannot_deliver,
    )
    notified_day = p.notified_on or (p.screened_on if not referred else None)
    if stage is ImportedStage.LEVEL_1 and notified_day is None:
        # Level 1 with no date: the system manages it at level 1 from the import (plan and review from then).
        notified_day = local_date(as_of)
    if notified_day is not None:
        live = base.model_copy(update={"notification": ev.Notification(notifying_agency=lead)})
        opened_at = _noon(notified_day)
        screened = p.screened_on or (referral_day if referred else None) or notified_day
        if stage is ImportedStage.LEVEL_1:
            events.append((_noon(screened), ev.ScreeningDecision(outcome="level-1", reason=IMPORTED_REASON)))
        elif stage is not ImportedStage.NOTIFICATION:
            events.append(
                (_noon(screened), ev.ScreeningDecision(outcome="referral-needed", reason=IMPORTED_REASON))
            )
        if referred:
            assert referral_day is not None
            events.append((_noon(referral_day), referral))
    else:
        assert referral_day is not None
        live, opened_at = base.model_copy(update={"referral": referral}), _noon(referral_day)
    if stage in (ImportedStage.INFORMATION_SHARING, ImportedStage.ACTIVE_MANAGEMENT):
        events += _accepted(p, lead, referral_day)
    if stage is ImportedStage.ACTIVE_MANAGEMENT:
        events.append((_noon(_day(p.last_meeting_on)), _last_meeting(p, lead)))
    if p.level_1_plan_recorded_on is not None:
        events.append((_noon(p.level_1_plan_recorded_on), ev.Level1PlanRecorded(recorded_by=lead)))
    if p.level_1_reviewed_on is not None:
        events.append(
            (
                _noon(p.level_1_reviewed_on),
                ev.Level1ReviewRecorded(reviewed_by=lead, level_1_still_defensible=True),
            )
        )
    return ImportedHistory(live, opened_at, _in_case_order(events, opened_at, p.asp_screened_on))


def _in_case_order(
    events: list[tuple[datetime, ev.Event]], opened_at: datetime, asp_screened_on: date | None
) -> list[tuple[datetime, ev.Event]]:
    # In the case's own order, each no sooner than the one before (a meeting may be dated before the decision
    # it follows, as a live case records it: held then, recorded after).
    chain, latest = [], opened_at
    for at, event in events:
        latest = max(latest, at)
        chain.append((latest, event))
    if asp_screened_on is not None:
        # Whenever it came; on one day, after the receipt it screens.
        chain.append((max(_noon(asp_screened_on), opened_at), _no_ap1_screening()))
        chain.sort(key=lambda pair: pair[0])
    return chain


def _day(day: date | None) -> date:
    assert day is not None
    return day


def _no_ap1_screening() -> ev.AspScreening:
    # The row says only that the screening was done; an AP1 still owed is not importable (a live event after).
    return ev.AspScreening(
        aged_16_or_over=False,
        unable_to_safeguard_own_interests=False,
        at_risk_of_harm=False,
        more_vulnerable_than_others=False,
    )


def _accepted(p: ImportedPosition, lead: str, referral_day: date | None) -> list[tuple[datetime, ev.Event]]:
    accepted = _noon(_day(p.accepted_on or referral_day))
    outstanding = list(dict.fromkeys(p.searches_outstanding))
    events: list[tuple[datetime, ev.Event]] = [
        (
            accepted,
            ev.ReferralDecision(
                outcome="accepted",
                level=p.level,  # type: ignore[arg-type]
                level_2_cannot_deliver=p.level_2_cannot_deliver,
                level_3_criteria=p.level_3_criteria,
                # The searches the row lists are outstanding; those it does not were returned (the lead
                # agency's stands for them when it lists none).
                record_search_agencies=outstanding or [lead],
            ),
        )
    ]
    if not outstanding:
        events.append((accepted, ev.RecordSearchReturned(agency=lead)))
    if p.pre_meeting_information_sent_on is not None:
        events.append(
            (
                _noon(p.pre_meeting_information_sent_on),
                ev.PreMeetingInformationSent(attending_agencies=[lead]),
            )
        )
    return events


def _last_meeting(p: ImportedPosition, lead: str) -> ev.MeetingHeld:
    chair = p.chair_agency or lead
    return ev.MeetingHeld(
        held_on=_day(p.last_meeting_on),
        chair_agency=chair,
        # Who attended stays in the area's own records (and so do the minutes): see `record_imported_meeting`.
        attendees=[ev.Attendee(agency=chair, signed_confidentiality_statement=True)],
        level_decided=p.level or 2,  # type: ignore[arg-type]
        level_2_cannot_deliver=p.level_2_cannot_deliver,
        level_3_criteria=p.level_3_criteria,
        rmp_actions=[
            ev.RmpActionSet(
                action_id=a.action_id,
                description="imported",
                owner_agency=a.owner_agency,
                due_date=a.due_date,
            )
            for a in p.rmp_actions
        ],
        next_review_date=p.next_review_date,
    )


def record_imported_meeting(case: CaseState, at: datetime) -> None:
    """The imported meeting names nobody (the system grants no reading of minutes it does not hold), and what
    followed it (minutes, SWIS alert, telling the subject) was done in the previous system."""
    meeting = case.meetings[-1]
    meeting.attendees, meeting.people, meeting.invited = [], [], []
    for deadline_id in (
        f"minutes:{meeting.meeting_id}",
        f"swis-alert:{meeting.meeting_id}",
        "subject-informed",
    ):
        cancel_if_open(case, deadline_id, DONE_BEFORE_IMPORT, at)


# Where an event's field names a row's column.
_COLUMN_OF = {
    "held_on": "last_meeting_on",
    "level_decided": "level",
    "record_search_agencies": "searches_outstanding",
    "attendees": "chair_agency",
    "referral.level_2_cannot_deliver": "level_2_cannot_deliver",
    "outcome": "level",
}


def as_row_error(error: CaseRuleError) -> CaseRuleError:
    """A refusal of one of the row's events, naming the row's column."""
    if error.field in _COLUMN_OF:
        error.field = _COLUMN_OF[error.field]
    return error


# ------------------------------------------------------------------ the one summary of an import (go-live)


@dataclass(frozen=True)
class PastAtImport:
    """A deadline already past when its case was imported: listed in the summary, never e-mailed alone."""

    case_ref: str
    kind: str
    title: str
    due_date: date
    re_escalated_to: str  # who hears of it two working days after the import if it is still not met


@dataclass(frozen=True)
class ExpectedMail:
    """Who an import e-mails, how many times, on which day and why (the dry run says it before anything starts)."""

    to: str
    notices: int
    on: date
    about: str


def expected_mail(policy: AreaPolicy, past: list[PastAtImport], as_of: datetime) -> list[ExpectedMail]:
    """At the import, the co-ordinator's one summary; two working days on, a re-escalation of each past deadline
    still not met, to whoever hears of a lasting breach (as for any breach). Nothing else is sent for the past."""
    if not past:
        return []
    cases = len({p.case_ref for p in past})
    mail = [
        ExpectedMail(
            CO_ORDINATOR,
            1,
            local_date(as_of),
            f"one summary listing {len(past)} deadline(s) of {cases} case(s) already past at the import",
        )
    ]
    again = local_date(next_re_escalation(policy, as_of))
    for to, count in sorted(Counter(p.re_escalated_to for p in past).items()):
        mail.append(
            ExpectedMail(
                to, count, again, "re-escalation of a deadline already past at the import, if still not met"
            )
        )
    return mail


# A notice is one Temporal payload: 13,417 past deadlines made 1.16 MB (Temporal refuses 2 MiB). The rest are counted;
# the ops page's pre-go-live report lists every one.
SUMMARY_LINES_LISTED = 2_000


def import_summary(area: str, past: list[PastAtImport], as_of: datetime) -> Notice | None:
    """The co-ordinator's one notice for an import: each case reference with the deadlines already past when it
    was imported (the rule's title and due day: no free text, nothing about a person). None when none are."""
    if not past:
        return None
    listed = sorted(past, key=lambda p: (p.case_ref, p.due_date, p.kind))
    digest = hashlib.blake2b(
        "\n".join(f"{p.case_ref} {p.kind} {p.due_date}" for p in listed).encode(), digest_size=8
    ).hexdigest()
    cases = len({p.case_ref for p in listed})
    return Notice(
        key=f"import-summary/{area}/{digest}",
        kind=NoticeKind.IMPORT_SUMMARY,
        case_ref=f"import {local_date(as_of):%Y-%m-%d}",
        area=area,
        to=CO_ORDINATOR,
        title=f"{len(listed)} deadline(s) of {cases} imported case(s) were already past at the import",
        lines=[
            f"{p.case_ref}: {p.title}, was due {p.due_date:%a %d %b %Y}"
            for p in listed[:SUMMARY_LINES_LISTED]
        ]
        + (
            [
                f'... and {len(listed) - SUMMARY_LINES_LISTED} more: the ops page lists them all under "Already past when imported"'
            ]
            if len(listed) > SUMMARY_LINES_LISTED
            else []
        ),
        raised_at=as_of,
    )
