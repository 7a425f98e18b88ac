"""The one way we write CSV (the audit trail, the compliance report): every cell a spreadsheet could take for a
formula is neutralised.

Agencies type text that reaches our exports (an import row's cell, a user's name, a reason), and a spreadsheet
opens a cell beginning `=`, `+`, `-` or `@` (or a tab or carriage return before one) as a formula: CSV
injection. Such a cell is written with a leading apostrophe, which spreadsheets show as text and never run
(OWASP's advice). Numbers are written as they are: a negative count is still a number.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from typing import Any

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "\n")


def neutral_cell(value: Any) -> Any:
    """The cell as it may be written: text a spreadsheet would read as a formula gets a leading apostrophe."""
    if value is None:
        return ""
    if isinstance(value, bool | int | float):
        return value
    text = str(value)
    if text.lstrip(" ").startswith(FORMULA_STARTS):
        return "'" + text
    return text


def csv_text(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    """The header and rows as CSV (RFC 4180 line ends, so a cell holding a line break of either kind is
    quoted and stays one cell), every cell neutralised."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([neutral_cell(h) for h in header])
    for row in rows:
        writer.writerow([neutral_cell(v) for v in row])
    return out.getvalue()
