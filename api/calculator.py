"""The deadline calculator, shared by `GET /deadlines/calculate` and `mappa deadline calc`.

It runs the very code a case runs (`workflows.rules.deadlines.calculate` with the area's policy), so the
answer is what a case would compute for an event at that moment. A case counts from the instant of its event;
a question that gives only a date is answered for that date at 12:00 Europe/London, the same noon a case uses
for events it knows only by date (a sentence disposal, a release date).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Literal

from pydantic import BaseModel, Field

from workflows.rules.calendar import LONDON, SkippedDay
from workflows.rules.deadlines import calculate
from workflows.rules.policy import AREAS, DeadlineKind, area_policy
from workflows.rules.timescales import source_in_words

NOON = time(12, 0)
# Bank holiday tables are meaningful for a bounded span of years; outside it a date is surely a typing slip.
EARLIEST, LATEST = date(2000, 1, 1), date(2099, 12, 31)


class CalculatorInputError(ValueError):
    """A question the calculator cannot answer; `parameter` names the input at fault."""

    def __init__(self, parameter: str, message: str) -> None:
        super().__init__(message)
        self.parameter = parameter
        self.message = message


class Instant(BaseModel):
    london: datetime = Field(description="Europe/London wall-clock time, with its offset.")
    utc: datetime


class SkippedDayOut(BaseModel):
    date: date
    kind: Literal["weekend", "bank-holiday", "local-holiday"]
    name: str = Field(examples=["Saturday", "Easter Monday", "St Andrew's Day"])


class DeadlineCalculation(BaseModel):
    """When a deadline falls due, under which rule, and which days were counted or skipped."""

    area: str
    area_name: str
    jurisdiction: str
    rule: DeadlineKind
    title: str
    text: str = Field(description="The rule as the guidance states it.")
    source: str = Field(
        description="The guidance document(s) by number (docs/SOURCES.md), or 'policy value' where none sets "
        "the time."
    )
    basis: str = Field(
        description="Why the deadline falls when it does, in plain words, the guidance's numbers at the end.",
        examples=["the time the MAPPA guidance sets (guidance 001, 003)"],
    )
    responsible: str
    timescale: str = Field(examples=["5 working days after"])
    counted_from_event: str = Field(examples=["record search requested"])
    counted_from: Instant
    assumed_noon: bool = Field(description="True when no time was given and 12:00 Europe/London was used.")
    due_date: date
    due_at: Instant = Field(
        description="The end of the due day in Europe/London: anything before it is on time."
    )
    explanation: str
    days_counted: list[date] = Field(description="The working days counted (working-day rules only).")
    days_skipped: list[SkippedDayOut] = Field(description="Weekends and holidays passed over while counting.")
    reminder_at: Instant | None = Field(
        description="When the responsible agency is reminded, if a reminder is due."
    )


def _instant(moment: datetime) -> Instant:
    return Instant(london=moment.astimezone(LONDON), utc=moment.astimezone(UTC))


_HOLIDAY_SUFFIXES: tuple[tuple[str, Literal["bank-holiday", "local-holiday"]], ...] = (
    (" (bank holiday)", "bank-holiday"),
    (" (local holiday)", "local-holiday"),
)


def _skipped(day: SkippedDay) -> SkippedDayOut:
    # The calendar names a closed day "Saturday", "Sunday" or "<holiday> (bank holiday|local holiday)".
    for suffix, kind in _HOLIDAY_SUFFIXES:
        if day.reason.endswith(suffix):
            return SkippedDayOut(date=day.day, kind=kind, name=day.reason.removesuffix(suffix))
    return SkippedDayOut(date=day.day, kind="weekend", name=day.reason)


def parse_time(value: str) -> time:
    try:
        parsed = time.fromisoformat(value)
    except ValueError:
        raise CalculatorInputError("time", f"time must be HH:MM (24-hour), not {value!r}") from None
    if parsed.tzinfo is not None:
        raise CalculatorInputError("time", "time is Europe/London wall-clock time: give it without an offset")
    return parsed


def calculate_deadline(area: str, rule: str, day: date, at: time | None = None) -> DeadlineCalculation:
    """What a case in `area` computes for `rule` counted from `day` at `at` (else noon), Europe/London."""
    if area not in AREAS:
        raise CalculatorInputError("area", f"unknown MAPPA area {area!r}; known areas: {', '.join(AREAS)}")
    try:
        kind = DeadlineKind(rule)
    except ValueError:
        raise CalculatorInputError(
            "rule", f"unknown rule {rule!r}; rules: {', '.join(k.value for k in DeadlineKind)}"
        ) from None
    if not EARLIEST <= day <= LATEST:
        raise CalculatorInputError("date", f"date must lie between {EARLIEST} and {LATEST}")
    policy = area_policy(area)
    if not policy.applies(kind):
        raise CalculatorInputError("rule", f"the {kind.value} rule does not apply in {policy.policy.name}")
    statutory = policy.rule(kind)
    if statutory.timescale.unit == "set_at_event":
        raise CalculatorInputError(
            "rule",
            f"a {statutory.title} falls due on the date set at the meeting: there is nothing to calculate",
        )
    start = datetime.combine(day, at or NOON, tzinfo=LONDON)
    result = calculate(policy, kind, start)
    counting = result.due.counting
    return DeadlineCalculation(
        area=area,
        area_name=policy.area.name,
        jurisdiction=policy.policy.jurisdiction.value,
        rule=kind,
        title=statutory.title,
        text=statutory.text,
        source=statutory.source,
        basis=source_in_words(statutory.source),
        responsible=statutory.responsible,
        timescale=statutory.timescale.describe(),
        counted_from_event=statutory.counted_from,
        counted_from=_instant(start),
        assumed_noon=at is None,
        due_date=result.due.due_date,
        due_at=_instant(result.due.due_at),
        explanation=result.due.explanation,
        days_counted=list(counting.counted) if counting else [],
        days_skipped=[_skipped(s) for s in counting.skipped] if counting else [],
        reminder_at=_instant(result.reminder_at) if result.reminder_at else None,
    )


def _when(instant: Instant) -> str:
    return f"{instant.london:%a %d %b %Y %H:%M} Europe/London ({instant.utc:%Y-%m-%d %H:%M} UTC)"


def _due(calc: DeadlineCalculation) -> str:
    london = calc.due_at.london
    if london.time() == time(0) and london.date() == calc.due_date + timedelta(days=1):
        # Midnight after the due day: say "end of Friday", not "Saturday 00:00".
        return f"end of {calc.due_date:%a %d %b %Y} Europe/London ({calc.due_at.utc:%Y-%m-%d %H:%M} UTC)"
    return _when(calc.due_at)


def render(calc: DeadlineCalculation) -> str:
    """The calculation as a plain-text table for the terminal."""
    noon = " (no time given: noon assumed)" if calc.assumed_noon else ""
    rows = [
        ("Area", f"{calc.area_name} ({calc.jurisdiction})"),
        ("Rule", f"{calc.title} [{calc.rule.value}]"),
        ("Why this time", calc.basis),
        ("Timescale", f"{calc.timescale} {calc.counted_from_event}"),
        ("Responsible", calc.responsible),
        ("Counted from", _when(calc.counted_from) + noon),
        ("Due date", f"{calc.due_date:%A %d %B %Y}"),
        ("Due by", _due(calc)),
        ("Reminder", _when(calc.reminder_at) if calc.reminder_at else "none"),
        ("Days counted", ", ".join(f"{d:%a %d %b}" for d in calc.days_counted) or "-"),
    ]
    rows += [
        ("Not counted" if i == 0 else "", f"{s.date:%a %d %b %Y}  {s.name} ({s.kind})")
        for i, s in enumerate(calc.days_skipped)
    ]
    width = max(len(label) for label, _ in rows)
    lines = [f"{label.ljust(width)}  {value}" for label, value in rows]
    lines += [
        "",
        f"Rule text: {calc.text}",
        f"Explanation: {calc.explanation}",
        f"Source: {calc.source} (the guidance documents are listed in docs/SOURCES.md)",
    ]
    return "\n".join(lines)
