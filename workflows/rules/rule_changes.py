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
# Named once here so the core can ask `case.follows(...)` without repeating the string.
PER_PERSON_ATTENDANCE = "per-person-attendance"
LEVEL_1_REVIEW = "level-1-review"
ELIGIBILITY = "eligibility-and-referrers"
EXIT_BASIS = "exit-basis"
WEEKS_BACK_TO_WORKING_DAY = "weeks-back-to-working-day"
ESCALATION_ROUTING = "escalation-routing"
SUBJECT_INFORMED_DEADLINE = "subject-informed-deadline"
REVIEW_OVERRIDE_IN_OWN_UNIT = "review-override-in-own-unit"

RULE_CHANGES: tuple[str, ...] = (
    # A meeting lists each person present (substitutes marked), each signs; invitations recorded; level 3 needs
    # someone able to commit resources from each agency present; the chair's grade fits the level (001, 003, 004).
    PER_PERSON_ATTENDANCE,
    # A level 1 case has a level 1 risk management plan and a regular review by the lead agency (004).
    LEVEL_1_REVIEW,
    # Category 2 and 3 openings meet their criteria; a referral comes from an agency allowed to refer (001, 003).
    ELIGIBILITY,
    # Supervision / licence end prompts exit planning; continuing past an end needs a recorded basis (003).
    EXIT_BASIS,
    # A deadline counted back in weeks that lands on a closed day moves to the working day before.
    WEEKS_BACK_TO_WORKING_DAY,
    # A breach of the co-ordinator's own deadline goes to the chair (or deputy); re-escalation of a deadline a
    # meeting set goes to that meeting's chair.
    ESCALATION_ROUTING,
    # After the first meeting the lead agency tells the subject of their MAPPA status or records why not (002).
    SUBJECT_INFORMED_DEADLINE,
    # The review maximum is read in the unit an area override gives, not always as weeks.
    REVIEW_OVERRIDE_IN_OWN_UNIT,
)
