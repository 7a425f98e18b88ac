"""Transfers of cases between areas, as the cases report them (`case_transfers`): written with the ledger (and by
the API as soon as a transfer event is answered), read by the API's area check and the weekly digest.

A case's reference names the area it began in; where it is now, which areas it left, and which area is asked to
take it are here (workflows/rules/transfer.py decides them).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from store.models import CaseTransfer
from store.upsert import upsert_rows
from workflows.messages import TransferSummary


@dataclass(frozen=True)
class CaseAreas:
    current: str  # where the case is managed now
    previous: frozenset[str]  # the areas it was transferred from: read access to what they did
    receiving: str | None  # asked to take the case, not yet decided


def write_transfers(session: Session, case_ref: str, transfers: list[TransferSummary], now: datetime) -> None:
    rows = [
        {
            "case_ref": case_ref,
            "transfer_id": t.transfer_id,
            "from_area": t.from_area,
            "to_area": t.to_area,
            "state": t.state,
            "requested_at": t.requested_at,
            "accept_by": t.accept_by,
            "decided_at": t.decided_at,
            "updated_at": now,
        }
        for t in transfers
    ]
    if not rows:
        return
    # The latest report wins: the case reports its transfers in order.
    upsert_rows(session, CaseTransfer, ["case_ref", "transfer_id"], rows)


def case_areas(session: Session, case_ref: str, began_in: str) -> CaseAreas:
    """Where a case that began in `began_in` (its reference's area) is now, and the areas it left."""
    rows = session.scalars(
        select(CaseTransfer)
        .where(CaseTransfer.case_ref == case_ref)
        .order_by(CaseTransfer.requested_at, CaseTransfer.id)
    ).all()
    current, previous, receiving = began_in, set(), None
    for row in rows:
        if row.state == "accepted":
            previous.add(row.from_area)
            current = row.to_area
        elif row.state == "requested":
            receiving = row.to_area
    previous.discard(current)
    return CaseAreas(current, frozenset(previous), receiving)


def transfers_of_area(session: Session, area: str, since: datetime) -> list[CaseTransfer]:
    """An area's transfers in and out still awaiting a decision, or decided since `since` (for the digest)."""
    rows = session.scalars(
        select(CaseTransfer)
        .where((CaseTransfer.from_area == area) | (CaseTransfer.to_area == area))
        .order_by(CaseTransfer.requested_at, CaseTransfer.case_ref)
    ).all()
    return [r for r in rows if r.state == "requested" or (r.decided_at is not None and r.decided_at >= since)]
