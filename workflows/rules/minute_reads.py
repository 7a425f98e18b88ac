"""Who may read a minute or its executive summary, and on what basis (001, 002, 003; 000).

One decision, from plain data: the minute as stored, what the case file records of its meetings (or nothing, once
the case's history has gone), the disclosures of the minute, the reader's agency and the moment. As of right: an
agency the case file records as present at the meeting, or the ASP chair's agency while the case is open to MAPPA
and ASP (000). Otherwise only by the chair's permission (003 stage 4): a granted disclosure of what is read, not
expired. The API loads, asks this, audits and answers; it re-states none of it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum

from workflows.rules import events as ev
from workflows.rules.records import Meeting


class DisclosedPart(StrEnum):
    """What a disclosure shares: the executive summary (conclusions and actions) or the whole minute."""

    EXECUTIVE_SUMMARY = "executive-summary"
    MINUTE = "minute"


class DisclosureStatus(StrEnum):
    REQUESTED = "requested"
    GRANTED = "granted"
    REFUSED = "refused"


# 002: the executive summary is what a third party receives; a grant of the whole minute covers it too.
GRANTS_THAT_OPEN: dict[DisclosedPart, frozenset[DisclosedPart]] = {
    DisclosedPart.MINUTE: frozenset({DisclosedPart.MINUTE}),
    DisclosedPart.EXECUTIVE_SUMMARY: frozenset({DisclosedPart.EXECUTIVE_SUMMARY, DisclosedPart.MINUTE}),
}


@dataclass(frozen=True)
class StoredMinute:
    """A minute as stored: its own list of agencies present decides only once the case's history has gone."""

    minute_ref: str
    held_on: date
    attendees: Sequence[str]


@dataclass(frozen=True)
class MeetingsOnFile:
    """What the case file records that decides who reads a minute: its meetings (a long case carries only its
    latest ones into a new run) and the ASP chair's agency the co-ordinator named, while the ASP side is open."""

    meetings: Sequence[Meeting]
    asp_chair: str | None


@dataclass(frozen=True)
class DisclosureOfMinute:
    """A request to share the minute beyond its attendees, as the chair decided it (or not yet)."""

    disclosure_id: str
    recipient: str
    what: DisclosedPart
    status: DisclosureStatus
    decided_by: str | None
    expires_at: datetime | None
    items_shared: Sequence[str] = ()

    def opens(self, part: DisclosedPart, agency: str, now: datetime) -> bool:
        """Granted to exactly this agency, for this part (or the whole minute), and not expired."""
        return (
            self.status is DisclosureStatus.GRANTED
            and self.recipient == agency
            and self.what in GRANTS_THAT_OPEN[part]
            and self.expires_at is not None
            and self.expires_at > now
        )


@dataclass(frozen=True)
class MinuteRead:
    """A read allowed, and on what basis (for the audit trail)."""

    basis: str
    disclosure: DisclosureOfMinute | None = None  # the grant read by; None when read as of right

    def shows(self, not_to_be_shared: Sequence[ev.NotToBeShared]) -> list[ev.NotToBeShared]:
        """What the reader sees of the items marked not to be shared: all of them as of right; by a disclosure
        of the whole minute, only those the chair named when granting it."""
        if self.disclosure is None:
            return list(not_to_be_shared)
        granted = set(self.disclosure.items_shared)
        return [i for i in not_to_be_shared if i.item in granted]


def minute_meeting(meetings: Sequence[Meeting], minute_ref: str) -> Meeting | None:
    """The meeting the case file records this minute for, if any."""
    return next((m for m in meetings if m.minute_ref == minute_ref), None)


def _older_than_meetings_kept(meetings: Sequence[Meeting], held_on: date) -> bool:
    """A long case carries only its latest meetings into a new run: a minute of a meeting held before the oldest
    one kept (and not the first) is judged by its own attendee list, as once the history has gone."""
    if not meetings or meetings[0].meeting_id == "meeting-1":
        return False
    return held_on < meetings[0].held_on


def present_or_asp_chair(
    agency: str | None, at: str, attendees: Sequence[str], asp_chair: str | None
) -> str | None:
    """Why the agency shares in what a meeting shared, or None: it was present, or it chairs the ASP side of a
    case open to both (000; a chair the co-ordinator named, never one an agency appointed by naming itself)."""
    if agency is None:
        return None
    if agency in attendees:
        return f"{agency} attended {at}"
    if asp_chair is not None and agency == asp_chair:
        return f"{agency} chairs the ASP side of a case open to MAPPA and ASP (000)"
    return None


def read_as_of_right(agency: str | None, minute: StoredMinute, on_file: MeetingsOnFile | None) -> str | None:
    """Why the agency may read the minute as of right, or None. `on_file` is None once the case's history has gone
    (the namespace's retention after exit): then the minute's own attendee list decides."""
    if agency is None:
        return None
    if on_file is None:
        return present_or_asp_chair(
            agency, f"the meeting of {minute.held_on.isoformat()}", minute.attendees, None
        )
    meeting = minute_meeting(on_file.meetings, minute.minute_ref)
    if meeting is not None:
        # The case file's record of who was present, not the minute's claim.
        return present_or_asp_chair(agency, meeting.meeting_id, meeting.attendees, on_file.asp_chair)
    if _older_than_meetings_kept(on_file.meetings, minute.held_on):
        at = f"the meeting of {minute.held_on.isoformat()}"
        return present_or_asp_chair(agency, at, minute.attendees, on_file.asp_chair)
    return None  # no meeting the case file records names this minute: it is the record of no meeting


def decide_minute_read(
    agency: str | None,
    part: DisclosedPart,
    minute: StoredMinute,
    on_file: MeetingsOnFile | None,
    disclosures: Sequence[DisclosureOfMinute],
    now: datetime,
) -> MinuteRead | None:
    """Whether the agency may read `part` of the minute at `now`, and on what basis; None refuses it. As of right
    first; otherwise the granted, unexpired disclosure to it that lasts longest (003 stage 4: nothing goes beyond
    those present without the chair's permission)."""
    basis = read_as_of_right(agency, minute, on_file)
    if basis is not None:
        return MinuteRead(basis)
    if agency is None:
        return None
    live = [d for d in disclosures if d.opens(part, agency, now)]
    grant = max(live, key=lambda d: d.expires_at or now, default=None)
    if grant is None or grant.expires_at is None:
        return None
    return MinuteRead(
        f"disclosure {grant.disclosure_id} granted by {grant.decided_by} until "
        f"{grant.expires_at:%Y-%m-%d %H:%M} UTC",
        grant,
    )


def may_ask_to_share(
    agency: str | None, is_co_ordinator: bool, minute: StoredMinute, on_file: MeetingsOnFile | None
) -> bool:
    """Who may ask to share a minute beyond its attendees (and see what was asked): the co-ordinator, or an agency
    that reads it as of right. The chair decides (003 stage 4)."""
    return is_co_ordinator or read_as_of_right(agency, minute, on_file) is not None
