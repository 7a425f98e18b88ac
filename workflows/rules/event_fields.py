"""What every agency event is made of: the base model, agency ids, free text that refuses control characters,
and dates bounded by kind (fixed outer bounds in the models; a policy window around today checked by the API).
"""

from __future__ import annotations

import re
import typing
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field
from pydantic.fields import FieldInfo
from pydantic.json_schema import SkipJsonSchema

from workflows.rules.actors import Actor


class NamesAnAgency:
    """Marks a field that names an agency: the API and the import check each against the directory."""


NAMES_AN_AGENCY = NamesAnAgency()


AgencyId = Annotated[
    str,
    Field(
        min_length=2,
        max_length=64,
        pattern=r"^[a-z0-9][a-z0-9-]*$",
        description="An agency's id in the co-ordinator's directory, e.g. 'police-scotland-lanarkshire'.",
    ),
    NAMES_AN_AGENCY,
]


class PlaintextId:
    """Marks an id an agency chooses that reaches plaintext (a deadline's id and title, the ledger, e-mail, the
    calendars): a new one must match `pattern`, which cannot carry a name. The model's own pattern stays as it
    was, so events recorded before still replay; the API and the import check new ones (`ids_outside_pattern`)."""

    def __init__(self, what: str, pattern: str, example: str) -> None:
        self.what, self.pattern, self.example = what, re.compile(pattern), example


# An RMP action's id: an optional letter, a number, and an optional sub-number ("A12-1", "3"). No name fits.
RMP_ACTION_ID = PlaintextId(
    "a risk management plan action's id", r"^[A-Za-z]?[0-9]{1,4}(-[0-9]{1,3})?$", "A12-1"
)


RmpActionId = Annotated[str, Field(pattern=r"^[A-Za-z0-9-]{1,32}$"), RMP_ACTION_ID]


# Characters no one types into a case: C0/C1 controls (tab and line breaks aside) and the Unicode bidi controls,
# which make a name display differently from what is stored (a "Trojan Source" reordering).
_BIDI_CONTROLS = "\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069"


_NOT_IN_TEXT = re.compile(f"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f{_BIDI_CONTROLS}]")


_NOT_IN_A_LINE = re.compile(f"[\x00-\x1f\x7f-\x9f{_BIDI_CONTROLS}]")


def _plain_text(value: str) -> str:
    if found := _NOT_IN_TEXT.search(value):
        raise ValueError(
            f"contains the control character U+{ord(found.group()):04X}, which text may not hold"
        )
    return value


def _one_line(value: str) -> str:
    if found := _NOT_IN_A_LINE.search(value):
        raise ValueError(
            f"contains the control character U+{ord(found.group()):04X}, which a name may not hold"
        )
    return value


ShortText = Annotated[str, Field(min_length=1, max_length=4000), AfterValidator(_plain_text)]


PersonName = Annotated[str, Field(min_length=1, max_length=200), AfterValidator(_one_line)]


# Every date an agency gives lies in a window around today that depends on what the date is (a policy value,
# `DATE_WINDOWS`), checked by the API against the day it receives the event (`dates_outside_window`). The
# models themselves hold only fixed outer bounds: those are checked wherever an event is read, workflow replay
# included, so they cannot depend on today; they keep the working-day arithmetic far from the calendar's ends.
EARLIEST_DATE = date(1900, 1, 1)


LATEST_DATE = date(2199, 12, 31)


class DateKind(StrEnum):
    BIRTH = "a date of birth"
    HAPPENED = "the day something happened"  # a sentence disposal, a meeting
    PLANNED = "a day planned ahead"  # a review, a risk management plan action
    RELEASE = "a release or discharge date"
    SONR_END = "the end of the notification requirements"
    CHILD_BIRTH = "a child's date of birth"


@dataclass(frozen=True)
class DateWindow:
    earliest: timedelta  # before today
    latest: timedelta  # after today (negative: before today)
    why: str


_YEAR = timedelta(days=365)


# Policy values: the seeds set none of these. Wide enough for any real case, narrow enough to catch a typed year.
DATE_WINDOWS: dict[DateKind, DateWindow] = {
    DateKind.BIRTH: DateWindow(
        110 * _YEAR,
        -10 * _YEAR,
        "a subject is aged 10 (the youngest age of criminal responsibility in the UK) to 110",
    ),
    DateKind.HAPPENED: DateWindow(2 * _YEAR, timedelta(days=1), "up to 2 years ago, and not in the future"),
    DateKind.PLANNED: DateWindow(1 * _YEAR, 5 * _YEAR, "from a year ago to 5 years ahead"),
    DateKind.RELEASE: DateWindow(1 * _YEAR, 30 * _YEAR, "from a year ago to 30 years ahead"),
    DateKind.SONR_END: DateWindow(
        1 * _YEAR, 30 * _YEAR, "from a year ago to 30 years ahead (an indefinite SONR has no end date)"
    ),
    DateKind.CHILD_BIRTH: DateWindow(18 * _YEAR, timedelta(days=0), "a child is under 18"),
}


