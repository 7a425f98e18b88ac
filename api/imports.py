"""Bulk import of cases already in progress: read a file, check every row in the core, then start them.

One row is one case at its current stage (the template is in the README; docs/import-example.csv is an example
with fictional data). Each row becomes a `CaseOpening` (area, category, lead agency, the subject) and an
`ImportedPosition` (stage, level, dates, open RMP actions, outstanding searches): `CaseFile.open` decides its
deadlines exactly as the workflow will. A dry run is that check and nothing else: it reports, for every row,
what the case would owe and when, and every refusal with its line, field and rule.

A real run checks the same way, then for each row reserves a case reference in `case_openings` under the row's
own reference (`import_ref`, sender `import:<area>`) together with the row's audit entry, and starts the workflow
with the `ImportRef` search attribute. A re-run finds the reservation: a row already started starts nothing, a
row reserved by a run that died before starting is started now, and the same reference with other content is
refused. Starts run a bounded number at a time, through the same `start_case` as the API.
"""

from __future__ import annotations

import asyncio
import csv
import io
import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, Field, ValidationError
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from temporalio.client import Client
from temporalio.common import SearchAttributePair, TypedSearchAttributes

from api.case_service import new_case_ref, start_case
from api.idempotency import request_hash
from api.openings import NewCase
from store.directory import AgencyDirectory, DirectoryRefusal
from store.models import AuditEvent, AuditOutcome
from store.models import CaseOpening as CaseOpeningRow
from workflows import search_attributes as sa
from workflows.rules import events as ev
from workflows.rules.calendar import local_date
from workflows.rules.case import CaseFile
from workflows.rules.errors import CaseRuleError
from workflows.rules.imported import IMPORT_REF_PATTERN, ImportedPosition, ImportedRmpAction, ImportedStage
from workflows.rules.policy import AREAS

IMPORT_ACTION = "import a case"
DEFAULT_CONCURRENCY = 16
# Cells that hold a list: separated by ';' in CSV (a JSON array in JSON Lines is taken as it is).
LIST_SEPARATOR = ";"
_NUMBERS = ("category", "level", "level_sought")


class ImportRow(BaseModel):
    """One row of an import file: a case at its current stage. Every column is a field here (README)."""

    model_config = ev.Event.model_config

    import_ref: str = Field(pattern=IMPORT_REF_PATTERN)
    area: str
    category: Literal[1, 2, 3, 4]
    lead_agency: ev.AgencyId
    route: ev.EntryRoute = ev.EntryRoute.COMMUNITY
    stage: ImportedStage
    level: Literal[1, 2, 3] | None = None
    subject_name: ev.PersonName
    subject_date_of_birth: ev.BirthDate
    subject_address: ev.ShortText
    visor_ref: str | None = Field(default=None, max_length=64)
    swis_ref: str | None = Field(default=None, max_length=64)
    notified_on: ev.HappenedOn | None = None
    screened_on: ev.HappenedOn | None = None
    referral_received_on: ev.HappenedOn | None = None
    referring_agency: ev.AgencyId | None = None
    level_sought: Literal[2, 3] | None = None
    level_2_cannot_deliver: ev.ShortText | None = None
    asp_screened_on: ev.HappenedOn | None = None
    accepted_on: ev.HappenedOn | None = None
    last_meeting_on: ev.HappenedOn | None = None
    chair_agency: ev.AgencyId | None = None
    next_review_date: ev.PlannedFor | None = None
    release_date: ev.ReleaseDate | None = None
    discharge_date: ev.ReleaseDate | None = None
    sonr_end_date: ev.SonrEndDate | None = None
    # Category 2 and 3: when the supervision or licence that brought the case into MAPPA ends (exit planning).
    licence_end_date: ev.SonrEndDate | None = None
    rmp_actions: list[ImportedRmpAction] = Field(default_factory=list, max_length=60)
    searches_outstanding: list[ev.AgencyId] = Field(default_factory=list, max_length=30)

    def opening(self) -> NewCase:
        area = AREAS.get(self.area)
        return NewCase(
            area=self.area,
            # The area fixes the jurisdiction; an unknown area is refused by NewCase itself.
            jurisdiction=area.jurisdiction if area else ev.Jurisdiction.SCOTLAND,
            category=self.category,
            lead_agency=self.lead_agency,
            route=self.route,
            subject=ev.SubjectDetails(
                name=self.subject_name,
                date_of_birth=self.subject_date_of_birth,
                address=self.subject_address,
                visor_ref=self.visor_ref,
                swis_ref=self.swis_ref,
            ),
            release_date=self.release_date,
            discharge_date=self.discharge_date,
            sonr_end_date=self.sonr_end_date,
            supervision_end_date=self.licence_end_date,
        )

    def position(self) -> ImportedPosition:
        names = ImportedPosition.model_fields.keys()
        return ImportedPosition.model_validate({k: v for k, v in self.model_dump().items() if k in names})


