"""`mappa import cases --json`: the run as one JSON document on standard output, for a script to work with:
each row that passes and what it owes, each refusal, and once committed the case each `import_ref` became."""

from __future__ import annotations

import asyncio
import csv
import json
from pathlib import Path
from uuid import uuid4

import pytest

from bench.import_rows import as_csv, fictional_rows
from cli.main import main
from tests.e2e.api_rig import ApiRig, london_today

pytestmark = pytest.mark.timeout(240)


async def test_a_committed_import_says_as_json_which_case_each_row_became(
    api_rig: ApiRig, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    prefix = f"J{uuid4().hex[:8]}"
    rows = fictional_rows(4, london_today())
    for row in rows:
        row["import_ref"] = f"{prefix}-{row['import_ref']}"
    rows[-1]["category"] = "9"  # refused: no such category
    path = tmp_path / "cases.csv"
    path.write_text(as_csv(rows))
    settings = api_rig.settings
    monkeypatch.setenv("MAPPA_TEMPORAL_ADDRESS", api_rig.env.client.service_client.config.target_host)
    monkeypatch.setenv("MAPPA_TEMPORAL_NAMESPACE", settings.temporal_namespace)
    monkeypatch.setenv("MAPPA_TASK_QUEUE", settings.task_queue)
    monkeypatch.setenv("MAPPA_DATABASE_URL", settings.database_url)

    assert await asyncio.to_thread(main, ["import", "cases", str(path), "--json"]) == 1
    dry = json.loads(capsys.readouterr().out)
    assert await asyncio.to_thread(main, ["import", "cases", str(path), "--commit", "--json"]) == 1
    committed = json.loads(capsys.readouterr().out)

    refs = [row["import_ref"] for row in csv.DictReader(path.open())]
    assert dry["read"] == 4 and dry["imported"] is None
    assert [r["import_ref"] for r in dry["rows"]] == refs[:3]
    assert [(e["line"], e["field"]) for e in dry["refused"]] == [(5, "category")]
    assert all(d["due_at"] for r in dry["rows"] for d in r["owes"])
    imported = {r["import_ref"]: r for r in committed["imported"]}
    assert set(imported) == set(refs[:3])
    for ref, row in imported.items():
        assert row["outcome"] == "started" and row["case_ref"].startswith("MAPPA-LAN-"), ref
        handle = api_rig.env.client.get_workflow_handle(row["case_ref"])
        assert (await handle.describe()).id == row["case_ref"]
