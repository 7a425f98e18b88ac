"""Reading an import file: rows counted as they stream and refused past the limit, hostile cells refused on their
line and column (never an exception), every fault of a row reported in the template's words, agencies checked
against the directory, and no level before a referral is accepted."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from api.import_reading import MAX_CELL_CHARS, ImportFileError, RowSplitter, TooManyRows, split_rows
from api.imports import ImportRow, check_file, parse_row
from bench.import_rows import COLUMNS, as_csv, fictional_rows
from tests.import_expectations import SEED_DIRECTORY
from workflows.rules.calendar import local_date

NOW = datetime.now(UTC)
TODAY = local_date(NOW)  # the London day: at 00:30 in summer time the UTC date is the day before


def _check(rows: list[dict[str, Any]]) -> Any:
    return check_file(as_csv(rows), "csv", NOW, directory=SEED_DIRECTORY)


def _faults(rows: list[dict[str, Any]]) -> set[tuple[int, str | None, str]]:
    return {(e.line, e.field, e.rule) for e in _check(rows).errors}


# ------------------------------------------------------------------------------------------ streaming


def test_rows_are_counted_as_they_stream_and_the_read_stops_at_the_limit_plus_one() -> None:
    text = as_csv(fictional_rows(40, TODAY))
    header, *lines = text.splitlines(keepends=True)
    splitter = RowSplitter("csv", max_rows=25)
    splitter.feed(header)
    fed = 0
    with pytest.raises(TooManyRows):
        for line in lines:
            fed += 1
            splitter.feed(line)
    assert fed == 26
    assert len(splitter.rows) == 25


def test_a_quoted_cell_may_span_lines_and_a_row_is_counted_once() -> None:
    rows = fictional_rows(3, TODAY)
    rows[1]["subject_address"] = "2 Demo Avenue\nWishaw"
    split = split_rows(as_csv(rows), "csv")
    assert [r.line for r in split.rows] == [2, 3, 5]
    check = check_file(as_csv(rows), "csv", NOW, directory=SEED_DIRECTORY)
    assert [r.line for r in check.rows] == [2, 3, 5]


def test_a_row_longer_than_a_megabyte_stops_the_read_naming_its_line() -> None:
    splitter = RowSplitter("jsonl")
    splitter.feed('{"import_ref": "A-1"}\n')
    with pytest.raises(ImportFileError, match="line 2: a row longer than"):
        for _ in range(200):
            splitter.feed("x" * 10_000)


def test_a_quoted_cell_never_closed_is_refused_with_its_line() -> None:
    with pytest.raises(ImportFileError, match="line 3: a quoted cell is never closed"):
        split_rows(as_csv(fictional_rows(1, TODAY)) + 'A-2,lanarkshire,"open\n', "csv")


def test_a_header_naming_a_column_not_in_the_template_is_refused() -> None:
    with pytest.raises(ImportFileError, match="not columns of the template: favourite_colour"):
        check_file("import_ref,favourite_colour\nA-1,blue\n", "csv", NOW, directory=SEED_DIRECTORY)


# ------------------------------------------------------------------------------------------ hostile cells


def test_a_cell_over_131072_characters_is_refused_on_its_line_and_column() -> None:
    rows = fictional_rows(2, TODAY)
    rows[1]["subject_address"] = "x" * 131_073
    check = _check(rows)
    assert [(e.line, e.field, e.message) for e in check.errors] == [
        (3, "subject_address", f"a cell of 131,073 characters; at most {MAX_CELL_CHARS:,}")
    ]
    assert [r.line for r in check.rows] == [2]


def test_a_non_ascii_digit_or_a_5000_digit_number_is_refused_in_the_templates_words() -> None:
    rows = fictional_rows(3, TODAY)
    rows[0]["category"] = "²"
    rows[1]["category"] = "9" * 5000
    found = {(e.line, e.field, e.message) for e in _check(rows).errors}
    assert found == {(2, "category", "give 1, 2, 3 or 4"), (3, "category", "give 1, 2, 3 or 4")}


def test_json_nested_100000_deep_or_a_5000_digit_integer_is_refused_on_its_line() -> None:
    good = json.dumps(fictional_rows(1, TODAY)[0])
    deep = "[" * 100_000 + "]" * 100_000
    number = good.replace('"category": 2', '"category": ' + "9" * 5000)
    assert number != good
    check = check_file("\n".join([good, deep, number]), "jsonl", NOW, directory=SEED_DIRECTORY)
    assert {(e.line, e.field) for e in check.errors} == {(2, None), (3, "category")}
    assert "nested more deeply" in check.errors[0].message
    assert [r.line for r in check.rows] == [1]


_HOSTILE = st.one_of(
    st.text(max_size=60),
    st.text(alphabet=st.characters(categories=["Nd", "No", "Cc", "Cf", "Zs"]), max_size=20),
    st.integers(min_value=4000, max_value=12_000).map(lambda n: "9" * n),
    st.integers(min_value=MAX_CELL_CHARS - 2, max_value=140_000).map(lambda n: "a" * n),
    st.sampled_from(["=1+1", "+A1", "-2", "@SUM(A1)", '"', '""', "\x00", "\r", "2026-02-30", "٣", "1e999"]),
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(column=st.sampled_from(COLUMNS), cell=_HOSTILE)
def test_any_hostile_cell_is_a_row_refusal_naming_its_line_never_an_exception(column: str, cell: str) -> None:
    rows = fictional_rows(3, TODAY)
    rows[1][column] = cell
    try:
        check = _check(rows)
    except ImportFileError as error:  # a cell that breaks the file's shape: refused whole, naming a line
        assert str(error).startswith("line "), error
        return
    assert check.read >= 2
    assert {e.line for e in check.errors} <= {3, 4}, check.errors
    for error in check.errors:
        assert error.field is None or error.field in COLUMNS or error.rule == "file format", error
        assert len(error.message) < 400, error
    assert 2 in [r.line for r in check.rows]


@settings(max_examples=40, deadline=None)
@given(
    key=st.sampled_from(COLUMNS),
    value=st.recursive(
        st.none() | st.integers() | st.text(max_size=8),
        lambda v: st.lists(v, max_size=3) | st.dictionaries(st.text(max_size=5), v, max_size=3),
        max_leaves=30,
    ),
)
def test_any_json_value_in_a_json_lines_row_is_refused_on_its_line_never_an_exception(
    key: str, value: Any
) -> None:
    row: dict[str, Any] = dict(fictional_rows(1, TODAY)[0])
    row[key] = value
    check = check_file(json.dumps(row), "jsonl", NOW, directory=SEED_DIRECTORY)
    assert check.read == 1
    assert all(e.line == 1 for e in check.errors)
    assert len(check.rows) + (1 if check.errors else 0) == 1


# ------------------------------------------------------------------------------------------ the report


def test_every_fault_of_a_row_is_reported_not_only_the_first() -> None:
    rows = fictional_rows(4, TODAY)
    row = rows[3]  # line 5: an information-sharing case
    row["accepted_on"] = "20261201"
    row["lead_agency"] = "police-scotland-lanarkshrie"
    row["subject_date_of_birth"] = "01/02/1970"
    row["searches_outstanding"] = "nhs-lanarkshire;nhs-lothian"
    found = {(e.field, e.rule) for e in _check(rows).errors if e.line == 5}
    assert found == {
        ("accepted_on", "column format"),
        ("subject_date_of_birth", "column format"),
        ("lead_agency", "agency directory"),
        ("searches_outstanding", "agency directory"),
    }


def test_a_validators_text_is_said_in_the_templates_words() -> None:
    rows = fictional_rows(3, TODAY)
    rows[0]["notified_on"] = "2O26-11-20"  # the letter O
    rows[1]["import_ref"] = "Jane Doe's case"
    rows[2]["route"] = "by-bus"
    messages = {(e.line, e.field): e.message for e in _check(rows).errors}
    assert messages[(2, "notified_on")] == "give a date as YYYY-MM-DD, e.g. 2026-11-20"
    assert messages[(3, "import_ref")].startswith("give the area's own case number")
    assert messages[(4, "route")].startswith("give one of: community, custody")
    assert not any("Input should be" in m for m in messages.values())


def test_a_typod_agency_another_areas_agency_and_an_inactive_one_are_refused_by_the_directory() -> None:
    rows = fictional_rows(5, TODAY)
    rows[0]["lead_agency"] = "police-scotland-lanarkshrie"
    rows[1]["lead_agency"] = "police-scotland-glasgow"
    rows[2]["referring_agency"] = "no-such-agency"
    rows[4]["rmp_actions"] = "A5-1 wiltshire-housing 2099-01-01"
    found = {(e.line, e.field): e.message for e in _check(rows).errors if e.rule == "agency directory"}
    # The directory's own words (store/directory.py: the one check of every named agency).
    assert found == {
        (2, "lead_agency"): "lead_agency: police-scotland-lanarkshrie is not in the MAPPA directory "
        "(did you mean police-scotland-lanarkshire?)",
        (
            3,
            "lead_agency",
        ): "lead_agency: police-scotland-glasgow works in Glasgow, not Lanarkshire: a case names "
        "the agencies of its own area (or a national agency)",
        (4, "referring_agency"): "referring_agency: no-such-agency is not in the MAPPA directory",
        (
            6,
            "rmp_actions",
        ): "rmp_actions: wiltshire-housing works in Wiltshire and Swindon, not Lanarkshire: a "
        "case names the agencies of its own area (or a national agency)",
    }


def test_a_national_agency_may_be_named_in_any_area() -> None:
    rows = fictional_rows(3, TODAY)
    rows[2]["searches_outstanding"] = "sps"  # line 4: an information-sharing case
    assert _check(rows).errors == []


@pytest.mark.parametrize("stage_row", [6, 0, 1])  # notification, referral-due, referral
def test_a_level_given_before_the_referral_is_accepted_is_refused(stage_row: int) -> None:
    rows = fictional_rows(7, TODAY)
    rows[stage_row]["level"] = 2
    check = _check(rows)
    assert [(e.line, e.field, e.rule) for e in check.errors] == [
        (stage_row + 2, "level", "imported case level")
    ]


def test_every_template_column_is_a_field_of_the_row() -> None:
    assert tuple(ImportRow.model_fields) == COLUMNS


def test_a_row_opens_its_case_with_every_column_the_opening_has() -> None:
    row = parse_row(
        3,
        fictional_rows(3, TODAY)[2]
        | {"visor_ref": "VISOR-0001", "swis_ref": "SWIS-0002", "licence_end_date": "2028-01-31"},
    )
    assert isinstance(row, ImportRow), row

    opening = row.opening()

    # The file's columns under the opening's names: the subject's five, and the licence's end (exit planning).
    assert (opening.subject.name, opening.subject.address) == (row.subject_name, row.subject_address)
    assert (opening.subject.visor_ref, opening.subject.swis_ref) == ("VISOR-0001", "SWIS-0002")
    assert opening.supervision_end_date == row.licence_end_date
    # Every other field of the opening the file has a column for is that column; the area fixes the
    # jurisdiction.
    shared = set(type(opening).model_fields) & set(ImportRow.model_fields)
    assert shared == {
        "area",
        "category",
        "lead_agency",
        "route",
        "release_date",
        "discharge_date",
        "sonr_end_date",
        "asp_chair_agency",
    }
    assert all(getattr(opening, name) == getattr(row, name) for name in shared)
    assert opening.jurisdiction == "scotland"