# Where the core names a field of the opening, the file names a column.
_COLUMN_OF = {
    "subject.name": "subject_name",
    "subject.date_of_birth": "subject_date_of_birth",
    "subject.address": "subject_address",
}


def _column(dotted: str | None) -> str | None:
    if dotted is None:
        return None
    if dotted in _COLUMN_OF:
        return _COLUMN_OF[dotted]
    return dotted.split(".")[0]


@dataclass(frozen=True)
class RowError:
    line: int
    field: str | None
    rule: str
    message: str

    def __str__(self) -> str:
        where = f"line {self.line}" + (f", {self.field}" if self.field else "")
        return f"{where}: {self.message} [{self.rule}]"


@dataclass(frozen=True)
class OwedDeadline:
    deadline_id: str
    kind: str
    title: str
    responsible: str
    due_at: datetime
    due_date: Any
    breached: bool


@dataclass
class CheckedRow:
    """A row the core accepted: the case it opens and the deadlines it would owe now."""

    line: int
    row: ImportRow
    opening: ev.CaseOpening
    position: ImportedPosition
    stage: str
    level: int | None
    owes: list[OwedDeadline]


@dataclass
class FileCheck:
    rows: list[CheckedRow] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)
    read: int = 0


class ImportFileError(ValueError):
    """A file that cannot be read as rows at all (not a row's fault)."""


# ------------------------------------------------------------------------------------------ reading


def _cell(value: Any) -> Any:
    if isinstance(value, str):
        value = value.strip()
        return value or None
    return value


def _listed(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, list):
        return value
    return [part.strip() for part in str(value).split(LIST_SEPARATOR) if part.strip()]


def _rmp_actions(value: Any) -> list[Any]:
    """`ID owner-agency YYYY-MM-DD` items (CSV), or objects (JSON Lines)."""
    actions: list[Any] = []
    for item in _listed(value):
        if not isinstance(item, str):
            actions.append(item)
            continue
        parts = item.split()
        if len(parts) != 3:
            raise ValueError(f"RMP action {item!r}: give 'ID owner-agency YYYY-MM-DD'")
        actions.append({"action_id": parts[0], "owner_agency": parts[1], "due_date": parts[2]})
    return actions


def raw_rows(text: str, file_format: Literal["csv", "jsonl"]) -> Iterator[tuple[int, dict[str, Any]]]:
    """(line number, cells) for each row; line numbers as an editor shows them (a CSV's header is line 1)."""
    if file_format == "jsonl":
        for number, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                value = json.loads(line)
            except json.JSONDecodeError as error:
                yield number, {"__error__": f"not JSON: {error.msg}"}
                continue
            yield number, value if isinstance(value, dict) else {"__error__": "a row must be a JSON object"}
        return
    reader = csv.DictReader(io.StringIO(text))
    if not reader.fieldnames or "import_ref" not in reader.fieldnames:
        raise ImportFileError("the CSV's first line must name the columns (see the template in the README)")
    start = reader.line_num
    for record in reader:
        if None in record:
            yield start + 1, {"__error__": "more cells than the header has columns"}
        else:
            yield start + 1, dict(record)
        start = reader.line_num


def file_format_of(name: str) -> Literal["csv", "jsonl"]:
    lower = name.lower()
    if lower.endswith(".csv"):
        return "csv"
    if lower.endswith((".jsonl", ".ndjson")):
        return "jsonl"
    raise ImportFileError(f"{name}: give a .csv or a .jsonl (JSON Lines) file")


