"""No export can carry a formula into a spreadsheet: an import cell such as `=HYPERLINK(...)` reaches the audit
trail (an import's `target`, a reason, a user's name) and the compliance report's words; every CSV we write goes
through one helper that neutralises a cell a spreadsheet would run."""

from __future__ import annotations

import ast
import csv
import io
from datetime import UTC, date, datetime
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from api.routes.ops import compliance_csv
from store.audit_trail import to_csv
from store.csv_export import FORMULA_STARTS, neutral_cell
from store.models import AuditEvent
from store.views import ComplianceReport, ComplianceRow

ROOT = Path(__file__).resolve().parents[2]
# Text as an agency might type it, leaning on what spreadsheets run: a formula's first character, often after
# spaces or a tab.
typed = st.one_of(
    st.text(max_size=40),
    st.builds(
        lambda pad, start, rest: pad + start + rest,
        st.sampled_from(["", " ", "  "]),
        st.sampled_from([*FORMULA_STARTS, "'", "0", "a"]),
        st.text(max_size=30),
    ),
)


def cells(text: str) -> list[str]:
    return [cell for row in csv.reader(io.StringIO(text, newline="")) for cell in row]


def runs_in_a_spreadsheet(cell: str) -> bool:
    return cell.lstrip(" ").startswith(FORMULA_STARTS)


def test_an_import_cell_that_is_a_formula_is_exported_as_text() -> None:
    assert neutral_cell('=HYPERLINK("http://x.example","click")').startswith("'=")
    assert [neutral_cell(v) for v in ("+1", "-1", "@SUM(A1)", " =1", "\t=1", "A12-1")] == [
        "'+1",
        "'-1",
        "'@SUM(A1)",
        "' =1",
        "'\t=1",
        "A12-1",
    ]
    assert neutral_cell(-3) == -3 and neutral_cell(None) == ""


@given(user=typed, target=typed, reason=typed, agency=typed)
def test_no_cell_of_an_audit_export_runs_as_a_formula(
    user: str, target: str, reason: str, agency: str
) -> None:
    event = AuditEvent(
        id=1,
        at=datetime(2026, 3, 2, 10, 0, tzinfo=UTC),
        user_name=user,
        agency_id=agency,
        role="co-ordinator",
        action="import a case",
        case_ref="MAPPA-LAN-2026-7K2Q9X",
        target=target,
        outcome="allowed",
        reason=reason,
    )
    text = to_csv([event])
    assert not [c for c in cells(text) if runs_in_a_spreadsheet(c)]
    # Nothing is lost: each typed value is there, as typed or behind the apostrophe that keeps it text.
    (row,) = csv.DictReader(io.StringIO(text, newline=""))
    for column, value in (("user_name", user), ("target", target), ("reason", reason), ("agency_id", agency)):
        assert row[column] in (value, "'" + value)


@given(title=typed, kind=typed, area=typed)
def test_no_cell_of_the_compliance_csv_runs_as_a_formula(title: str, kind: str, area: str) -> None:
    row = ComplianceRow(
        kind=kind,
        title=title,
        fell_due=3,
        met_on_time=2,
        met_late=1,
        still_breached=0,
        closed_unmet=0,
        open_not_yet_due=0,
        cancelled=0,
    )
    report = ComplianceReport(
        area=area,
        area_name="Lanarkshire",
        period_start=date(2026, 4, 1),
        period_end=date(2027, 3, 31),
        as_at=datetime(2026, 12, 1, tzinfo=UTC),
        rows=[row],
    )
    assert not [c for c in cells(compliance_csv(report)) if runs_in_a_spreadsheet(c)]


def test_every_csv_we_export_is_written_by_the_one_helper() -> None:
    """No module of the API, store, CLI, activities or worker writes CSV but store/csv_export.py."""
    writers = []
    for package in ("api", "store", "cli", "activities", "worker"):
        for path in (ROOT / package).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text(), str(path))):
                if (
                    isinstance(node, ast.Attribute)
                    and node.attr in ("writer", "DictWriter")
                    and isinstance(node.value, ast.Name)
                    and node.value.id == "csv"
                ):
                    writers.append(str(path.relative_to(ROOT)))
    assert writers == ["store/csv_export.py"]
