"""What an agency may type into an event: dates within bounds the policy states, text without hidden controls."""

from __future__ import annotations

import inspect
import typing
from datetime import date

import pytest
from pydantic import BaseModel, ValidationError

from workflows.rules import events as ev

TODAY = date(2026, 12, 2)


def date_fields() -> list[tuple[str, str]]:
    found = []
    for name, model in vars(ev).items():
        if inspect.isclass(model) and issubclass(model, BaseModel):
            for field, info in model.model_fields.items():
                if "datetime.date" in repr(info.annotation) or info.annotation is date:
                    found.append((f"{name}.{field}", field))
    return found


@pytest.mark.parametrize(("where", "field"), date_fields())
def test_every_date_an_event_carries_declares_what_kind_of_date_it_is(where: str, field: str) -> None:
    model = getattr(ev, where.split(".")[0])
    assert ev.field_date_kind(model.model_fields[field]) is not None, (
        f"{where}: use a dated type from events.py"
    )


def test_the_dates_are_found_at_all() -> None:
    assert {"SubjectDetails.date_of_birth", "Notification.disposal_date", "MeetingHeld.held_on"} <= {
        w for w, _ in date_fields()
    }


@pytest.mark.parametrize("day", ["9999-12-31", "0001-01-01", "1899-12-31", "2200-01-01"])
def test_a_date_the_working_day_arithmetic_cannot_bear_is_refused_wherever_an_event_is_read(day: str) -> None:
    with pytest.raises(ValidationError, match="not a plausible date"):
        ev.Notification(notifying_agency="police-scotland-lanarkshire", disposal_date=day)  # type: ignore[arg-type]


def test_a_date_of_birth_is_of_someone_aged_10_to_110() -> None:
    def subject(born: date) -> ev.SubjectDetails:
        return ev.SubjectDetails(name="A Testperson", date_of_birth=born, address="1 Row")

    assert ev.dates_outside_window(subject(date(1980, 1, 1)), TODAY) == []
    for born in (date(1900, 1, 1), date(2020, 1, 1)):
        [outside] = ev.dates_outside_window(subject(born), TODAY)
        assert outside.field == "date_of_birth" and "aged 10" in outside.message


def test_nested_and_listed_dates_are_checked_and_named_by_their_path() -> None:
    meeting = ev.MeetingHeld(
        held_on=TODAY,
        chair_agency="police-scotland-lanarkshire",
        attendees=[ev.Attendee(agency="nhs-lanarkshire", signed_confidentiality_statement=True)],
        level_decided=2,
        rmp_actions=[
            ev.RmpActionSet(action_id="001", description="x", owner_agency="nhs-lanarkshire", due_date=TODAY),
            ev.RmpActionSet(
                action_id="002", description="x", owner_agency="nhs-lanarkshire", due_date=date(2150, 1, 1)
            ),
        ],
    )
    assert [o.field for o in ev.dates_outside_window(meeting, TODAY)] == ["rmp_actions.1.due_date"]


@pytest.mark.parametrize("bad", ["\x00", "\u202e", "\u2066", "\u200f", "\x1b", "\n"])
def test_a_name_may_hold_no_control_or_bidi_character(bad: str) -> None:
    with pytest.raises(ValidationError, match="control character"):
        ev.SubjectDetails(name=f"A{bad}Testperson", date_of_birth=date(1980, 1, 1), address="1 Row")


def test_free_text_keeps_its_line_breaks_but_not_nul() -> None:
    assert ev.ScreeningDecision(outcome="level-1", reason="line one\nline two").reason == "line one\nline two"
    with pytest.raises(ValidationError, match="U\\+0000"):
        ev.ScreeningDecision(outcome="level-1", reason="a\x00b")


def test_the_bounds_are_policy_values_for_every_kind_of_date() -> None:
    assert set(ev.DATE_WINDOWS) == set(ev.DateKind)
    assert typing.get_args(ev.BirthDate)[0] is date