def parse_row(line: int, cells: dict[str, Any]) -> ImportRow | list[RowError]:
    if "__error__" in cells:
        return [RowError(line, None, "file format", cells["__error__"])]
    values = {k.strip(): _cell(v) for k, v in cells.items() if k is not None}
    values = {k: v for k, v in values.items() if v is not None}
    for number in _NUMBERS:  # a CSV cell is text; a Literal[1, 2, 3] takes only the number
        if isinstance(values.get(number), str) and values[number].isdigit():
            values[number] = int(values[number])
    try:
        if "rmp_actions" in values:
            values["rmp_actions"] = _rmp_actions(values["rmp_actions"])
        if "searches_outstanding" in values:
            values["searches_outstanding"] = _listed(values["searches_outstanding"])
    except ValueError as error:
        return [RowError(line, "rmp_actions", "column format", str(error))]
    try:
        return ImportRow.model_validate(values)
    except ValidationError as error:
        return [
            RowError(line, _column(".".join(str(p) for p in e["loc"])) or None, "column format", e["msg"])
            for e in error.errors()
        ]


# ------------------------------------------------------------------------------------------ checking


def check_row(
    line: int, row: ImportRow, now: datetime, area: str | None = None, *, directory: AgencyDirectory
) -> CheckedRow | RowError:
    """The row as the core sees it: its dates inside their windows, every agency it names one the directory
    allows in its area (the API's check), and the case opened as the workflow will."""
    if area is not None and row.area != area:
        return RowError(line, "area", "area", f"this import is for {area}; the row is in {row.area}")
    try:
        new_case = row.opening()
        position = row.position()
    except ValidationError as error:
        e = error.errors()[0]
        return RowError(line, _column(".".join(str(p) for p in e["loc"])), "column format", e["msg"])
    today = local_date(now)
    outside = [*ev.dates_outside_window(new_case, today), *ev.dates_outside_window(position, today)]
    if outside:
        return RowError(line, _column(outside[0].field), "plausible dates", outside[0].message)
    if refused := ev.ids_outside_pattern(position):
        return RowError(line, _column(refused[0].field), "ids in plaintext", refused[0].message)
    try:
        directory.check_named(row.area, new_case, position)
    except DirectoryRefusal as refusal:
        return RowError(line, _column(refusal.field), refusal.rule, refusal.message)
    opening = new_case.with_reference(new_case_ref(AREAS[row.area].code, now))
    try:
        case = CaseFile.open(opening, now, imported=position)
    except CaseRuleError as error:
        return RowError(line, _column(error.field), error.rule, error.message)
    except (ValueError, OverflowError) as error:
        return RowError(line, None, "plausible dates", f"the case's deadlines cannot be computed ({error})")
    case.tick(now)  # what is already past falls due at once: the dry run shows it breached
    owes = [
        OwedDeadline(
            d.deadline_id,
            d.kind.value,
            d.title,
            d.responsible,
            d.due_at,
            d.due_date,
            d.breached_at is not None,
        )
        for d in case.open_deadlines()
    ]
    return CheckedRow(line, row, opening, position, case.stage.value, case.level, owes)


def check_file(
    text: str,
    file_format: Literal["csv", "jsonl"],
    now: datetime,
    area: str | None = None,
    *,
    directory: AgencyDirectory,
) -> FileCheck:
    """Every row checked; a reference given twice in one file is refused on its later lines."""
    result = FileCheck()
    first_line: dict[str, int] = {}
    for line, cells in raw_rows(text, file_format):
        result.read += 1
        parsed = parse_row(line, cells)
        if isinstance(parsed, list):
            result.errors += parsed
            continue
        key = f"{parsed.area}/{parsed.import_ref}"
        if key in first_line:
            result.errors.append(
                RowError(
                    line,
                    "import_ref",
                    "one import per reference",
                    f"{parsed.import_ref} is also on line {first_line[key]}",
                )
            )
            continue
        first_line[key] = line
        checked = check_row(line, parsed, now, area, directory=directory)
        if isinstance(checked, RowError):
            result.errors.append(checked)
        else:
            result.rows.append(checked)
    return result


# ------------------------------------------------------------------------------------------ importing


