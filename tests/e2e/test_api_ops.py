"""The ops API over HTTP: breached and due-soon deadlines, compliance as JSON and CSV, and the ops page with
its sign-in. It reads the ledger only: Temporal is never asked."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from sqlalchemy import Engine

from api.app import create_app
from api.routes.ops import SESSION_COOKIE
from core.settings import Settings
from tests.e2e.api_rig import database, issue_tokens
from tests.e2e.ops_ledger import breached_record_search, imported_unscreened_referral, referral_just_received

pytestmark = pytest.mark.timeout(60)


@dataclass
class Ops:
    http: httpx.AsyncClient
    engine: Engine
    tokens: dict[str, str]

    async def get(self, path: str, user: str | None = "lan-ops", **params: str) -> httpx.Response:
        headers = {"Authorization": f"Bearer {self.tokens[user]}"} if user else {}
        return await self.http.get(path, params=params, headers=headers)


@pytest.fixture
async def ops(tmp_path: Path) -> AsyncIterator[Ops]:
    url, engine = database(tmp_path)
    # Temporal is never asked: the address is deliberately unreachable.
    app = create_app(Settings(database_url=url, temporal_address="127.0.0.1:1"), engine=engine)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://mappa.test"
    ) as http:
        yield Ops(http, engine, issue_tokens(engine))
    engine.dispose()


async def test_ops_see_their_areas_breaches_and_what_falls_due_this_week(ops: Ops) -> None:
    breached = breached_record_search(ops.engine)
    due_soon = referral_just_received(ops.engine)
    in_glasgow = breached_record_search(ops.engine, area="glasgow")

    response = await ops.get("/ops/deadlines", within_days="7")

    assert response.status_code == 200, response.text
    body = response.json()
    assert body["area"] == "lanarkshire" and body["within_days"] == 7
    search = [d for d in body["breached"] if d["deadline_id"] == "record-search:nhs-lanarkshire"]
    assert [(d["case_ref"], d["state"], d["responsible"], d["kind"]) for d in search] == [
        (breached, "breached", "nhs-lanarkshire", "record-search")
    ]
    assert search[0]["rule"] == "agency record search"
    assert {d["case_ref"] for d in body["due_soon"]} == {due_soon}
    assert in_glasgow not in response.text
    due_times = [d["due_at"] for d in body["breached"]]
    assert due_times == sorted(due_times)


async def test_the_lists_filter_by_agency_and_kind(ops: Ops) -> None:
    breached = breached_record_search(ops.engine)

    by_agency = (await ops.get("/ops/deadlines", agency="nhs-lanarkshire")).json()
    by_kind = (await ops.get("/ops/deadlines", kind="initial-meeting-level-2")).json()

    assert [(d["case_ref"], d["deadline_id"]) for d in by_agency["breached"]] == [
        (breached, "record-search:nhs-lanarkshire")
    ]
    assert [(d["case_ref"], d["kind"]) for d in by_kind["breached"]] == [
        (breached, "initial-meeting-level-2")
    ]


async def test_compliance_for_a_period_as_json_and_as_csv_for_the_annual_report(ops: Ops) -> None:
    breached_record_search(ops.engine)
    period = {"from": "2026-03-01", "to": "2026-03-31"}

    report = (await ops.get("/ops/compliance", **period)).json()
    as_csv = await ops.get("/ops/compliance.csv", **period)

    rows = {row["kind"]: row for row in report["rows"]}
    assert (report["area_name"], report["period_start"], report["period_end"]) == (
        "Lanarkshire",
        "2026-03-01",
        "2026-03-31",
    )
    assert rows["record-search"]["sentence"] == (
        "agency record search within 5 working days of record search requested: 0 of 1 on time"
    )
    assert rows["referral-decision"]["met_on_time"] == 1
    assert as_csv.status_code == 200
    assert as_csv.headers["content-type"] == "text/csv; charset=utf-8"
    assert as_csv.headers["content-disposition"] == (
        'attachment; filename="mappa-compliance-lanarkshire-2026-03-01-2026-03-31.csv"'
    )
    table = list(csv.DictReader(io.StringIO(as_csv.text)))
    assert [row["kind"] for row in table] == [row["kind"] for row in report["rows"]]
    search = next(row for row in table if row["kind"] == "record-search")
    assert (search["area"], search["fell_due"], search["still_breached"], search["on_time_percent"]) == (
        "lanarkshire",
        "1",
        "1",
        "0.0",
    )


async def test_what_fell_due_before_go_live_is_reported_apart_in_json_csv_and_on_the_page(ops: Ops) -> None:
    live = breached_record_search(ops.engine)  # referral 2 March: decided on time, never screened
    imported = imported_unscreened_referral(ops.engine)  # referral 9 March: neither screened nor decided
    period = {"from": "2026-03-01", "to": "2026-03-31"}

    report = (await ops.get("/ops/compliance", **period)).json()
    table = list(csv.DictReader(io.StringIO((await ops.get("/ops/compliance.csv", **period)).text)))
    lists = (await ops.get("/ops/deadlines")).json()
    page = await ops.get("/ops", **period)

    def counts(rows: list[dict[str, str]], kind: str) -> tuple[int, int, int]:
        row = next(r for r in rows if r["kind"] == kind)
        return int(row["fell_due"]), int(row["met_on_time"]), int(row["still_breached"])

    # The system's own: the live case alone (1 of 1 decisions on time, 0 of 1 screenings).
    assert counts(report["rows"], "referral-decision") == (1, 1, 0)
    assert counts(report["rows"], "asp-screening") == (1, 0, 1)
    # The imported case's, apart: neither met.
    assert [(r["kind"], r["fell_due"], r["still_breached"]) for r in report["before_go_live"]] == [
        ("referral-decision", 1, 1),
        ("asp-screening", 1, 1),
    ]
    assert [(r["kind"], r["before_go_live"]) for r in table] == [
        *((r["kind"], "no") for r in report["rows"]),
        ("referral-decision", "yes"),
        ("asp-screening", "yes"),
    ]
    assert counts([r for r in table if r["before_go_live"] == "no"], "referral-decision") == (1, 1, 0)
    assert counts([r for r in table if r["before_go_live"] == "yes"], "referral-decision") == (1, 0, 1)
    assert {d["case_ref"] for d in lists["breached"]} == {live}
    assert [(d["case_ref"], d["kind"]) for d in lists["breached_before_go_live"]] == [
        (imported, "asp-screening"),
        (imported, "referral-decision"),
    ]
    breaches, before_go_live = page.text.split('id="breaches-before-go-live"')
    assert imported not in breaches.split('id="breaches"')[1]
    assert imported in before_go_live.split('id="due-soon"')[0]
    assert 'id="compliance-before-go-live"' in page.text


async def test_without_a_period_compliance_covers_the_reporting_year_from_1_april(ops: Ops) -> None:
    report = (await ops.get("/ops/compliance")).json()
    start, end = report["period_start"], report["period_end"]
    assert start.endswith("-04-01") and end.endswith("-03-31") and int(end[:4]) == int(start[:4]) + 1


@pytest.mark.parametrize(
    ("user", "params", "status", "rule"),
    [
        (None, {}, 401, None),
        ("lan-police", {}, 403, "role"),
        ("lan-ops", {"area": "glasgow"}, 403, "area"),
        ("lan-ops", {"from": "2026-04-01", "to": "2026-03-01"}, 422, None),
        ("lan-ops", {"from": "2999-04-01"}, 422, None),
    ],
)
async def test_only_ops_co_ordinators_and_chairs_read_their_own_area(
    ops: Ops, user: str | None, params: dict[str, str], status: int, rule: str | None
) -> None:
    response = await ops.get("/ops/compliance", user, **params)
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json().get("rule") == rule


async def test_a_period_from_29_february_runs_to_28_february(ops: Ops) -> None:
    report = (await ops.get("/ops/compliance", **{"from": "2028-02-29"})).json()
    assert (report["period_start"], report["period_end"]) == ("2028-02-29", "2029-02-28")


async def test_an_unknown_token_is_told_apart_from_none(ops: Ops) -> None:
    response = await ops.http.get("/ops/deadlines", headers={"Authorization": "Bearer mappa_made-up"})
    assert response.status_code == 401
    assert response.json()["detail"] == "the token is unknown or has been revoked"
    assert 'error="invalid_token"' in response.headers["www-authenticate"]


@pytest.mark.parametrize("user", ["lan-co", "lan-chair"])
async def test_co_ordinators_and_chairs_read_the_ops_views_too(ops: Ops, user: str) -> None:
    assert (await ops.get("/ops/deadlines", user)).status_code == 200


async def test_the_page_asks_for_a_token_then_keeps_it_in_an_http_only_cookie(ops: Ops) -> None:
    breached = breached_record_search(ops.engine)

    first = await ops.get("/ops", user=None)
    assert first.status_code == 401
    assert first.headers["content-type"].startswith("text/html")
    assert 'action="/ops/session"' in first.text

    signed_in = await ops.http.post("/ops/session", data={"token": ops.tokens["lan-ops"]})
    assert signed_in.status_code == 303 and signed_in.headers["location"] == "/ops"
    cookie = signed_in.headers["set-cookie"]
    for attribute in ("HttpOnly", "Path=/ops", "SameSite=strict", "Max-Age=28800"):
        assert attribute in cookie
    assert "Secure" not in cookie, "served over plain HTTP here"

    page = await ops.http.get("/ops")  # the client sends the cookie back
    assert page.status_code == 200
    assert '<meta http-equiv="refresh" content="60">' in page.text
    assert breached in page.text
    assert "agency record search" in page.text

    signed_out = await ops.http.post("/ops/session/end")
    assert signed_out.status_code == 303
    assert SESSION_COOKIE not in ops.http.cookies
    assert (await ops.http.get("/ops")).status_code == 401


async def test_a_wrong_token_or_a_role_without_ops_access_does_not_sign_in(ops: Ops) -> None:
    wrong = await ops.http.post("/ops/session", data={"token": "mappa_not-a-token"})
    agency_worker = await ops.http.post("/ops/session", data={"token": ops.tokens["lan-police"]})

    assert wrong.status_code == 401 and "unknown or has been revoked" in wrong.text
    assert agency_worker.status_code == 403 and "may not read the ops deadlines" in agency_worker.text
    assert "set-cookie" not in wrong.headers and "set-cookie" not in agency_worker.headers


def chart_totals(page: str) -> dict[str, int]:
    """The monthly chart's bars, summed per outcome (its `data-` attributes)."""
    chart = page[
        page.index('<svg id="outcomes-chart"') : page.index("</svg>", page.index('id="outcomes-chart"'))
    ]
    totals = {"met_on_time": 0, "met_late": 0, "still_breached": 0}
    for outcome, count in re.findall(r'data-outcome="(\w+)" data-count="(\d+)"', chart):
        totals[outcome] += int(count)
    return totals


