"""The events of a transfer between MAPPA areas: the sending co-ordinator asks, the receiving one accepts or declines.

No seed (000-004) speaks of a case moving between areas or jurisdictions; the choices made are in the README's
table of choices and in workflows/rules/transfer.py, which applies these events.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from workflows.rules.event_fields import AgencyId, Event, PlannedFor, ShortText

__all__ = ["AgencyHandover", "TransferAccepted", "TransferDeclined", "TransferRequested"]

AreaId = Annotated[
    str,
    Field(
        min_length=2,
        max_length=64,
        pattern=r"^[a-z][a-z-]*$",
        description="A MAPPA area's id, e.g. 'glasgow', 'wiltshire-and-swindon'.",
    ),
]


class TransferRequested(Event):
    """The sending area's co-ordinator asks another area to take the case (the subject moves there)."""

    receiving_area: AreaId
    reason: ShortText
    proposed_on: PlannedFor | None = Field(
        default=None, description="The day the sending area proposes the receiving one takes the case over."
    )


class AgencyHandover(BaseModel):
    """An agency of the sending area that owes the case an open deadline, and who owes it after the transfer."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    # Not checked against the receiving area's directory: it is the sending area's agency (the case knows it).
    from_agency: str = Field(min_length=2, max_length=64, pattern=r"^[a-z0-9][a-z0-9-]*$")
    to_agency: AgencyId


class TransferAccepted(Event):
    """The receiving area's co-ordinator takes the case: its lead agency there, and who takes over what each
    sending agency owed (a national agency hands over to itself)."""

    receiving_area: AreaId
    lead_agency: AgencyId
    handovers: list[AgencyHandover] = Field(default_factory=list, max_length=100)


class TransferDeclined(Event):
    """The receiving area's co-ordinator declines the case, with reasons."""

    receiving_area: AreaId
    reason: ShortText
