"""What a meeting's record must show before it is kept (003 stage 4; 001, 004 on attendance and chairs).

A meeting follows its referral and plans nothing already past; each person present is named once and invited
(a substitute in an invitee's place); the chair is present and senior enough; at level 3 each agency can commit
its resources; the review date is within the level's maximum; each plan action has its own id. Pure checks on
the event: what the case does with a meeting is in workflows/rules/meetings.py.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, time, timedelta

from workflows.rules import events as ev
from workflows.rules.calendar import local_date, local_time_on
from workflows.rules.case_state import CaseState
from workflows.rules.due_dates import compute_due
from workflows.rules.errors import RuleViolation
from workflows.rules.management import REVIEW_KINDS
from workflows.rules.policy import AreaPolicy


def check_meeting_in_case_order(case: CaseState, e: ev.MeetingHeld, today: date) -> None:
    """A meeting follows its referral, and what it plans is not already past on the day it is recorded."""
    if case.referral is not None and e.held_on < local_date(case.referral.received_at):
        raise RuleViolation(
            f"a meeting cannot be dated before the referral it follows "
            f"(received {local_date(case.referral.received_at):%a %d %b %Y})",
            "meeting date",
            "held_on",
        )
    if e.next_review_date is not None and e.next_review_date < today:
        raise RuleViolation(
            f"the review date {e.next_review_date:%a %d %b %Y} is already past on the day the meeting is recorded",
            "review date",
            "next_review_date",
        )
    for action in e.rmp_actions:
        if action.due_date < today:
            raise RuleViolation(
                f"risk management plan action {action.action_id} is due {action.due_date:%a %d %b %Y}, already "
                "past on the day the meeting is recorded",
                "RMP action due date",
                "rmp_actions",
            )


def check_attendance(
    policy: AreaPolicy, level: int, e: ev.MeetingHeld, shortfalls: list[str] | None = None
) -> list[str]:
    """Who was invited and who came (001, 003, 004); returns the invited agencies nobody came from.

    Each person present is named once (each signs the statement, checked before this); everyone present comes
    from an invited agency, a substitute in place of its invitee (001: "a suitable replacement should be sent");
    the chair is present and senior enough for the level; at level 3 each agency present sends someone with the
    authority to commit its resources. Given `shortfalls`, what the meeting did that falls short of the last two
    is added to it instead of refused: the meeting happened, and its record must not be lost."""
    _check_people(e)
    _check_seniority(policy, level, e, shortfalls)
    present = {a.agency for a in e.attendees}
    return [agency for agency in dict.fromkeys(e.invited) if agency not in present]


def _check_people(e: ev.MeetingHeld) -> None:
    """Each person present named once, invited (or a substitute for an invitee), the chair among them."""
    unnamed = [a.agency for a in e.attendees if not a.name]
    if unnamed:
        raise RuleViolation(
            "name each person present (each signs the confidentiality statement); unnamed from: "
            + ", ".join(unnamed),
            "attendance",
            "attendees",
        )
    people = [(a.agency, (a.name or "").casefold()) for a in e.attendees]
    if len(set(people)) != len(people):
        raise RuleViolation("list each person present once", "attendance", "attendees")
    if not e.invited:
        raise RuleViolation(
            "record the agencies the co-ordinator invited (003: the co-ordinator arranges attendance)",
            "invitations",
            "invited",
        )
    uninvited = sorted({a.agency for a in e.attendees} - set(e.invited))
    if uninvited:
        raise RuleViolation(
            "everyone present comes from an invited agency (a substitute takes an invitee's place); not invited: "
            + ", ".join(uninvited)
            + " (add the agency to the invitations if the co-ordinator invited it)",
            "invitations",
            "invited",
        )
    if not any(a.agency == e.chair_agency and a.name == e.chair_name for a in e.attendees):
        raise RuleViolation(
            "name the chair (chair_name), one of the people present from the chair's agency",
            "chair",
            "chair_name",
        )


def _check_seniority(policy: AreaPolicy, level: int, e: ev.MeetingHeld, shortfalls: list[str] | None) -> None:
    """The chair senior enough for the level; at level 3 each agency present able to commit its resources."""
    needed = policy.policy.chair_grades.get(level)
    if needed is not None:
        grade, words = needed
        order = list(ev.ChairGrade)
        if e.chair_grade is None and shortfalls is not None:
            raise RuleViolation(
                f"say how senior the chair was (chair_grade): a level {level} meeting is chaired by {words}",
                "chair appropriate to the level",
                "chair_grade",
            )
        if e.chair_grade is None or order.index(e.chair_grade) < order.index(grade):
            if shortfalls is None:
                raise RuleViolation(
                    f"a level {level} meeting is chaired by {words}",
                    "chair appropriate to the level",
                    "chair_grade",
                )
            shortfalls.append(f"chaired by a {e.chair_grade}: a level {level} meeting is chaired by {words}")
    if level == 3:
        without = sorted(
            {a.agency for a in e.attendees} - {a.agency for a in e.attendees if a.can_commit_resources}
        )
        senior = "at level 3 each agency is represented by someone senior enough to commit its resources (001"
        senior += ", 004)" if policy.policy.level_3_criteria else ")"
        if without and shortfalls is not None:
            shortfalls.append(f"{senior}; nobody present could for: {', '.join(without)}")
        elif without:
            raise RuleViolation(
                f"{senior}; nobody present could for: " + ", ".join(without),
                "level 3 senior representation",
                "attendees",
            )


def review_date(policy: AreaPolicy, e: ev.MeetingHeld, in_own_unit: bool = True) -> date | None:
    """The review date set at a level 2 or 3 meeting, within the level's statutory maximum (003 stage 4).

    The maximum is read in its own unit: an area that overrides it in working days or months is counted so,
    not as weeks (`in_own_unit` False only for cases opened before that correction)."""
    if e.level_decided not in REVIEW_KINDS:
        return None
    rule = policy.rule(REVIEW_KINDS[e.level_decided])
    if in_own_unit:
        latest = compute_due(policy, rule, local_time_on(e.held_on, time(12))).due_date
        span = rule.timescale.amount_in_words()
    else:
        latest = e.held_on + timedelta(weeks=rule.timescale.amount)
        span = f"{rule.timescale.amount} weeks"
    if e.next_review_date is None:
        raise RuleViolation(
            f"set the review date at the meeting: at most {span} after it (by {latest:%a %d %b %Y})",
            "review date",
            "next_review_date",
        )
    if e.next_review_date > latest:
        raise RuleViolation(
            f"the review date {e.next_review_date:%a %d %b %Y} is later than the statutory maximum for "
            f"level {e.level_decided} in {policy.policy.name}: {span} after the meeting "
            f"(by {latest:%a %d %b %Y})",
            "review date maximum",
            "next_review_date",
        )
    if e.next_review_date <= e.held_on:
        raise RuleViolation("the review date must be after the meeting", "review date", "next_review_date")
    return e.next_review_date


def check_rmp_action_ids(actions: Sequence[ev.RmpActionSet]) -> None:
    """Each action of the risk management plan has its own id: it is met, and chased, on its own."""
    if len({a.action_id for a in actions}) != len(actions):
        raise RuleViolation("each RMP action needs its own id", "RMP action id", "rmp_actions")
