"""What the deadline calculator says an imported row's case owes: the independent answer the import tests
compare each case's deadlines with (same area, rule and date, nothing else shared)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from api.calculator import calculate_deadline
from api.imports import ImportRow, directory_from_file
from store.directory import DirectoryFile

# The example agencies of store/seed/directory.json, as an import is checked against the loaded directory.
SEED_DIRECTORY = directory_from_file(
    DirectoryFile.read(Path(__file__).resolve().parents[1] / "store" / "seed" / "directory.json")
)

# The row's date each rule counts from.
COUNTED_FROM = {
    "screening": "notified_on",
    # 003 stage 2: "within five working days of submission of the notification form".
    "referral": "notified_on",
    "referral-decision": "referral_received_on",
    "asp-screening": "referral_received_on",
    "asp-screening:notification": "notified_on",
    # 004: level 1 from the screening that decided it (the import's day when the row gives none).
    "level-1-rmp": "screened_on",
    "level-1-review": "screened_on",
    "initial-meeting-level-2": "referral_received_on",
    "initial-meeting-level-3": "referral_received_on",
    "review-level-2": "last_meeting_on",
    "review-level-3": "last_meeting_on",
    "sonr-exit-notice": "sonr_end_date",
    "exit-review": "sonr_end_date",
    "supervision-end-notice": "licence_end_date",
    "supervision-exit-review": "licence_end_date",
}


# Counted back from, or capped by, the initial meeting's due day: the import-as-live property test checks them.
HANG_ON_THE_MEETING = {"record-search", "pre-meeting-information"}


def expected_due_date(row: ImportRow, kind: str, deadline_id: str, today: date) -> date | None:
    """The due date the calculator gives for `kind` counted from the row's date; a date the row sets (a review
    set at the meeting, an RMP action's own date) where it comes sooner, as for a live case. None for the
    deadlines that hang on the initial meeting's date."""
    if kind in HANG_ON_THE_MEETING:
        return None
    if kind == "rmp-action":
        action_id = deadline_id.rsplit(":", 1)[1]
        return next(a.due_date for a in row.rmp_actions if a.action_id == action_id)
    day = getattr(row, COUNTED_FROM.get(deadline_id, COUNTED_FROM[kind]))
    if day is None and COUNTED_FROM[kind] == "referral_received_on":
        # A referral older than the row says came, and was accepted, no later than the last meeting.
        day = row.accepted_on or row.last_meeting_on
    day = day or today
    due = calculate_deadline(row.area, kind, day).due_date
    if kind.startswith("review-") and row.next_review_date is not None:
        return min(due, row.next_review_date)
    return due
