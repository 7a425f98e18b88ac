"""Who may read a minute or its executive summary, and on what basis (001, 002, 003; 000): the core's one decision.

Minutes go to the agencies present at the meeting as the case file records it, and to the ASP chair the
co-ordinator named while the case is open to MAPPA and ASP; beyond them only by a disclosure the chair granted,
to exactly its recipient, for what it names, until it expires. Pure: the moment is passed in."""

from datetime import UTC, date, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from tests.case_builders import community_notification
from workflows.rules import events as ev
from workflows.rules.case import CaseFile, Meeting
from workflows.rules.confidentiality import meetings_on_file, redact_for
from workflows.rules.minute_reads import (
    DisclosedPart,
    DisclosureOfMinute,
    DisclosureStatus,
    MeetingsOnFile,
    StoredMinute,
    decide_minute_read,
    may_ask_to_share,
    read_as_of_right,
)

HELD = date(2026, 3, 2)
NOW = datetime(2026, 3, 20, 10, tzinfo=UTC)
POLICE, JSW, NHS = "police-scotland-lanarkshire", "lanarkshire-justice-social-work", "nhs-lanarkshire"
ATTENDED = [POLICE, JSW, NHS]
HOUSING, COUNCIL = "lanarkshire-housing", "south-lanarkshire-council"
REF = "MIN-AAAAAAAAAAAA"
HIDDEN = ev.NotToBeShared(item="victim's new address", reason="risk to the victim")
ALSO_HIDDEN = ev.NotToBeShared(item="informant's name", reason="third-party source")


def the_minute(**changes: object) -> StoredMinute:
    values: dict[str, object] = {"minute_ref": REF, "held_on": HELD, "attendees": ATTENDED}
    values.update(changes)
    return StoredMinute(**values)  # type: ignore[arg-type]


def held_meeting(
    meeting_id: str = "meeting-1", held_on: date = HELD, minute_ref: str | None = REF
) -> Meeting:
    return Meeting(
        meeting_id=meeting_id,
        held_on=held_on,
        initial=meeting_id == "meeting-1",
        chair_agency=POLICE,
        level_decided=2,
        attendees=ATTENDED,
        not_to_be_shared=[HIDDEN],
        minute_ref=minute_ref,
        minute_digest="d" * 64 if minute_ref else None,
    )


def on_file(asp_chair: str | None = None) -> MeetingsOnFile:
    return MeetingsOnFile(meetings=[held_meeting()], asp_chair=asp_chair)


def granted(
    to: str = COUNCIL,
    what: DisclosedPart = DisclosedPart.EXECUTIVE_SUMMARY,
    expires_at: datetime | None = NOW + timedelta(days=30),
    status: DisclosureStatus = DisclosureStatus.GRANTED,
    disclosure_id: str = "DIS-AAAAAAAAAAAAAAAA",
    items_shared: tuple[str, ...] = (),
) -> DisclosureOfMinute:
    return DisclosureOfMinute(
        disclosure_id=disclosure_id,
        recipient=to,
        what=what,
        status=status,
        decided_by="Chair Smith" if status is not DisclosureStatus.REQUESTED else None,
        expires_at=expires_at,
        items_shared=items_shared,
    )


def basis(
    agency: str | None,
    part: DisclosedPart = DisclosedPart.MINUTE,
    disclosures: list[DisclosureOfMinute] | None = None,
    record: MeetingsOnFile | None = None,
    minute: StoredMinute | None = None,
    now: datetime = NOW,
) -> str | None:
    read = decide_minute_read(
        agency, part, minute or the_minute(), record or on_file(), disclosures or [], now
    )
    return None if read is None else read.basis


# ------------------------------------------------------------------ as of right


def test_an_agency_the_case_file_records_as_present_reads_the_minute_and_its_summary_as_of_right() -> None:
    for part in DisclosedPart:
        assert basis(NHS, part) == f"{NHS} attended meeting-1"
    assert basis(HOUSING) is None and basis(COUNCIL) is None
    assert basis(None) is None  # a user with no agency attended nothing


