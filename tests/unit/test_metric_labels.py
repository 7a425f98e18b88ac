"""The worker's metrics label each reminder and escalation with the kind of deadline it is about, told from
the notice itself; a label never carries a case reference."""

from datetime import UTC, datetime

import pytest

from activities.metrics import UNKNOWN_KIND, deadline_kind_of
from workflows.messages import Notice, NoticeKind
from workflows.rules.policy import DeadlineKind, area_policy

TITLES = {
    NoticeKind.BREACH_ESCALATION: "BREACHED: {}",
    NoticeKind.RE_ESCALATION: "still breached: {} (escalation 3)",
    NoticeKind.REMINDER: "reminder: {}",
}


def notice(kind: NoticeKind, title: str, area: str = "lanarkshire") -> Notice:
    return Notice(
        key="MAPPA-LAN-2026-ABC123/notice-7",
        kind=kind,
        case_ref="MAPPA-LAN-2026-ABC123",
        area=area,
        to="co-ordinator",
        deadline_id="some-deadline",
        title=title,
        due_at=datetime(2026, 3, 9, tzinfo=UTC),
    )


@pytest.mark.parametrize("area", ["lanarkshire", "wiltshire-and-swindon"])
@pytest.mark.parametrize("notice_kind", list(TITLES))
def test_every_kind_of_deadline_is_told_from_its_notice(area: str, notice_kind: NoticeKind) -> None:
    policy = area_policy(area)
    for kind in policy.policy.rules:
        title = TITLES[notice_kind].format(policy.rule(kind).title)
        assert deadline_kind_of(notice(notice_kind, title, area)) == kind.value, title


def test_levels_are_told_apart_and_an_action_by_its_rule_whatever_its_words() -> None:
    assert deadline_kind_of(
        notice(NoticeKind.BREACH_ESCALATION, "BREACHED: level 3 review meeting (MAPPP)")
    ) == (DeadlineKind.REVIEW_LEVEL_3.value)
    assert deadline_kind_of(notice(NoticeKind.REMINDER, "reminder: initial level 2 meeting")) == (
        DeadlineKind.INITIAL_MEETING_LEVEL_2.value
    )
    action = "BREACHED: risk management plan action: co-ordinator's decision on the referral about housing"
    assert deadline_kind_of(notice(NoticeKind.BREACH_ESCALATION, action)) == DeadlineKind.RMP_ACTION.value


def test_a_notice_no_rule_names_is_counted_as_unknown() -> None:
    assert deadline_kind_of(notice(NoticeKind.REMINDER, "reminder: tea with the chair")) == UNKNOWN_KIND
    assert (
        deadline_kind_of(notice(NoticeKind.REMINDER, "reminder: MAPPA referral", area="atlantis"))
        == UNKNOWN_KIND
    )
