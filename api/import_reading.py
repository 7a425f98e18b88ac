"""Reading an import file as it arrives: rows split and counted while the bytes stream in, every cell bounded,
and the validators' refusals said in the template's words.

A file is read in two steps. `RowSplitter` takes the text in pieces (a request body's chunks, a file's
blocks), cuts it into rows (a CSV row may span lines inside a quoted cell; a JSON Lines row is one line) and
counts them as they come, so a file over the row limit is refused as soon as its limit + 1st row is seen, and
a single row over `MAX_ROW_CHARS` as soon as it is that long. It does only C-speed string work (split, count)
and may run on the event loop. `raw_rows` then reads each row's cells (csv, json): CPU work, run in a thread.

Hostile cells are refused on their row, naming the line and column: a cell over `MAX_CELL_CHARS`, JSON nested
deeper than the interpreter recurses, an integer too long to convert (kept as text and refused by the column's
own validator), a non-ASCII digit where a number is due.
"""

from __future__ import annotations

import codecs
import csv
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic_core import ErrorDetails

FileFormat = Literal["csv", "jsonl"]

# A real row is under 2 KB; the longest cell the template allows is a 4,000-character text.
MAX_ROW_CHARS = 1 << 20
MAX_CELL_CHARS = 8_000
# A number in a cell is a category or a level: longer digit strings stay text and are refused as such.
_MAX_NUMBER_DIGITS = 18
# The csv module's own cell limit (131,072) would fail the whole read; a row is bounded above instead, and each
# cell is then checked against MAX_CELL_CHARS with its column named.
csv.field_size_limit(MAX_ROW_CHARS)


class ImportFileError(ValueError):
    """A file that cannot be read as rows at all (not a row's fault)."""


class TooManyRows(ImportFileError):
    def __init__(self, limit: int) -> None:
        super().__init__(f"more than {limit:,} rows")
        self.limit = limit


@dataclass(frozen=True)
class Row:
    """One row's text as it stood in the file, and the line it starts on (a CSV's header is line 1)."""

    line: int
    text: str


@dataclass
class RowSplitter:
    """Cut text arriving in pieces into rows, counting them, and stop at `max_rows` or `MAX_ROW_CHARS`."""

    file_format: FileFormat
    max_rows: int | None = None
    header: Row | None = None
    rows: list[Row] = field(default_factory=list)
    _partial: str = ""  # the current physical line, not yet ended
    _lines: list[str] = field(default_factory=list)  # the current row's ended physical lines (CSV, in quotes)
    _chars: int = 0
    _in_quotes: bool = False
    _line: int = 0  # physical lines ended so far
    _decoder: codecs.IncrementalDecoder = field(
        default_factory=lambda: codecs.getincrementaldecoder("utf-8-sig")()
    )

    def feed_bytes(self, chunk: bytes, final: bool = False) -> None:
        try:
            text = self._decoder.decode(chunk, final)
        except UnicodeDecodeError as error:
            raise ImportFileError(
                f"line {self._line + 1}: the file is not UTF-8 text ({error.reason})"
            ) from None
        self.feed(text)

    def feed(self, text: str) -> None:
        *ended, partial = text.split("\n")
        if ended:
            self._end_line(self._partial + ended[0])
            for line in ended[1:]:
                self._end_line(line)
            self._partial = partial
        else:
            self._partial += partial
        if self._chars + len(self._partial) > MAX_ROW_CHARS:
            raise self._too_long()

    def finish(self) -> None:
        """The end of the file: a last line without a line break is a row too."""
        if self._partial:
            self._end_line(self._partial)
            self._partial = ""
        if self._lines:
            raise ImportFileError(f"line {self._line - len(self._lines) + 1}: a quoted cell is never closed")
        if self.file_format == "csv" and self.header is None:
            raise ImportFileError("the file is empty: the CSV's first line must name the columns")

    def _too_long(self) -> ImportFileError:
        start = self._line - len(self._lines) + 1
        return ImportFileError(f"line {start}: a row longer than {MAX_ROW_CHARS:,} characters")

    def _end_line(self, line: str) -> None:
        self._line += 1
        self._lines.append(line)
        self._chars += len(line) + 1
        if self._chars > MAX_ROW_CHARS:
            raise self._too_long()
        if self.file_format == "csv" and line.count('"') % 2:
            # An odd number of quotes opens or closes a quoted cell ("" inside one counts twice).
            self._in_quotes = not self._in_quotes
        if self._in_quotes:
            return
        row = Row(self._line - len(self._lines) + 1, "\n".join(self._lines))
        self._lines, self._chars = [], 0
        if not row.text.strip():
            return
        if self.file_format == "csv" and self.header is None:
            self.header = row
            return
        if self.max_rows is not None and len(self.rows) >= self.max_rows:
            raise TooManyRows(self.max_rows)
        self.rows.append(row)


