"""The deadline calculator: when would a case's deadline fall due, and why."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query

from api import problems
from api.calculator import CalculatorInputError, DeadlineCalculation, calculate_deadline, parse_time
from api.deps import CurrentUser
from workflows.rules.policy import AREAS, DeadlineKind

router = APIRouter(prefix="/deadlines", tags=["deadlines"])


@router.get(
    "/calculate",
    summary="Calculate a statutory deadline",
    description="What a case in `area` would compute for `rule`, counted from an event on `date` (at `time`, "
    "Europe/London). A case counts from the instant of its event: without `time` the event is taken to be at "
    "12:00 Europe/London, as a case does for events it knows only by date. The answer lists the working days "
    "counted and the weekends and holidays (by name) skipped. Any valid token may ask.",
    responses=problems.responses(401, 422),
    operation_id="calculate_deadline",
)
def calculate(
    user: CurrentUser,
    area: Annotated[
        str,
        Query(
            description="The MAPPA area's id.", json_schema_extra={"enum": list(AREAS)}, examples=["glasgow"]
        ),
    ],
    rule: Annotated[DeadlineKind, Query(description="The deadline rule.")],
    day: Annotated[date, Query(alias="date", description="The day of the event, YYYY-MM-DD.")],
    at: Annotated[
        str | None,
        Query(alias="time", pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]$", description="HH:MM, Europe/London."),
    ] = None,
) -> DeadlineCalculation:
    try:
        return calculate_deadline(area, rule.value, day, parse_time(at) if at else None)
    except CalculatorInputError as error:
        raise problems.invalid_parameter(error.parameter, error.message) from None
