"""The Temporal Schedules: one per area, starting its weekly digest every Monday at 08:00 Europe/London.

`python -m worker.schedules` creates each schedule that is missing and brings any that exists up to date (a
pause set in the Temporal UI is kept), then exits: `make dev` runs it once Temporal is up, docker-compose as
the one-shot `schedules` service. Running it again changes nothing. The schedules show in the Temporal UI
under Schedules as `weekly-digest-<area>`.
"""

from __future__ import annotations

import asyncio
import logging
import os
import sys
from collections.abc import Iterable
from datetime import timedelta

from temporalio.client import (
    Client,
    Schedule,
    ScheduleActionStartWorkflow,
    ScheduleAlreadyRunningError,
    ScheduleCalendarSpec,
    ScheduleOverlapPolicy,
    SchedulePolicy,
    ScheduleRange,
    ScheduleSpec,
    ScheduleState,
    ScheduleUpdate,
    ScheduleUpdateInput,
)

from core.bootstrap import connect_client
from core.codec import CodecKeyError
from core.converter import data_converter_for
from core.settings import Settings, get_settings
from workflows.digest import DigestRequest, WeeklyDigestWorkflow, schedule_id
from workflows.rules.policy import AREAS

log = logging.getLogger("schedules")

MONDAY = 1  # ScheduleCalendarSpec counts days of the week from Sunday = 0
DIGEST_HOUR = 8
TIME_ZONE = "Europe/London"
# A digest missed while Temporal was down is still sent when it comes back within the week (once: the
# outbox is keyed by ISO week); after that the next Monday's digest covers it.
CATCHUP_WINDOW = timedelta(days=6)


def digest_schedule(area: str, task_queue: str) -> Schedule:
    return Schedule(
        action=ScheduleActionStartWorkflow(
            WeeklyDigestWorkflow.run,
            DigestRequest(area=area),
            id=schedule_id(area),  # the server appends each run's scheduled time
            task_queue=task_queue,
            execution_timeout=timedelta(days=1),
        ),
        spec=ScheduleSpec(
            calendars=[
                ScheduleCalendarSpec(
                    day_of_week=[ScheduleRange(MONDAY)],
                    hour=[ScheduleRange(DIGEST_HOUR)],
                    comment="weekly digest: Mondays 08:00 Europe/London",
                )
            ],
            time_zone_name=TIME_ZONE,
        ),
        policy=SchedulePolicy(overlap=ScheduleOverlapPolicy.SKIP, catchup_window=CATCHUP_WINDOW),
        state=ScheduleState(note=f"weekly digest for the {area} MAPPA co-ordinator"),
    )


async def ensure_digest_schedules(
    client: Client, task_queue: str, areas: Iterable[str] = AREAS
) -> dict[str, str]:
    """Create each area's digest schedule, or update it if it exists; what was done, per schedule id."""
    done: dict[str, str] = {}
    for area in areas:
        schedule = digest_schedule(area, task_queue)
        try:
            await client.create_schedule(schedule_id(area), schedule)
            done[schedule_id(area)] = "created"
        except ScheduleAlreadyRunningError:

            def keep_pause(existing: ScheduleUpdateInput, new: Schedule = schedule) -> ScheduleUpdate:
                new.state = existing.description.schedule.state
                return ScheduleUpdate(schedule=new)

            await client.get_schedule_handle(schedule_id(area)).update(keep_pause)
            done[schedule_id(area)] = "updated"
    return done


async def run(settings: Settings) -> None:
    client = await connect_client(settings, data_converter=data_converter_for(settings))
    done = await ensure_digest_schedules(client, settings.task_queue)
    for name, what in done.items():
        log.info("schedule %s %s (Mondays %02d:00 %s)", name, what, DIGEST_HOUR, TIME_ZONE)


def main() -> int:
    settings = get_settings()
    logging.basicConfig(level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        asyncio.run(run(settings))
    except CodecKeyError as error:
        log.error("refusing to create schedules: %s", error)
        return 1
    return 0


if __name__ == "__main__":
    code = main()
    # Leave without interpreter finalisation: the Temporal SDK's core threads can call back into a finalising
    # interpreter and abort a short-lived process (seen here as exit code -6 after the work was done).
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)