def test_the_case_file_not_the_minute_says_who_was_present() -> None:
    """A minute listing housing as present does not make housing a reader: the meeting recorded says who was."""
    assert basis(HOUSING, minute=the_minute(attendees=[HOUSING, *ATTENDED])) is None


def test_a_minute_no_recorded_meeting_names_gives_nobody_a_read_whoever_it_lists() -> None:
    for held_on in (date(2099, 1, 1), HELD):
        orphan = the_minute(minute_ref="MIN-BBBBBBBBBBBB", held_on=held_on, attendees=[HOUSING, NHS])
        assert basis(HOUSING, minute=orphan) is None
        assert basis(NHS, minute=orphan) is None


def test_once_the_case_history_is_gone_the_minute_s_own_attendees_decide_and_no_asp_chair_is_known() -> None:
    gone = decide_minute_read(NHS, DisclosedPart.MINUTE, the_minute(), None, [], NOW)
    assert gone is not None and gone.basis == f"{NHS} attended the meeting of 2026-03-02"
    assert decide_minute_read(COUNCIL, DisclosedPart.MINUTE, the_minute(), None, [], NOW) is None


def test_a_minute_older_than_the_meetings_a_long_case_carries_is_judged_by_its_own_attendees() -> None:
    later = MeetingsOnFile(
        meetings=[held_meeting("meeting-14", HELD + timedelta(weeks=30), "MIN-CCCCCCCCCCCC")],
        asp_chair=COUNCIL,
    )
    assert basis(NHS, record=later) == f"{NHS} attended the meeting of 2026-03-02"
    assert basis(HOUSING, record=later) is None
    assert "ASP" in (basis(COUNCIL, record=later) or "")
    # Held after the oldest meeting kept, yet named by none: the record of no meeting.
    assert basis(NHS, record=later, minute=the_minute(held_on=HELD + timedelta(weeks=31))) is None


def test_the_asp_chair_the_co_ordinator_named_reads_only_while_the_case_is_open_to_both() -> None:
    assert "chairs the ASP side" in (basis(COUNCIL, record=on_file(asp_chair=COUNCIL)) or "")
    case = CaseFile.open(community_notification(disposal_date=HELD), datetime(2026, 3, 2, 9, tzinfo=UTC))
    case.meetings = [held_meeting()]
    named = case.model_copy(update={"asp_open": True, "asp_chair_agency": COUNCIL, "asp_chair_named": True})
    assert "ASP" in (read_as_of_right(COUNCIL, the_minute(), meetings_on_file(named)) or "")
    # An ASP chair an agency appointed by naming itself, or an ASP side now closed, reads nothing.
    self_named = named.model_copy(update={"asp_chair_named": False})
    closed = named.model_copy(update={"asp_open": False})
    for case_file in (self_named, closed):
        assert read_as_of_right(COUNCIL, the_minute(), meetings_on_file(case_file)) is None


def test_the_case_file_keeps_back_what_a_meeting_did_not_share_from_those_who_were_not_there() -> None:
    case = CaseFile.open(community_notification(disposal_date=HELD), datetime(2026, 3, 2, 9, tzinfo=UTC))
    case.meetings = [held_meeting()]
    assert redact_for(HOUSING, case).meetings[0].not_to_be_shared == []
    assert redact_for(NHS, case).meetings[0].not_to_be_shared == [HIDDEN]
    assert case.meetings[0].not_to_be_shared == [HIDDEN]  # the workflow's own file is untouched


# ------------------------------------------------------------------ by the chair's permission (003 stage 4)


