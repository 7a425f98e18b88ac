"""Bulk import against the real dev server and worker: a co-ordinator dry-runs a file of 50 fictional cases in
progress, commits it (the import's own workflow starts the rows in the background) and follows it, and sends it
again. The cases answer the UI's queries by stage, level and next deadline, their deadlines are what the
calculator gives for the same dates, each `import_ref` is reported with the case it became, and nothing starts
twice. The body is read as it streams: a file over the limit is refused after its limit + 1st row, and the event
loop answers other requests while an import is checked."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import uuid4

import pytest
from sqlalchemy import func, select

from api.imports import ImportRow, parse_row
from api.routes import imports as import_routes
from bench.import_rows import as_csv, fictional_rows
from cli.main import main
from core.database import session_factory
from store.models import AuditEvent
from tests.e2e.api_rig import ApiRig, london_today
from tests.import_expectations import expected_due_date
from workflows import search_attributes as sa

pytestmark = pytest.mark.timeout(300)
ROWS = 50
CSV = {"Content-Type": "text/csv"}


async def _dry_run(rig: ApiRig, text: str) -> dict[str, Any]:
    answer = await rig.http.post("/imports", content=text.encode(), headers={**rig.auth("lan-co"), **CSV})
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


async def _commit(rig: ApiRig, text: str) -> str:
    answer = await rig.http.post(
        "/imports?commit=true", content=text.encode(), headers={**rig.auth("lan-co"), **CSV}
    )
    assert answer.status_code == 202, answer.text
    assert answer.headers["Location"] == answer.json()["status"]
    import_id: str = answer.json()["import_id"]
    return import_id


async def _finished(rig: ApiRig, import_id: str) -> dict[str, Any]:
    """The import's status once every row has settled, watched as a client would (progress never goes back)."""
    settled = 0
    for _ in range(240):
        answer = await rig.http.get(f"/imports/{import_id}", headers=rig.auth("lan-co"))
        assert answer.status_code == 200, answer.text
        status: dict[str, Any] = answer.json()
        assert status["progress"]["settled"] >= settled
        settled = status["progress"]["settled"]
        if status["progress"]["finished"] and status["state"] == "completed":
            return status
        await asyncio.sleep(0.5)
    raise AssertionError(f"import {import_id} did not finish: {status['progress']}")


async def _listed(rig: ApiRig, query: str, expected: int) -> list[str]:
    """The cases a Temporal UI query lists, once visibility has caught up with `expected` of them."""
    ids: list[str] = []
    for _ in range(120):
        ids = [w.id async for w in rig.env.client.list_workflows(query)]
        if len(ids) == expected:
            return ids
        await asyncio.sleep(0.5)
    return ids


def _prefixed(count: int, prefix: str) -> list[dict[str, Any]]:
    rows = fictional_rows(count, london_today())
    for row in rows:
        row["import_ref"] = f"{prefix}-{row['import_ref']}"
    return rows