def _within_outer_bounds(day: date) -> date:
    if not EARLIEST_DATE <= day <= LATEST_DATE:
        raise ValueError(
            f"{day.isoformat()} is not a plausible date: give a date from {EARLIEST_DATE.year} to {LATEST_DATE.year}"
        )
    return day


_Bounded = AfterValidator(_within_outer_bounds)


BirthDate = Annotated[date, _Bounded, DateKind.BIRTH]


HappenedOn = Annotated[date, _Bounded, DateKind.HAPPENED]


PlannedFor = Annotated[date, _Bounded, DateKind.PLANNED]


ReleaseDate = Annotated[date, _Bounded, DateKind.RELEASE]


ChildBirthDate = Annotated[date, _Bounded, DateKind.CHILD_BIRTH]


SonrEndDate = Annotated[date, _Bounded, DateKind.SONR_END]


@dataclass(frozen=True)
class DateOutsideWindow:
    field: str  # dotted, as in a problem document: "notification.disposal_date"
    message: str


def date_kind(annotation: Any) -> DateKind | None:
    """The kind of date an annotation (or one of its parts, e.g. `HappenedOn | None`) declares."""
    for part in (*typing.get_args(annotation), *getattr(annotation, "__metadata__", ())):
        if isinstance(part, DateKind):
            return part
        if (found := date_kind(part)) is not None:
            return found
    return None


def field_date_kind(info: FieldInfo) -> DateKind | None:
    """A field's kind of date: in its metadata when the date is the whole annotation, else inside a union."""
    found = [m for m in info.metadata if isinstance(m, DateKind)]
    return found[0] if found else date_kind(info.annotation)


def dates_outside_window(model: BaseModel, today: date, prefix: str = "") -> list[DateOutsideWindow]:
    """Every date in `model` (nested models and lists included) outside its kind's window around `today`."""
    found: list[DateOutsideWindow] = []
    for name, info in type(model).model_fields.items():
        value = getattr(model, name)
        dotted = f"{prefix}{name}"
        items = list(enumerate(value)) if isinstance(value, list) else [(None, value)]
        for index, item in items:
            where = dotted if index is None else f"{dotted}.{index}"
            if isinstance(item, BaseModel):
                found += dates_outside_window(item, today, f"{where}.")
            elif isinstance(item, date):
                kind = field_date_kind(info)
                window = DATE_WINDOWS[kind or DateKind.HAPPENED]
                earliest, latest = today - window.earliest, today + window.latest
                if not earliest <= item <= latest:
                    found.append(
                        DateOutsideWindow(
                            where,
                            f"{where} {item.isoformat()} is outside the range for {(kind or DateKind.HAPPENED).value}: "
                            f"{window.why} ({earliest.isoformat()} to {latest.isoformat()})",
                        )
                    )
    return found


def _names_an_agency(annotation: Any) -> bool:
    for part in (*typing.get_args(annotation), *getattr(annotation, "__metadata__", ())):
        if part is NAMES_AN_AGENCY or (part is not annotation and _names_an_agency(part)):
            return True
    return False


def agencies_named(model: BaseModel, prefix: str = "") -> list[tuple[str, str]]:
    """(dotted field, agency id) for every agency `model` names, nested models and lists included."""
    found: list[tuple[str, str]] = []
    for name, info in type(model).model_fields.items():
        value = getattr(model, name)
        dotted = f"{prefix}{name}"
        names = NAMES_AN_AGENCY in info.metadata or _names_an_agency(info.annotation)
        items = list(enumerate(value)) if isinstance(value, list) else [(None, value)]
        for index, item in items:
            where = dotted if index is None else f"{dotted}.{index}"
            if isinstance(item, BaseModel):
                found += agencies_named(item, f"{where}.")
            elif names and isinstance(item, str):
                found.append((where, item))
    return found


def ids_outside_pattern(model: BaseModel, prefix: str = "") -> list[DateOutsideWindow]:
    """Every id an agency chose in `model` (nested models and lists included) that its `PlaintextId` pattern
    refuses: it would carry what it holds into plaintext."""
    found: list[DateOutsideWindow] = []
    for name, info in type(model).model_fields.items():
        value = getattr(model, name)
        dotted = f"{prefix}{name}"
        marker = next((m for m in info.metadata if isinstance(m, PlaintextId)), None)
        items = list(enumerate(value)) if isinstance(value, list) else [(None, value)]
        for index, item in items:
            where = dotted if index is None else f"{dotted}.{index}"
            if isinstance(item, BaseModel):
                found += ids_outside_pattern(item, f"{where}.")
            elif marker is not None and isinstance(item, str) and not marker.pattern.match(item):
                found.append(
                    DateOutsideWindow(
                        where,
                        f"{where}: {marker.what} appears in plaintext (deadline ids and titles, the ledger, "
                        f"e-mail), so it is a letter and a number such as {marker.example}, never words",
                    )
                )
    return found


class Event(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    # Who sent it: set by the API from the sender's token (any value in a request body is replaced), absent in
    # events recorded before it existed. Not part of the API's schema, and not serialised while unset.
    sent_by: SkipJsonSchema[Actor | None] = Field(default=None, exclude_if=lambda v: v is None)
