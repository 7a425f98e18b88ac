"""A transfer of the case to another MAPPA area, in the same jurisdiction or across the border: the sending
co-ordinator asks, the receiving co-ordinator accepts (or declines, with reasons) within the acceptance deadline.

No seed speaks of transfers (000-004 describe one area's arrangements; DOMAIN.md only that each deadline names
who owes it and that working days are the case's jurisdiction's). What is chosen here is in the README's table
of choices:

- The case keeps its reference and its one record: the same workflow, history, level, meetings and deadlines.
- The acceptance is owed by the receiving area's co-ordinator (its reminder and escalation go to that area).
- On acceptance every open deadline stays open, owed in the receiving area: its agency's by the handover the
  receiving co-ordinator names (the lead agency's to the new lead agency; a role's to the role there). A
  deadline counted in working days or weeks is counted again from the same day under the receiving area's
  calendar and timescales (DOMAIN.md: working days are the jurisdiction's): a plain count moves to the recount,
  sooner or later; a date set otherwise (at a meeting, a cap, a move) moves only when the recount is sooner
  (001, 003: a review "must not be later than the maximum; may be sooner"). Never before the end of the day the
  transfer is accepted. A breached deadline stays breached. Each change is recorded with its reason.
- A duty the receiving jurisdiction does not have (Scotland's ASP and SWIS duties, 000; England and Wales's
  adult safeguarding referral, 002, 004), or an open ASP side, is met or closed before the case crosses the
  border: acceptance is refused until then, so no obligation is left behind unowned.
"""

from __future__ import annotations

from datetime import datetime, time

from workflows.rules.calendar import Jurisdiction, end_of_local_day, local_date, local_time_on
from workflows.rules.case_state import CaseState
from workflows.rules.deadlines import (
    Deadline,
    DeadlineState,
    DueDate,
    compute_due,
    meet_deadline,
    open_deadline,
    rearm_deadline,
    touch,
)
from workflows.rules.errors import RuleViolation
from workflows.rules.policy import AREAS, AreaPolicy, DeadlineKind, area_policy
from workflows.rules.records import CHAIR, CO_ORDINATOR, DeadlineChange, NoticeKind, Transfer
from workflows.rules.rule_changes import WEEKS_BACK_TO_WORKING_DAY
from workflows.rules.transfer_events import TransferAccepted, TransferDeclined, TransferRequested

ROLES = frozenset({CO_ORDINATOR, CHAIR})
RECOUNTED_UNITS = frozenset({"working_days", "weeks"})


def _name(area_id: str) -> str:
    return AREAS[area_id].name if area_id in AREAS else area_id


def request_transfer(case: CaseState, policy: AreaPolicy, e: TransferRequested, now: datetime) -> None:
    if e.receiving_area not in AREAS:
        raise RuleViolation(
            f"{e.receiving_area} is not a MAPPA area (areas: {', '.join(sorted(AREAS))})",
            "transfer: receiving area",
            "receiving_area",
        )
    if e.receiving_area == case.area:
        raise RuleViolation(
            f"the case is already in {_name(case.area)}", "transfer: receiving area", "receiving_area"
        )
    pending = case.pending_transfer
    if pending is not None:
        raise RuleViolation(
            f"{pending.transfer_id} to {_name(pending.to_area)} awaits that area's decision: one transfer at a time",
            "one transfer at a time",
            "receiving_area",
        )
    receiving = area_policy(e.receiving_area)
    actor = case.sender[0]
    transfer = Transfer(
        transfer_id=f"transfer-{len(case.transfers) + 1}",
        from_area=case.area,
        to_area=e.receiving_area,
        from_jurisdiction=case.jurisdiction.value,
        to_jurisdiction=receiving.area.jurisdiction.value,
        reason=e.reason,
        proposed_on=e.proposed_on,
        requested_at=now,
        requested_by=actor.describe() if actor else CO_ORDINATOR,
    )
    case.transfers.append(transfer)
    route = f" ({_name(case.area)} to {_name(e.receiving_area)})"
    # Counted on the receiving area's calendar: its co-ordinator owes the decision.
    d = open_deadline(
        case,
        receiving,
        DeadlineKind.TRANSFER_ACCEPTANCE,
        transfer.acceptance_deadline,
        CO_ORDINATOR,
        now,
        now,
        title_suffix=route,
    )
    d.owed_in_area = e.receiving_area
    case.notify(
        NoticeKind.CASE_TRANSFER,
        CO_ORDINATOR,
        f"transfer requested{route}",
        [
            f"{_name(case.area)} asks {_name(e.receiving_area)} to take this case over; the reasons are in "
            "the case file.",
            d.explanation,
        ],
        d.deadline_id,
        d.due_at,
    )