def split_rows(text: str, file_format: FileFormat, max_rows: int | None = None) -> RowSplitter:
    splitter = RowSplitter(file_format, max_rows)
    splitter.feed(text.removeprefix("\ufeff"))
    splitter.finish()
    return splitter


def split_file(blocks: Iterable[bytes], file_format: FileFormat, max_rows: int | None = None) -> RowSplitter:
    splitter = RowSplitter(file_format, max_rows)
    for block in blocks:
        splitter.feed_bytes(block)
    splitter.feed_bytes(b"", final=True)
    splitter.finish()
    return splitter


def file_format_of(name: str) -> FileFormat:
    lower = name.lower()
    if lower.endswith(".csv"):
        return "csv"
    if lower.endswith((".jsonl", ".ndjson")):
        return "jsonl"
    raise ImportFileError(f"{name}: give a .csv or a .jsonl (JSON Lines) file")


# ------------------------------------------------------------------------------------------ cells


@dataclass(frozen=True)
class CellError:
    column: str | None
    message: str


@dataclass
class RawRow:
    """A row's cells by column, and what is wrong with the row's text itself (those cells are left out)."""

    line: int
    cells: dict[str, Any]
    errors: list[CellError] = field(default_factory=list)


def _short(name: str) -> str:
    return name if len(name) <= 40 else name[:37] + "..."


def _bounded_number(digits: str) -> int | str:
    return int(digits) if len(digits.lstrip("-")) <= _MAX_NUMBER_DIGITS else digits


def _bounded_cells(row: RawRow) -> RawRow:
    for name, value in list(row.cells.items()):
        if isinstance(value, str) and len(value) > MAX_CELL_CHARS:
            del row.cells[name]
            row.errors.append(
                CellError(name, f"a cell of {len(value):,} characters; at most {MAX_CELL_CHARS:,}")
            )
    return row


def csv_columns(header: Row, columns: Iterable[str]) -> list[str]:
    """The header's column names, refused unless each is one of the template's `columns`."""
    try:
        names = [name.strip() for name in next(csv.reader([header.text]))]
    except (csv.Error, StopIteration) as error:
        raise ImportFileError(f"line 1: the header cannot be read ({error})") from None
    known = set(columns)
    if "import_ref" not in names:
        raise ImportFileError("the CSV's first line must name the columns (see the template in the README)")
    unknown = [_short(name) for name in names if name not in known]
    if unknown:
        raise ImportFileError(f"line 1: not columns of the template: {', '.join(unknown)}")
    if len(set(names)) != len(names):
        raise ImportFileError("line 1: a column is named twice")
    return names


