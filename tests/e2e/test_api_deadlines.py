"""The deadline calculator over HTTP: what a case in each jurisdiction would compute, with the days it skipped.

It needs no Temporal: only a token, checked against the database.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date, time
from pathlib import Path
from typing import Any

import httpx
import pytest

from api.app import create_app
from api.calculator import calculate_deadline
from core.settings import Settings
from tests.e2e.api_rig import database, issue_tokens

pytestmark = pytest.mark.timeout(60)


@pytest.fixture
async def calculator(tmp_path: Path) -> AsyncIterator[tuple[httpx.AsyncClient, dict[str, str]]]:
    url, engine = database(tmp_path)
    tokens = issue_tokens(engine)
    # Temporal is never asked: the address is deliberately unreachable.
    app = create_app(Settings(database_url=url, temporal_address="127.0.0.1:1"), engine=engine)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://mappa.test"
    ) as http:
        yield http, tokens
    engine.dispose()


async def calculate(
    calculator: tuple[httpx.AsyncClient, dict[str, str]], user: str = "lan-ops", **params: str
) -> httpx.Response:
    http, tokens = calculator
    return await http.get(
        "/deadlines/calculate", params=params, headers={"Authorization": f"Bearer {tokens[user]}"}
    )


def skipped_holidays(answer: dict[str, Any]) -> list[tuple[str, str]]:
    return [(s["date"], s["name"]) for s in answer["days_skipped"] if s["kind"] != "weekend"]


async def test_easter_monday_counts_as_a_working_day_in_scotland_but_not_in_england(
    calculator: tuple[httpx.AsyncClient, dict[str, str]],
) -> None:
    glasgow = (await calculate(calculator, area="glasgow", rule="record-search", date="2026-04-02")).json()
    wiltshire = (
        await calculate(calculator, area="wiltshire-and-swindon", rule="record-search", date="2026-04-02")
    ).json()

    assert glasgow["due_date"] == "2026-04-10"
    assert skipped_holidays(glasgow) == [("2026-04-03", "Good Friday")]
    assert wiltshire["due_date"] == "2026-04-13"
    assert skipped_holidays(wiltshire) == [("2026-04-03", "Good Friday"), ("2026-04-06", "Easter Monday")]
    assert glasgow["days_counted"] == ["2026-04-06", "2026-04-07", "2026-04-08", "2026-04-09", "2026-04-10"]
    assert (glasgow["source"], glasgow["title"]) == ("003", "agency record search")
    # Due by the end of the day, Europe/London (BST in April).
    assert glasgow["due_at"]["utc"] == "2026-04-10T23:00:00Z"
    assert glasgow["due_at"]["london"] == "2026-04-11T00:00:00+01:00"


async def test_st_andrews_day_delays_scottish_minutes_by_a_day(
    calculator: tuple[httpx.AsyncClient, dict[str, str]],
) -> None:
    glasgow = (await calculate(calculator, area="glasgow", rule="minutes", date="2026-11-26")).json()
    wiltshire = (
        await calculate(calculator, area="wiltshire-and-swindon", rule="minutes", date="2026-11-26")
    ).json()
    assert (glasgow["due_date"], wiltshire["due_date"]) == ("2026-12-04", "2026-12-03")
    assert skipped_holidays(glasgow) == [("2026-11-30", "Saint Andrew's Day")]
    assert skipped_holidays(wiltshire) == []


async def test_a_date_without_a_time_is_counted_from_noon_as_a_case_does(
    calculator: tuple[httpx.AsyncClient, dict[str, str]],
) -> None:
    noon = (await calculate(calculator, area="glasgow", rule="asp-screening", date="2026-04-02")).json()
    assert noon["assumed_noon"] and noon["counted_from"]["london"] == "2026-04-02T12:00:00+01:00"
    assert noon["due_at"]["london"] == "2026-04-03T12:00:00+01:00"
    late = (
        await calculate(calculator, area="glasgow", rule="asp-screening", date="2026-04-02", time="16:30")
    ).json()
    assert not late["assumed_noon"] and late["due_at"]["london"] == "2026-04-03T16:30:00+01:00"
    assert late["reminder_at"]["london"] == "2026-04-03T12:30:00+01:00"
    assert late == calculate_deadline("glasgow", "asp-screening", date(2026, 4, 2), time(16, 30)).model_dump(
        mode="json"
    )


async def test_questions_the_calculator_cannot_answer_are_problems_naming_the_parameter(
    calculator: tuple[httpx.AsyncClient, dict[str, str]],
) -> None:
    unknown_area = await calculate(calculator, area="atlantis", rule="minutes", date="2026-04-02")
    assert (unknown_area.status_code, unknown_area.json()["field"]) == (422, "area")
    unknown_rule = await calculate(calculator, area="glasgow", rule="tea-break", date="2026-04-02")
    assert (unknown_rule.status_code, unknown_rule.json()["field"]) == (422, "rule")
    not_in_england = await calculate(calculator, area="south-wales", rule="ap1-referral", date="2026-04-02")
    assert not_in_england.status_code == 422
    assert not_in_england.headers["content-type"].startswith("application/problem+json")
    assert not_in_england.json()["field"] == "rule"
    assert "does not apply in England and Wales" in not_in_england.json()["detail"]
    bad_time = await calculate(calculator, area="glasgow", rule="minutes", date="2026-04-02", time="25:00")
    assert (bad_time.status_code, bad_time.json()["field"]) == (422, "time")
    far_future = await calculate(calculator, area="glasgow", rule="review-level-2", date="9999-12-31")
    assert (far_future.status_code, far_future.json()["field"]) == (422, "date")


async def test_the_calculator_needs_a_token(calculator: tuple[httpx.AsyncClient, dict[str, str]]) -> None:
    http, _ = calculator
    response = await http.get(
        "/deadlines/calculate", params={"area": "glasgow", "rule": "minutes", "date": "2026-04-02"}
    )
    assert response.status_code == 401