def _pending_for(case: CaseState, receiving_area: str) -> Transfer:
    pending = case.pending_transfer
    if pending is None:
        raise RuleViolation("no transfer of this case awaits a decision", "transfer pending")
    if pending.to_area != receiving_area:
        raise RuleViolation(
            f"the transfer awaiting a decision is to {_name(pending.to_area)}, not {_name(receiving_area)}: "
            "only the receiving area decides it",
            "transfer: receiving area decides",
            "receiving_area",
        )
    return pending


def decline_transfer(case: CaseState, policy: AreaPolicy, e: TransferDeclined, now: datetime) -> None:
    transfer = _pending_for(case, e.receiving_area)
    meet_deadline(case, transfer.acceptance_deadline, now)
    actor = case.sender[0]
    transfer.outcome, transfer.decided_at, transfer.decline_reason = "declined", now, e.reason
    transfer.decided_by = actor.describe() if actor else CO_ORDINATOR
    case.notify(
        NoticeKind.CASE_TRANSFER,
        CO_ORDINATOR,
        f"transfer declined ({_name(transfer.from_area)} to {_name(transfer.to_area)})",
        [f"{_name(transfer.to_area)} declined the transfer; its reasons are in the case file."],
        area=transfer.from_area,
    )


def check_nothing_left_behind(case: CaseState, sending: AreaPolicy, receiving: AreaPolicy) -> None:
    """Across the border: a duty only the sending jurisdiction has is met (or closed) before the case leaves."""
    behind = [
        d
        for d in case.open_deadlines()
        if d.kind is not DeadlineKind.TRANSFER_ACCEPTANCE and not receiving.applies(d.kind)
    ]
    if behind:
        titles = "; ".join(f"{d.title} ({d.source})" for d in behind)
        raise RuleViolation(
            f"still open, with no counterpart in {receiving.policy.name}: {titles}. Record it (late, if need be) "
            f"in {sending.policy.name} before the case moves",
            "transfer: duty with no counterpart",
        )
    if case.asp_open and not receiving.policy.asp_link:
        raise RuleViolation(
            f"the case is open to Adult Support and Protection (000), which does not apply in "
            f"{receiving.policy.name}: close the ASP side (asp-side-closed) before the case moves",
            "transfer: ASP side open",
        )


def _handovers(case: CaseState, e: TransferAccepted) -> dict[str, str]:
    """Who owes each agency's open deadlines after the transfer: the lead agency's go to the new lead agency. An
    agency named that owes nothing open is taken as said (an area may name its usual counterparts every time)."""
    named = {h.from_agency: h.to_agency for h in e.handovers}
    owed = {d.responsible for d in case.open_deadlines() if d.responsible not in ROLES}
    owed.discard(case.lead_agency)
    if missing := sorted(owed - set(named)):
        raise RuleViolation(
            f"{', '.join(missing)} owes this case open deadlines: name who takes each over in "
            f"{_name(e.receiving_area)} (handovers; a national agency hands over to itself)",
            "transfer: responsibilities handed over",
            "handovers",
        )
    return {case.lead_agency: e.lead_agency, **named}


