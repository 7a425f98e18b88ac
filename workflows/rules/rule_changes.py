"""Changes to the statutory rules that alter what a case already running would do.

A case lives for years, so a corrected rule cannot simply replace the old one: replaying a case's history under
the new rule would take a different path (another timer, another deadline) and break it. Each correction is
named here. A new case follows every name in force when it opens; the workflow records each with
`workflow.patched(name)`, so a history made before a correction replays under the old rule, and a running case
takes up the corrections at its next continue-as-new. The core asks `case.follows(NAME)` where the old and new
rule differ; code that handles a case which took a correction mid-life must cope with state made before it.
"""

from __future__ import annotations

# Issue 10, finding 7: every date an event gives lies in the case's own order. A meeting is not dated before the
# referral it follows, nor a date planned at it (review, plan actions) before the day it is recorded, and a
# deadline is never met before it was opened.
DATES_IN_CASE_ORDER = "dates-in-case-order"
# Issue 10, finding 10: a stored minute is the record of one meeting; a second meeting naming it is refused.
ONE_MINUTE_ONE_MEETING = "one-minute-one-meeting"

# Found by the property-based tests: a meeting held before the AP1 referral, or a second ASP screening, breached
# an AP1 deadline already breached again, and a level change re-armed a missed review at its past date (each a
# second escalation). A breach is escalated once; a missed review stays breached beside the new level's review.
BREACH_ESCALATED_ONCE = "breach-escalated-once"

# Every correction in force for new cases, oldest first. Append; never remove or rename (histories name them).
RULE_CHANGES: tuple[str, ...] = (DATES_IN_CASE_ORDER, ONE_MINUTE_ONE_MEETING, BREACH_ESCALATED_ONCE)
