"""Reading and checking an import file: the dry run of 1,000 fictional rows, refusals by line, field and rule,
and each imported case's deadlines against the deadline calculator for the same dates."""

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from api.imports import check_file
from bench.import_rows import as_csv, fictional_rows
from cli.main import main
from core.database import make_engine
from store.directory import SEED_DIRECTORY, AgencyDirectory, DirectoryFile, load_directory
from store.migrate import upgrade
from tests.import_expectations import expected_due_date

NOW = datetime.now(UTC)
DIRECTORY = AgencyDirectory.of_file(DirectoryFile.read(SEED_DIRECTORY))
EXAMPLE = Path(__file__).parents[2] / "docs" / "import-example.csv"


def test_a_thousand_row_dry_run_accepts_every_row_and_each_owes_what_the_calculator_gives() -> None:
    check = check_file(as_csv(fictional_rows(1000, NOW.date())), "csv", NOW, directory=DIRECTORY)
    assert (check.read, len(check.rows), check.errors) == (1000, 1000, [])
    assert {r.stage for r in check.rows} == {
        "notification",
        "referral-due",
        "referral",
        "information-sharing",
        "active-management",
        "level-1",
    }
    compared = 0
    for row in check.rows:
        for owed in row.owes:
            assert owed.due_date == expected_due_date(row.row, owed.kind, owed.deadline_id), (row.line, owed)
            compared += 1
    assert compared > 1500


def test_refused_rows_are_reported_with_line_field_and_rule() -> None:
    rows = fictional_rows(6, NOW.date())
    rows[1]["screened_on"] = "2026-02-30"  # line 3: no such day
    rows[4]["next_review_date"] = (NOW.date() + timedelta(weeks=20)).isoformat()  # line 6: past the maximum
    rows[5]["import_ref"] = rows[0]["import_ref"]  # line 7: the reference of line 2 again
    check = check_file(as_csv(rows), "csv", NOW, directory=DIRECTORY)
    found = {(e.line, e.field, e.rule) for e in check.errors}
    assert found == {
        (3, "screened_on", "column format"),
        (6, "next_review_date", "review date maximum"),
        (7, "import_ref", "one import per reference"),
    }
    assert [r.line for r in check.rows] == [2, 4, 5]


def test_json_lines_rows_read_as_csv_rows_do() -> None:
    rows = fictional_rows(14, NOW.date())
    jsonl = "\n".join(json.dumps(r) for r in rows)
    from_json = check_file(jsonl, "jsonl", NOW, directory=DIRECTORY)
    from_csv = check_file(as_csv(rows), "csv", NOW, directory=DIRECTORY)
    assert from_json.errors == []
    assert [(r.stage, [o.due_date for o in r.owes]) for r in from_json.rows] == [
        (r.stage, [o.due_date for o in r.owes]) for r in from_csv.rows
    ]


def test_the_example_file_has_every_column_of_the_template_in_order() -> None:
    check = check_file(EXAMPLE.read_text(), "csv", NOW, directory=DIRECTORY)
    assert check.read == 14
    assert not [e for e in check.errors if e.rule in ("column format", "file format")]


def test_mappa_import_cases_is_a_dry_run_unless_committed(
    tmp_path: Path, capsys: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The dry run checks every named agency against the directory, as the API does: the seed's, in a database.
    engine = make_engine(f"sqlite:///{tmp_path / 'mappa.db'}")
    upgrade(engine)
    load_directory(engine, SEED_DIRECTORY)
    engine.dispose()
    monkeypatch.setenv("MAPPA_DATABASE_URL", f"sqlite:///{tmp_path / 'mappa.db'}")
    rows = fictional_rows(7, NOW.date())
    rows[1]["level_sought"] = 3  # line 3, a referral: no statement of what level 2 cannot deliver
    path = tmp_path / "cases.csv"
    path.write_text(as_csv(rows))
    assert main(["import", "cases", str(path)]) == 1
    out = capsys.readouterr().out  # type: ignore[attr-defined]
    assert "line 2  LAN-2020-00001  referral-due, level -: MAPPA referral due" in out
    assert "line 3, level_2_cannot_deliver:" in out and "[level 3 referral statement]" in out
    assert "Dry run: nothing was started" in out