def raw_rows(split: RowSplitter, columns: Iterable[str]) -> Iterator[RawRow]:
    """Each row's cells (CSV: by the header's columns; JSON Lines: the object's keys)."""
    if split.file_format == "jsonl":
        for row in split.rows:
            yield _json_row(row)
        return
    assert split.header is not None
    names = csv_columns(split.header, columns)
    for row in split.rows:
        try:
            cells = next(csv.reader([row.text]))
        except csv.Error as error:
            yield RawRow(row.line, {}, [CellError(None, f"the row cannot be read as CSV ({error})")])
            continue
        if len(cells) > len(names):
            yield RawRow(row.line, {}, [CellError(None, "more cells than the header has columns")])
            continue
        yield _bounded_cells(RawRow(row.line, dict(zip(names, cells, strict=False))))


def _json_row(row: Row) -> RawRow:
    try:
        value = json.loads(row.text, parse_int=_bounded_number)
    except RecursionError:
        return RawRow(row.line, {}, [CellError(None, "not a row: JSON nested more deeply than a row can be")])
    except ValueError as error:  # JSONDecodeError, or a number the interpreter will not convert
        reason = error.msg if isinstance(error, json.JSONDecodeError) else "a number it cannot read"
        return RawRow(row.line, {}, [CellError(None, f"not JSON: {reason}")])
    if not isinstance(value, dict):
        return RawRow(row.line, {}, [CellError(None, "a row must be a JSON object")])
    return _bounded_cells(RawRow(row.line, value))


def number_cell(value: Any) -> Any:
    """A CSV cell meant as a number (category, level): ASCII digits become an int; anything else ('²', a
    5,000-digit string) stays as it is, for the column's validator to refuse in its own words."""
    if isinstance(value, str) and value.isascii() and value.isdigit() and len(value) <= _MAX_NUMBER_DIGITS:
        return int(value)
    return value


# ------------------------------------------------------------------------------------------ words


_DATE_ERRORS = {
    "date_type",
    "date_parsing",
    "date_from_datetime_parsing",
    "date_from_datetime_inexact",
    "date_future",
    "date_past",
}
_PATTERN_WORDS = {
    "import_ref": "give the area's own case number: letters, digits and / _ . - (at most 64), never anything "
    "about the person",
    "action_id": "give the action's id: letters, digits and hyphens, at most 32",
}
_AGENCY_WORDS = "give an agency id from the directory: lower-case letters, digits and hyphens"


def in_template_words(error: ErrorDetails, column: str | None) -> str:
    """A validator's refusal as the template says it: 'give a date as YYYY-MM-DD', not 'Input should be a
    valid date or datetime, invalid character in year'. Never quotes the cell (it may hold a name)."""
    kind, ctx = error["type"], error.get("ctx") or {}
    last = str(error["loc"][-1]) if error["loc"] else ""
    if kind == "missing":
        return f"{column or last} is required"
    if kind == "extra_forbidden":
        return "not a column of the template"
    if kind in _DATE_ERRORS:
        return "give a date as YYYY-MM-DD, e.g. 2026-11-20"
    if kind in ("greater_than_equal", "less_than_equal") and ("ge" in ctx or "le" in ctx):
        bound = ctx.get("ge", ctx.get("le"))
        return f"give a date {'on or after' if 'ge' in ctx else 'on or before'} {bound}"
    if kind == "literal_error":
        return "give " + str(ctx.get("expected", "one of the template's values")).replace("'", "")
    if kind == "enum":
        return "give one of: " + str(ctx.get("expected", "")).replace("'", "")
    if kind == "string_pattern_mismatch":
        if last in _PATTERN_WORDS:
            return _PATTERN_WORDS[last]
        if last.endswith("agency") or column in ("searches_outstanding", "rmp_actions"):
            return _AGENCY_WORDS
        return "not in the form the template gives"
    if kind == "string_too_long":
        return f"at most {ctx.get('max_length')} characters"
    if kind == "string_too_short":
        return "is empty"
    if kind == "too_long":
        return f"at most {ctx.get('max_length')} items"
    if kind in ("string_type", "int_type", "list_type", "model_type", "dict_type", "model_attributes_type"):
        return "not in the form the template gives (see the README's template)"
    message = str(error["msg"])
    return message.removeprefix("Value error, ").replace("Input should be", "give")
