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
RULE_CHANGES: tuple[str, ...] = ()