class RowOutcome(StrEnum):
    STARTED = "started"  # the case's workflow was started by this run
    ALREADY_IMPORTED = "already-imported"  # an earlier run started it
    FAILED = "failed"


@dataclass(frozen=True)
class ImportedRow:
    line: int
    import_ref: str
    outcome: RowOutcome
    case_ref: str | None = None
    error: RowError | None = None


@dataclass(frozen=True)
class Importer:
    """Who imports (for the audit trail) and how to reach Temporal and the database."""

    client: Client
    sessions: Callable[[], Session]
    task_queue: str
    user_name: str
    agency_id: str | None
    role: str
    source: str  # the file's name, for the audit trail


def sender_for(area: str) -> str:
    return f"import:{area}"


def _row_hash(row: ImportRow) -> str:
    return request_hash(IMPORT_ACTION, row)


def _reserve(importer: Importer, checked: CheckedRow) -> tuple[str, str | None]:
    """The row's case reference: the one reserved by an earlier run, or a new one reserved now together with
    the row's audit entry (so each imported case has exactly one, whatever is re-run)."""
    sender, key = sender_for(checked.row.area), checked.row.import_ref
    with importer.sessions() as session:
        for _ in range(5):
            held = session.scalars(
                select(CaseOpeningRow).where(
                    CaseOpeningRow.agency_id == sender, CaseOpeningRow.idempotency_key == key
                )
            ).one_or_none()
            if held is not None:
                return held.case_ref, held.request_hash
            case_ref = new_case_ref(AREAS[checked.row.area].code)
            digest = _row_hash(checked.row)
            session.add(
                CaseOpeningRow(agency_id=sender, idempotency_key=key, case_ref=case_ref, request_hash=digest)
            )
            session.add(
                AuditEvent(
                    user_name=importer.user_name,
                    agency_id=importer.agency_id,
                    role=importer.role,
                    action=IMPORT_ACTION,
                    case_ref=case_ref,
                    target=f"import:{key}",
                    outcome=AuditOutcome.ALLOWED.value,
                    reason=f"line {checked.line} of {importer.source}, imported at stage {checked.stage}",
                )
            )
            try:
                session.commit()
            except IntegrityError:  # another run took the key, or the reference is taken: look again
                session.rollback()
                continue
            return case_ref, digest
    raise RuntimeError(f"no case reference could be reserved for {key}")


async def import_row(importer: Importer, checked: CheckedRow) -> ImportedRow:
    line, ref = checked.line, checked.row.import_ref
    case_ref, digest = await asyncio.to_thread(_reserve, importer, checked)
    if digest is not None and digest != _row_hash(checked.row):
        return ImportedRow(
            line,
            ref,
            RowOutcome.FAILED,
            case_ref,
            RowError(
                line,
                "import_ref",
                "one import per reference",
                f"{ref} was imported before as {case_ref} with other content; correct that case by its events",
            ),
        )
    opening = checked.opening.model_copy(update={"case_ref": case_ref})
    started = await start_case(
        importer.client,
        importer.task_queue,
        opening,
        imported=checked.position,
        search_attributes=TypedSearchAttributes([SearchAttributePair(sa.IMPORT_REF, ref)]),
    )
    return ImportedRow(line, ref, RowOutcome.STARTED if started else RowOutcome.ALREADY_IMPORTED, case_ref)


async def import_rows(
    importer: Importer,
    rows: Iterable[CheckedRow],
    concurrency: int = DEFAULT_CONCURRENCY,
    on_done: Callable[[ImportedRow], None] | None = None,
) -> list[ImportedRow]:
    """Start every checked row's case, `concurrency` at a time; a row that fails does not stop the others."""
    gate = asyncio.Semaphore(concurrency)

    async def one(checked: CheckedRow) -> ImportedRow:
        async with gate:
            try:
                done = await import_row(importer, checked)
            except Exception as error:  # reported on its row; a re-run picks the row up
                done = ImportedRow(
                    checked.line,
                    checked.row.import_ref,
                    RowOutcome.FAILED,
                    None,
                    RowError(checked.line, None, "start", f"not started ({error}); run the import again"),
                )
        if on_done is not None:
            on_done(done)
        return done

    return list(await asyncio.gather(*(one(r) for r in rows)))


def now_utc() -> datetime:
    return datetime.now(UTC)
