"""Who sends an event: a role of the area and, for every role but ops, an agency.

The API takes both from the sender's token, never from the request body, and hands them to the core with the
event (`Event.sent_by`); the core decides what the sender may do (workflows/rules/ownership.py).
"""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict


class Role(StrEnum):
    CO_ORDINATOR = "co-ordinator"
    CHAIR = "chair"
    AGENCY_WORKER = "agency-worker"
    OPS = "ops"


class Actor(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    role: Role
    agency: str | None = None

    def describe(self) -> str:
        return f"{self.agency} ({self.role.value})" if self.agency else self.role.value
