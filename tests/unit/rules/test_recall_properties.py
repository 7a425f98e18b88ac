"""Property-based: across a recall to custody and the re-release, no open deadline is silently lost. Each one open
before the recall is still open afterwards, or paused with a recorded change naming the reason; at the re-release
each paused one is owed again (a recorded resumption); and none leaves the case file at continue-as-new while it is
paused. `make test` runs the ci profile (tests/unit/rules/test_case_properties.py registers it)."""

from __future__ import annotations

from datetime import date, timedelta

from hypothesis import given
from hypothesis import strategies as st

from tests.case_builders import SCOTTISH_AGENCIES, meeting
from tests.unit.rules import test_case_properties as _profiles  # noqa: F401  (registers the profiles)
from tests.unit.rules.cases import at, referred_case
from workflows.rules import events as ev
from workflows.rules.case import CaseFile
from workflows.rules.deadlines import DeadlineState

HELD = date(2026, 12, 1)


def _managed(actions: list[tuple[str, int]], review_in: int, level: int) -> CaseFile:
    case = referred_case(level)
    plan = [
        ev.RmpActionSet(
            action_id=a, owner_agency=SCOTTISH_AGENCIES[0], description="x", due_date=HELD + timedelta(d)
        )
        for a, d in actions
    ]
    case.apply(meeting(HELD, HELD + timedelta(days=review_in), level=level, actions=plan), at(HELD))
    return case


ACTIONS = st.lists(
    st.tuples(st.sampled_from(["A1", "A2", "A3"]), st.integers(0, 90)), max_size=3, unique_by=lambda a: a[0]
)


@given(
    actions=ACTIONS,
    review_in=st.integers(1, 42),
    level=st.sampled_from([2, 3]),
    recalled_after=st.integers(0, 60),
    released_after=st.one_of(st.none(), st.integers(1, 200)),
    recorded_after=st.integers(0, 5),
)
def test_no_open_deadline_is_silently_lost_across_a_recall_and_re_release(
    actions: list[tuple[str, int]],
    review_in: int,
    level: int,
    recalled_after: int,
    released_after: int | None,
    recorded_after: int,
) -> None:
    case = _managed(actions, review_in, level)
    recalled = HELD + timedelta(days=recalled_after)
    now = at(recalled + timedelta(days=recorded_after))
    case.tick(now)
    owed = {i for i, d in case.deadlines.items() if d.is_open}
    receipt = case.apply(
        ev.RecalledToCustody(recorded_by=SCOTTISH_AGENCIES[0], recalled_on=recalled, reason="licence-breach"),
        now,
    )
    paused = {c.deadline_id for c in receipt.changes if c.change == "paused"}
    for deadline_id in owed:
        d = case.deadlines[deadline_id]
        assert d.is_open or (deadline_id in paused and d.state is DeadlineState.PAUSED and d.pause_reason)
    # Continue-as-new keeps what is paused: it is still owed.
    case.archive_closed(keep=0, meetings_kept=1)
    assert paused <= set(case.deadlines)
    if released_after is None:
        return
    release = recalled + timedelta(days=released_after)
    later = at(recalled + timedelta(days=recorded_after + 1))
    receipt = case.apply(
        ev.ReleaseDateChanged(recorded_by="sps", release_date=release, reason="recall"), later
    )
    assert {c.deadline_id for c in receipt.changes if c.change == "resumed"} == paused
    for deadline_id in owed:
        assert case.deadlines[deadline_id].is_open
    assert case.deadlines["pre-release-meeting:1"].is_open
