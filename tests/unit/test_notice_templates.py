"""What notices say: one template per kind of notice, the case named by its reference, due times in London time."""

from datetime import UTC, datetime

import pytest

from activities.notices import WITH_FREE_TEXT, NoticeTemplates, local_due
from workflows.messages import Notice, NoticeKind


def notice(
    kind: NoticeKind, due_at: datetime | None = None, title: str = "initial level 2 meeting"
) -> Notice:
    return Notice(
        key="MAPPA-LAN-2026-0001/notice-7",
        kind=kind,
        case_ref="MAPPA-LAN-2026-0001",
        area="lanarkshire",
        to="co-ordinator",
        deadline_id="initial-meeting",
        title=title,
        lines=["20 working days after receipt of referral (Mon 02 Mar 2026)"],
        due_at=due_at,
    )


@pytest.mark.parametrize("kind", list(NoticeKind))
def test_every_kind_of_notice_has_a_message_naming_the_case(kind: NoticeKind) -> None:
    rendered = NoticeTemplates().render(notice(kind, datetime(2026, 3, 31, 0, 0, tzinfo=UTC)))
    assert rendered.subject.startswith("[MAPPA-LAN-2026-0001] ")
    assert "Case reference: MAPPA-LAN-2026-0001" in rendered.body
    assert "MAPPA area: Lanarkshire" in rendered.body
    if kind not in WITH_FREE_TEXT:
        assert "20 working days after receipt of referral" in rendered.body


def test_a_reminder_subject_gives_the_last_day_in_london_time_after_the_clocks_go_forward() -> None:
    # Midnight at the end of Mon 30 Mar 2026 in London (BST) is 23:00 UTC that day.
    due = datetime(2026, 3, 30, 23, 0, tzinfo=UTC)
    rendered = NoticeTemplates().render(notice(NoticeKind.REMINDER, due, "reminder: initial level 2 meeting"))
    assert (
        rendered.subject
        == "[MAPPA-LAN-2026-0001] reminder: initial level 2 meeting — due by end of Mon 30 Mar 2026"
    )


def test_a_deadline_counted_in_hours_shows_the_local_time() -> None:
    assert local_due(datetime(2026, 7, 1, 9, 30, tzinfo=UTC)) == "by 10:30 on Wed 01 Jul 2026"
    assert local_due(datetime(2026, 12, 1, 0, 0, tzinfo=UTC)) == "by end of Mon 30 Nov 2026"


def test_an_escalation_says_when_the_deadline_was_due() -> None:
    rendered = NoticeTemplates().render(
        notice(
            NoticeKind.BREACH_ESCALATION,
            datetime(2026, 3, 30, 23, 0, tzinfo=UTC),
            "BREACHED: initial level 2 meeting",
        )
    )
    assert rendered.subject.endswith("BREACHED: initial level 2 meeting — was due by end of Mon 30 Mar 2026")


def test_a_title_spread_over_lines_makes_a_one_line_subject() -> None:
    rendered = NoticeTemplates().render(
        notice(NoticeKind.REMINDER, title="reminder: RMP action: curfew\nchecks")
    )
    assert rendered.subject == "[MAPPA-LAN-2026-0001] reminder: RMP action: curfew checks"


@pytest.mark.parametrize(
    ("kind", "line"),
    [
        (
            NoticeKind.REFERRAL_DECISION,
            "Reasons: Mr A Example of 1 Example Street is already managed elsewhere",
        ),
        (NoticeKind.FURTHER_INFORMATION_REQUEST, "Missing: the address of A Example's new partner"),
    ],
)
def test_an_agencys_own_words_never_reach_the_e_mail_only_where_to_read_them(
    kind: NoticeKind, line: str
) -> None:
    # Issue 10, finding 8: a rejection's reasons naming the subject were in the body (and the outbox table).
    rendered = NoticeTemplates().render(
        Notice(
            key="MAPPA-LAN-2026-0001/notice-3",
            kind=kind,
            case_ref="MAPPA-LAN-2026-0001",
            area="lanarkshire",
            to="police-scotland-lanarkshire",
            title="referral not accepted",
            lines=[line],
        )
    )
    assert "Example" not in rendered.body and "Example" not in rendered.subject
    assert "read them in the case file" in rendered.body
    assert "names the case by its reference" in rendered.body