@given(
    what=st.sampled_from(DisclosedPart),
    status=st.sampled_from(DisclosureStatus),
    recipient=st.sampled_from([COUNCIL, HOUSING]),
    reader=st.sampled_from([COUNCIL, HOUSING]),
    part=st.sampled_from(DisclosedPart),
    lasts=st.integers(min_value=-90 * 24 * 60, max_value=90 * 24 * 60),  # minutes from now to its expiry
)
def test_a_disclosure_opens_exactly_what_it_names_to_exactly_its_recipient_until_it_expires(
    what: DisclosedPart,
    status: DisclosureStatus,
    recipient: str,
    reader: str,
    part: DisclosedPart,
    lasts: int,
) -> None:
    expires_at = NOW + timedelta(minutes=lasts)
    disclosure = granted(to=recipient, what=what, status=status, expires_at=expires_at)
    read = decide_minute_read(reader, part, the_minute(), on_file(), [disclosure], NOW)
    # 002: the whole minute covers its executive summary; a summary never opens the whole minute.
    covers = what is DisclosedPart.MINUTE or part is DisclosedPart.EXECUTIVE_SUMMARY
    should = status is DisclosureStatus.GRANTED and reader == recipient and covers and expires_at > NOW
    assert (read is not None) == should
    if read is not None:
        assert read.disclosure == disclosure
        assert read.basis == f"disclosure {disclosure.disclosure_id} granted by Chair Smith until " + (
            f"{expires_at:%Y-%m-%d %H:%M} UTC"
        )


def test_a_grant_expires_at_its_moment_not_a_minute_after() -> None:
    ends = NOW + timedelta(days=7)
    grant = [granted(expires_at=ends)]
    assert basis(COUNCIL, DisclosedPart.EXECUTIVE_SUMMARY, grant, now=ends - timedelta(seconds=1)) is not None
    assert basis(COUNCIL, DisclosedPart.EXECUTIVE_SUMMARY, grant, now=ends) is None
    # A grant with no expiry recorded opens nothing: a grant always says until when.
    assert basis(COUNCIL, DisclosedPart.EXECUTIVE_SUMMARY, [granted(expires_at=None)]) is None


def test_of_several_live_grants_the_read_is_by_the_one_that_lasts_longest() -> None:
    short = granted(disclosure_id="DIS-SHORTSHORTSHORT", expires_at=NOW + timedelta(days=2))
    long = granted(disclosure_id="DIS-LONGLONGLONGLONG", expires_at=NOW + timedelta(days=20))
    lapsed = granted(disclosure_id="DIS-LAPSEDLAPSEDLAP", expires_at=NOW - timedelta(days=1))
    for order in ([short, long, lapsed], [lapsed, long, short]):
        assert "DIS-LONGLONGLONGLONG" in (basis(COUNCIL, DisclosedPart.EXECUTIVE_SUMMARY, order) or "")


def test_an_attendee_reads_as_of_right_whatever_disclosures_name_it() -> None:
    to_nhs = granted(to=NHS, what=DisclosedPart.MINUTE)
    read = decide_minute_read(NHS, DisclosedPart.MINUTE, the_minute(), on_file(), [to_nhs], NOW)
    assert read is not None and read.disclosure is None and read.basis == f"{NHS} attended meeting-1"
    assert read.shows([HIDDEN, ALSO_HIDDEN]) == [HIDDEN, ALSO_HIDDEN]


def test_a_recipient_of_the_whole_minute_sees_only_the_items_not_to_be_shared_the_chair_named() -> None:
    whole = granted(what=DisclosedPart.MINUTE, items_shared=(ALSO_HIDDEN.item,))
    read = decide_minute_read(COUNCIL, DisclosedPart.MINUTE, the_minute(), on_file(), [whole], NOW)
    assert read is not None and read.shows([HIDDEN, ALSO_HIDDEN]) == [ALSO_HIDDEN]
    none_named = granted(what=DisclosedPart.MINUTE)
    read = decide_minute_read(COUNCIL, DisclosedPart.MINUTE, the_minute(), on_file(), [none_named], NOW)
    assert read is not None and read.shows([HIDDEN, ALSO_HIDDEN]) == []


def test_the_co_ordinator_or_a_reader_as_of_right_may_ask_to_share_and_a_recipient_may_not() -> None:
    assert may_ask_to_share(NHS, False, the_minute(), on_file())
    assert may_ask_to_share(HOUSING, True, the_minute(), on_file())  # the co-ordinator
    assert may_ask_to_share(COUNCIL, False, the_minute(), on_file(asp_chair=COUNCIL))
    # Reading by a disclosure is no right to pass the minute on.
    assert not may_ask_to_share(COUNCIL, False, the_minute(), on_file())
    assert not may_ask_to_share(None, False, the_minute(), on_file())