async def test_imported_cases_answer_queries_owe_what_the_calculator_gives_and_start_once(
    api_rig: ApiRig,
) -> None:
    prefix = f"T{uuid4().hex[:8]}"
    rows = _prefixed(ROWS, prefix)
    text = as_csv(rows)
    in_this_test = f'ImportRef >= "{prefix}" AND ImportRef < "{prefix}~"'

    dry = await _dry_run(api_rig, text)
    assert (dry["read"], len(dry["rows"]), dry["errors"], dry["committed"]) == (ROWS, ROWS, [], False)
    assert [w async for w in api_rig.env.client.list_workflows(in_this_test)] == []

    import_id = await _commit(api_rig, text)
    first = await _finished(api_rig, import_id)
    assert first["progress"] | {"settled": None} == {
        "rows": ROWS,
        "settled": None,
        "started": ROWS,
        "already_imported": 0,
        "refused": 0,
        "failed": 0,
        "finished": True,
    }
    assert {r["outcome"] for r in first["rows"]} == {"started"}
    case_of = {r["import_ref"]: r["case_ref"] for r in first["rows"]}
    described = await api_rig.env.client.get_workflow_handle(import_id).describe()
    assert described.typed_search_attributes.get(sa.IMPORT_ROWS_SETTLED) == ROWS
    assert described.typed_search_attributes.get(sa.AREA) == "lanarkshire"

    # The UI's queries: by stage and level, and by next deadline.
    by_ref = {row["import_ref"]: parse_row(0, row) for row in rows}
    stage_of = {r["import_ref"]: (r["stage"], r["level"]) for r in dry["rows"]}
    level_3 = [ref for ref, (stage, level) in stage_of.items() if stage == "active-management" and level == 3]
    listed = await _listed(
        api_rig, f'{in_this_test} AND CaseStage = "active-management" AND CaseLevel = 3', len(level_3)
    )
    assert sorted(listed) == sorted(case_of[ref] for ref in level_3)
    assert len(await _listed(api_rig, in_this_test, ROWS)) == ROWS

    compared = 0
    cutoff = datetime.now(UTC) + timedelta(days=14)
    due_soon: set[str] = set()
    owed = {r["import_ref"]: r["owes"] for r in dry["rows"]}
    for ref, case_ref in case_of.items():
        row = by_ref[ref]
        assert isinstance(row, ImportRow)
        status = (await api_rig.http.get(f"/cases/{case_ref}", headers=api_rig.auth("lan-co"))).json()
        assert status["summary"]["stage"] == stage_of[ref][0]
        open_deadlines = [d for d in status["deadlines"] if d["state"] in ("open", "breached")]
        assert {d["deadline_id"] for d in open_deadlines} == {o["deadline_id"] for o in owed[ref]}
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
    past = sum(1 for r in dry["rows"] for o in r["owes"] if o["breached"])
    assert past > 0 and dry["mail"][0]["to"] == "co-ordinator" and dry["mail"][0]["notices"] == 1
    summaries: list[Any] = []
    for _ in range(120):
        summaries = [m for m in api_rig.smtp.messages if "already past at the import" in str(m["Subject"])]
        if summaries:
            break
        await asyncio.sleep(0.5)
    assert len(summaries) == 1
    body = summaries[0].get_payload(decode=True).decode()
    assert sum(1 for ref in case_of.values() if ref in body) == len(
        {case_of[r["import_ref"]] for r in dry["rows"] if any(o["breached"] for o in r["owes"])}
    )
    assert not [m for m in api_rig.smtp.messages if any(ref in str(m["Subject"]) for ref in case_of.values())]
    listed = await _listed(
        api_rig,
        f'{in_this_test} AND NextDeadlineAt < "{cutoff.isoformat().replace("+00:00", "Z")}"',
        len(due_soon),
    )
    assert sorted(listed) == sorted(due_soon)

    # The same file again is the same import: nothing new starts.
    assert await _commit(api_rig, text) == import_id
    assert {r["import_ref"]: r["case_ref"] for r in (await _finished(api_rig, import_id))["rows"]} == case_of
    # A dry run now shows each row's case; one row changed under its old reference is refused in the dry run.
    rows[3]["subject_address"] = "9 Changed Street, Hamilton"
    again = await _dry_run(api_rig, as_csv(rows))
    assert {r["import_ref"]: r["already_imported_as"] for r in again["rows"]} == {
        ref: case for ref, case in case_of.items() if ref != rows[3]["import_ref"]
    }
    assert [(e["line"], e["field"], e["rule"]) for e in again["errors"]] == [
        (5, "import_ref", "one import per reference")
    ]
    assert case_of[rows[3]["import_ref"]] in again["errors"][0]["message"]
    # ... and, sent as a new file, that row is refused and nothing else starts again.
    second = await _finished(api_rig, await _commit(api_rig, as_csv(rows)))
    assert (second["progress"]["already_imported"], second["progress"]["refused"]) == (ROWS - 1, 1)
    assert len(await _listed(api_rig, in_this_test, ROWS)) == ROWS
    # Nor does the co-ordinator hear again of what the first import's summary listed.
    await asyncio.sleep(2)
    assert [
        m for m in api_rig.smtp.messages if "already past at the import" in str(m["Subject"])
    ] == summaries
    with session_factory(api_rig.engine)() as session:
        audited = session.execute(
            select(AuditEvent.case_ref, func.count())
            .where(AuditEvent.action == "import a case")
            .group_by(AuditEvent.case_ref)
        ).all()
    assert sorted(audited) == sorted((case_ref, 1) for case_ref in case_of.values())


async def test_only_the_areas_co_ordinator_may_import_or_follow_an_import(api_rig: ApiRig) -> None:
    text = as_csv(_prefixed(2, f"A{uuid4().hex[:8]}"))
    for user in ("lan-police", "gla-co"):
        answer = await api_rig.http.post(
            "/imports?area=lanarkshire", content=text.encode(), headers={**api_rig.auth(user), **CSV}
        )
        assert answer.status_code == 403, (user, answer.text)
    import_id = await _commit(api_rig, text)
    for user in ("lan-police", "gla-co"):
        answer = await api_rig.http.get(f"/imports/{import_id}", headers=api_rig.auth(user))
        assert answer.status_code == 403, (user, answer.text)
    await _finished(api_rig, import_id)


