"""A recall to custody, and the re-release: what pauses while the subject is in prison, and what falls due before
they come out again.

The seeds are silent on recall. What they do say is applied to the re-release as to any release: "for those
offenders within custody ... the initial Level 2 or Level 3 meeting must take place prior to their release" (003
stage 4), so a level 2 or 3 case owes a meeting before the re-release, counted back from the release day exactly
as a custody case's is (the same rule, `initial-meeting-before-release`). The rest is a choice the README's table
records: the community reviews and the plan's actions (supervision, accommodation, curfew: 004's measures) cannot
be done in prison, so they pause, each with the time it had left, and resume that long after the re-release;
everything else (minutes, SWIS alert, record searches, subject access, safeguarding, end-date notices) stays owed.
A paused deadline is never dropped: its pause and resumption are recorded changes with their reason.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from workflows.rules.calendar import end_of_local_day, local_date, local_time_on
from workflows.rules.case_state import CaseState
from workflows.rules.deadlines import (
    DeadlineState,
    DueDate,
    compute_due,
    is_open,
    open_deadline,
    pause_deadline,
    rearm_deadline,
    resume_deadline,
)
from workflows.rules.errors import AlreadyRecorded, RuleViolation
from workflows.rules.policy import AreaPolicy, DeadlineKind
from workflows.rules.recall_events import RecalledToCustody
from workflows.rules.records import CO_ORDINATOR, PausedDeadline, Recall

# What cannot be done while the subject is in prison: the community reviews and the plan's actions.
PAUSED_IN_CUSTODY = frozenset(
    {
        DeadlineKind.REVIEW_LEVEL_2,
        DeadlineKind.REVIEW_LEVEL_3,
        DeadlineKind.EXTRA_REVIEW,
        DeadlineKind.LEVEL_1_REVIEW,
        DeadlineKind.RMP_ACTION,
    }
)
PRE_RELEASE_TITLE = " (re-release after recall)"


def in_custody(case: CaseState, on: date) -> Recall | None:
    """The recall the subject is in prison under on `on`: recalled, and not yet re-released by then."""
    recall = case.recalls[-1] if case.recalls else None
    if recall is None or recall.recalled_on > on:
        return None
    if recall.re_release_on is not None and recall.re_release_on <= on:
        return None
    return recall


def record_recall(case: CaseState, policy: AreaPolicy, e: RecalledToCustody, now: datetime) -> None:
    today = local_date(now)
    _check_recall(case, e, today)
    paused: list[PausedDeadline] = []
    for d in sorted(case.deadlines.values(), key=lambda d: d.due_at):
        # A deadline already missed stays missed (and escalated): a recall does not excuse it.
        if d.state is not DeadlineState.OPEN or d.kind not in PAUSED_IN_CUSTODY:
            continue
        days_left = max(0, (d.due_date - today).days)
        pause_deadline(
            case,
            d.deadline_id,
            f"recalled to custody on {e.recalled_on:%a %d %b %Y}: owed again {days_left} days after the "
            "re-release",
            now,
        )
        paused.append(PausedDeadline(deadline_id=d.deadline_id, days_left=days_left))
    case.recalls.append(
        Recall(recalled_on=e.recalled_on, recorded_by=e.recorded_by, reason=e.reason, paused=paused)
    )


def _check_recall(case: CaseState, e: RecalledToCustody, today: date) -> None:
    if e.recalled_on > today:
        raise RuleViolation("a recall is recorded once it has happened", "recall date", "recalled_on")
    current = in_custody(case, e.recalled_on)
    if current is not None:
        raise AlreadyRecorded(
            f"the subject was recalled on {current.recalled_on:%a %d %b %Y} and has not been re-released",
            "recall",
        )
    if case.release_date is not None and not case.recalls and case.release_date > e.recalled_on:
        raise RuleViolation(
            f"the subject is not released until {case.release_date:%a %d %b %Y}: record a new release date "
            "instead",
            "recall after release",
            "recalled_on",
        )
    earlier = [case.meetings[-1].held_on] if case.meetings else []
    earlier += [r.re_release_on for r in case.recalls if r.re_release_on is not None]
    if earlier and e.recalled_on < max(earlier):
        raise RuleViolation(
            f"a recall is dated in the case's order: not before {max(earlier):%a %d %b %Y}, the last meeting "
            "or re-release",
            "recall date",
            "recalled_on",
        )


def set_re_release(case: CaseState, policy: AreaPolicy, release_date: date, why: str, now: datetime) -> bool:
    """A release date for a recalled case: the meeting due before it (003 stage 4, as for a custody case) and
    the paused deadlines, resumed as long after it as they had left. False when the case is not recalled."""
    recall = case.recalls[-1] if case.recalls else None
    if recall is None or (recall.re_release_on is not None and recall.re_release_on <= local_date(now)):
        return False  # never recalled, or re-released already
    if release_date <= recall.recalled_on:
        raise RuleViolation(
            f"the re-release comes after the recall on {recall.recalled_on:%a %d %b %Y}",
            "re-release date",
            "release_date",
        )
    if release_date == recall.re_release_on:
        raise RuleViolation("the release date is already that day", "re-release date", "release_date")
    case.release_date = release_date
    if case.level in (2, 3):
        _pre_release_meeting(case, policy, recall, release_date, why, now)
    for p in recall.paused:
        d = case.deadlines.get(p.deadline_id)
        if d is None:
            continue
        day = release_date + timedelta(days=p.days_left)
        due = DueDate(
            end_of_local_day(day),
            day,
            f"{p.days_left} days after the re-release ({release_date:%a %d %b %Y}), the time it had left at the "
            "recall",
        )
        if d.state is DeadlineState.PAUSED:
            resume_deadline(case, policy, p.deadline_id, due, now, why)
        elif d.is_open:
            rearm_deadline(case, policy, p.deadline_id, due, now, why)
    recall.re_release_on = release_date
    return True


def _pre_release_meeting(
    case: CaseState, policy: AreaPolicy, recall: Recall, release_date: date, why: str, now: datetime
) -> None:
    """003 stage 4: the meeting before release, counted back from the release day as for a custody case."""
    start = local_time_on(release_date, time(12))
    if recall.pre_release_meeting is not None and is_open(case, recall.pre_release_meeting):
        rule = policy.rule(DeadlineKind.INITIAL_MEETING_BEFORE_RELEASE)
        rearm_deadline(case, policy, recall.pre_release_meeting, compute_due(policy, rule, start), now, why)
        return
    if recall.pre_release_meeting is not None:
        return  # held already: a moved release date does not ask for a second one
    deadline_id = f"pre-release-meeting:{len(case.recalls)}"
    open_deadline(
        case,
        policy,
        DeadlineKind.INITIAL_MEETING_BEFORE_RELEASE,
        deadline_id,
        CO_ORDINATOR,
        start,
        now,
        title_suffix=PRE_RELEASE_TITLE,
    )
    recall.pre_release_meeting = deadline_id
