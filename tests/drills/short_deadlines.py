"""Drill areas whose deadlines fall due in seconds, so that real timers fire within a test on the dev server.

The statutory tables count in working days, weeks and hours; a drill area overrides one rule with a fraction
of an hour (`Timescale("hours", seconds / 3600)`), which the production deadline code adds as a timedelta.
Registered into `workflows.rules.policy.AREAS` of the process that runs the worker, and only there: the
worker computes every deadline. Run `python -m tests.drills.short_deadlines` for a production worker
(`worker.main`) with the drill areas registered; `MAPPA_DRILL_SECONDS` sets the timescale.
"""

from __future__ import annotations

import os
from datetime import date
from typing import cast

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from store.models import RoleHolder
from workflows.rules.calendar import Jurisdiction
from workflows.rules.policy import AREAS, Area, DeadlineKind, Timescale

# England and Wales: the screening of a notification falls due `seconds` after it (2 working days in law).
SCREENING_AREA = "drill-short-screening"
SCREENING_CODE = "DRS"
# Scotland: the ASP screening falls due 4 hours and `seconds` after the referral, so its reminder (4 hours
# before, by the Scottish rule) goes out `seconds` after the referral.
REMINDER_AREA = "drill-short-reminder"
REMINDER_CODE = "DRR"
SECONDS_VARIABLE = "MAPPA_DRILL_SECONDS"


def hours(seconds: float) -> Timescale:
    # Amounts are whole numbers in the policy tables; the fraction is what makes a drill fit in a test.
    return Timescale("hours", cast(int, seconds / 3600))


def register(seconds: float) -> None:
    AREAS[SCREENING_AREA] = Area(
        SCREENING_AREA,
        SCREENING_CODE,
        "Drill area (screening due in seconds)",
        Jurisdiction.ENGLAND_AND_WALES,
        overrides={DeadlineKind.SCREENING: hours(seconds)},
    )
    AREAS[REMINDER_AREA] = Area(
        REMINDER_AREA,
        REMINDER_CODE,
        "Drill area (ASP screening reminder in seconds)",
        Jurisdiction.SCOTLAND,
        overrides={DeadlineKind.ASP_SCREENING: hours(4 * 3600 + seconds)},
    )


def unregister() -> None:
    AREAS.pop(SCREENING_AREA, None)
    AREAS.pop(REMINDER_AREA, None)


def add_co_ordinators(engine: Engine) -> None:
    """The drill areas' co-ordinators, so their notices have somewhere to go."""
    with Session(engine) as session, session.begin():
        for area in (SCREENING_AREA, REMINDER_AREA):
            session.add(
                RoleHolder(
                    area=area,
                    role="co-ordinator",
                    name="Drill Co-ordinator",
                    email=f"coordinator@{area}.example.gov.uk",
                    valid_from=date(2000, 1, 1),
                )
            )


if __name__ == "__main__":
    from worker.main import main

    register(float(os.environ[SECONDS_VARIABLE]))
    main()
