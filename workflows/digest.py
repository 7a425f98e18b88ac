"""The weekly digest for an area's co-ordinator: one short workflow per area and week, started by a Temporal
Schedule (`weekly-digest-<area>`, Mondays 08:00 Europe/London; `worker/schedules.py`).

It only asks one activity to send the digest as of the time it was started. The activity reads the ledger and
writes the e-mail to the outbox under the area and ISO week, so a week's digest is sent once whatever is
retried, restarted or caught up after an outage. Import-light: the sandbox re-imports this module per run.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy

SEND_WEEKLY_DIGEST = "send_weekly_digest"
SCHEDULE_ID_PREFIX = "weekly-digest-"


def schedule_id(area: str) -> str:
    """The Schedule (and its workflows' id prefix) for an area: an area id, never anything about a person."""
    return f"{SCHEDULE_ID_PREFIX}{area}"


@dataclass(frozen=True)
class DigestRequest:
    area: str


@dataclass(frozen=True)
class DigestOrder:
    """What the activity is asked: the area's digest as of `as_of` (the week is the one `as_of` falls in)."""

    area: str
    as_of: datetime


@dataclass(frozen=True)
class DigestSent:
    key: str  # the outbox key: weekly-digest/<area>/<ISO year>-W<week>
    recipients: list[str]
    already_sent: bool  # a retry or a second run in the same week found it sent


@workflow.defn(name="WeeklyDigestWorkflow")
class WeeklyDigestWorkflow:
    @workflow.run
    async def run(self, request: DigestRequest) -> DigestSent:
        return await workflow.execute_activity(
            SEND_WEEKLY_DIGEST,
            DigestOrder(area=request.area, as_of=workflow.now()),
            result_type=DigestSent,
            summary=f"weekly digest → {request.area} co-ordinator",
            start_to_close_timeout=timedelta(minutes=2),
            # Keep trying while the relay or the database is away: the outbox key makes a retry harmless.
            # Within the day: a digest that cannot go out by Monday night is stale; the next week's will.
            schedule_to_close_timeout=timedelta(hours=16),
            retry_policy=RetryPolicy(maximum_interval=timedelta(minutes=5)),
        )
