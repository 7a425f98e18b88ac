"""The event of a recall (a person managed in the community returned to prison on a breach of licence or a further
offence). The seeds are silent on recall; the rule is in workflows/rules/recall.py and the README's table of
choices. The re-release date is the prison's `ReleaseDateChanged` (events.py), the same event a custody case takes.
"""

from __future__ import annotations

from typing import Literal

from workflows.rules.event_fields import AgencyId, Event, HappenedOn

__all__ = ["RecalledToCustody"]


class RecalledToCustody(Event):
    """The subject is recalled to custody: what cannot be done while they are in prison pauses (recorded, never
    dropped) until the prison records the re-release date, which opens the meeting due before release (003
    stage 4) and resumes what was paused, counted from the re-release."""

    recorded_by: AgencyId
    recalled_on: HappenedOn
    reason: Literal["licence-breach", "further-offence", "other"]