async def test_a_64000_row_dry_run_is_refused_after_reading_at_most_the_limit_plus_one_rows(
    api_rig: ApiRig,
) -> None:
    rows = fictional_rows(7, london_today())
    header, *lines = as_csv(rows).splitlines(keepends=True)
    sent = 0

    async def body() -> AsyncIterator[bytes]:
        nonlocal sent
        yield header.encode()
        for n in range(64_000):
            sent += 1
            yield lines[n % len(lines)].encode()

    answer = await api_rig.http.post(
        "/imports", content=body(), headers={**api_rig.auth("lan-co"), **CSV}, timeout=60
    )
    assert answer.status_code == 422, answer.text
    assert answer.json()["field"] == "body"
    assert f"at most {import_routes.MAX_ROWS:,} rows" in answer.json()["detail"]
    assert sent <= import_routes.MAX_ROWS + 1


async def test_other_requests_are_answered_while_a_maximal_dry_run_is_checked(
    api_rig: ApiRig, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The check waits, in its own thread, until another client's request has been answered: had it run on
    the event loop, that request could not be answered and the import would finish (or hang) first."""
    checking, answered = threading.Event(), threading.Event()
    check = import_routes.check_rows

    def held_check(*args: Any, **kwargs: Any) -> Any:
        checking.set()
        answered.wait(timeout=60)
        return check(*args, **kwargs)

    monkeypatch.setattr(import_routes, "check_rows", held_check)
    text = as_csv(_prefixed(import_routes.MAX_ROWS, f"M{uuid4().hex[:8]}"))
    dry = asyncio.create_task(_dry_run(api_rig, text))
    while not checking.is_set():
        await asyncio.sleep(0.01)
    other = await api_rig.http.get(
        "/deadlines/calculate",
        params={"area": "lanarkshire", "rule": "screening", "date": "2026-11-20"},
        headers=api_rig.auth("lan-police"),
    )
    assert other.status_code == 200, other.text
    assert not dry.done()
    answered.set()
    report = await dry
    assert (report["read"], len(report["rows"]), report["errors"]) == (
        import_routes.MAX_ROWS,
        import_routes.MAX_ROWS,
        [],
    )


async def test_hostile_cells_through_the_api_are_refused_on_their_line_and_column(api_rig: ApiRig) -> None:
    rows = _prefixed(4, f"H{uuid4().hex[:8]}")
    rows[0]["subject_address"] = "x" * 131_073
    rows[1]["category"] = "²"
    rows[2]["category"] = "9" * 5000
    report = await _dry_run(api_rig, as_csv(rows))
    assert {(e["line"], e["field"]) for e in report["errors"]} == {
        (2, "subject_address"),
        (3, "category"),
        (4, "category"),
    }
    deep = json.dumps(rows[3]) + "\n" + "[" * 100_000 + "]" * 100_000 + "\n"
    answer = await api_rig.http.post(
        "/imports",
        content=deep.encode(),
        headers={**api_rig.auth("lan-co"), "Content-Type": "application/x-ndjson"},
    )
    assert answer.status_code == 200, answer.text
    assert [(e["line"], e["rule"]) for e in answer.json()["errors"]] == [(2, "file format")]


async def test_mappa_import_cases_commit_follows_the_workflow_and_prints_each_case_reference(
    api_rig: ApiRig, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    prefix = f"C{uuid4().hex[:8]}"
    rows = _prefixed(7, prefix)
    path = tmp_path / "cases.csv"
    path.write_text(as_csv(rows))
    settings = api_rig.settings
    monkeypatch.setenv("MAPPA_TEMPORAL_ADDRESS", api_rig.env.client.service_client.config.target_host)
    monkeypatch.setenv("MAPPA_TEMPORAL_NAMESPACE", settings.temporal_namespace)
    monkeypatch.setenv("MAPPA_TASK_QUEUE", settings.task_queue)
    monkeypatch.setenv("MAPPA_DATABASE_URL", settings.database_url)

    assert await asyncio.to_thread(main, ["import", "cases", str(path), "--commit"]) == 0
    out = capsys.readouterr().out
    assert "Started 7, already imported 0, refused 0, failed 0 (of 7)." in out
    listed = await _listed(api_rig, f'ImportRef >= "{prefix}" AND ImportRef < "{prefix}~"', 7)
    assert len(listed) == 7
    for row in rows:
        assert any(f"{row['import_ref']} → MAPPA-LAN-" in line for line in out.splitlines()), row[
            "import_ref"
        ]

    # The same file again: the same import, nothing new; --json gives the API's answer.
    assert await asyncio.to_thread(main, ["import", "cases", str(path), "--commit", "--json"]) == 0
    answer = json.loads(capsys.readouterr().out)
    assert answer["progress"]["started"] == 7
    assert sorted(r["case_ref"] for r in answer["rows"]) == sorted(listed)
    assert await asyncio.to_thread(main, ["import", "status", answer["import_id"], "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["rows"] == answer["rows"]
    assert len(await _listed(api_rig, f'ImportRef >= "{prefix}" AND ImportRef < "{prefix}~"', 7)) == 7
