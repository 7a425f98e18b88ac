"""Changes to the statutory rules that alter what a case already running would do.

A case lives for years, so a corrected rule cannot simply replace the old one: replaying a case's history under
the new rule would take a different path (another timer, another deadline) and break it. Each correction is
named here. A new case follows every name in force when it opens; the workflow records each with
`workflow.patched(name)`, so a history made before a correction replays under the old rule, and a running case
takes up the corrections at its next continue-as-new. The core asks `case.follows(NAME)` where the old and new
rule differ; code that handles a case which took a correction mid-life must cope with state made before it.
"""

from __future__ import annotations

# Every correction in force for new cases, oldest first. Append; never remove or rename (histories name them).
RULE_CHANGES: tuple[str, ...] = (
    # The referral is due 5 working days from the notification's submission, not from its screening (003).
    REFERRAL_FROM_NOTIFICATION := "referral-from-notification",
    # Custody and CPA cases: the initial meeting falls due before release / discharge, not at 20 / 5 WD (003).
    INITIAL_MEETING_BEFORE_RELEASE := "initial-meeting-before-release",
    # Record searches fall due in time for the pre-meeting information exchange, which is a deadline (003).
    PRE_MEETING_INFORMATION_EXCHANGE := "pre-meeting-information-exchange",
    # Minutes, subject access, child protection referrals outlive the exit decision; the case closes after.
    OBLIGATIONS_OUTLIVE_EXIT := "obligations-outlive-exit",
    # A risk increase before the initial meeting may raise the level or bring the meeting forward.
    RISK_INCREASE_BEFORE_INITIAL_MEETING := "risk-increase-before-initial-meeting",
)
