"""Every statutory timescale, as data: what each deadline is, how long it runs and which guidance says so.

Each rule names the seed and section it comes from (docs/SOURCES.md). Values the seeds leave open are policy
values, marked `policy value` in their source, with the defaults explained in the README. Nothing else in the
system holds a timescale: the case state machine, the deadline calculator and the API read them from here, per
jurisdiction and area (policy.py).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum
from typing import Literal


class DeadlineKind(StrEnum):
    NOTIFICATION = "notification"
    SCREENING = "screening"
    REFERRAL = "referral"
    CUSTODY_REFERRAL = "custody-referral"
    RESTRICTED_PATIENT_REFERRAL = "restricted-patient-referral"
    REFERRAL_DECISION = "referral-decision"
    FURTHER_INFORMATION = "further-information"
    ASP_SCREENING = "asp-screening"
    AP1_REFERRAL = "ap1-referral"
    ASP_INFORMATION_SHARING = "asp-information-sharing"
    ADULT_SAFEGUARDING_REFERRAL = "adult-safeguarding-referral"
    CHILD_PROTECTION_REFERRAL = "child-protection-referral"
    RECORD_SEARCH = "record-search"
    RECORD_SEARCH_BEFORE_MEETING = "record-search-before-meeting"
    PRE_MEETING_INFORMATION = "pre-meeting-information"
    INITIAL_MEETING_LEVEL_2 = "initial-meeting-level-2"
    INITIAL_MEETING_LEVEL_3 = "initial-meeting-level-3"
    INITIAL_MEETING_BEFORE_RELEASE = "initial-meeting-before-release"
    MINUTES = "minutes"
    SWIS_ALERT = "swis-alert"
    RMP_ACTION = "rmp-action"
    REVIEW_LEVEL_2 = "review-level-2"
    REVIEW_LEVEL_3 = "review-level-3"
    RISK_CHANGE_TRIAGE = "risk-change-triage"
    EXTRA_REVIEW = "extra-review"
    SONR_EXIT_NOTICE = "sonr-exit-notice"
    EXIT_REVIEW = "exit-review"
    SUBJECT_ACCESS_REQUEST = "subject-access-request"
    SAR_CONSULTATION = "sar-consultation"
    LEVEL_1_RMP = "level-1-rmp"
    LEVEL_1_REVIEW = "level-1-review"
    SUBJECT_INFORMED = "subject-informed"
    SUPERVISION_END_NOTICE = "supervision-end-notice"
    SUPERVISION_EXIT_REVIEW = "supervision-exit-review"
    TRANSFER_ACCEPTANCE = "transfer-acceptance"


Unit = Literal["working_days", "weeks", "hours", "same_day", "calendar_months", "set_at_event"]


@dataclass(frozen=True)
class Timescale:
    """How far a deadline lies from the day (or instant) it is counted from.

    `before` counts backwards (custody referral: 12 weeks before release). `set_at_event` means the date comes
    with the event itself (an RMP action's due date), bounded by nothing here.
    """

    unit: Unit
    amount: int = 0
    before: bool = False

    def amount_in_words(self) -> str:
        """ "20 working days", "1 calendar month": the span, without its direction."""
        words = {
            "working_days": "working day",
            "weeks": "week",
            "hours": "hour",
            "calendar_months": "calendar month",
        }[self.unit]
        return f"{self.amount} {words}{'' if self.amount == 1 else 's'}"

    def describe(self) -> str:
        if self.unit == "same_day":
            return "the same day"
        if self.unit == "set_at_event":
            return "the date set at the meeting"
        return f"{self.amount_in_words()} {'before' if self.before else 'after'}"


Responsible = Literal[
    "co-ordinator",
    "lead agency",
    "referring agency",
    "each agency",
    "chair",
    "lead professional",
    "owner agency",
    "council officer",
    "agency that identified the risk",
]


@dataclass(frozen=True)
class StatutoryRule:
    kind: DeadlineKind
    title: str  # what the deadline is, in a co-ordinator's words: "initial level 2 meeting"
    text: str  # the rule as the guidance states it
    source: str  # seed file(s) or "policy value"
    timescale: Timescale
    counted_from: str  # the event the count starts at, for explanations
    responsible: Responsible
    # A reminder goes to the responsible agency this long before the deadline (None: no reminder).
    reminder: Timescale | None = None


_SEED = re.compile(r"\b00[0-4]\b")


def source_in_words(source: str) -> str:
    """Why a deadline falls when it does, for a reader who does not know the guidance by number: a rule's
    `source` in plain words, the guidance numbers kept at the end as the reference (docs/SOURCES.md)."""
    cited = ", ".join(dict.fromkeys(_SEED.findall(source)))
    reference = f" (guidance {cited})" if cited else ""
    if source.endswith(" area policy"):
        area = source.rpartition("; ")[2].removesuffix(" area policy")
        return f"{area} sets its own time for this, in place of the usual one{reference}"
    if source.startswith("policy value in England and Wales"):
        return (
            "the England and Wales guidance sets no time for this, so the time the Scottish guidance sets is "
            f"used{reference}"
        )
    if "policy value" in source:
        return f"the guidance asks for this without setting a time, so a time was chosen locally{reference}"
    return f"the time the MAPPA guidance sets{reference}"


def in_working_days(n: int) -> Timescale:
    return Timescale("working_days", n)


def in_weeks(n: int, before: bool = False) -> Timescale:
    return Timescale("weeks", n, before)
