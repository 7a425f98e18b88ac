"""Which stages of a case take which kinds of event: the named sets each event's row in registry.py uses.

Stages follow DOMAIN.md (003's five stages, with level 1 and the routes out).
"""

from __future__ import annotations

from workflows.rules.records import ACTIVE_STAGES, CLOSED_STAGES, Stage

__all__ = [
    "ACTIVE_STAGES",
    "ANY",
    "ANY_OR_EXITING",
    "AWAITING",
    "CLOSED_STAGES",
    "LEVEL_1",
    "MANAGED",
    "MEETING",
    "NOTIFIED",
    "RECALLABLE",
    "REFERRABLE",
    "REFERRED",
    "SCREENABLE_FOR_ASP",
    "SEARCHING",
    "SUBJECT_ACCESS",
    "Stage",
]

ANY = ACTIVE_STAGES - {Stage.EXITING}  # every stage of an open case under MAPPA
# What outlives the decision to exit: the case stays open, at stage exiting, until these are met.
ANY_OR_EXITING = ACTIVE_STAGES
# A subject access request may come after the case has closed: it re-opens it to stage exiting (001).
SUBJECT_ACCESS = ACTIVE_STAGES | {Stage.EXITED}
AWAITING = frozenset({Stage.AWAITING_NOTIFICATION})
NOTIFIED = frozenset({Stage.NOTIFICATION})
REFERRABLE = frozenset({Stage.AWAITING_NOTIFICATION, Stage.NOTIFICATION, Stage.REFERRAL_DUE, Stage.LEVEL_1})
REFERRED = frozenset({Stage.REFERRAL})
SEARCHING = frozenset({Stage.INFORMATION_SHARING, Stage.ACTIVE_MANAGEMENT, Stage.LEVEL_1})
# 000: every notification and referral, whatever its level (level 1 included), is screened.
SCREENABLE_FOR_ASP = ACTIVE_STAGES
MEETING = frozenset({Stage.INFORMATION_SHARING, Stage.ACTIVE_MANAGEMENT})
MANAGED = frozenset({Stage.ACTIVE_MANAGEMENT})
# A level 1 case stays under its lead agency while a referral is due or decided.
LEVEL_1 = frozenset({Stage.LEVEL_1, Stage.REFERRAL_DUE, Stage.REFERRAL})
# A case managed in the community (its management set: level 1, or after the initial meeting) may be recalled.
RECALLABLE = frozenset({Stage.ACTIVE_MANAGEMENT, Stage.LEVEL_1})
