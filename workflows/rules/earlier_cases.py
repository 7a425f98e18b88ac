"""A person's earlier cases, as the co-ordinator sees them at screening (003 stage 1: the co-ordinator "will then
look at the referral", relying "on the information contained in the referral" and its supporting documentation;
a person's earlier MAPPA case is such information).

The seeds are silent on re-referral; the README's table of choices records what the system does. A new
notification for a person whose case exited opens a new case, linked to the earlier one through the person key
(core/person_key.py); the co-ordinator sees each earlier case of their own area with its level, stage and, once
it exited, the day and the recorded basis. An earlier case held by another area is named with its area only:
what it holds is that area's to share (every user acts within their own area).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from workflows.rules.records import CLOSED_STAGES, Stage


@dataclass(frozen=True)
class EarlierCase:
    """What our records hold of one linked case: the ledger's row, and the case file's exit record if read."""

    case_ref: str
    area: str
    stage: Stage | None = None  # None: not in the ledger yet (opened moments ago)
    level: int | None = None
    exited_at: datetime | None = None
    exit_basis: str | None = None


@dataclass(frozen=True)
class EarlierCaseShown:
    case_ref: str
    area: str
    still_open: bool | None  # None: another area's, not ours to say
    level: int | None = None
    stage: Stage | None = None
    exited_at: datetime | None = None
    exit_basis: str | None = None


def shown_to(reader_area: str, earlier: list[EarlierCase]) -> list[EarlierCaseShown]:
    """What a co-ordinator of `reader_area` is shown of a person's other cases, oldest first."""
    shown: list[EarlierCaseShown] = []
    for case in earlier:
        if case.area != reader_area:
            shown.append(EarlierCaseShown(case.case_ref, case.area, None))
            continue
        still_open = case.stage is None or case.stage not in CLOSED_STAGES
        shown.append(
            EarlierCaseShown(
                case.case_ref,
                case.area,
                still_open,
                case.level,
                case.stage,
                case.exited_at,
                case.exit_basis,
            )
        )
    return shown
