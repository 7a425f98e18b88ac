"""Bulk import against the real dev server and worker: a co-ordinator dry-runs a file of 50 fictional cases
in progress, imports it, and imports it again. The cases answer the UI's queries by stage, level and next
deadline, their deadlines are what the calculator gives for the same dates, and nothing starts twice."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import uuid4

import pytest
from sqlalchemy import func, select

from api.imports import ImportRow, parse_row
from bench.import_rows import as_csv, fictional_rows
from cli.main import main
from core.database import session_factory
from store.models import AuditEvent
from tests.e2e.api_rig import ApiRig, london_today
from tests.import_expectations import expected_due_date
from workflows import search_attributes as sa

pytestmark = pytest.mark.timeout(240)
ROWS = 50
CSV = {"Content-Type": "text/csv"}


async def _import(rig: ApiRig, text: str, commit: bool) -> dict[str, Any]:
    answer = await rig.http.post(
        f"/imports?commit={'true' if commit else 'false'}",
        content=text.encode(),
        headers={**rig.auth("lan-co"), **CSV},
        timeout=180,
    )
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


async def _listed(rig: ApiRig, query: str, expected: int) -> list[str]:
    """The cases a Temporal UI query lists, once visibility has caught up with `expected` of them."""
    ids: list[str] = []
    for _ in range(120):
        ids = [w.id async for w in rig.env.client.list_workflows(query)]
        if len(ids) == expected:
            return ids
        await asyncio.sleep(0.5)
    return ids


async def test_imported_cases_answer_queries_owe_what_the_calculator_gives_and_start_once(
    api_rig: ApiRig,
) -> None:
    prefix = f"T{uuid4().hex[:8]}"
    rows = fictional_rows(ROWS, london_today())
    for row in rows:
        row["import_ref"] = f"{prefix}-{row['import_ref']}"
    text = as_csv(rows)
    in_this_test = f'ImportRef >= "{prefix}" AND ImportRef < "{prefix}~"'

    dry = await _import(api_rig, text, commit=False)
    assert (dry["read"], len(dry["rows"]), dry["errors"], dry["committed"]) == (ROWS, ROWS, [], False)
    assert [w async for w in api_rig.env.client.list_workflows(in_this_test)] == []

    first = await _import(api_rig, text, commit=True)
    assert first["errors"] == []
    assert {r["outcome"] for r in first["rows"]} == {"started"}
    case_of = {r["import_ref"]: r["case_ref"] for r in first["rows"]}

    # The UI's queries: by stage and level, and by next deadline.
    level_3 = [r for r in first["rows"] if r["stage"] == "active-management" and r["level"] == 3]
    listed = await _listed(
        api_rig, f'{in_this_test} AND CaseStage = "active-management" AND CaseLevel = 3', len(level_3)
    )
    assert sorted(listed) == sorted(r["case_ref"] for r in level_3)
    assert len(await _listed(api_rig, in_this_test, ROWS)) == ROWS

    by_ref = {row["import_ref"]: parse_row(0, row) for row in rows}
    compared = 0
    cutoff = datetime.now(UTC) + timedelta(days=14)
    due_soon: set[str] = set()
    for answered in first["rows"]:
        row = by_ref[answered["import_ref"]]
        assert isinstance(row, ImportRow)
        case_ref = case_of[row.import_ref]
        status = (await api_rig.http.get(f"/cases/{case_ref}", headers=api_rig.auth("lan-co"))).json()
        assert status["summary"]["stage"] == answered["stage"]
        open_deadlines = [d for d in status["deadlines"] if d["state"] in ("open", "breached")]
        assert {d["deadline_id"] for d in open_deadlines} == {o["deadline_id"] for o in answered["owes"]}
        for d in open_deadlines:
            expected = expected_due_date(row, d["kind"], d["deadline_id"], london_today())
            if expected is not None:
                assert d["due_date"] == expected.isoformat()
            # Already past: breached before go-live, announced once (in the import's summary), not e-mailed.
            assert (d["state"] == "breached") == (d["escalations"] == 1) == d["pre_go_live"]
            compared += 1
        described = await api_rig.env.client.get_workflow_handle(case_ref).describe()
        assert described.typed_search_attributes.get(sa.IMPORT_REF) == row.import_ref
        waiting = sorted((d for d in open_deadlines if d["state"] == "open"), key=lambda d: d["due_at"])
        if waiting and datetime.fromisoformat(waiting[0]["due_at"]) < cutoff:
            due_soon.add(case_ref)
    assert compared > ROWS
    # No storm: nothing already past is e-mailed on its own; the co-ordinator gets one summary listing it all.
    past = sum(1 for r in first["rows"] for o in r["owes"] if o["breached"])
    assert past > 0 and first["mail"][0]["to"] == "co-ordinator" and first["mail"][0]["notices"] == 1
    summaries: list[Any] = []
    for _ in range(120):
        summaries = [m for m in api_rig.smtp.messages if "already past at the import" in str(m["Subject"])]
        if summaries:
            break
        await asyncio.sleep(0.5)
    assert len(summaries) == 1
    body = summaries[0].get_payload(decode=True).decode()
    assert sum(1 for ref in case_of.values() if ref in body) == len(
        {r["case_ref"] for r in first["rows"] if any(o["breached"] for o in r["owes"])}
    )
    assert not [m for m in api_rig.smtp.messages if any(ref in str(m["Subject"]) for ref in case_of.values())]
    listed = await _listed(
        api_rig,
        f'{in_this_test} AND NextDeadlineAt < "{cutoff.isoformat().replace("+00:00", "Z")}"',
        len(due_soon),
    )
    assert sorted(listed) == sorted(due_soon)

    again = await _import(api_rig, text, commit=True)
    assert {r["outcome"] for r in again["rows"]} == {"already-imported"}
    assert {r["import_ref"]: r["case_ref"] for r in again["rows"]} == case_of
    assert len(await _listed(api_rig, in_this_test, ROWS)) == ROWS
    with session_factory(api_rig.engine)() as session:
        audited = session.execute(
            select(AuditEvent.case_ref, func.count())
            .where(AuditEvent.action == "import a case")
            .group_by(AuditEvent.case_ref)
        ).all()
    assert sorted(audited) == sorted((case_ref, 1) for case_ref in case_of.values())


async def test_only_the_areas_co_ordinator_may_import(api_rig: ApiRig) -> None:
    text = as_csv(fictional_rows(2, london_today()))
    for user in ("lan-police", "gla-co"):
        answer = await api_rig.http.post(
            "/imports?area=lanarkshire", content=text.encode(), headers={**api_rig.auth(user), **CSV}
        )
        assert answer.status_code == 403, (user, answer.text)


async def test_mappa_import_cases_commit_starts_each_row_once_with_a_summary(
    api_rig: ApiRig, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    prefix = f"C{uuid4().hex[:8]}"
    rows = fictional_rows(7, london_today())
    for row in rows:
        row["import_ref"] = f"{prefix}-{row['import_ref']}"
    path = tmp_path / "cases.csv"
    path.write_text(as_csv(rows))
    settings = api_rig.settings
    monkeypatch.setenv("MAPPA_TEMPORAL_ADDRESS", api_rig.env.client.service_client.config.target_host)
    monkeypatch.setenv("MAPPA_TEMPORAL_NAMESPACE", settings.temporal_namespace)
    monkeypatch.setenv("MAPPA_TASK_QUEUE", settings.task_queue)
    monkeypatch.setenv("MAPPA_DATABASE_URL", settings.database_url)
    command = ["import", "cases", str(path), "--commit"]

    assert await asyncio.to_thread(main, command) == 0
    assert "Started 7, already imported 0, failed 0" in capsys.readouterr().out
    assert await asyncio.to_thread(main, command) == 0
    assert "Started 0, already imported 7, failed 0" in capsys.readouterr().out
    listed = await _listed(api_rig, f'ImportRef >= "{prefix}" AND ImportRef < "{prefix}~"', 7)
    assert len(listed) == 7