def accept_transfer(case: CaseState, policy: AreaPolicy, e: TransferAccepted, now: datetime) -> None:
    transfer = _pending_for(case, e.receiving_area)
    receiving = area_policy(transfer.to_area)
    check_nothing_left_behind(case, policy, receiving)
    handovers = _handovers(case, e)
    meet_deadline(case, transfer.acceptance_deadline, now)
    today = local_date(now)
    floor = DueDate(end_of_local_day(today), today, "the day the transfer was accepted")
    for d in case.open_deadlines():
        transfer.rebased.append(take_over(case, policy, receiving, d, handovers, floor, now, transfer))
    actor = case.sender[0]
    transfer.outcome, transfer.decided_at = "accepted", now
    transfer.decided_by = actor.describe() if actor else CO_ORDINATOR
    transfer.lead_agency_before, transfer.lead_agency_after = case.lead_agency, e.lead_agency
    case.area, case.lead_agency = transfer.to_area, e.lead_agency
    case.jurisdiction = Jurisdiction(transfer.to_jurisdiction)
    moved = [line for line in transfer.rebased if " moved " in line]
    route = f"({_name(transfer.from_area)} to {_name(transfer.to_area)})"
    for area, lines in (
        (transfer.from_area, [f"{_name(transfer.to_area)} accepted the case; you keep read access to it."]),
        (
            transfer.to_area,
            [
                f"The case is now {_name(transfer.to_area)}'s, led by {e.lead_agency}: "
                f"{len(transfer.rebased)} open deadline(s) taken over, {len(moved)} re-based.",
                *moved,
            ],
        ),
    ):
        case.notify(NoticeKind.CASE_TRANSFER, CO_ORDINATOR, f"transfer accepted {route}", lines, area=area)


def take_over(
    case: CaseState,
    sending: AreaPolicy,
    receiving: AreaPolicy,
    d: Deadline,
    handovers: dict[str, str],
    floor: DueDate,
    now: datetime,
    transfer: Transfer,
) -> str:
    """One open deadline taken over by the receiving area: its owner, and its due date re-based. Recorded."""
    before = d.responsible
    d.responsible = handovers.get(before, before)
    who = f"; {before} hands it to {d.responsible}" if d.responsible != before else ""
    if d.state is DeadlineState.BREACHED:
        why = f"stays breached, as missed in {sending.area.name} on {d.due_date:%d %b %Y}"
    else:
        why = rebase(case, sending, receiving, d, floor, now)
    case.changes.append(
        DeadlineChange(
            deadline_id=d.deadline_id,
            title=d.title,
            change="transferred",
            due_at=d.due_at,
            reason=f"{transfer.transfer_id} to {receiving.area.name}: {why}{who}",
        )
    )
    touch(case, d.deadline_id)
    return f"{d.deadline_id}: {why}{who}"


def rebase(
    case: CaseState, sending: AreaPolicy, receiving: AreaPolicy, d: Deadline, floor: DueDate, now: datetime
) -> str:
    """Count an open deadline again from its day under the receiving area's rule and calendar; say what moved."""
    rule = receiving.rule(d.kind)
    was_due = f"due {d.due_date:%d %b %Y}"
    if rule.timescale.unit not in RECOUNTED_UNITS:
        return f"{was_due} as before ({rule.timescale.describe()}: the same in every area)"
    start = local_time_on(d.counted_from, time(12))
    back = case.follows(WEEKS_BACK_TO_WORKING_DAY)
    was = compute_due(sending, sending.rule(d.kind), start, weeks_back_to_working_day=back)
    recount = compute_due(receiving, rule, start, weeks_back_to_working_day=back)
    own_count = d.set_at_meeting is None and d.due_at == was.due_at
    if recount.due_at == d.due_at:
        return f"{was_due} as before ({receiving.area.name}'s count gives the same day)"
    if not own_count and recount.due_at > d.due_at:
        return (
            f"{was_due} as before: the date was set (at a meeting, by a cap or a move) and "
            f"{receiving.area.name}'s count ({recount.due_date:%d %b %Y}) is no sooner"
        )
    target = recount
    if target.due_at < floor.due_at:
        target = DueDate(
            floor.due_at, floor.due_date, f"{recount.explanation}; not before {floor.explanation}"
        )
    old = d.due_date
    rearm_deadline(
        case, receiving, d.deadline_id, target, now, f"re-based on the transfer to {receiving.area.name}"
    )
    return (
        f"moved from {old:%d %b %Y} to {d.due_date:%d %b %Y}: {rule.timescale.describe()} "
        f"{rule.counted_from} under {receiving.area.name}'s calendar and timescales ({rule.source})"
    )
