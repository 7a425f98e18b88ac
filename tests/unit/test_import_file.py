"""Reading and checking an import file: the dry run of 1,000 fictional rows, refusals by line, field and rule,
and each imported case's deadlines against the deadline calculator for the same dates."""

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from api.imports import check_file
from bench.import_rows import as_csv, fictional_rows
from cli.main import main
from tests.e2e.api_rig import database
from tests.import_expectations import SEED_DIRECTORY, expected_due_date
from workflows.rules.calendar import local_date
from workflows.rules.events import EntryRoute, Jurisdiction
from workflows.rules.imported_row import ImportedStage
from workflows.rules.policy import AREAS

NOW = datetime.now(UTC)
TODAY = local_date(NOW)  # the London day: at 00:30 in summer time the UTC date is the day before
EXAMPLE = Path(__file__).parents[2] / "docs" / "import-example.csv"


def test_a_thousand_row_dry_run_accepts_every_row_and_each_owes_what_the_calculator_gives() -> None:
    check = check_file(as_csv(fictional_rows(1000, TODAY)), "csv", NOW, directory=SEED_DIRECTORY)
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
            expected = expected_due_date(row.row, owed.kind, owed.deadline_id, TODAY)
            if expected is not None:
                assert owed.due_date == expected, (row.line, owed)
                compared += 1
    assert compared > 1500


def test_refused_rows_are_reported_with_line_field_and_rule() -> None:
    rows = fictional_rows(6, TODAY)
    rows[1]["screened_on"] = "2026-02-30"  # line 3: no such day
    rows[4]["next_review_date"] = (TODAY + timedelta(weeks=20)).isoformat()  # line 6: past the maximum
    rows[5]["import_ref"] = rows[0]["import_ref"]  # line 7: the reference of line 2 again
    check = check_file(as_csv(rows), "csv", NOW, directory=SEED_DIRECTORY)
    found = {(e.line, e.field, e.rule) for e in check.errors}
    assert found == {
        (3, "screened_on", "column format"),
        (6, "next_review_date", "review date maximum"),
        (7, "import_ref", "one import per reference"),
    }
    assert [r.line for r in check.rows] == [2, 4, 5]


def test_json_lines_rows_read_as_csv_rows_do() -> None:
    rows = fictional_rows(14, TODAY)
    jsonl = "\n".join(json.dumps(r) for r in rows)
    from_json = check_file(jsonl, "jsonl", NOW, directory=SEED_DIRECTORY)
    from_csv = check_file(as_csv(rows), "csv", NOW, directory=SEED_DIRECTORY)
    assert from_json.errors == []
    assert [(r.stage, [o.due_date for o in r.owes]) for r in from_json.rows] == [
        (r.stage, [o.due_date for o in r.owes]) for r in from_csv.rows
    ]


def test_the_example_file_has_one_passing_row_of_every_kind_the_readme_promises() -> None:
    # The example's dates are fixed: it is checked on a day they were written around, in any year it runs.
    written_on = datetime(2026, 12, 4, 12, tzinfo=UTC)
    check = check_file(EXAMPLE.read_text(), "csv", written_on, directory=SEED_DIRECTORY)
    assert (check.read, len(check.rows), check.errors) == (19, 19, [])
    rows = [r.row for r in check.rows]
    kinds = {
        "England and Wales": [
            r for r in rows if AREAS[r.area].jurisdiction is Jurisdiction.ENGLAND_AND_WALES
        ],
        "Scotland": [r for r in rows if AREAS[r.area].jurisdiction is Jurisdiction.SCOTLAND],
        "custody": [r for r in rows if r.route is EntryRoute.CUSTODY and r.release_date],
        "restricted patient": [
            r for r in rows if r.route is EntryRoute.RESTRICTED_PATIENT and r.discharge_date
        ],
        "category 2 with licence end": [r for r in rows if r.category == 2 and r.licence_end_date],
        "category 3 with licence end": [r for r in rows if r.category == 3 and r.licence_end_date],
        "ASP case conference": [r for r in rows if r.route is EntryRoute.ASP_CASE_CONFERENCE],
    }
    assert [kind for kind, found in kinds.items() if not found] == []
    assert {r.stage for r in check.rows} == {s.value for s in ImportedStage}
    exits = {d.kind for r in check.rows for d in r.owes}
    assert {"supervision-end-notice", "supervision-exit-review", "asp-screening", "sonr-exit-notice"} <= exits


def test_mappa_import_cases_is_a_dry_run_unless_committed(
    tmp_path: Path, capsys: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    url, engine = database(tmp_path)  # the directory the rows' agencies are checked against
    engine.dispose()
    monkeypatch.setenv("MAPPA_DATABASE_URL", url)
    rows = fictional_rows(7, TODAY)
    rows[1]["level_sought"] = 3  # line 3, a referral: no statement of what level 2 cannot deliver
    path = tmp_path / "cases.csv"
    path.write_text(as_csv(rows))
    assert main(["import", "cases", str(path)]) == 1
    out = capsys.readouterr().out  # type: ignore[attr-defined]
    line_2 = next(line for line in out.splitlines() if line.startswith("line 2  LAN-2020-00001"))
    assert "referral-due, level -:" in line_2 and "MAPPA referral due" in line_2
    # Who would be e-mailed, and how many times: the co-ordinator once, whatever is already past.
    assert "e-mail: lanarkshire co-ordinator, 1 notice(s)" in out
    assert "line 3, level_2_cannot_deliver:" in out and "[level 3 referral statement]" in out
    assert "Dry run: nothing was started" in out
