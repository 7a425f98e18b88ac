"""Property-based: whatever a case went through, a transfer keeps every open obligation. Random histories (the
events, senders and gaps of test_case_properties), then a transfer asked of a random area and accepted some time
later. Either the acceptance is refused and nothing changes, or:

- every deadline open before the acceptance is open after it (none is dropped, cancelled or met by the move);
- each carries a recorded change naming the transfer, with its reason;
- a breached deadline stays breached, as it was missed (same due time, same breach);
- an open one is due no earlier than the end of the day the transfer was accepted, and no later than the
  receiving area's own count unless that is where it already was;
- the case's invariants hold afterwards, as time passes.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from tests.unit.rules.test_case_properties import (
    GAPS,
    OPENINGS,
    SENDERS,
    START,
    check_invariants,
    events_at,
    opened,
)
from workflows.rules import events as ev
from workflows.rules.calendar import end_of_local_day, local_date
from workflows.rules.case import CaseFile
from workflows.rules.deadlines import DeadlineState
from workflows.rules.errors import CaseRuleError
from workflows.rules.records import NoticeKind

# Each receiving area's agency that takes over whatever a sending agency owed (the lead agency first).
RECEIVING = {
    "glasgow": "police-scotland-glasgow",
    "lothian-and-borders": "police-scotland-edinburgh",
    "wiltshire-and-swindon": "wiltshire-police",
    "south-wales": "south-wales-police",
}


def _lived(case: CaseFile, data: st.DataObject, now: datetime, escalations: Counter) -> datetime:  # type: ignore[type-arg]
    for _ in range(data.draw(st.integers(0, 25), label="events before the transfer")):
        now += timedelta(minutes=data.draw(GAPS, label="minutes later"))
        event = data.draw(events_at(local_date(now)), label="event")
        case.tick(now)
        _count(case, escalations)
        sent = event.model_copy(update={"sent_by": data.draw(SENDERS, label="sender")})
        try:
            case.check(sent, now)
        except CaseRuleError:
            continue
        case.apply(sent, now)
        case.tick(now)
        _count(case, escalations)
        if case.stage.value in ("exited", "routed-to-information-sharing-meeting"):
            break
    return now


def _count(case: CaseFile, escalations: Counter) -> None:  # type: ignore[type-arg]
    for notice in case.take_outbox():
        if notice.kind is NoticeKind.BREACH_ESCALATION:
            escalations[(notice.deadline_id or "", notice.due_at)] += 1


@given(route=OPENINGS, area=st.sampled_from(sorted(RECEIVING)), data=st.data())
def test_no_open_deadline_is_silently_lost_across_a_transfer(
    route: str, area: str, data: st.DataObject
) -> None:
    case = opened(route)
    escalations: Counter = Counter()  # type: ignore[type-arg]
    case.tick(START)
    _count(case, escalations)
    now = _lived(case, data, START, escalations)
    asked = ev.TransferRequested(receiving_area=area, reason="the subject moved")
    try:
        case.check(asked, now)
    except CaseRuleError:
        return  # a closed case, or one at a stage that takes no transfer
    case.apply(asked, now)
    now += timedelta(minutes=data.draw(GAPS, label="minutes until the decision"))
    case.tick(now)
    _count(case, escalations)
    lead = RECEIVING[area]
    owed = {d.responsible for d in case.open_deadlines()} - {"co-ordinator", "chair"}
    accepted = ev.TransferAccepted(
        receiving_area=area,
        lead_agency=lead,
        handovers=[
            ev.AgencyHandover(from_agency=a, to_agency=a if a == "sps" else lead) for a in sorted(owed)
        ],
    )
    before = {d.deadline_id: d.model_copy() for d in case.open_deadlines()}
    try:
        case.check(accepted, now)
    except CaseRuleError as refusal:
        assert refusal.rule.startswith("transfer"), refusal.message  # a duty left behind, or an open ASP side
        return
    receipt = case.apply(accepted, now)
    floor = end_of_local_day(local_date(now))
    reasons = {c.deadline_id: c.reason for c in receipt.changes if c.change == "transferred"}
    for deadline_id, was in before.items():
        d = case.deadlines[deadline_id]
        if deadline_id == f"transfer-acceptance:{case.transfers[-1].transfer_id}":
            assert d.state is DeadlineState.MET
            continue
        assert d.is_open, f"{deadline_id} was open before the transfer and is {d.state.value} after it"
        assert reasons.get(deadline_id) and "transfer-" in str(reasons[deadline_id]), deadline_id
        if was.state is DeadlineState.BREACHED:
            assert (d.state, d.due_at, d.breached_at) == (DeadlineState.BREACHED, was.due_at, was.breached_at)
        elif d.due_at != was.due_at:
            assert d.due_at >= floor, f"{deadline_id} re-based to before the day of the acceptance"
    assert case.area == area
    for _ in range(3):
        now += timedelta(days=data.draw(st.integers(1, 40), label="days later"))
        case.tick(now)
        _count(case, escalations)
        # What was met or closed under the sending jurisdiction's rules is checked without them.
        applies = {k: d for k, d in case.deadlines.items() if case.policy.applies(d.kind)}
        check_invariants(case.model_copy(update={"deadlines": applies}), escalations)