async def test_the_monthly_chart_follows_the_agency_and_kind_filters(ops: Ops) -> None:
    breached_record_search(ops.engine)
    breached_record_search(ops.engine)
    period = {"from": "2026-03-01", "to": "2026-03-31"}
    rows = {row["kind"]: row for row in (await ops.get("/ops/compliance", **period)).json()["rows"]}
    outcomes = ("met_on_time", "met_late", "still_breached")

    everything = chart_totals((await ops.get("/ops", **period)).text)
    by_kind = await ops.get("/ops", kind="record-search", **period)
    by_agency = await ops.get("/ops", agency="nhs-lanarkshire", **period)

    assert everything == {o: sum(row[o] for row in rows.values()) for o in outcomes}
    assert chart_totals(by_kind.text) == {o: rows["record-search"][o] for o in outcomes}
    # NHS Lanarkshire owes only the record searches here: both still breached.
    assert chart_totals(by_agency.text) == {"met_on_time": 0, "met_late": 0, "still_breached": 2}
    assert everything != chart_totals(by_agency.text)
    assert "Only agency record search deadlines, as in the lists" in by_kind.text
    assert "Only deadlines owed by nhs-lanarkshire, as in the lists" in by_agency.text


async def test_the_kind_filter_names_each_kind_by_its_rules_title(ops: Ops) -> None:
    page = (await ops.get("/ops", kind="rmp-action")).text

    options = dict(re.findall(r'<option value="([a-z0-9-]+)"(?: selected)?>([^<]+)</option>', page))
    assert options["rmp-action"] == "risk management plan action"
    assert options["initial-meeting-level-3"] == "initial level 3 meeting (MAPPP)"
    assert '<option value="rmp-action" selected>' in page
    assert all(title != kind for kind, title in options.items())
    assert "adult-safeguarding-referral" not in options  # an England and Wales rule: not in Lanarkshire
